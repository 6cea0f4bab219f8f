// VGG16's convolutional part (Simonyan & Zisserman 2015) from a user-supplied safetensors file, for
// the paper's perceptual loss (VGG16 conv4_3; the official code uses Keras block4_conv3). No weights
// ship with the project: convert them yourself, as float32, from either
//   - torchvision (`torchvision.models.vgg16(weights=...).state_dict()`): `features.<i>.weight`
//     [out, in, kh, kw] and `features.<i>.bias`, i = 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28;
//   - Keras (`tf.keras.applications.VGG16`): `block<b>_conv<k>/kernel` [kh, kw, in, out] and
//     `block<b>_conv<k>/bias` (also accepted with '.' or ':0' forms, e.g. block1_conv1.kernel).
// Classifier weights in the file are ignored. Filters are held as HWIO [kh, kw, in, out] for NHWC.
//
// Named outputs are taken after the ReLU (Keras' block4_conv3 includes its activation; torchvision's
// features[22] is relu4_3): conv1_1 … conv5_3, alias block1_conv1 … block5_conv3, and pool1 … pool5
// (alias block1_pool …), 2×2 max pools.
//
// Input preprocessing (images in [-1, 1], NHWC, grey repeated to RGB):
//   'caffe'  (Keras weights)       x255 = (x + 1)·127.5, RGB → BGR, minus the BGR mean [103.939, 116.779, 123.68]
//   'torch'  (torchvision weights) x01 = (x + 1)/2, minus [0.485, 0.456, 0.406], divided by [0.229, 0.224, 0.225] (RGB)
// The default follows the naming the file uses. Features of [0, 255]-scale inputs (caffe) are larger
// than torch-scale ones: a perceptual-loss weight (the paper's β₁ = 5e-5 is for caffe inputs) must
// match the preprocessing.
import * as tf from '@tensorflow/tfjs';
import type { TensorMap } from '../io/safetensors.js';

export type VggNaming = 'torchvision' | 'keras';
export type VggPreprocessing = 'caffe' | 'torch';

/** The 13 convolutions: [block, index in block, in channels, out channels, torchvision features index]. */
export const VGG16_CONVS: [number, number, number, number, number][] = [
  [1, 1, 3, 64, 0], [1, 2, 64, 64, 2],
  [2, 1, 64, 128, 5], [2, 2, 128, 128, 7],
  [3, 1, 128, 256, 10], [3, 2, 256, 256, 12], [3, 3, 256, 256, 14],
  [4, 1, 256, 512, 17], [4, 2, 512, 512, 19], [4, 3, 512, 512, 21],
  [5, 1, 512, 512, 24], [5, 2, 512, 512, 26], [5, 3, 512, 512, 28],
];

const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/** Canonical layer name (conv4_3, pool4) of a canonical or Keras name (block4_conv3, block4_pool). */
export function canonicalVggLayer(name: string): string {
  let m = /^block([1-5])_conv([1-3])$/.exec(name);
  if (m) return `conv${m[1]}_${m[2]}`;
  m = /^block([1-5])_pool$/.exec(name);
  if (m) return `pool${m[1]}`;
  return name;
}

/** Every canonical layer name in network order. */
export const VGG16_LAYERS: string[] = (() => {
  const out: string[] = [];
  for (const [b, k] of VGG16_CONVS) {
    out.push(`conv${b}_${k}`);
    if (k === (b <= 2 ? 2 : 3)) out.push(`pool${b}`);
  }
  return out;
})();

function kerasKey(names: Set<string>, b: number, k: number, part: 'kernel' | 'bias'): string | undefined {
  const base = `block${b}_conv${k}`;
  return [`${base}/${part}`, `${base}/${part}:0`, `${base}.${part}`, `${base}/${base}/${part}:0`].find((n) => names.has(n));
}

/** Which naming a tensor map uses. */
export function detectVggNaming(tensors: TensorMap): VggNaming {
  const names = new Set(Object.keys(tensors));
  if (names.has('features.0.weight')) return 'torchvision';
  if (kerasKey(names, 1, 1, 'kernel')) return 'keras';
  const sample = [...names].slice(0, 5).join(', ');
  throw new Error(`not a VGG16: expected torchvision (features.0.weight) or Keras (block1_conv1/kernel) names, found ${sample || 'no tensors'}`);
}

export class Vgg16 {
  readonly naming: VggNaming;
  readonly preprocessing: VggPreprocessing;
  /** HWIO filters and biases, by canonical conv name. */
  private readonly convs: Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>;

  private constructor(naming: VggNaming, preprocessing: VggPreprocessing, convs: Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>) {
    this.naming = naming;
    this.preprocessing = preprocessing;
    this.convs = convs;
  }

  /** Builds the network from decoded safetensors; `source` names the file in errors. */
  static fromSafetensors(tensors: TensorMap, opts: { preprocessing?: VggPreprocessing; source?: string } = {}): Vgg16 {
    const source = opts.source ?? '<buffer>';
    const naming = detectVggNaming(tensors);
    const names = new Set(Object.keys(tensors));
    const convs = new Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>();
    const fail = (msg: string): never => {
      for (const { w, b } of convs.values()) tf.dispose([w, b]);
      throw new Error(`${source}: ${msg}`);
    };
    const get = (key: string | undefined, what: string, shape: number[]) => {
      const t = key === undefined ? undefined : tensors[key];
      if (!t) return fail(`VGG16 (${naming} naming) lacks ${what}`);
      if (t.dtype !== 'F32') return fail(`${key}: expected F32, found ${t.dtype} (convert the weights to float32)`);
      if (t.shape.join() !== shape.join()) return fail(`${key}: expected shape [${shape.join(', ')}], found [${t.shape.join(', ')}]`);
      return t.data as Float32Array;
    };
    for (const [b, k, cin, cout, index] of VGG16_CONVS) {
      const name = `conv${b}_${k}`;
      let w: tf.Tensor4D;
      let bias: Float32Array;
      if (naming === 'torchvision') {
        const data = get(`features.${index}.weight`, `features.${index}.weight`, [cout, cin, 3, 3]);
        bias = get(`features.${index}.bias`, `features.${index}.bias`, [cout]);
        w = tf.tidy(() => tf.transpose(tf.tensor4d(data, [cout, cin, 3, 3]), [2, 3, 1, 0]));
      } else {
        const data = get(kerasKey(names, b, k, 'kernel'), `block${b}_conv${k}/kernel`, [3, 3, cin, cout]);
        bias = get(kerasKey(names, b, k, 'bias'), `block${b}_conv${k}/bias`, [cout]);
        w = tf.tensor4d(data, [3, 3, cin, cout]);
      }
      convs.set(name, { w, b: tf.tensor1d(bias) });
    }
    return new Vgg16(naming, opts.preprocessing ?? (naming === 'keras' ? 'caffe' : 'torch'), convs);
  }

  /** Images NHWC in [-1, 1] (1 or 3 channels) → the network's input scale (see the header comment). */
  preprocess(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      if (x.shape[3] !== 1 && x.shape[3] !== 3) throw new Error(`VGG16: expected 1 or 3 channels, got ${x.shape[3]}`);
      const rgb = x.shape[3] === 1 ? tf.tile(x, [1, 1, 1, 3]) : x;
      if (this.preprocessing === 'caffe') {
        const bgr = tf.reverse(rgb, 3);
        return tf.sub(tf.mul(tf.add(bgr, 1), 127.5), tf.tensor1d(CAFFE_BGR_MEAN)) as tf.Tensor4D;
      }
      return tf.div(tf.sub(tf.mul(tf.add(rgb, 1), 0.5), tf.tensor1d(TORCH_MEAN)), tf.tensor1d(TORCH_STD)) as tf.Tensor4D;
    });
  }

  /**
   * Named activations (canonical or Keras names) of images in [-1, 1]; runs only as deep as the
   * deepest requested layer. Differentiable with respect to x.
   */
  features(x: tf.Tensor4D, layers: readonly string[]): Record<string, tf.Tensor4D> {
    const wanted = new Map<string, string[]>();
    for (const name of layers) {
      const canon = canonicalVggLayer(name);
      if (!VGG16_LAYERS.includes(canon)) throw new Error(`VGG16: unknown layer '${name}'; known: ${VGG16_LAYERS.join(', ')} (or block<b>_conv<k>, block<b>_pool)`);
      wanted.set(canon, [...(wanted.get(canon) ?? []), name]);
    }
    const last = Math.max(...[...wanted.keys()].map((n) => VGG16_LAYERS.indexOf(n)));
    return tf.tidy(() => {
      const out: Record<string, tf.Tensor4D> = {};
      let h = this.preprocess(x);
      for (let i = 0; i <= last; i++) {
        const name = VGG16_LAYERS[i];
        if (name.startsWith('pool')) h = tf.maxPool(h, 2, 2, 'valid');
        else {
          const { w, b } = this.convs.get(name)!;
          h = tf.relu(tf.add(tf.conv2d(h, w, 1, 'same'), b));
        }
        for (const alias of wanted.get(name) ?? []) out[alias] = h;
      }
      return out;
    });
  }

  dispose(): void {
    for (const { w, b } of this.convs.values()) tf.dispose([w, b]);
    this.convs.clear();
  }
}
