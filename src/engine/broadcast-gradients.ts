// Gradients of Tile, Sum and Mean that cost a fixed number of kernels, whatever the batch.
// tfjs 4.22's Tile gradient adds one slice of dy per repetition (a loop of Slice + Add: the 4×4
// constant tiled over the batch cost 2·N kernels per G step, minibatch-std's map g·h·w per D pass,
// more under R1's second order); its Sum and Mean gradients multiply by a ones tensor made in
// JavaScript and uploaded (an array of the input's size per call). Here:
//   Tile:       dy reshaped to [r0, s0, r1, s1, …], summed over the repetition axes;
//   Sum, Mean:  dy broadcast back to the input's shape (a Tile), Mean's divided by the count.
// The values are the same as tfjs's (dy·1 is dy; the sum adds the same terms), up to the order of
// a sum on backends that reduce in another order; all three stay differentiable (second order).
import * as tf from '@tensorflow/tfjs';

let done = false;

/** The input shape with the reduced axes set to 1. */
function keptShape(shape: number[], axis: unknown): number[] {
  const axes = tf.util.parseAxisParam((axis ?? null) as number | number[], shape);
  const kept = shape.slice();
  for (const a of axes) kept[a] = 1;
  return kept;
}

/** dy of a reduction, reshaped to keep dims and broadcast to the input's shape. */
function spread(dy: tf.Tensor, shape: number[], axis: unknown): tf.Tensor {
  return tf.broadcastTo(tf.reshape(dy, keptShape(shape, axis)), shape);
}

export function registerBroadcastGradients(): void {
  if (done) return;
  done = true;
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const reps = (attrs as unknown as { reps: number[] }).reps;
      return {
        x: () => {
          // Axis i of dy is [reps[i], x.shape[i]] (repetition outer); only axes that repeat a
          // dimension larger than 1 are split, which keeps the rank low (webgpu handles rank ≤ 6).
          const d = dy as tf.Tensor;
          const split: number[] = [];
          const axes: number[] = [];
          x.shape.forEach((s, i) => {
            if (reps[i] > 1) axes.push(split.length);
            if (reps[i] > 1 && s > 1) split.push(reps[i], s);
            else split.push(reps[i] * s);
          });
          if (axes.length === 0) return tf.reshape(d, x.shape);
          return tf.reshape(tf.sum(tf.reshape(d, split), axes), x.shape);
        },
      };
    },
  });
  tf.registerGradient({
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { x: () => spread(dy as tf.Tensor, x.shape, (attrs as unknown as { axis: unknown }).axis) };
    },
  });
  tf.registerGradient({
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axis = (attrs as unknown as { axis: unknown }).axis;
      const count = tf.util.sizeFromShape(x.shape) / tf.util.sizeFromShape(keptShape(x.shape, axis));
      return { x: () => tf.div(spread(dy as tf.Tensor, x.shape, axis), count) };
    },
  });
}
