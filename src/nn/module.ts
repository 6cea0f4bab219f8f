// The base of every layer and model: named tf.Variables in a tree, so that checkpoints, optimisers
// and the EMA copy can address each parameter by a stable dotted name ("synthesis.b8.conv1.weight").
// Variables are created without tfjs names (tfjs names are global and would clash between a model
// and its EMA copy); the names live here.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';

export abstract class Module {
  private readonly ownParams = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  /** A trainable parameter. */
  protected param(name: string, init: tf.Tensor): tf.Variable {
    const v = tf.variable(init, true);
    init.dispose();
    this.ownParams.set(name, v);
    return v;
  }

  /** Non-trainable state saved with the model (fixed noise, running averages). */
  protected buffer(name: string, init: tf.Tensor): tf.Variable {
    const v = tf.variable(init, false);
    init.dispose();
    this.ownBuffers.set(name, v);
    return v;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** This module and every module below it, depth first. */
  modules(): Module[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.modules())];
  }

  /** Trainable parameters by dotted name, in creation order. */
  namedParameters(prefix = ''): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.collect(prefix, out, true, false);
    return out;
  }

  /** Parameters and buffers: everything a checkpoint must hold. */
  namedState(prefix = ''): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.collect(prefix, out, true, true);
    return out;
  }

  private collect(prefix: string, out: Map<string, tf.Variable>, params: boolean, buffers: boolean): void {
    if (params) for (const [k, v] of this.ownParams) out.set(prefix + k, v);
    if (buffers) for (const [k, v] of this.ownBuffers) out.set(prefix + k, v);
    for (const [k, c] of this.children) c.collect(`${prefix}${k}.`, out, params, buffers);
  }

  parameters(): tf.Variable[] {
    return [...this.namedParameters().values()];
  }

  numParams(): number {
    return this.parameters().reduce((s, v) => s + v.size, 0);
  }

  /** Copies every parameter and buffer from a module of the same architecture. */
  copyFrom(other: Module): void {
    const src = other.namedState();
    for (const [k, v] of this.namedState()) {
      const s = src.get(k);
      if (!s) throw new Error(`copyFrom: source has no '${k}'`);
      v.assign(s);
    }
  }

  dispose(): void {
    for (const v of this.namedState().values()) v.dispose();
  }
}

/** N(0, std²) initial values from the project's seeded generator (identical on every backend). */
export function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return tf.tensor(a, shape);
}
