// Per-image reconstruction quality: MSE and PSNR on images scaled to [0, 1], and SSIM (Wang et al.
// 2004: 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, dynamic range 1, valid windows
// only, averaged over positions and channels).
import * as tf from '@tensorflow/tfjs';

/** Images in [-1, 1] → [0, 1]. */
function unit(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1) as tf.Tensor4D);
}

/** Mean squared error per image [N], on [0, 1] images. */
export function mse01(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.squaredDifference(unit(x), unit(y)), [1, 2, 3]) as tf.Tensor1D);
}

/** PSNR per image [N] in dB, peak 1; identical images give +Infinity. */
export function psnr(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.log(tf.div(1, mse01(x, y))), 10 / Math.LN10) as tf.Tensor1D);
}

function gaussianWindow(size = 11, sigma = 1.5): Float32Array {
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b);
  const w = new Float32Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) w[i * size + j] = (g[i] * g[j]) / (s * s);
  return w;
}

/** SSIM per image [N]. Images must be at least 11×11. */
export function ssim(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    if (h < 11 || w < 11) throw new Error(`SSIM needs images of at least 11×11, got ${h}×${w}`);
    const win = tf.tile(tf.tensor4d(gaussianWindow(), [11, 11, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const blur = (t: tf.Tensor4D) => tf.depthwiseConv2d(t, win, 1, 'valid');
    const a = unit(x);
    const b = unit(y);
    const muA = blur(a);
    const muB = blur(b);
    const sAA = tf.sub(blur(tf.mul(a, a) as tf.Tensor4D), tf.square(muA));
    const sBB = tf.sub(blur(tf.mul(b, b) as tf.Tensor4D), tf.square(muB));
    const sAB = tf.sub(blur(tf.mul(a, b) as tf.Tensor4D), tf.mul(muA, muB));
    const c1 = 0.01 ** 2;
    const c2 = 0.03 ** 2;
    const num = tf.mul(tf.add(tf.mul(tf.mul(muA, muB), 2), c1), tf.add(tf.mul(sAB, 2), c2));
    const den = tf.mul(tf.add(tf.add(tf.square(muA), tf.square(muB)), c1), tf.add(tf.add(sAA, sBB), c2));
    return tf.mean(tf.div(num, den), [1, 2, 3]) as tf.Tensor1D;
  });
}

/** Per-image MSE ([0, 1] images), PSNR and SSIM of xr against x, summed over the batch (divide by N for means). */
export function qualitySums(x: tf.Tensor4D, xr: tf.Tensor4D): { mse01: number; psnr: number; ssim: number } {
  return tf.tidy(() => {
    const [m, p, s] = [mse01(x, xr), psnr(x, xr), ssim(x, xr)].map((t) => t.sum().dataSync()[0]);
    return { mse01: m, psnr: p, ssim: s };
  });
}
