// torch.distributed (c10d) for the `torch` backend: a process group and the collectives a
// data-parallel training step needs, over the tensors behind tfjs handles (native/torch/lia_dist.cc).
// Node only. Collectives are synchronous calls: every rank must make the same calls in the same order.
import * as tf from '@tensorflow/tfjs';
import { loadTorchAddon, torchAddonError } from './addon.js';
import type { TorchBackend } from './backend.js';
import { TORCH_BACKEND } from './kernels.js';

export type DistBackend = 'gloo' | 'nccl';

export interface ProcessGroupOptions {
  /** Rendezvous: tcp://HOST:PORT (rank 0 hosts the store) or file:///path (a shared file). */
  url: string;
  rank: number;
  worldSize: number;
  backend: DistBackend;
  /** How long any collective (and the rendezvous) may wait for the other ranks. */
  timeoutMs: number;
}

/** Bytes and milliseconds of one collective. */
export interface CollectiveCost {
  bytes: number;
  ms: number;
}

interface DistAddon {
  available: boolean;
  why?: string;
  backends: string[];
  init(o: ProcessGroupOptions): { rank: number; worldSize: number; backend: string };
  allReduce(handles: number[], average: boolean, bucketBytes: number): CollectiveCost;
  broadcast(handles: number[], root: number, bucketBytes: number): CollectiveCost;
  allReduceValues(values: Float64Array, label: string): Float64Array;
  barrier(label: string): void;
  stats(): { bytes?: number; ms?: number; calls?: number };
  destroy(clean: boolean): void;
}

/** 25 MiB buckets, DistributedDataParallel's default. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** The addon's torch.distributed half, or an error saying why there is none. */
function distAddon(): DistAddon {
  const addon = loadTorchAddon() as (ReturnType<typeof loadTorchAddon> & { dist?: DistAddon }) | null;
  if (!addon) throw new Error(`distributed training needs the torch backend: ${torchAddonError()}`);
  if (!addon.dist) throw new Error('distributed training: this torch addon predates torch.distributed; rebuild it with `npm run build:torch`');
  if (!addon.dist.available) throw new Error(`distributed training: the torch addon was ${addon.dist.why}`);
  return addon.dist;
}

/** Whether this build can run a process group (and with which backends). */
export function distributedSupport(): { available: boolean; backends: string[]; why?: string } {
  try {
    const d = distAddon();
    return { available: true, backends: d.backends };
  } catch (e) {
    return { available: false, backends: [], why: (e as Error).message };
  }
}

let active: ProcessGroup | null = null;

export class ProcessGroup {
  private destroyed = false;

  private constructor(
    private readonly d: DistAddon,
    readonly rank: number,
    readonly worldSize: number,
    readonly backend: DistBackend,
  ) {}

  /** Joins the group: waits (up to the timeout) until all worldSize ranks have arrived. One per process. */
  static init(o: ProcessGroupOptions): ProcessGroup {
    const d = distAddon();
    if (!d.backends.includes(o.backend)) throw new Error(`distributed training: backend '${o.backend}' is not in this build (it has ${d.backends.join(', ')})`);
    d.init(o);
    active = new ProcessGroup(d, o.rank, o.worldSize, o.backend);
    return active;
  }

  private handles(tensors: tf.Tensor[]): number[] {
    if (tf.getBackend() !== TORCH_BACKEND) throw new Error(`distributed training needs --backend torch (the active backend is ${tf.getBackend()})`);
    const b = tf.backend() as unknown as TorchBackend;
    return tensors.map((t) => {
      if (t.dtype !== 'float32') throw new Error(`distributed collectives take float32 tensors, got ${t.dtype}`);
      return b.handle(t);
    });
  }

  /**
   * Sums (or averages) float32 tensors over the ranks, writing the result into the tensors' own
   * memory: only for tensors nothing else shares (fresh gradients), never for variables.
   */
  allReduceInPlace(tensors: tf.Tensor[], op: 'sum' | 'mean', bucketBytes = DEFAULT_BUCKET_BYTES): CollectiveCost {
    // One tensor may stand for several gradients (tfjs aliases data): reduce each storage once.
    return this.d.allReduce([...new Set(this.handles(tensors))], op === 'mean', bucketBytes);
  }

  /** Rank `root`'s values of float32 tensors in every rank's copies, in place (fresh tensors only). */
  broadcastInPlace(tensors: tf.Tensor[], root = 0, bucketBytes = DEFAULT_BUCKET_BYTES): CollectiveCost {
    return this.d.broadcast([...new Set(this.handles(tensors))], root, bucketBytes);
  }

  /** Element-wise sums over the ranks of a few numbers (losses, flags), in float64. */
  allReduceValues(values: number[], label = 'values'): number[] {
    return [...this.d.allReduceValues(Float64Array.from(values), label)];
  }

  barrier(label = 'barrier'): void {
    this.d.barrier(label);
  }

  /** Bytes, milliseconds and calls of allReduceInPlace since init. */
  stats(): { bytes: number; ms: number; calls: number } {
    const s = this.d.stats();
    return { bytes: s.bytes ?? 0, ms: s.ms ?? 0, calls: s.calls ?? 0 };
  }

  /** Leaves the group. `clean` after a normal end (every rank finished); false after a failure. */
  destroy(clean = true): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.d.destroy(clean);
    if (active === this) active = null;
  }
}

/** The process group of this process, if one was initialised. */
export function activeProcessGroup(): ProcessGroup | null {
  return active;
}
