// Minibatch standard deviation (ProGAN): appends one feature map holding the average, over features
// and pixels, of the standard deviation across a group of samples, so D can see a lack of variety.
import * as tf from '@tensorflow/tfjs';

/** x [N, H, W, C] → [N, H, W, C+1]; the group size is min(groupSize, N) and must divide N. */
export function minibatchStd(x: tf.Tensor4D, groupSize = 4): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const g = Math.min(groupSize, n);
    if (n % g !== 0) throw new Error(`minibatchStd: batch ${n} is not divisible by the group size ${g}`);
    const grouped = tf.reshape(x, [g, n / g, h, w, c]); // sample i of group j at [i, j]
    const centred = tf.sub(grouped, tf.mean(grouped, 0, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [n/g, h, w, c]
    const s = tf.mean(std, [1, 2, 3]); // [n/g]
    const map = tf.tile(tf.reshape(s, [n / g, 1, 1, 1]), [g, h, w, 1]); // sample k gets group k mod n/g
    return tf.concat([x, map], 3) as tf.Tensor4D;
  });
}
