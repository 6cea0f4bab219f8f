// Resampling of uint8 NHWC image stacks in plain JS, for sources that arrive as arrays (IDX) rather
// than files: one sharp call per image would cost more than the arithmetic for 70,000 tiny images.

import type { Uint8Images } from '../io/pixel-bytes.js';

/** Places every image in the centre of an H×W canvas filled with `value` (H ≥ h, W ≥ w). */
export function padCentre(src: Uint8Images, H: number, W: number, value = 0): Uint8Images {
  const { pixels, n, h, w, c } = src;
  if (H < h || W < w) throw new Error(`padCentre: ${h}×${w} does not fit in ${H}×${W}`);
  const top = Math.floor((H - h) / 2);
  const left = Math.floor((W - w) / 2);
  const out = new Uint8Array(n * H * W * c).fill(value);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      const from = ((i * h + y) * w) * c;
      out.set(pixels.subarray(from, from + w * c), ((i * H + top + y) * W + left) * c);
    }
  }
  return { pixels: out, n, h: H, w: W, c };
}

/** Crops every image to its centred square. */
export function cropCentreSquare(src: Uint8Images): Uint8Images {
  const { pixels, n, h, w, c } = src;
  if (h === w) return src;
  const s = Math.min(h, w);
  const top = Math.floor((h - s) / 2);
  const left = Math.floor((w - s) / 2);
  const out = new Uint8Array(n * s * s * c);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < s; y++) {
      const from = ((i * h + top + y) * w + left) * c;
      out.set(pixels.subarray(from, from + s * c), (i * s + y) * s * c);
    }
  }
  return { pixels: out, n, h: s, w: s, c };
}

/** Averages factor×factor blocks (exact area downsampling; h and w divisible by factor). */
export function downsampleBox(src: Uint8Images, factor: number): Uint8Images {
  const { pixels, n, h, w, c } = src;
  if (h % factor !== 0 || w % factor !== 0) throw new Error(`downsampleBox: ${h}×${w} is not divisible by ${factor}`);
  const H = h / factor;
  const W = w / factor;
  const out = new Uint8Array(n * H * W * c);
  const area = factor * factor;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let k = 0; k < c; k++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            const row = ((i * h + y * factor + dy) * w + x * factor) * c + k;
            for (let dx = 0; dx < factor; dx++) sum += pixels[row + dx * c];
          }
          out[((i * H + y) * W + x) * c + k] = Math.round(sum / area);
        }
      }
    }
  }
  return { pixels: out, n, h: H, w: W, c };
}

/** Bilinear resize with pixel centres aligned (tf.image.resizeBilinear with halfPixelCenters). */
export function resizeBilinear(src: Uint8Images, H: number, W: number): Uint8Images {
  const { pixels, n, h, w, c } = src;
  const out = new Uint8Array(n * H * W * c);
  const coord = (dst: number, from: number, to: number, size: number) => Math.min(Math.max((dst + 0.5) * (from / to) - 0.5, 0), size - 1);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < H; y++) {
      const sy = coord(y, h, H, h);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, h - 1);
      const fy = sy - y0;
      for (let x = 0; x < W; x++) {
        const sx = coord(x, w, W, w);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, w - 1);
        const fx = sx - x0;
        for (let k = 0; k < c; k++) {
          const at = (yy: number, xx: number) => pixels[((i * h + yy) * w + xx) * c + k];
          const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
          const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
          out[((i * H + y) * W + x) * c + k] = Math.round(top * (1 - fy) + bottom * fy);
        }
      }
    }
  }
  return { pixels: out, n, h: H, w: W, c };
}

/** Repeats the single grey channel into three. */
export function greyToRgb(src: Uint8Images): Uint8Images {
  if (src.c !== 1) throw new Error(`greyToRgb: expected 1 channel, got ${src.c}`);
  const out = new Uint8Array(src.pixels.length * 3);
  for (let i = 0; i < src.pixels.length; i++) out.fill(src.pixels[i], 3 * i, 3 * i + 3);
  return { ...src, pixels: out, c: 3 };
}

/**
 * Brings a stack of arrays-as-images to resolution×resolution (a power of two):
 *   - 28×28 (MNIST, Fashion-MNIST): zero-padded to 32×32 (the usual framing for GANs; padding is
 *     0, i.e. −1 after scaling, the same black as the background), then, for other resolutions,
 *     box-averaged down (16, 8) or bilinearly up (64, …) from that 32×32 frame, so the garment keeps
 *     the same framing at every resolution, as progressive growing expects;
 *   - anything else: centre-cropped to a square, then box-averaged when the side is an integer
 *     multiple of the resolution, else bilinearly resized.
 * Channels are left as they are.
 */
export function fitToResolution(src: Uint8Images, resolution: number): Uint8Images {
  let stack = src.h === 28 && src.w === 28 ? padCentre(src, 32, 32, 0) : cropCentreSquare(src);
  if (stack.h === resolution) return stack;
  if (stack.h > resolution && stack.h % resolution === 0) stack = downsampleBox(stack, stack.h / resolution);
  else stack = resizeBilinear(stack, resolution, resolution);
  return stack;
}
