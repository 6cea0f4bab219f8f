// DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training"),
// policy "color,translation,cutout", applied to every image D sees, always (no probability, no
// adaptation): the cheaper alternative to ADA.
//   colour: brightness + (u − ½); saturation: (x − mean over channels)·2u + mean; contrast:
//           (x − mean over the image)·(u + ½) + mean (u uniform in [0, 1) per image and per step);
//   translation: an integer shift of up to 1/8 of the side in x and y, zeros shifted in;
//   cutout: a square of half the side, centred at a uniform pixel, set to 0.
// Images NHWC in [−1, 1]; draws on the host from a seeded Rng, application as tensor ops.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { affineWarp } from './sampler.js';

export interface DiffAugmentDraws {
  brightness: Float32Array; // u − ½
  saturation: Float32Array; // 2u
  contrast: Float32Array; // u + ½
  shift: Int32Array; // tx, ty per image (pixels)
  cutout: Int32Array; // y0, x0 (top-left, may lie outside) per image
  cutoutSize: number;
}

export function drawDiffAugment(rng: Rng, n: number, h: number, w: number): DiffAugmentDraws {
  const d: DiffAugmentDraws = {
    brightness: new Float32Array(n), saturation: new Float32Array(n), contrast: new Float32Array(n),
    shift: new Int32Array(2 * n), cutout: new Int32Array(2 * n), cutoutSize: Math.floor(h * 0.5 + 0.5),
  };
  const sx = Math.floor(w * 0.125 + 0.5), sy = Math.floor(h * 0.125 + 0.5);
  for (let i = 0; i < n; i++) {
    d.brightness[i] = rng.next() - 0.5;
    d.saturation[i] = rng.next() * 2;
    d.contrast[i] = rng.next() + 0.5;
    d.shift[2 * i] = rng.int(2 * sx + 1) - sx;
    d.shift[2 * i + 1] = rng.int(2 * sy + 1) - sy;
    d.cutout[2 * i] = rng.int(h) - Math.floor(d.cutoutSize / 2);
    d.cutout[2 * i + 1] = rng.int(w) - Math.floor(d.cutoutSize / 2);
  }
  return d;
}

export function applyDiffAugment(x: tf.Tensor4D, d: DiffAugmentDraws): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (d.brightness.length !== n) throw new Error(`diffaugment: draws for ${d.brightness.length} images, batch of ${n}`);
  return tf.tidy(() => {
    const perImage = (v: Float32Array) => tf.tensor4d(v, [n, 1, 1, 1]);
    let y: tf.Tensor4D = tf.add(x, perImage(d.brightness));
    if (c > 1) {
      const m = tf.mean(y, 3, true);
      y = tf.add(tf.mul(tf.sub(y, m), perImage(d.saturation)), m);
    }
    const mean = tf.mean(y, [1, 2, 3], true);
    y = tf.add(tf.mul(tf.sub(y, mean), perImage(d.contrast)), mean);
    // Translation: output (x, y) reads input (x − tx, y − ty).
    const mats = new Float64Array(6 * n);
    for (let i = 0; i < n; i++) mats.set([1, 0, -d.shift[2 * i], 0, 1, -d.shift[2 * i + 1]], 6 * i);
    y = affineWarp(y, mats, 'zeros');
    // Cutout: a mask built on the host (n·h·w values).
    const mask = new Float32Array(n * h * w).fill(1);
    for (let i = 0; i < n; i++) {
      const y0 = d.cutout[2 * i], x0 = d.cutout[2 * i + 1];
      for (let r = Math.max(0, y0); r < Math.min(h, y0 + d.cutoutSize); r++) {
        for (let q = Math.max(0, x0); q < Math.min(w, x0 + d.cutoutSize); q++) mask[(i * h + r) * w + q] = 0;
      }
    }
    return tf.mul(y, tf.tensor4d(mask, [n, h, w, 1])) as tf.Tensor4D;
  });
}
