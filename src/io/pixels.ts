// Images ↔ tensors without Node or a DOM: raw pixels (what a canvas's ImageData, sharp's raw output
// or a decoded PNG hold) to a model's input tensor in [-1, 1], and back to RGBA pixels for display.
import * as tf from '@tensorflow/tfjs';

/**
 * Interleaved 8-bit pixels, row-major: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels.
 * A canvas's ImageData is one (RGBA; `channels` defaults to data.length / (width·height)).
 */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: 1 | 2 | 3 | 4;
}

export interface ImageShape {
  resolution: number;
  channels: number;
}

export interface PixelsOptions {
  /** Colour that transparent pixels are composited over, [r, g, b] in 0…255 (default white, as `lia` reads files and folders). */
  background?: [number, number, number];
}

/**
 * One image as a model input [1, R, R, C] in [-1, 1]: transparency composited over the background,
 * converted to grey (Rec. 601 luma) or RGB, and, when it is not R×R, scaled to cover the square
 * (bilinear) and centre-cropped. `notices` says what was converted, for the user.
 */
export function pixelsToTensor(img: RawImage, target: ImageShape, opts: PixelsOptions = {}): { x: tf.Tensor4D; notices: string[] } {
  const { width: w, height: h, data } = img;
  const c = img.channels ?? data.length / (w * h);
  if (![1, 2, 3, 4].includes(c)) throw new Error(`an image needs 1 to 4 channels, got ${c} (${data.length} values for ${w}×${h} pixels)`);
  if (!(w > 0 && h > 0) || data.length !== w * h * c) throw new Error(`image data holds ${data.length} values, expected ${w}×${h}×${c} = ${w * h * c}`);
  if (target.channels !== 1 && target.channels !== 3) throw new Error(`a model takes 1 or 3 channels, not ${target.channels}`);
  const notices: string[] = [];
  const bg = opts.background ?? [255, 255, 255];
  const out = new Float32Array(w * h * target.channels);
  const hasAlpha = c === 2 || c === 4;
  // RGB(A) whose channels are equal everywhere (a grey image decoded by a canvas) counts as grey.
  let colour = false;
  if (c >= 3) {
    for (let p = 0; p < w * h && !colour; p++) colour = data[p * c] !== data[p * c + 1] || data[p * c] !== data[p * c + 2];
  }
  let translucent = false;
  for (let p = 0; p < w * h; p++) {
    const s = p * c;
    let r = data[s];
    let g = c >= 3 ? data[s + 1] : r;
    let b = c >= 3 ? data[s + 2] : r;
    if (hasAlpha) {
      const a = data[s + c - 1] / 255;
      if (a < 1) translucent = true;
      r = r * a + bg[0] * (1 - a);
      g = g * a + bg[1] * (1 - a);
      b = b * a + bg[2] * (1 - a);
    }
    if (target.channels === 1) out[p] = colour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
    else {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    }
  }
  if (translucent) notices.push(`transparent pixels were composited over rgb(${bg.join(', ')})`);
  if (colour && target.channels === 1) notices.push('converted from colour to grey');
  if (!colour && target.channels === 3) notices.push('converted from grey to colour');
  const R = target.resolution;
  if (w !== R || h !== R) notices.push(`resized from ${w}×${h} to ${R}×${R} (scaled to cover, centre-cropped)`);
  const x = tf.tidy(() => {
    let t = tf.tensor4d(out, [1, h, w, target.channels]);
    if (w !== R || h !== R) {
      const scale = R / Math.min(w, h);
      const sw = Math.max(R, Math.round(w * scale));
      const sh = Math.max(R, Math.round(h * scale));
      t = tf.image.resizeBilinear(t, [sh, sw], false, true);
      t = tf.slice(t, [0, Math.floor((sh - R) / 2), Math.floor((sw - R) / 2), 0], [1, R, R, target.channels]);
    }
    // Round to 8-bit first, as every image file is, so that a resized image is an image the CLI could read.
    return tf.sub(tf.div(tf.round(tf.clipByValue(t, 0, 255)), 127.5), 1) as tf.Tensor4D;
  });
  return { x, notices };
}

/** Images [N, R, R, C] in [-1, 1] → N RGBA images (ImageData's layout), values rounded to 8 bits. */
export async function tensorToPixels(x: tf.Tensor4D): Promise<RawImage[]> {
  const [n, h, w, c] = x.shape;
  if (c !== 1 && c !== 3) throw new Error(`expected images with 1 or 3 channels, got ${c}`);
  const v = tf.tidy(() => tf.round(tf.clipByValue(tf.mul(tf.add(x, 1), 127.5), 0, 255)));
  const values = (await v.data()) as Float32Array;
  v.dispose();
  const images: RawImage[] = [];
  for (let i = 0; i < n; i++) {
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      const s = (i * w * h + p) * c;
      rgba[4 * p] = values[s];
      rgba[4 * p + 1] = values[c === 3 ? s + 1 : s];
      rgba[4 * p + 2] = values[c === 3 ? s + 2 : s];
      rgba[4 * p + 3] = 255;
    }
    images.push({ data: rgba, width: w, height: h, channels: 4 });
  }
  return images;
}
