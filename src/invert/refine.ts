// Refinement of codes by optimisation (PAPER.md, section 6.3, equation 13):
//   code* = argmin ‖x − g(code)‖² + β·‖ε(x) − ε(g(code))‖²,  g frozen,
// with Adam, many images at once (each image's code only receives its own loss's gradient, and Adam
// normalises per coordinate, so a batch is N independent optimisations run together).
//
// Spaces:
// - 'y':     one y per image, broadcast to every synthesis layer (LIA's space);
// - 'z':     one z per image, x̃ = g(Φ⁻¹(z)) (or g(mapping(z)) for an MLP decoder) — the paper's
//            counter-example, which converges worse;
// - 'wplus': one y per synthesis layer (Image2StyleGAN's extended space).
// Starting points: the encoder's code f(x) (LIA), the mean y (Image2StyleGAN), or a random sample.
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../optim/adam.js';
import { pixelLoss } from '../losses/reconstruction.js';
import { InvertibleNetwork } from '../models/invertible.js';
import type { Generator } from '../models/generator.js';
import type { FeatureNet, FeatureLayer } from '../models/features.js';

export const REFINE_SPACES = ['y', 'z', 'wplus'] as const;
export type RefineSpace = (typeof REFINE_SPACES)[number];
export const REFINE_INITS = ['encoder', 'mean', 'random'] as const;
export type RefineInit = (typeof REFINE_INITS)[number];

/** Defaults: 200 Adam steps, β = (0.9, 0.999) as Image2StyleGAN; lr 0.1 from results/refinement-lr-probe (y has a per-dimension spread of about 2). */
export const REFINE_DEFAULTS = { steps: 200, lr: 0.1, beta1: 0.9, beta2: 0.999 } as const;

export interface RefineOptions {
  steps: number;
  lr: number;
  /** Weight of the perceptual term (0 or no network: pixel MSE only). */
  beta: number;
  perceptualNet?: FeatureNet;
  perceptualLayer?: FeatureLayer;
  space: RefineSpace;
  /** Called after every step with the batch-mean losses (pixel MSE on [-1, 1] images). */
  onStep?: (s: RefineStep) => void;
}

export interface RefineStep {
  step: number;
  /** The optimised loss: mse + β·perceptual. */
  loss: number;
  /** Batch-mean pixel MSE on the [-1, 1] images the loss sees (a quarter of it on [0, 1]: `mse / 4`). */
  mse: number;
  perceptual: number;
}

export interface RefineResult {
  /** The optimised code: [N, d] for y and z, [N, numWs, d] for wplus. */
  code: tf.Tensor;
  /** g(code), [N, R, R, C] in [-1, 1]. */
  images: tf.Tensor4D;
  history: RefineStep[];
  /** Per-image pixel MSE after the last step, on images in [0, 1] (the unit of every report). */
  finalMse: Float32Array;
}

/** g(code) for a code in a space (y and wplus go to synthesis directly, z through the mapping). */
export function renderCode(G: Generator, space: RefineSpace, code: tf.Tensor): tf.Tensor4D {
  return G.render(code, space === 'z' ? 'z' : 'y');
}

/**
 * Converts a y [N, d] starting point into the space being optimised: y itself, z = Φ(y) (which
 * needs the invertible mapping), or y repeated for every synthesis layer.
 */
export function yToSpace(G: Generator, space: RefineSpace, y: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    if (space === 'y') return y.clone();
    if (space === 'wplus') return tf.tile(tf.expandDims(y, 1), [1, G.numWs, 1]);
    if (!(G.mapping instanceof InvertibleNetwork)) throw new Error('a y cannot be mapped back to z: the decoder has the MLP mapping (start in z from a z instead)');
    return G.mapping.forward(y);
  });
}

/**
 * One refinement, a step at a time (what refine and refineAsync drive): the code is a variable
 * optimised by Adam; dispose() frees it, the optimiser state and the target features.
 */
export class Refinement {
  readonly history: RefineStep[] = [];
  private readonly code: tf.Variable;
  private readonly opt: Adam;
  private readonly target: tf.Tensor | null;
  private readonly layer: FeatureLayer;

  constructor(
    private readonly G: Generator,
    private readonly x: tf.Tensor4D,
    init: tf.Tensor,
    private readonly opts: Omit<RefineOptions, 'steps' | 'onStep'> & { steps?: number },
  ) {
    if (opts.steps !== undefined && (!(opts.steps >= 0) || !Number.isInteger(opts.steps))) throw new Error(`steps must be a non-negative integer, got ${opts.steps}`);
    if (!(opts.lr > 0)) throw new Error(`learning rate must be positive, got ${opts.lr}`);
    const n = x.shape[0];
    const wantShape = opts.space === 'wplus' ? [n, G.numWs, G.config.latentSize] : [n, G.config.latentSize];
    if (init.shape.join() !== wantShape.join()) throw new Error(`initial code for space ${opts.space} must be [${wantShape}], got [${init.shape}]`);
    if (opts.beta > 0 && !opts.perceptualNet) throw new Error('β > 0 needs a perceptual network');
    this.layer = opts.perceptualLayer ?? 'conv4';
    this.code = tf.variable(init, true);
    this.opt = new Adam(new Map([['code', this.code]]), { lr: opts.lr, beta1: REFINE_DEFAULTS.beta1, beta2: REFINE_DEFAULTS.beta2, eps: 1e-8 });
    // The target features never change: compute them once.
    const net = opts.beta > 0 ? opts.perceptualNet : undefined;
    this.target = net ? tf.tidy(() => net.features(x, [this.layer])[this.layer]) : null;
  }

  /** One Adam step on every image's code; the batch-mean losses before the update, read synchronously (Node, wasm, cpu). */
  step(): RefineStep {
    return this.record(this.update().map((t) => t.dataSync()[0]));
  }

  /**
   * The same, read asynchronously: GPU backends in a browser cannot read synchronously (WebGPU's
   * synchronous read returns zeros on some adapters and loses the device).
   */
  async stepAsync(): Promise<RefineStep> {
    const parts = this.update();
    return this.record(await Promise.all(parts.map(async (t) => (await t.data())[0])));
  }

  /** The Adam update; returns [loss, mse, perceptual] scalars for the caller to read (and disposes them after). */
  private update(): tf.Scalar[] {
    const { G, x, opts, code, target, layer } = this;
    let parts: tf.Scalar[] = [];
    const loss = this.opt.minimize(() => {
      const xr = renderCode(G, opts.space, code);
      const mse = pixelLoss(x, xr);
      const per = target ? (tf.mean(tf.squaredDifference(target, opts.perceptualNet!.features(xr, [layer])[layer])) as tf.Scalar) : tf.scalar(0);
      parts = [tf.keep(mse.clone()), tf.keep(per.clone())];
      return tf.add(mse, tf.mul(per, opts.beta)) as tf.Scalar;
    });
    this.pending = [loss, ...parts];
    return this.pending;
  }

  private pending: tf.Scalar[] = [];

  private record([l, m, p]: number[]): RefineStep {
    tf.dispose(this.pending);
    this.pending = [];
    const step = this.history.length + 1;
    if (!Number.isFinite(l)) throw new Error(`refinement diverged at step ${step} (loss ${l}); lower the learning rate (--lr ${this.opts.lr})`);
    const s = { step, loss: l, mse: m, perceptual: p };
    this.history.push(s);
    return s;
  }

  /** The code so far, its images and their per-image MSE (new tensors, the caller's to dispose). */
  async result(): Promise<RefineResult> {
    const { images, mse } = this.final();
    const finalMse = (await mse.data()) as Float32Array;
    mse.dispose();
    return { code: this.code.clone(), images, history: [...this.history], finalMse };
  }

  /** result() read synchronously. */
  resultSync(): RefineResult {
    const { images, mse } = this.final();
    const finalMse = mse.dataSync() as Float32Array;
    mse.dispose();
    return { code: this.code.clone(), images, history: [...this.history], finalMse };
  }

  private final(): { images: tf.Tensor4D; mse: tf.Tensor } {
    const images = renderCode(this.G, this.opts.space, this.code);
    // Images in [-1, 1] are twice the [0, 1] ones: a quarter of their squared difference.
    return { images, mse: tf.tidy(() => tf.div(tf.mean(tf.squaredDifference(this.x, images), [1, 2, 3]), 4)) };
  }

  dispose(): void {
    tf.dispose(this.pending);
    this.code.dispose();
    this.opt.dispose();
    this.target?.dispose();
  }
}

/** Optimises one code per image of x [N, R, R, C] from `init` (already in `opts.space`). */
export function refine(G: Generator, x: tf.Tensor4D, init: tf.Tensor, opts: RefineOptions): RefineResult {
  const r = new Refinement(G, x, init, opts);
  try {
    for (let step = 1; step <= opts.steps; step++) {
      const s = r.step();
      opts.onStep?.(s);
    }
    return r.resultSync();
  } finally {
    r.dispose();
  }
}

/**
 * refine for interactive use: gives the event loop a turn after every step (a page stays
 * responsive and can draw the loss), and stops early when `signal` aborts — the result then holds
 * the steps done so far and `stopped` is true.
 */
export async function refineAsync(G: Generator, x: tf.Tensor4D, init: tf.Tensor, opts: RefineOptions & { signal?: AbortSignal }): Promise<RefineResult & { stopped: boolean }> {
  const r = new Refinement(G, x, init, opts);
  try {
    let stopped = false;
    for (let step = 1; step <= opts.steps; step++) {
      if (opts.signal?.aborted) {
        stopped = true;
        break;
      }
      const s = await r.stepAsync();
      opts.onStep?.(s);
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return { ...(await r.result()), stopped };
  } finally {
    r.dispose();
  }
}
