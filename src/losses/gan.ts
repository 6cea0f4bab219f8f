// GAN objectives of stage 1 (StyleGAN's, as in the official LIA code): non-saturating logistic loss
// for g, logistic loss plus the R1 gradient penalty for c. Each is a pure function of logits.
import * as tf from '@tensorflow/tfjs';

/** c's logistic loss: softplus(c(x̃)) + softplus(−c(x)), averaged over the batch. */
export function dLogisticLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(fakeLogits)), tf.mean(tf.softplus(tf.neg(realLogits)))) as tf.Scalar);
}

/** g's non-saturating loss: softplus(−c(x̃)), averaged over the batch. */
export function gNonSaturatingLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar);
}

/**
 * R1 (Mescheder et al. 2018): E‖∇ₓ c(x)‖² on real images, the squared input-gradient norm per image,
 * averaged over the batch. The caller scales it by lazyR1Weight.
 */
export function r1Penalty(d: (x: tf.Tensor4D) => tf.Tensor, real: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(d(x as tf.Tensor4D)))(real);
    return tf.mean(tf.sum(tf.square(g), [1, 2, 3])) as tf.Scalar;
  });
}

/**
 * Lazy R1 (StyleGAN2): the penalty is applied on every `interval`-th D step only (isLazyR1Step) and
 * weighted by (γ/2)·interval there, so that its average weight per D step stays γ/2.
 */
export function lazyR1Weight(gamma: number, interval: number): number {
  return (gamma / 2) * interval;
}

/** Whether D step `step` (counted from 0) carries the lazy R1 penalty. */
export function isLazyR1Step(step: number, gamma: number, interval: number): boolean {
  return gamma > 0 && step % interval === 0;
}
