// Stage-2 reconstruction losses (PAPER.md): ‖x − x̃‖² + β1·‖ε(x) − ε(x̃)‖², both as means over their
// elements and averaged over the batch. ε is a fixed feature network (role perceptual), never the
// evaluation network that scores the results.
import * as tf from '@tensorflow/tfjs';
import type { FeatureNet, FeatureLayer } from '../models/features.js';

/** Mean squared pixel error, images in [-1, 1]. */
export function pixelLoss(x: tf.Tensor4D, xr: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(x, xr)) as tf.Scalar);
}

/** Mean squared difference of the feature network's activations at `layer`. */
export function perceptualLoss(net: FeatureNet, layer: FeatureLayer, x: tf.Tensor4D, xr: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const a = net.features(x, [layer])[layer];
    const b = net.features(xr, [layer])[layer];
    return tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;
  });
}
