// Interpolation between latent codes: lerp (for y, the disentangled space) and slerp (for z, whose
// samples live near a sphere of radius √d). Used by `lia interpolate` and by PPL.
import * as tf from '@tensorflow/tfjs';

/** a, b [1, d] → [steps, d]: points at t = 0, 1/(steps−1), …, 1. */
export function interpolateLatents(a: tf.Tensor2D, b: tf.Tensor2D, steps: number, mode: 'lerp' | 'slerp'): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.linspace(0, 1, steps).reshape([steps, 1]) as tf.Tensor2D;
    return mode === 'lerp' ? lerp(a, b, t) : slerp(a, b, t);
  });
}

/** a + t (b − a), broadcasting [N, d] or [1, d] against t [N, 1]. */
export function lerp(a: tf.Tensor2D, b: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(a, tf.mul(tf.sub(b, a), t)) as tf.Tensor2D);
}

/**
 * Spherical interpolation of the directions of a and b (StyleGAN's PPL in z), with the norm
 * interpolated linearly; falls back to lerp where a and b are (anti)parallel.
 */
export function slerp(a: tf.Tensor2D, b: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const na = tf.norm(a, 'euclidean', 1, true);
    const nb = tf.norm(b, 'euclidean', 1, true);
    const ua = tf.div(a, na);
    const ub = tf.div(b, nb);
    const cos = tf.clipByValue(tf.sum(tf.mul(ua, ub), 1, true), -1, 1);
    const omega = tf.acos(cos);
    const sin = tf.sin(omega);
    const safe = tf.greater(sin, 1e-6);
    const denom = tf.where(safe, sin, tf.onesLike(sin));
    const wa = tf.where(safe, tf.div(tf.sin(tf.mul(tf.sub(1, t), omega)), denom), tf.sub(1, t));
    const wb = tf.where(safe, tf.div(tf.sin(tf.mul(t, omega)), denom), t);
    const dir = tf.add(tf.mul(ua, wa), tf.mul(ub, wb));
    const norm = tf.add(na, tf.mul(tf.sub(nb, na), t));
    return tf.mul(dir, norm) as tf.Tensor2D;
  });
}
