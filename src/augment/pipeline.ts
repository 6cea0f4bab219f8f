// The ADA augmentation pipeline (Karras et al., 2020, "Training Generative Adversarial Networks with
// Limited Data"; the transforms, their order and their strengths as in stylegan2-ada-pytorch's
// `bgc` pipe): every transform is applied to each image with probability p, drawn per image.
//   b (pixel blitting): x-flip, 90° rotations, integer translation (±1/8 of the side);
//   g (geometric):      isotropic scaling (log2 σ 0.2), rotation (uniform, applied before and after
//                       the anisotropic scaling, each with probability 1 − √(1 − p)), anisotropic
//                       scaling (log2 σ 0.2), fractional translation (σ 1/8 of the side);
//   c (colour):         brightness (σ 0.2), contrast (log2 σ 0.5), luma flip, hue rotation
//                       (uniform), saturation (log2 σ 1); hue and saturation on RGB images only.
// The random draws are made on the host (JS, float64) from a seeded Rng and collected into one 3×3
// matrix per image for b and g (composed, then one resampling with reflect padding) and one 4×4
// colour matrix per image; applying them is ordinary tensor ops, the same on every backend. Images
// are NHWC in [−1, 1]. Where no image of a batch draws a transform, the batch is returned as it is
// (so p = 0 is exactly the identity). Simplification against the reference: bilinear resampling
// without its 2× upsampling and wavelet anti-aliasing filter.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { affineWarp } from './sampler.js';

/** Strength multipliers of each transform (0 = off, 1 = on), as the reference's pipe presets. */
export interface PipeSpec {
  xflip: number;
  rotate90: number;
  xint: number;
  scale: number;
  rotate: number;
  aniso: number;
  xfrac: number;
  brightness: number;
  contrast: number;
  lumaflip: number;
  hue: number;
  saturation: number;
}

const OFF: PipeSpec = { xflip: 0, rotate90: 0, xint: 0, scale: 0, rotate: 0, aniso: 0, xfrac: 0, brightness: 0, contrast: 0, lumaflip: 0, hue: 0, saturation: 0 };
const BLIT: Partial<PipeSpec> = { xflip: 1, rotate90: 1, xint: 1 };
const GEOM: Partial<PipeSpec> = { scale: 1, rotate: 1, aniso: 1, xfrac: 1 };
const COLOR: Partial<PipeSpec> = { brightness: 1, contrast: 1, lumaflip: 1, hue: 1, saturation: 1 };

/** The pipe names of the reference that this implementation covers. */
export const AUGMENT_PIPES: Record<string, PipeSpec> = {
  blit: { ...OFF, ...BLIT },
  geom: { ...OFF, ...GEOM },
  color: { ...OFF, ...COLOR },
  bg: { ...OFF, ...BLIT, ...GEOM },
  bgc: { ...OFF, ...BLIT, ...GEOM, ...COLOR },
};

export function pipeSpec(name: string): PipeSpec {
  const spec = AUGMENT_PIPES[name];
  if (!spec) throw new Error(`unknown augmentation pipe '${name}'; expected one of ${Object.keys(AUGMENT_PIPES).join(', ')}`);
  return spec;
}

// The reference's strengths.
const XINT_MAX = 0.125;
const SCALE_STD = 0.2;
const ROTATE_MAX = 1;
const ANISO_STD = 0.2;
const XFRAC_STD = 0.125;
const BRIGHTNESS_STD = 0.2;
const CONTRAST_STD = 0.5;
const HUE_MAX = 1;
const SATURATION_STD = 1;

// --- 3×3 (2-D homogeneous) and 4×4 (colour) matrices, row-major Float64Array ----------------------
export type Mat = Float64Array;

export function identity(k: number): Mat {
  const m = new Float64Array(k * k);
  for (let i = 0; i < k; i++) m[i * k + i] = 1;
  return m;
}

export function matmul(a: Mat, b: Mat): Mat {
  const k = Math.round(Math.sqrt(a.length));
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * k + j];
    out[i * k + j] = s;
  }
  return out;
}

export const translate2d = (tx: number, ty: number): Mat => Float64Array.of(1, 0, tx, 0, 1, ty, 0, 0, 1);
export const scale2d = (sx: number, sy: number): Mat => Float64Array.of(sx, 0, 0, 0, sy, 0, 0, 0, 1);
export const rotate2d = (theta: number): Mat => {
  const c = Math.cos(theta), s = Math.sin(theta);
  return Float64Array.of(c, -s, 0, s, c, 0, 0, 0, 1);
};
export const translate3d = (tx: number, ty: number, tz: number): Mat => Float64Array.of(1, 0, 0, tx, 0, 1, 0, ty, 0, 0, 1, tz, 0, 0, 0, 1);
export const scale3d = (sx: number, sy: number, sz: number): Mat => Float64Array.of(sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, sz, 0, 0, 0, 0, 1);
/** Rotation by theta about the unit axis v (Rodrigues), in homogeneous 4×4 form. */
export function rotate3d(v: [number, number, number], theta: number): Mat {
  const [x, y, z] = v;
  const s = Math.sin(theta), c = Math.cos(theta), cc = 1 - c;
  return Float64Array.of(
    x * x * cc + c, x * y * cc - z * s, x * z * cc + y * s, 0,
    y * x * cc + z * s, y * y * cc + c, y * z * cc - x * s, 0,
    z * x * cc - y * s, z * y * cc + x * s, z * z * cc + c, 0,
    0, 0, 0, 1,
  );
}
/** The luma axis: grey values, (1, 1, 1)/√3. */
const LUMA: [number, number, number] = [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)];
/** v vᵀ of the luma axis, 4×4 (the homogeneous row and column 0). */
function lumaOuter(): Mat {
  const m = new Float64Array(16);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) m[i * 4 + j] = LUMA[i] * LUMA[j];
  return m;
}

/** Entries within 1e-12 of an integer become that integer (cos(π/2) is 6e-17, not 0). */
function snap(m: Mat): Mat {
  for (let i = 0; i < m.length; i++) {
    const r = Math.round(m[i]);
    if (Math.abs(m[i] - r) < 1e-12) m[i] = r;
  }
  return m;
}

function isIdentity(m: Mat): boolean {
  const k = Math.round(Math.sqrt(m.length));
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (m[i * k + j] !== (i === j ? 1 : 0)) return false;
  return true;
}

/** One batch's draws: an output→input 3×3 map per image (b, g) and a 4×4 colour matrix per image (c). */
export interface AugmentDraws {
  geom: Mat[];
  color: Mat[];
}

/** The identity for n images (what p = 0 draws). */
export function identityDraws(n: number): AugmentDraws {
  return { geom: Array.from({ length: n }, () => identity(3)), color: Array.from({ length: n }, () => identity(4)) };
}

/**
 * Draws the transforms for n images of h×w×channels with probability p each. The number of values
 * taken from rng does not depend on p (a resumed run continues the same stream).
 */
export function drawAugment(rng: Rng, n: number, h: number, w: number, channels: number, p: number, spec: PipeSpec): AugmentDraws {
  const coin = (prob: number) => rng.next() < prob;
  const draws = identityDraws(n);
  const G = draws.geom;
  const C = draws.color;
  const post = (i: number, m: Mat) => (G[i] = matmul(G[i], m)); // G ← G · T⁻¹: output → input
  const pre = (i: number, m: Mat) => (C[i] = matmul(m, C[i])); // C ← T · C
  const pRot = 1 - Math.sqrt(Math.max(0, 1 - Math.min(1, spec.rotate * p)));
  for (let i = 0; i < n; i++) {
    // b: pixel blitting.
    { const on = coin(spec.xflip * p), k = rng.int(2); if (on && k) post(i, scale2d(-1, 1)); }
    { const on = coin(spec.rotate90 * p), k = rng.int(4); if (on && k) post(i, rotate2d((Math.PI / 2) * k)); }
    {
      const on = coin(spec.xint * p), tx = rng.uniform(-1, 1) * XINT_MAX, ty = rng.uniform(-1, 1) * XINT_MAX;
      if (on) post(i, translate2d(-Math.round(tx * w), -Math.round(ty * h)));
    }
    // g: general geometric transforms.
    { const on = coin(spec.scale * p), s = 2 ** (rng.normal() * SCALE_STD); if (on) post(i, scale2d(1 / s, 1 / s)); }
    { const on = coin(pRot), t = rng.uniform(-1, 1) * Math.PI * ROTATE_MAX; if (on) post(i, rotate2d(t)); }
    { const on = coin(spec.aniso * p), s = 2 ** (rng.normal() * ANISO_STD); if (on) post(i, scale2d(1 / s, s)); }
    { const on = coin(pRot), t = rng.uniform(-1, 1) * Math.PI * ROTATE_MAX; if (on) post(i, rotate2d(t)); }
    {
      const on = coin(spec.xfrac * p), tx = rng.normal() * XFRAC_STD, ty = rng.normal() * XFRAC_STD;
      if (on) post(i, translate2d(-tx * w, -ty * h));
    }
    snap(G[i]);
    // c: colour transforms.
    { const on = coin(spec.brightness * p), b = rng.normal() * BRIGHTNESS_STD; if (on) pre(i, translate3d(b, b, b)); }
    { const on = coin(spec.contrast * p), c = 2 ** (rng.normal() * CONTRAST_STD); if (on) pre(i, scale3d(c, c, c)); }
    {
      const on = coin(spec.lumaflip * p), k = rng.int(2);
      if (on && k) {
        const m = identity(4), vv = lumaOuter();
        for (let j = 0; j < 16; j++) m[j] -= 2 * vv[j];
        pre(i, m);
      }
    }
    {
      const on = coin(spec.hue * p), t = rng.uniform(-1, 1) * Math.PI * HUE_MAX;
      if (on && channels > 1) pre(i, rotate3d(LUMA, t));
    }
    {
      const on = coin(spec.saturation * p), s = 2 ** (rng.normal() * SATURATION_STD);
      if (on && channels > 1) {
        const vv = lumaOuter(), m = identity(4);
        for (let j = 0; j < 16; j++) if (j % 4 < 3 && j < 12) m[j] = vv[j] + ((j % 5 === 0 ? 1 : 0) - vv[j]) * s;
        pre(i, m);
      }
    }
    snap(C[i]);
  }
  return draws;
}

/** Geometric part: one warp with reflect padding; the batch itself when every map is the identity. */
export function applyGeometry(x: tf.Tensor4D, geom: Mat[]): tf.Tensor4D {
  if (geom.length !== x.shape[0]) throw new Error(`augment: ${geom.length} geometric draws for a batch of ${x.shape[0]}`);
  if (geom.every(isIdentity)) return x;
  const mats = new Float64Array(geom.length * 6);
  geom.forEach((m, i) => mats.set(m.subarray(0, 6), i * 6));
  return affineWarp(x, mats, 'reflect');
}

/** Colour part: out = C[:3,:3]·rgb + C[:3,3] per pixel (grey: the rows' mean, as the reference). */
export function applyColor(x: tf.Tensor4D, color: Mat[]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (color.length !== n) throw new Error(`augment: ${color.length} colour draws for a batch of ${n}`);
  if (color.every(isIdentity)) return x;
  return tf.tidy(() => {
    if (c === 3) {
      const mT = new Float32Array(n * 9), bias = new Float32Array(n * 3);
      color.forEach((m, i) => {
        for (let r = 0; r < 3; r++) {
          for (let k = 0; k < 3; k++) mT[i * 9 + k * 3 + r] = m[r * 4 + k]; // transposed: rows of x times Cᵀ
          bias[i * 3 + r] = m[r * 4 + 3];
        }
      });
      const flat = tf.reshape(x, [n, h * w, 3]);
      const out = tf.add(tf.matMul(flat, tf.tensor3d(mT, [n, 3, 3])), tf.tensor3d(bias, [n, 1, 3]));
      return tf.reshape(out, [n, h, w, 3]) as tf.Tensor4D;
    }
    if (c !== 1) throw new Error(`augment: images must have 1 or 3 channels, got ${c}`);
    const gain = new Float32Array(n), bias = new Float32Array(n);
    color.forEach((m, i) => {
      for (let r = 0; r < 3; r++) {
        for (let k = 0; k < 3; k++) gain[i] += m[r * 4 + k] / 3;
        bias[i] += m[r * 4 + 3] / 3;
      }
    });
    return tf.add(tf.mul(x, tf.tensor4d(gain, [n, 1, 1, 1])), tf.tensor4d(bias, [n, 1, 1, 1])) as tf.Tensor4D;
  });
}

/** The whole pipeline: geometry, then colour. Returns x itself when nothing was drawn. */
export function applyAugment(x: tf.Tensor4D, draws: AugmentDraws): tf.Tensor4D {
  return tf.tidy(() => applyColor(applyGeometry(x, draws.geom), draws.color));
}
