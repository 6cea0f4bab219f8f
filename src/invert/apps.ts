// Applications of an encoder on real images (PAPER.md, section 6): interpolation between two
// encoded images (lerp in y, or slerp in z = Φ(y)), style mixing of two encoded images at a
// crossover layer, and edits along a direction in y. All with the frozen generator and const noise.
import * as tf from '@tensorflow/tfjs';
import { interpolateLatents } from './interpolate.js';
import { encodeIn, encodeY, type LiaModel } from './model.js';

/** `steps` images from g(f(a)) to g(f(b)): lerp in y or slerp in z. a, b: [1, R, R, C]. */
export function interpolateImages(m: LiaModel, a: tf.Tensor4D, b: tf.Tensor4D, space: 'y' | 'z', steps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const ca = encodeIn(m, a, space);
    const cb = encodeIn(m, b, space);
    const path = interpolateLatents(ca, cb, steps, space === 'y' ? 'lerp' : 'slerp');
    return m.G.render(path, space);
  });
}

/**
 * Style mixing of two real images: the coarse (low-resolution) layers take f(coarse), the layers from
 * `crossover` on take f(fine). Returns [reconstruction of coarse, reconstruction of fine, mix].
 */
export function mixImages(m: LiaModel, coarse: tf.Tensor4D, fine: tf.Tensor4D, crossover: number): tf.Tensor4D {
  const n = m.G.numWs;
  if (!Number.isInteger(crossover) || crossover < 1 || crossover >= n) throw new Error(`--crossover must be an integer in 1…${n - 1} (this generator has ${n} style inputs), got ${crossover}`);
  return tf.tidy(() => {
    const yc = encodeY(m, coarse);
    const yf = encodeY(m, fine);
    const ws = m.G.mixWs(yc, yf, crossover);
    const both = tf.concat([yc, yf], 0) as tf.Tensor2D;
    return tf.concat([m.G.render(both), m.G.render(ws)], 0) as tf.Tensor4D;
  });
}
