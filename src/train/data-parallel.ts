// Data-parallel training over torch.distributed (engine/torch/dist.ts), as StyleGAN2-ADA does it with
// one process per GPU: every rank holds the whole model and takes its share of each global batch
// (nn/batch-shard.ts); the gradients of every optimiser step are averaged over the ranks before the
// update, so W ranks × batch n take the steps one process with batch W·n would, up to float rounding.
// Rank 0's state is broadcast once at the start; from then on the ranks stay equal because they take
// equal steps. Rank 0 alone writes (logs, snapshots, grids): see run-loop.ts.
import * as tf from '@tensorflow/tfjs';
import { ProcessGroup, type ProcessGroupOptions } from '../engine/torch/dist.js';
import { asEntry, type VariableGroups } from '../io/checkpoint.js';
import type { Adam } from '../optim/adam.js';
import type { BatchShard } from '../nn/batch-shard.js';

export type { ProcessGroupOptions };

/** What the snapshot's loop state records about the run's parallelism. */
export interface ParallelState {
  /** Ranks the run had when the snapshot was written (absent: 1). */
  worldSize?: number;
}

export class DataParallel {
  /** Bytes and milliseconds of gradient all-reduce in the latest training step (for `lia bench train`). */
  stepBytes = 0;
  stepMs = 0;
  /**
   * Benchmarks: before each gradient all-reduce, a barrier whose time (added to stepWaitMs) is the
   * wait for the slowest rank, so that stepMs is the all-reduce itself.
   */
  measureWait = false;
  stepWaitMs = 0;

  constructor(readonly group: ProcessGroup) {}

  static init(o: ProcessGroupOptions): DataParallel {
    return new DataParallel(ProcessGroup.init(o));
  }

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  get isPrimary(): boolean {
    return this.group.rank === 0;
  }

  /** This rank's rows of every global batch. */
  get shard(): BatchShard {
    return { rank: this.group.rank, count: this.group.worldSize };
  }

  /** Makes each optimiser average its gradients over the ranks before every update. */
  attach(...optimisers: Adam[]): void {
    for (const opt of optimisers) {
      opt.gradientHook = (grads) => {
        if (this.measureWait) {
          const t0 = performance.now();
          this.group.barrier('the barrier before the gradient all-reduce');
          this.stepWaitMs += performance.now() - t0;
        }
        const c = this.group.allReduceInPlace(grads, 'mean');
        this.stepBytes += c.bytes;
        this.stepMs += c.ms;
      };
    }
  }

  /**
   * The mean over the ranks of a tensor, differentiable: its gradient is the mean over the ranks of
   * the incoming gradients (the all-reduce is its own adjoint). With the optimisers' gradient mean
   * this gives the gradient of the global batch's loss through statistics shared by all ranks
   * (synchronised batch norm: nn/batch-norm.ts).
   */
  readonly crossReplicaMean = (t: tf.Tensor): tf.Tensor => {
    const reduce = (x: tf.Tensor): tf.Tensor => {
      const copy = tf.add(x, 0); // fresh memory: the all-reduce writes in place
      const c = this.group.allReduceInPlace([copy], 'mean');
      this.stepBytes += c.bytes;
      this.stepMs += c.ms;
      return copy;
    };
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: reduce(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => reduce(dy) }));
    return f(t);
  };

  /** Starts the per-step all-reduce counters over. */
  resetStepCounters(): void {
    this.stepBytes = 0;
    this.stepMs = 0;
    this.stepWaitMs = 0;
  }

  /**
   * Rank 0's values of every variable a snapshot holds (models, EMA, optimiser moments), on every
   * rank: a fresh run starts from rank 0's initial weights, a resumed one from what rank 0 read.
   */
  async broadcastState(groups: VariableGroups): Promise<void> {
    const entries = Object.keys(groups)
      .sort()
      .flatMap((g) => [...groups[g].values()].map(asEntry));
    const values = await Promise.all(entries.map((e) => e.read()));
    const tensors = entries.map((e, i) => tf.tensor(values[i], e.shape, 'float32'));
    try {
      this.group.broadcastInPlace(tensors, 0);
      for (let i = 0; i < entries.length; i++) entries[i].write((await tensors[i].data()) as Float32Array);
    } finally {
      tf.dispose(tensors);
    }
  }

  /** The mean over the ranks of each value (losses of a step: what one process with the global batch logs). */
  meanValues<T extends object>(values: T): T {
    const keys = Object.keys(values).sort();
    const sums = this.group.allReduceValues(
      keys.map((k) => (values as Record<string, number>)[k]),
      `the losses (${keys.join(', ')})`,
    );
    return Object.fromEntries(keys.map((k, i) => [k, sums[i] / this.worldSize])) as T;
  }

  /** True on every rank when it is true on any (a stop request on one rank stops all of them together). */
  anyTrue(flag: boolean, what: string): boolean {
    return this.group.allReduceValues([flag ? 1 : 0], what)[0] > 0;
  }

  /** Throws on every rank unless all ranks hold the same numbers (e.g. the step they resume from). */
  agree(what: string, values: number[]): void {
    const sums = this.group.allReduceValues([...values, ...values.map((v) => v * v)], what);
    const w = this.worldSize;
    for (let i = 0; i < values.length; i++) {
      const mean = sums[i] / w;
      const variance = sums[values.length + i] / w - mean * mean;
      if (variance > 1e-9 * Math.max(1, mean * mean)) {
        throw new Error(`the ${w} ranks disagree on ${what}: rank ${this.rank} has ${values[i]}, the mean over ranks is ${mean}`);
      }
    }
  }

  /** Leaves the process group (clean: every rank finished normally). */
  destroy(clean: boolean): void {
    this.group.destroy(clean);
  }
}

/**
 * The per-rank batch a resumed run continues with: the snapshot's global batch (its batch × its
 * world size) split over the new world size, with a notice when that differs from the snapshot's.
 */
export function resumedBatch(savedBatch: number, savedWorld: number, world: number): { batch: number; notice?: string } {
  const global = savedBatch * savedWorld;
  if (world === savedWorld) return { batch: savedBatch };
  if (global % world !== 0) {
    throw new Error(
      `the snapshot was trained by ${savedWorld} rank${savedWorld > 1 ? 's' : ''} × batch ${savedBatch} (global batch ${global}), which does not split over ${world} ranks: resume with a world size that divides ${global}`,
    );
  }
  const batch = global / world;
  return {
    batch,
    notice: `the snapshot was trained by ${savedWorld} rank${savedWorld > 1 ? 's' : ''} × batch ${savedBatch}; continuing with ${world} rank${world > 1 ? 's' : ''} × batch ${batch}, the same global batch of ${global}`,
  };
}
