// Adam over named variables, with its state addressable by the same names so that a snapshot holds
// it and a resume continues exactly. (tf.train.adam keeps its moments under tfjs's global variable
// names, which differ between processes.)
//
// Two update paths, numerically the same formula in float32:
// - 'js': moments in Float32Arrays, the update in a plain loop. On wasm and cpu, tensors live in
//   CPU memory, and this replaces ~10 kernel launches per parameter tensor (≈1,100 per GAN step,
//   each ~0.1 ms of fixed overhead on wasm) by one read and one write.
// - 'tensor': moments in tf.Variables, the update in tf ops; for webgpu, where reading every
//   gradient back to the CPU would stall the GPU.
// - 'fused': moments in tf.Variables, the update one kernel per parameter tensor (engine/fused.ts)
//   on backends that have it (torch), with the 'js' path's arithmetic (float64, rounded to float32
//   where the 'js' path stores), so the two give the same numbers.
// - 'multi': as 'fused', but every parameter tensor in one kernel call (PyTorch's multi-tensor
//   optimisers), with the same per-tensor arithmetic: the same numbers as 'fused'.
import * as tf from '@tensorflow/tfjs';
import type { StateEntry } from '../io/checkpoint.js';
import { ADAM_STEP, ADAM_STEP_MULTI, hasFusedKernel, runMultiKernel } from '../engine/fused.js';

/** Parameter tensors per multi-tensor call (each result's shape must fit the backend's scratch buffer). */
export const MULTI_CHUNK = 1024;

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export type AdamMode = 'js' | 'tensor' | 'fused' | 'multi';

/** 'multi' (else 'fused') where the backend has the kernels (torch), 'tensor' on GPUs, else 'js' (wasm, cpu). */
export function defaultAdamMode(): AdamMode {
  if (hasFusedKernel(ADAM_STEP_MULTI)) return 'multi';
  if (hasFusedKernel(ADAM_STEP)) return 'fused';
  return tf.getBackend() === 'webgpu' || tf.getBackend() === 'webgl' ? 'tensor' : 'js';
}

interface Moments {
  m: Float32Array | tf.Variable;
  v: Float32Array | tf.Variable;
}

export class Adam {
  private readonly moments = new Map<string, Moments>();
  private readonly byVarName = new Map<string, string>();
  step = 0;
  /** ‖g‖ per parameter tensor at the latest update (filled when trackGradNorms is set). */
  lastGradNorms = new Map<string, number>();
  trackGradNorms = false;
  /**
   * Called on the gradients, in the order of `params`, before the update; may change them in place
   * (data-parallel training averages them over the ranks here: train/data-parallel.ts).
   */
  gradientHook: ((grads: tf.Tensor[]) => void) | null = null;

  constructor(
    readonly params: Map<string, tf.Variable>,
    public config: AdamConfig,
    readonly mode: AdamMode = defaultAdamMode(),
  ) {
    for (const [k, p] of params) {
      this.byVarName.set(p.name, k);
      this.moments.set(
        k,
        mode === 'js'
          ? { m: new Float32Array(p.size), v: new Float32Array(p.size) }
          : // In a tidy: a variable shares its initial tensor's data, so the zerosLike tensors would otherwise outlive the optimiser.
            tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) })),
      );
    }
  }

  /** Minimises `loss` over the parameters; returns the loss value as a tensor the caller disposes. */
  minimize(loss: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(loss, [...this.params.values()]);
    if (this.gradientHook) this.gradientHook([...this.params.values()].map((p) => grads[p.name]).filter((g) => g !== undefined));
    this.apply(grads);
    tf.dispose(grads);
    return value;
  }

  private apply(grads: tf.NamedTensorMap): void {
    this.step++;
    const { lr, beta1, beta2, eps } = this.config;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    // p ← p − lr·m̂/(√v̂ + ε), written as p − (lr·√c2/c1)·m/(√v + ε·√c2).
    const stepSize = (lr * Math.sqrt(c2)) / c1;
    const epsHat = eps * Math.sqrt(c2);
    if (this.trackGradNorms) this.lastGradNorms = new Map();
    if (this.mode === 'multi') return this.applyMulti(grads, { beta1, beta2, stepSize, epsHat });
    for (const [varName, g] of Object.entries(grads)) {
      const k = this.byVarName.get(varName);
      if (!k) continue;
      const p = this.params.get(k)!;
      const { m, v } = this.moments.get(k)!;
      if (m instanceof Float32Array && v instanceof Float32Array) {
        const gs = g.dataSync() as Float32Array;
        const ps = Float32Array.from(p.dataSync() as Float32Array);
        if (this.trackGradNorms) {
          let ss = 0;
          for (let i = 0; i < gs.length; i++) ss += gs[i] * gs[i];
          this.lastGradNorms.set(k, Math.sqrt(ss));
        }
        for (let i = 0; i < ps.length; i++) {
          const gi = gs[i];
          const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
          const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
          ps[i] -= (stepSize * mi) / (Math.sqrt(vi) + epsHat);
        }
        tf.tidy(() => p.assign(tf.tensor(ps, p.shape)));
      } else {
        const mv = m as tf.Variable;
        const vv = v as tf.Variable;
        if (this.trackGradNorms) this.lastGradNorms.set(k, tf.tidy(() => tf.norm(g).dataSync()[0]));
        if (this.mode === 'fused') {
          const outs = tf.engine().runKernel(ADAM_STEP, { p, g, m: mv, v: vv }, { beta1, beta2, stepSize, epsHat } as unknown as tf.NamedAttrMap) as tf.Tensor[];
          p.assign(outs[0]);
          mv.assign(outs[1]);
          vv.assign(outs[2]);
          tf.dispose(outs);
          continue;
        }
        tf.tidy(() => {
          const mNew = tf.add(tf.mul(mv, beta1), tf.mul(g, 1 - beta1));
          const vNew = tf.add(tf.mul(vv, beta2), tf.mul(tf.square(g), 1 - beta2));
          mv.assign(mNew);
          vv.assign(vNew);
          p.assign(tf.sub(p, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), epsHat)), stepSize)));
        });
      }
    }
  }

  /** Every parameter's update in one ADAM_STEP_MULTI call (at most MULTI_CHUNK parameters per call). */
  private applyMulti(grads: tf.NamedTensorMap, attrs: { beta1: number; beta2: number; stepSize: number; epsHat: number }): void {
    const todo: { p: tf.Variable; m: tf.Variable; v: tf.Variable; g: tf.Tensor }[] = [];
    for (const [varName, g] of Object.entries(grads)) {
      const k = this.byVarName.get(varName);
      if (!k) continue;
      const { m, v } = this.moments.get(k)!;
      if (this.trackGradNorms) this.lastGradNorms.set(k, tf.tidy(() => tf.norm(g).dataSync()[0]));
      todo.push({ p: this.params.get(k)!, m: m as tf.Variable, v: v as tf.Variable, g });
    }
    for (let start = 0; start < todo.length; start += MULTI_CHUNK) {
      const part = todo.slice(start, start + MULTI_CHUNK);
      const outs = runMultiKernel(ADAM_STEP_MULTI, part.flatMap(({ p, g, m, v }) => [p, g, m, v]), attrs);
      part.forEach(({ p, m, v }, i) => {
        p.assign(outs[3 * i]);
        m.assign(outs[3 * i + 1]);
        v.assign(outs[3 * i + 2]);
      });
      tf.dispose(outs);
    }
  }

  /** Moments by "<param>.m"/"<param>.v" names, for snapshots. */
  namedState(): Map<string, StateEntry> {
    const out = new Map<string, StateEntry>();
    for (const [k, p] of this.params) {
      const mom = this.moments.get(k)!;
      for (const which of ['m', 'v'] as const) {
        const buf = mom[which];
        out.set(`${k}.${which}`, {
          shape: p.shape,
          read: async () => (buf instanceof Float32Array ? buf : ((await buf.data()) as Float32Array)),
          write: (data) => (buf instanceof Float32Array ? buf.set(data) : tf.tidy(() => buf.assign(tf.tensor(data, p.shape)))),
        });
      }
    }
    return out;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) for (const b of [m, v]) if (!(b instanceof Float32Array)) b.dispose();
  }
}
