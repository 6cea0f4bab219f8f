// Batch normalisation over N, H, W (or N for dense features) with learned scale and shift and running
// statistics for evaluation (the official LIA encoder uses BatchNorm after its convs and its last
// dense layer).
import * as tf from '@tensorflow/tfjs';
import { Module } from './module.js';

export class BatchNorm extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  /**
   * Synchronised batch norm for data-parallel training (train/data-parallel.ts): the mean over the
   * ranks of a per-rank statistic, differentiable, so that the statistics are the global batch's.
   * Null: the statistics of this process's batch.
   */
  crossReplicaMean: ((t: tf.Tensor) => tf.Tensor) | null = null;

  constructor(
    readonly channels: number,
    private readonly momentum = 0.99,
    private readonly eps = 1e-5,
  ) {
    super();
    this.gamma = this.param('gamma', tf.ones([channels]));
    this.beta = this.param('beta', tf.zeros([channels]));
    this.runningMean = this.buffer('running_mean', tf.zeros([channels]));
    this.runningVar = this.buffer('running_var', tf.ones([channels]));
  }

  /** x [N, H, W, C] or [N, C]. In training mode uses batch statistics and updates the running ones. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return tf.tidy(() => {
      const axes = x.rank === 4 ? [0, 1, 2] : [0];
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        if (this.crossReplicaMean) {
          // Equal batches on every rank: the mean of the ranks' means is the global mean, and the
          // mean of the ranks' mean squared deviations from it the global variance.
          mean = this.crossReplicaMean(tf.mean(x, axes));
          variance = this.crossReplicaMean(tf.mean(tf.square(tf.sub(x, mean)), axes)); // (squaredDifference has no broadcasting gradient)
        } else ({ mean, variance } = tf.moments(x, axes));
        // Buffers, not parameters: assigning them is invisible to the gradient.
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, this.momentum), tf.mul(mean, 1 - this.momentum)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, this.momentum), tf.mul(variance, 1 - this.momentum)));
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.gamma), this.beta);
    });
  }
}
