// One shard of a batch job, as a worker runs it: read its images, encode them (the same encodeAll
// `lia encode` uses), optionally refine the codes (lia.refine, as `lia invert --init encoder`), score
// each image's reconstruction, and write DIR/shard-NNNNN/:
//   codes.safetensors  the codes format `lia decode` reads (names in the metadata)
//   mse.json           one entry per input image: its MSE ([0, 1] images) or why it failed
//   images/NNNNNNN.png the reconstructions g(code) (--save-images), named by input index
// The output is a pure function of the job's data: no times, hosts or attempt numbers in it, so a
// retried shard writes the same bytes. It is written in a temporary folder beside the target and
// renamed into place in one step; a shard folder that exists is complete.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import * as lia from '../node.js';
import { loadImagesFor, imageTarget, type LoadedImages } from '../cli/images.js';
import { decodeDatasetImage, WHITE } from '../data/decode.js';
import { toUnitRange } from '../data/index.js';
import { encodeAll, type ImageArray } from '../invert/encode-all.js';
import { requireEncoder, type LiaModel } from '../invert/model.js';
import { encodeCodes, type Code, type CodeSpace } from '../invert/codes.js';
import { tensorToPixels } from '../io/pixels.js';
import { loadFeatureNet } from '../io/network-files.js';
import type { FeatureNet, FeatureLayer } from '../models/features.js';
import { sha256File, shardName, type ShardJob } from './plan.js';

/** One input image's line in mse.json. */
export interface ShardEntry {
  /** Index in the batch's input order. */
  index: number;
  name: string;
  /** Mean squared error of g(code) against the image, both in [0, 1]. */
  mse?: number;
  /** Why this image has no code (it could not be read or decoded). */
  error?: string;
}

export interface ShardResult {
  shard: number;
  jobId: string;
  /** Images with a code. */
  images: number;
  failed: Array<{ index: number; name: string; reason: string }>;
  /** Seconds of this run (0 when the shard was already on disk). */
  seconds: number;
  /** The shard folder already existed: nothing was computed. */
  alreadyDone: boolean;
}

export const SHARD_FILES = { codes: 'codes.safetensors', mse: 'mse.json', images: 'images' } as const;

export const shardDir = (job: Pick<ShardJob, 'dir' | 'shard'>) => join(job.dir, shardName(job.shard));

/** Gives the event loop a turn (timers and sockets: the queue's lock renewal) between batches. */
export const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

function writeDurable(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const TMP_PREFIX = (shard: number) => `.${shardName(shard)}.`;

/**
 * Removes this host's temporary folders of a shard left by a process that no longer runs (a worker
 * killed while writing). Folders of live processes and of other hosts are left alone.
 */
function removeStaleTemporaries(job: ShardJob): void {
  if (!existsSync(job.dir)) return;
  const host = hostname();
  for (const name of readdirSync(job.dir)) {
    if (!name.startsWith(TMP_PREFIX(job.shard)) || !name.endsWith('.tmp')) continue;
    const [h, pid] = name.slice(TMP_PREFIX(job.shard).length, -'.tmp'.length).split('.');
    if (h !== host || !/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(pid), 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(job.dir, name), { recursive: true, force: true });
  }
}

/** The result of a shard already on disk, read back from its mse.json. */
export function readShardEntries(dir: string): ShardEntry[] {
  const path = join(dir, SHARD_FILES.mse);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { images?: ShardEntry[] };
  if (!Array.isArray(parsed.images)) throw new Error(`${path}: expected { images: [...] }`);
  return parsed.images;
}

/**
 * Runs shards for one worker process, keeping the model, the perceptual network and the last
 * dataset loaded between shards of the same batch.
 */
export class ShardRunner {
  private model: { key: string; m: LiaModel } | null = null;
  private net: { key: string; net: FeatureNet } | null = null;
  private dataset: { key: string; loaded: LoadedImages } | null = null;

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  private async loadModel(job: ShardJob): Promise<LiaModel> {
    const key = `${job.model}\n${job.modelSha256}`;
    if (this.model?.key === key) return this.model.m;
    if (!existsSync(job.model)) throw new Error(`model ${job.model} not found on this worker (the batch's model must be on storage every worker reads)`);
    const sha = sha256File(job.model);
    if (sha !== job.modelSha256) throw new Error(`model ${job.model} changed since the batch was submitted (sha256 ${sha.slice(0, 12)}…, submitted ${job.modelSha256.slice(0, 12)}…)`);
    if (this.model) lia.disposeModel(this.model.m);
    this.model = null;
    const m = await lia.loadModel(job.model);
    requireEncoder(m, 'a batch job');
    this.model = { key, m };
    return m;
  }

  private async loadNet(path: string, sha: string | undefined): Promise<FeatureNet> {
    const key = `${path}\n${sha}`;
    if (this.net?.key === key) return this.net.net;
    if (sha && sha256File(path) !== sha) throw new Error(`perceptual network ${path} changed since the batch was submitted`);
    this.net?.net.dispose();
    this.net = null;
    const net = await loadFeatureNet(path);
    this.net = { key, net };
    return net;
  }

  /** The shard's images in [-1, 1], and an entry per input (errors filled in for unreadable files). */
  private async readImages(job: ShardJob, m: LiaModel): Promise<{ images: ImageArray; ok: number[]; entries: ShardEntry[] }> {
    const target = imageTarget(m);
    const { resolution: r, channels: c } = target;
    const size = r * r * c;
    const entries: ShardEntry[] = [];
    if (job.images.kind === 'dataset') {
      const { spec, dataDir, start, end } = job.images;
      const key = `${spec}\n${dataDir ?? ''}\n${r}\n${c}\n${m.data}\n${m.dataDir ?? ''}`;
      if (this.dataset?.key !== key) {
        this.dataset = null;
        this.dataset = { key, loaded: await loadImagesFor(spec, dataDir ? { ...target, dataDir } : target) };
      }
      const { images, names } = this.dataset.loaded;
      if (end > images.n) throw new Error(`${spec} has ${images.n} images on this worker, the shard needs [${start}, ${end})`);
      for (let i = start; i < end; i++) entries.push({ index: job.first + i - start, name: names[i] });
      return { images: { data: images.data.slice(start * size, end * size), n: end - start }, ok: entries.map((_, k) => k), entries };
    }
    const { root, files } = job.images;
    const pixels = new Uint8Array(files.length * size);
    const ok: number[] = [];
    // A few decodes at a time (libvips threads inside each); a file that fails fails only its entry.
    const WINDOW = 8;
    for (let s = 0; s < files.length; s += WINDOW) {
      const part = files.slice(s, s + WINDOW);
      const decoded = await Promise.all(
        part.map((f) =>
          decodeDatasetImage(resolve(root, f), r, c as 1 | 3, WHITE).then(
            (img) => ({ data: img.data, error: undefined }),
            (e: unknown) => ({ data: undefined, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] }),
          ),
        ),
      );
      decoded.forEach((d, k) => {
        const entry: ShardEntry = { index: job.first + s + k, name: files[s + k] };
        if (d.data) {
          pixels.set(d.data, ok.length * size);
          ok.push(s + k);
        } else entry.error = `cannot decode: ${d.error}`;
        entries.push(entry);
      });
    }
    return { images: { data: toUnitRange(pixels.subarray(0, ok.length * size)), n: ok.length }, ok, entries };
  }

  /** Runs one shard (see the header comment); `progress` hears after every batch or refinement step. */
  async run(job: ShardJob, jobId: string, progress: (done: number, total: number) => Promise<void> | void = () => undefined): Promise<ShardResult> {
    const target = shardDir(job);
    const result = (entries: ShardEntry[], seconds: number, alreadyDone: boolean): ShardResult => ({
      shard: job.shard,
      jobId,
      images: entries.filter((e) => e.error === undefined).length,
      failed: entries.filter((e) => e.error !== undefined).map((e) => ({ index: e.index, name: e.name, reason: e.error! })),
      seconds,
      alreadyDone,
    });
    if (existsSync(join(target, SHARD_FILES.mse))) {
      const onDisk = JSON.parse(readFileSync(join(target, SHARD_FILES.mse), 'utf8')) as { jobId?: string; images: ShardEntry[] };
      if (onDisk.jobId !== jobId) throw new Error(`${target} holds the output of another job (${onDisk.jobId}); it is not overwritten`);
      return result(onDisk.images, 0, true);
    }
    const t0 = performance.now();
    const m = await this.loadModel(job);
    const { E, config } = requireEncoder(m, 'a batch job');
    const { images, ok, entries } = await this.readImages(job, m);
    const g = m.decoder.generator;
    const shape = [g.resolution, g.resolution, g.channels];
    const size = g.resolution * g.resolution * g.channels;
    const n = images.n;
    const steps = job.refine?.steps ?? 0;
    const work = n * (1 + steps);
    let done = 0;
    // Progress goes to Redis: at most once a second, and at the end of each stage.
    let lastReport = 0;
    const report = async (force = false) => {
      const now = performance.now();
      if (!force && now - lastReport < 1000) return;
      lastReport = now;
      await progress(done, work);
    };

    // 1. Encode: the codes `lia encode` writes for the same batches.
    let codes: Partial<Record<CodeSpace, Code>> = await encodeAll(E, m.G, config, images, job.batch, async (d) => {
      done = d;
      await report(d === n);
      await yieldToEventLoop();
    });

    // 2. Refine (optional), a batch at a time from the encoder's code, as lia invert does.
    const mse = new Float64Array(n);
    const recon = job.saveImages ? new Float32Array(n * size) : null;
    if (job.refine && steps > 0) {
      const rf = job.refine;
      const net = rf.beta > 0 && rf.perceptualNet ? await this.loadNet(rf.perceptualNet, rf.perceptualNetSha256) : undefined;
      const key: CodeSpace = rf.space === 'wplus' ? 'ws' : 'y';
      const per = rf.space === 'wplus' ? m.G.numWs * g.latentSize : g.latentSize;
      const refined = new Float32Array(n * per);
      let codeShape: number[] = [];
      for (let i = 0; i < n; i += job.batch) {
        const b = Math.min(job.batch, n - i);
        const x = tf.tensor4d(images.data.subarray(i * size, (i + b) * size), [b, ...shape] as [number, number, number, number]);
        const out = await lia.refine(m, x, {
          init: 'encoder',
          steps,
          lr: rf.lr,
          beta: rf.beta,
          perceptualNet: net,
          perceptualLayer: rf.perceptualLayer as FeatureLayer | undefined,
          space: rf.space,
          onStep: () => {
            done += b;
            void report();
          },
        });
        refined.set((await out.code.data()) as Float32Array, i * per);
        codeShape = out.code.shape.slice(1);
        for (let k = 0; k < b; k++) mse[i + k] = out.finalMse[k] / 4;
        if (recon) recon.set((await out.images.data()) as Float32Array, i * size);
        tf.dispose([x, out.code, out.images]);
      }
      codes = { [key]: { shape: [n, ...codeShape], data: refined } };
    } else {
      // The reconstruction g(code) of each image, from the code just written.
      const [space, code] = (config.predicts === 'z' ? ['z', codes.z!] : codes.ws ? ['ws', codes.ws] : ['y', codes.y!]) as [CodeSpace, Code];
      const per = code.data.length / Math.max(1, n);
      for (let i = 0; i < n; i += job.batch) {
        const b = Math.min(job.batch, n - i);
        const [xr, err] = tf.tidy(() => {
          const c = tf.tensor(code.data.subarray(i * per, (i + b) * per), [b, ...code.shape.slice(1)]);
          const x = tf.tensor4d(images.data.subarray(i * size, (i + b) * size), [b, ...shape] as [number, number, number, number]);
          const xr = m.G.render(c, space === 'z' ? 'z' : 'y');
          return [xr, tf.div(tf.mean(tf.squaredDifference(x, xr), [1, 2, 3]), 4)];
        });
        const e = (await err.data()) as Float32Array;
        for (let k = 0; k < b; k++) mse[i + k] = e[k];
        if (recon) recon.set((await xr.data()) as Float32Array, i * size);
        tf.dispose([xr, err]);
        await yieldToEventLoop();
      }
    }
    ok.forEach((k, j) => (entries[k].mse = mse[j]));

    // 3. Write everything under a temporary name, then rename it into place.
    mkdirSync(job.dir, { recursive: true });
    removeStaleTemporaries(job);
    const tmp = join(job.dir, `${TMP_PREFIX(job.shard)}${hostname()}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      const names = ok.map((k) => entries[k].name);
      const about = { batch: job.dir, shard: job.shard, first: job.first, model: job.model, modelSha256: job.modelSha256, images: job.images.kind === 'dataset' ? job.images.spec : job.images.root, refine: job.refine };
      if (n > 0) writeDurable(join(tmp, SHARD_FILES.codes), encodeCodes({ codes, names, about }));
      writeDurable(join(tmp, SHARD_FILES.mse), new TextEncoder().encode(JSON.stringify({ jobId, shard: job.shard, first: job.first, count: job.count, images: entries }, null, 1) + '\n'));
      if (recon && n > 0) {
        mkdirSync(join(tmp, SHARD_FILES.images));
        const xr = tf.tensor4d(recon, [n, ...shape] as [number, number, number, number]);
        const pixels = await tensorToPixels(xr);
        xr.dispose();
        for (let j = 0; j < n; j++) {
          const p = pixels[j];
          const png = await sharp(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), { raw: { width: p.width, height: p.height, channels: (p.channels ?? 1) as 1 | 3 } }).png().toBuffer();
          writeDurable(join(tmp, SHARD_FILES.images, `${String(entries[ok[j]].index).padStart(8, '0')}.png`), png);
        }
        fsyncDir(join(tmp, SHARD_FILES.images));
      }
      fsyncDir(tmp);
      try {
        renameSync(tmp, target);
      } catch (e) {
        // Another attempt of this job (an earlier one, or one running after a lost lock) renamed its
        // folder first: its files are these same bytes.
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(join(target, SHARD_FILES.mse))) throw e;
        rmSync(tmp, { recursive: true, force: true });
      }
      fsyncDir(job.dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    this.log(`${shardName(job.shard)}: ${n} of ${entries.length} images${steps ? ` + ${steps} refinement steps` : ''} in ${seconds.toFixed(2)} s`);
    return result(entries, seconds, false);
  }

  dispose(): void {
    if (this.model) lia.disposeModel(this.model.m);
    this.net?.net.dispose();
    this.model = null;
    this.net = null;
    this.dataset = null;
  }
}
