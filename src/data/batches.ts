// Batches for training and evaluation: float32 NHWC in [-1, 1] (x / 127.5 − 1), cut from the
// dataset's uint8 cache. The data layer stays free of tfjs: callers wrap `data` and `shape` in a
// tensor (tf.tensor4d(batch.data, batch.shape)).
//
// BatchIterator is the training stream: each epoch is a fresh permutation of the split from the
// seeded rng; every batch is full, and the remainder of an epoch that does not fill a batch is left
// out of that epoch (the next permutation differs, so no image is left out for good). With
// `mirror`, each image is flipped left–right with probability ½, drawn from the same rng.
// getState()/setState() save and restore the exact position, so a resumed run sees the same batches.
import { Rng, type RngState } from '../util/rng.js';
import { BYTE_TO_UNIT, toUnitRange } from '../io/pixel-bytes.js';
import { rangeSize, type Dataset, type IndexRange } from './dataset.js';

export interface Batch {
  /** float32 [B, H, W, C] in [-1, 1]. */
  data: Float32Array;
  shape: [number, number, number, number];
  /** Class index per image, or null for unlabelled data. */
  labels: Int32Array | null;
  /** Dataset index of each image. */
  indices: Int32Array;
  /** 1 where the image was mirrored left–right. */
  mirrored: Uint8Array;
  /** Epoch the batch belongs to (0-based). */
  epoch: number;
}

export type SplitName = 'train' | 'test' | 'all';

export interface BatchOptions {
  batchSize: number;
  /** Which images: a named split or an explicit range (default 'train'). */
  split?: SplitName | IndexRange;
  /** Seed of the shuffle and mirror stream (default 0). */
  seed?: number;
  /** New permutation each epoch (default true); false walks the split in order. */
  shuffle?: boolean;
  /** Random left–right mirroring per image (default false; the paper mirrors faces only). */
  mirror?: boolean;
  /**
   * Data-parallel training: batchSize is the global batch, and this iterator hands out only rank
   * `rank`'s rows of each, r, r + count, … (nn/batch-shard.ts), so `count` iterators with the same seed
   * take disjoint shares of the same epoch order. Default: the whole batch.
   */
  shard?: { rank: number; count: number };
}

/** Everything needed to resume a BatchIterator exactly; plain JSON. */
export interface BatchIteratorState {
  epoch: number;
  /** Batches already taken from this epoch. */
  batchInEpoch: number;
  /** The rng as it was before this epoch's permutation was drawn (to redraw the same one). */
  epochRng: RngState;
  /** The rng now. */
  rng: RngState;
  /** The settings the state belongs to, checked on restore. */
  range: IndexRange;
  batchSize: number;
  shuffle: boolean;
  mirror: boolean;
}

/** Scales uint8 pixels to float32 in [-1, 1] (its home: io/pixel-bytes.ts). */
export { toUnitRange };

export function resolveSplit(ds: Dataset, split: SplitName | IndexRange): IndexRange {
  const range = split === 'train' ? ds.train : split === 'test' ? ds.test : split === 'all' ? { start: 0, end: ds.count } : split;
  if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end > ds.count || range.start > range.end) {
    throw new Error(`index range [${range.start}, ${range.end}) is not inside the dataset's ${ds.count} images`);
  }
  return { start: range.start, end: range.end };
}

/** Copies images into a float batch, scaling and mirroring as asked. */
function fillBatch(ds: Dataset, indices: Int32Array, mirrored: Uint8Array): Batch {
  const { resolution: h, channels: c } = ds;
  const w = h;
  const imageSize = h * w * c;
  const rowSize = w * c;
  const data = new Float32Array(indices.length * imageSize);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * imageSize;
    const dst = b * imageSize;
    if (!mirrored[b]) {
      for (let k = 0; k < imageSize; k++) data[dst + k] = BYTE_TO_UNIT[ds.pixels[src + k]];
      continue;
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const from = src + y * rowSize + (w - 1 - x) * c;
        const to = dst + y * rowSize + x * c;
        for (let k = 0; k < c; k++) data[to + k] = BYTE_TO_UNIT[ds.pixels[from + k]];
      }
    }
  }
  const labels = ds.labels ? Int32Array.from(indices, (i) => ds.labels?.[i] ?? -1) : null;
  return { data, shape: [indices.length, h, w, c], labels, indices, mirrored, epoch: 0 };
}

/** The endless, shuffled, resumable training stream (see the header comment). */
export class BatchIterator {
  readonly batchSize: number;
  readonly range: IndexRange;
  readonly shuffle: boolean;
  readonly mirror: boolean;
  /** Full batches per epoch. */
  readonly batchesPerEpoch: number;
  readonly shard: { rank: number; count: number };
  private readonly rng: Rng;
  private order: Int32Array;
  private epochRng: RngState;
  private epochIndex = 0;
  private batchInEpoch = 0;

  constructor(
    private readonly ds: Dataset,
    opts: BatchOptions,
  ) {
    const { batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    this.range = resolveSplit(ds, opts.split ?? 'train');
    const size = rangeSize(this.range);
    if (size < batchSize) {
      throw new Error(`batch size ${batchSize} is larger than the ${size} images of [${this.range.start}, ${this.range.end})`);
    }
    this.batchSize = batchSize;
    this.shard = opts.shard ?? { rank: 0, count: 1 };
    const { rank, count } = this.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(rank) || rank < 0 || rank >= count || batchSize % count !== 0) {
      throw new Error(`batch shard ${rank} of ${count} does not fit a global batch of ${batchSize}`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.mirror = opts.mirror ?? false;
    this.batchesPerEpoch = Math.floor(size / batchSize);
    this.rng = new Rng(opts.seed ?? 0);
    this.epochRng = this.rng.getState();
    this.order = this.drawOrder();
  }

  get epoch(): number {
    return this.epochIndex;
  }

  /** Images handed out so far, over all epochs. */
  get imagesSeen(): number {
    return (this.epochIndex * this.batchesPerEpoch + this.batchInEpoch) * this.batchSize;
  }

  private drawOrder(): Int32Array {
    const order = Int32Array.from({ length: rangeSize(this.range) }, (_, i) => this.range.start + i);
    return this.shuffle ? this.rng.shuffle(order) : order;
  }

  next(): Batch {
    if (this.batchInEpoch === this.batchesPerEpoch) {
      this.epochIndex++;
      this.batchInEpoch = 0;
      this.epochRng = this.rng.getState();
      this.order = this.drawOrder();
    }
    const from = this.batchInEpoch * this.batchSize;
    const indices = this.order.slice(from, from + this.batchSize);
    const mirrored = new Uint8Array(this.batchSize);
    if (this.mirror) for (let b = 0; b < this.batchSize; b++) mirrored[b] = this.rng.next() < 0.5 ? 1 : 0;
    this.batchInEpoch++;
    const { rank, count } = this.shard;
    if (count === 1) return { ...fillBatch(this.ds, indices, mirrored), epoch: this.epochIndex };
    const mine = (a: Int32Array | Uint8Array) => a.filter((_, i) => i % count === rank);
    return { ...fillBatch(this.ds, mine(indices) as Int32Array, mine(mirrored) as Uint8Array), epoch: this.epochIndex };
  }

  getState(): BatchIteratorState {
    return {
      epoch: this.epochIndex,
      batchInEpoch: this.batchInEpoch,
      epochRng: { s: [...this.epochRng.s], spare: this.epochRng.spare },
      rng: this.rng.getState(),
      range: { ...this.range },
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      mirror: this.mirror,
    };
  }

  setState(state: BatchIteratorState): void {
    const mine = this.getState();
    for (const key of ['batchSize', 'shuffle', 'mirror'] as const) {
      if (state[key] !== mine[key]) throw new Error(`batch iterator state has ${key} = ${state[key]}, this iterator ${mine[key]}`);
    }
    if (state.range.start !== this.range.start || state.range.end !== this.range.end) {
      throw new Error(
        `batch iterator state covers images [${state.range.start}, ${state.range.end}), this iterator [${this.range.start}, ${this.range.end})`,
      );
    }
    if (!Number.isInteger(state.batchInEpoch) || state.batchInEpoch < 0 || state.batchInEpoch > this.batchesPerEpoch) {
      throw new Error(`batch iterator state is at batch ${state.batchInEpoch} of an epoch of ${this.batchesPerEpoch}`);
    }
    // Redraw the epoch's permutation from the rng as it was, then jump to the rng as it is.
    this.rng.setState(state.epochRng);
    this.order = this.drawOrder();
    this.rng.setState(state.rng);
    this.epochRng = { s: [...state.epochRng.s], spare: state.epochRng.spare };
    this.epochIndex = state.epoch;
    this.batchInEpoch = state.batchInEpoch;
  }
}

/**
 * One ordered pass over a split for evaluation: no shuffle, no mirror, every image exactly once,
 * the last batch smaller when the split does not divide evenly.
 */
export function* evalBatches(ds: Dataset, split: SplitName | IndexRange, batchSize: number): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const range = resolveSplit(ds, split);
  for (let start = range.start; start < range.end; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, range.end - start) }, (_, i) => start + i);
    yield fillBatch(ds, indices, new Uint8Array(indices.length));
  }
}
