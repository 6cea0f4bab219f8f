// A small CNN classifier used as a fixed feature network ε: the evaluation network for FID/PPL
// (role `eval`) and the perceptual-loss network for the encoder (role `perceptual`). Trained on the
// project's own data (src/train/features.ts) because Inception-v3 and VGG16 weights cannot be
// downloaded here; metric names carry the network's name (fid10k_fmnistnet) so that numbers are
// never mistaken for the standard Inception FID.
//
// Layout, for resolution R (a power of two ≥ 16), widths [w1, w2, w3] and input NHWC [N, R, R, C] in [-1, 1]:
//   conv1  3×3 C→w1, lrelu          [N, R, R, w1]
//   conv2  3×3 w1→w1, lrelu         [N, R, R, w1]
//   pool1  avgPool 2×2              [N, R/2, R/2, w1]
//   conv3  3×3 w1→w2, lrelu         [N, R/2, R/2, w2]
//   conv4  3×3 w2→w2, lrelu         [N, R/2, R/2, w2]
//   pool2  avgPool 2×2              [N, R/4, R/4, w2]
//   conv5  3×3 w2→w3, lrelu         [N, R/4, R/4, w3]
//   pool   avgPool 2×2, flattened   [N, (R/8)²·w3]
//   fc     dense → fc, lrelu        [N, fc]          (penultimate: the FID features)
//   logits dense fc→numClasses      [N, numClasses]
// The head flattens rather than averaging globally: with a global average the same net reached only
// 80–86 % on Fashion-MNIST in 3 epochs (PyTorch trial), with the flattened 4×4 map 86 % after one.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { readLiaConfig, withLiaMetadata, type Metadata, type TensorMap } from '../io/safetensors.js';

export const FEATURE_LAYERS = ['conv1', 'conv2', 'pool1', 'conv3', 'conv4', 'pool2', 'conv5', 'pool', 'fc', 'logits'] as const;
export type FeatureLayer = (typeof FEATURE_LAYERS)[number];

/** Which job a trained network does; an encoder must never be trained against the network that scores it. */
export type FeatureRole = 'eval' | 'perceptual';

/** How a network was trained: provenance saved in its file. */
export interface FeatureTraining {
  /** Dataset spec and source, e.g. 'fashion-mnist' (+ files). */
  dataset: string;
  role?: FeatureRole;
  /** Fraction of the test split classified correctly. */
  testAccuracy?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  mirror?: boolean;
  backend?: string;
  wallSeconds?: number;
  date?: string;
}

export interface FeatureNetConfig {
  /** Short name used in metric names (fid10k_<name>); default 'featnet'. */
  name: string;
  /** Input side, a power of two ≥ 16. */
  resolution: number;
  channels: 1 | 3;
  /** Conv widths of the three stages (conv1–2, conv3–4, conv5). */
  widths: [number, number, number];
  /** Width of the fc layer. */
  fcWidth: number;
  classNames: string[];
  /** Seed of the initial weights. */
  seed: number;
  training?: FeatureTraining;
}

// The shipped Fashion-MNIST networks' widths (results/features/README.md: chosen for ≥ 90 % in ≤ 15 min on 2 cores).
export const FEATURE_NET_DEFAULTS = { name: 'featnet', widths: [8, 32, 64] as [number, number, number], fcWidth: 128, seed: 0 };

const LRELU_SLOPE = 0.2;
const CONVS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;
const DENSES = ['fc', 'logits'] as const;
const FORMAT_KIND = 'lia-feature-net';

/** Fills defaults and checks every field; throws with the field's name. */
export function validateFeatureNetConfig(partial: Partial<FeatureNetConfig> & { resolution: number; channels: number; classNames: string[] }): FeatureNetConfig {
  const cfg: FeatureNetConfig = {
    name: partial.name ?? FEATURE_NET_DEFAULTS.name,
    resolution: partial.resolution,
    channels: partial.channels as 1 | 3,
    widths: partial.widths ?? [...FEATURE_NET_DEFAULTS.widths],
    fcWidth: partial.fcWidth ?? FEATURE_NET_DEFAULTS.fcWidth,
    classNames: partial.classNames,
    seed: partial.seed ?? FEATURE_NET_DEFAULTS.seed,
    ...(partial.training ? { training: partial.training } : {}),
  };
  const r = cfg.resolution;
  if (!Number.isInteger(r) || r < 16 || (r & (r - 1)) !== 0) throw new Error(`feature net: resolution must be a power of two ≥ 16, got ${r}`);
  if (cfg.channels !== 1 && cfg.channels !== 3) throw new Error(`feature net: channels must be 1 or 3, got ${cfg.channels}`);
  if (!Array.isArray(cfg.widths) || cfg.widths.length !== 3 || !cfg.widths.every((w) => Number.isInteger(w) && w > 0)) {
    throw new Error(`feature net: widths must be three positive integers, got ${JSON.stringify(cfg.widths)}`);
  }
  if (!Number.isInteger(cfg.fcWidth) || cfg.fcWidth < 1) throw new Error(`feature net: fcWidth must be a positive integer, got ${cfg.fcWidth}`);
  if (!Array.isArray(cfg.classNames) || cfg.classNames.length < 2) throw new Error(`feature net: needs at least 2 class names, got ${JSON.stringify(cfg.classNames)}`);
  if (!Number.isSafeInteger(cfg.seed)) throw new Error(`feature net: seed must be an integer, got ${cfg.seed}`);
  if (typeof cfg.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cfg.name)) throw new Error(`feature net: name must be letters, digits, _ or -, got ${JSON.stringify(cfg.name)}`);
  return cfg;
}

function heNormal(rng: Rng, shape: number[], fanIn: number, gain: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const std = gain / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

export class FeatureNet {
  readonly config: FeatureNetConfig;
  /** Weights by name: `<layer>.weight` (conv HWIO [3, 3, in, out], dense [in, out]) and `<layer>.bias`. */
  readonly params: Record<string, tf.Variable>;

  constructor(config: FeatureNetConfig, weights?: TensorMap) {
    this.config = validateFeatureNetConfig(config);
    const shapes = this.paramShapes();
    const rng = new Rng(this.config.seed);
    const lreluGain = Math.sqrt(2 / (1 + LRELU_SLOPE ** 2));
    this.params = {};
    for (const [name, shape] of Object.entries(shapes)) {
      let data: Float32Array;
      if (weights) {
        const t = weights[name];
        if (!t) throw new Error(`feature net: weights lack ${name}`);
        if (t.dtype !== 'F32' || t.shape.join() !== shape.join()) {
          throw new Error(`feature net: ${name} should be F32 [${shape.join(', ')}], found ${t.dtype} [${t.shape.join(', ')}]`);
        }
        data = t.data as Float32Array;
      } else if (name.endsWith('.bias')) {
        data = new Float32Array(shape[0]);
      } else {
        const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
        data = heNormal(rng, shape, fanIn, name.startsWith('logits') ? 1 : lreluGain);
      }
      const init = tf.tensor(data, shape, 'float32');
      this.params[name] = tf.variable(init, true);
      init.dispose();
    }
  }

  private paramShapes(): Record<string, number[]> {
    const { channels, widths: [w1, w2], fcWidth, classNames } = this.config;
    const w3 = this.config.widths[2];
    const convIO: Record<(typeof CONVS)[number], [number, number]> = {
      conv1: [channels, w1],
      conv2: [w1, w1],
      conv3: [w1, w2],
      conv4: [w2, w2],
      conv5: [w2, w3],
    };
    const shapes: Record<string, number[]> = {};
    for (const name of CONVS) {
      const [cin, cout] = convIO[name];
      shapes[`${name}.weight`] = [3, 3, cin, cout];
      shapes[`${name}.bias`] = [cout];
    }
    const denseIO: Record<(typeof DENSES)[number], [number, number]> = { fc: [this.layerWidth('pool'), fcWidth], logits: [fcWidth, classNames.length] };
    for (const name of DENSES) {
      shapes[`${name}.weight`] = denseIO[name];
      shapes[`${name}.bias`] = [denseIO[name][1]];
    }
    return shapes;
  }

  get numClasses(): number {
    return this.config.classNames.length;
  }

  get numParams(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  /** Width of a layer's activations: channels for conv layers and pool1–2, features for pool, fc and logits. */
  layerWidth(name: FeatureLayer): number {
    const [w1, w2, w3] = this.config.widths;
    const widths: Record<FeatureLayer, number> = {
      conv1: w1, conv2: w1, pool1: w1, conv3: w2, conv4: w2, pool2: w2, conv5: w3, pool: (this.config.resolution / 8) ** 2 * w3, fc: this.config.fcWidth, logits: this.numClasses,
    };
    return widths[name];
  }

  private checkInput(x: tf.Tensor4D): void {
    const { resolution, channels } = this.config;
    if (x.rank !== 4 || x.shape[1] !== resolution || x.shape[2] !== resolution || x.shape[3] !== channels) {
      throw new Error(`feature net: expected images [N, ${resolution}, ${resolution}, ${channels}], got [${x.shape.join(', ')}]`);
    }
  }

  private conv(name: (typeof CONVS)[number], x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.add(tf.conv2d(x, this.params[`${name}.weight`] as tf.Tensor4D, 1, 'same'), this.params[`${name}.bias`]) as tf.Tensor4D;
    return tf.leakyRelu(y, LRELU_SLOPE);
  }

  private dense(name: (typeof DENSES)[number], x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.params[`${name}.weight`] as tf.Tensor2D), this.params[`${name}.bias`]) as tf.Tensor2D;
  }

  /**
   * Named intermediate activations of images x [N, R, R, C] in [-1, 1] (default: every layer).
   * Stops after the deepest requested layer. Differentiable; intermediate tensors that are not
   * returned are released.
   */
  features<K extends FeatureLayer>(x: tf.Tensor4D, layerNames?: readonly K[]): Record<K, tf.Tensor> {
    this.checkInput(x);
    const wanted = new Set<FeatureLayer>(layerNames ?? FEATURE_LAYERS);
    for (const name of wanted) if (!FEATURE_LAYERS.includes(name)) throw new Error(`feature net: unknown layer '${name}'; known: ${FEATURE_LAYERS.join(', ')}`);
    const last = Math.max(...[...wanted].map((n) => FEATURE_LAYERS.indexOf(n)));
    return tf.tidy(() => {
      const out = {} as Record<FeatureLayer, tf.Tensor>;
      const steps: Record<FeatureLayer, (h: tf.Tensor) => tf.Tensor> = {
        conv1: (h) => this.conv('conv1', h as tf.Tensor4D),
        conv2: (h) => this.conv('conv2', h as tf.Tensor4D),
        pool1: (h) => tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid'),
        conv3: (h) => this.conv('conv3', h as tf.Tensor4D),
        conv4: (h) => this.conv('conv4', h as tf.Tensor4D),
        pool2: (h) => tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid'),
        conv5: (h) => this.conv('conv5', h as tf.Tensor4D),
        pool: (h) => tf.reshape(tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid'), [h.shape[0], -1]),
        fc: (h) => tf.leakyRelu(this.dense('fc', h as tf.Tensor2D), LRELU_SLOPE),
        logits: (h) => this.dense('logits', h as tf.Tensor2D),
      };
      let h: tf.Tensor = x;
      for (let i = 0; i <= last; i++) {
        const name = FEATURE_LAYERS[i];
        h = steps[name](h);
        if (wanted.has(name)) out[name] = h;
      }
      return out as Record<K, tf.Tensor>;
    });
  }

  /** Class logits [N, numClasses]. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return this.features(x, ['logits']).logits as tf.Tensor2D;
  }

  /** The penultimate activations [N, fcWidth] (FID's features). */
  penultimate(x: tf.Tensor4D): tf.Tensor2D {
    return this.features(x, ['fc']).fc as tf.Tensor2D;
  }

  /** Weights as safetensors tensors (F32, names as in `params`). */
  async weights(): Promise<TensorMap> {
    const out: TensorMap = {};
    for (const [name, v] of Object.entries(this.params)) out[name] = { dtype: 'F32', shape: [...v.shape], data: (await v.data()) as Float32Array };
    return out;
  }

  /** Safetensors metadata: the LIA convention with this config, plus kind = lia-feature-net. */
  metadata(): Metadata {
    return withLiaMetadata(this.config, { kind: FORMAT_KIND });
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }

  /** Builds a network from decoded safetensors (tensors + metadata). */
  static fromSafetensors(tensors: TensorMap, metadata: Metadata, source = '<buffer>'): FeatureNet {
    if (metadata.kind !== FORMAT_KIND) throw new Error(`${source}: expected a feature network (metadata kind '${FORMAT_KIND}'), found kind ${JSON.stringify(metadata.kind)}`);
    const cfg = readLiaConfig(metadata, source) as FeatureNetConfig;
    try {
      return new FeatureNet(cfg, tensors);
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`);
    }
  }
}
