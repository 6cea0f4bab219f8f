// Gradients that tfjs 4.22 lacks and that second-order gradients need: R1 (the gradient of D's
// input-gradient) and path-length regularisation differentiate through the backward kernels of
// leakyRelu, avgPool and conv2d. Registered once, for every backend.
import * as tf from '@tensorflow/tfjs';

let done = false;

/** Comparisons are piecewise constant: zero gradient to both inputs (leakyRelu's grad uses Greater). */
const COMPARISONS = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual'];

export function registerSecondOrderGradients(): void {
  if (done) return;
  done = true;

  for (const kernelName of COMPARISONS) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved;
        return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
      },
    });
  }

  // AvgPoolGrad(dy, input) is linear in dy and is the adjoint of AvgPool, so its own gradient with
  // respect to dy is AvgPool of the incoming gradient; it does not depend on input's values.
  // Only for unpadded pools: with padding, tfjs's AvgPool divides each window by its in-image pixel
  // count but AvgPoolGrad by the full window, so the two are not adjoint at the borders (and the
  // first-order gradient is already not AvgPool's); lia pools 2×2 without padding.
  if (!tf.getGradient('AvgPoolGrad')) {
    tf.registerGradient({
      kernelName: 'AvgPoolGrad',
      inputsToSave: ['input'],
      gradFunc: (g, saved, attrs) => {
        const [input] = saved;
        const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
          filterSize: [number, number] | number;
          strides: [number, number] | number;
          pad: 'valid' | 'same' | number;
          dimRoundingMode?: 'floor' | 'round' | 'ceil';
        };
        const { padInfo } = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
        if (padInfo.top || padInfo.bottom || padInfo.left || padInfo.right) {
          throw new Error(`second-order gradient of AvgPoolGrad: only unpadded pools are supported (pad ${JSON.stringify(pad)} pads this ${input.shape.join('×')} input), because tfjs's AvgPoolGrad is not the adjoint of AvgPool at padded borders`);
        }
        return {
          dy: () => tf.avgPool(g as tf.Tensor4D, filterSize, strides, pad, dimRoundingMode),
          input: () => tf.zerosLike(input),
        };
      },
    });
  }

  // Conv2DBackpropFilter(x, dy) → dW is bilinear: dW = corr(x, dy). For an incoming gradient G of
  // dW's shape: ∂/∂x = conv2dTranspose(dy, G) (the backprop-input with G as the filter) and
  // ∂/∂dy = conv2d(x, G), with the same strides and padding.
  if (!tf.getGradient('Conv2DBackpropFilter')) {
    tf.registerGradient({
      kernelName: 'Conv2DBackpropFilter',
      inputsToSave: ['x', 'dy'],
      gradFunc: (g, saved, attrs) => {
        const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
          strides: [number, number] | number;
          pad: 'valid' | 'same' | number;
          dataFormat: 'NHWC' | 'NCHW';
          dimRoundingMode?: 'floor' | 'round' | 'ceil';
        };
        if (dataFormat !== 'NHWC') throw new Error('second-order gradient of Conv2DBackpropFilter: only NHWC is supported');
        const G = g as tf.Tensor4D;
        return {
          x: () => tf.conv2dTranspose(dy, G, x.shape, strides, pad as 'valid' | 'same' | number, dimRoundingMode),
          dy: () => tf.conv2d(x, G, strides, pad as 'valid' | 'same' | number, 'NHWC', 1, dimRoundingMode),
        };
      },
    });
  }
}
