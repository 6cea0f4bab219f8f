// β1 for a perceptual network other than VGG16 (PAPER.md: β1 = 5e-5 is the scale for VGG16 conv4_3
// features of [0, 255] inputs and "must be re-derived for another ε").
//
// How it is derived. What β1 controls is the weight of the perceptual term relative to the pixel term.
// We define that weight as the ratio of the two terms on a reference error — each training image
// against a blurred copy of itself (2×2 average pooling, bilinear upsampling back), the kind of error
// a reconstruction makes while it lacks detail:
//     ρ(ε, β) = β · E[mean (ε(x) − ε(x̃))²] / E[mean (x − x̃)²]      (x in [-1, 1])
// and choose β1 for our ε so that ρ(ε, β1) = ρ(VGG16 conv4_3 on [0, 255] caffe inputs, 5e-5).
// ρ for VGG16 is measured with the same images (upsampled to 128×128 as in the paper's smallest
// setting, grey repeated to RGB) when the user supplies VGG16 weights (safetensors). Without VGG16
// weights — none can be downloaded here — ρ_VGG is unknown and we use ρ = 1 (both terms equal on the
// reference error); the result records which of the two was used.
import * as tf from '@tensorflow/tfjs';
import type { FeatureNet, FeatureLayer } from '../models/features.js';
import type { Vgg16 } from '../models/vgg16.js';

export const PAPER_BETA1 = 5e-5;
export const DEFAULT_RHO = 1;

export interface PerceptualWeight {
  beta1: number;
  rho: number;
  rhoSource: 'vgg16' | 'default';
  pixelTerm: number; // E[mean (x − x̃)²] on the reference error
  perceptualTerm: number; // E[mean (ε(x) − ε(x̃))²]
  images: number;
}

/** The blurred reference reconstruction x̃ of x. */
export function referenceError(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    return tf.image.resizeBilinear(tf.avgPool(x, 2, 2, 'valid'), [h, w]);
  });
}

function meanSq(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tf.squaredDifference(a, b)).dataSync()[0]);
}

/** ρ of VGG16 conv4_3 with the paper's β1 on these images. */
export function vggRho(vgg: Vgg16, images: tf.Tensor4D, layer = 'conv4_3'): number {
  return tf.tidy(() => {
    const up = tf.image.resizeBilinear(images, [128, 128]);
    const ref = referenceError(images);
    const refUp = tf.image.resizeBilinear(ref, [128, 128]);
    const a = vgg.features(up, [layer])[layer];
    const b = vgg.features(refUp, [layer])[layer];
    return (PAPER_BETA1 * meanSq(a, b)) / meanSq(images, ref);
  });
}

/** β1 for `net` at `layer` so that its ρ equals VGG16's (or the default ρ). */
export function calibratePerceptualWeight(net: FeatureNet, layer: FeatureLayer, images: tf.Tensor4D, vgg?: Vgg16): PerceptualWeight {
  const rho = vgg ? vggRho(vgg, images) : DEFAULT_RHO;
  const { pixelTerm, perceptualTerm } = tf.tidy(() => {
    const ref = referenceError(images);
    const a = net.features(images, [layer])[layer];
    const b = net.features(ref, [layer])[layer];
    return { pixelTerm: meanSq(images, ref), perceptualTerm: meanSq(a, b) };
  });
  if (!(perceptualTerm > 0)) throw new Error(`perceptual network layer ${layer} does not respond to the reference error (term ${perceptualTerm})`);
  return { beta1: (rho * pixelTerm) / perceptualTerm, rho, rhoSource: vgg ? 'vgg16' : 'default', pixelTerm, perceptualTerm, images: images.shape[0] };
}
