// A batch job's plan: the inputs (a folder, a list file, or a dataset spec), cut into shards of
// consecutive images, one queue job per shard. A job's id is a hash of everything that decides its
// output (model bytes, images, options, output folder), so submitting the same batch twice adds
// nothing, and a shard's output is a pure function of its job's data.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/index.js';

export const SHARD_JOB_VERSION = 1;

/** Images of one shard: a range of a dataset spec (as `lia encode --images` takes it), or image files. */
export type ShardImages =
  | { kind: 'dataset'; spec: string; dataDir?: string; start: number; end: number }
  | { kind: 'files'; root: string; files: string[] };

/** Refinement after encoding (PAPER.md eq. 13, as `lia invert --init encoder`). */
export interface RefineJob {
  steps: number;
  space: 'y' | 'wplus';
  lr: number;
  /** Perceptual weight; 0: pixel MSE only. */
  beta: number;
  /** Absolute path of the perceptual network (beta > 0). */
  perceptualNet?: string;
  perceptualNetSha256?: string;
  perceptualLayer?: string;
}

/** What a queue job carries: everything a worker needs, and nothing that varies between retries. */
export interface ShardJob {
  version: number;
  /** Absolute output folder of the batch (shared storage when workers run on several machines). */
  dir: string;
  shard: number;
  /** Index of the shard's first image in the batch's input order. */
  first: number;
  count: number;
  model: string;
  modelSha256: string;
  images: ShardImages;
  /** Images per forward pass (encoding and refinement). */
  batch: number;
  refine: RefineJob | null;
  saveImages: boolean;
}

/** Canonical JSON: object keys sorted, so equal data hashes equally whatever the construction order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The job id: shard number for people, then a hash of the job's data (BullMQ ids may not contain ':'). */
export function shardJobId(job: ShardJob): string {
  const hash = createHash('sha256').update(canonicalJson(job)).digest('hex').slice(0, 32);
  return `${shardName(job.shard)}-${hash}`;
}

export const shardName = (shard: number) => `shard-${String(shard).padStart(5, '0')}`;

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const isImageFile = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

/** Image files below a folder, recursively (hidden entries skipped), in plain code-unit order of their relative paths. */
export function listImageFiles(root: string, rel = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const info = entry.isSymbolicLink() ? statSync(join(root, relPath)) : entry;
    if (info.isDirectory()) found.push(...listImageFiles(root, relPath));
    else if (info.isFile() && isImageFile(entry.name)) found.push(relPath);
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A list file: one image path per line (relative to the list's folder), blank lines and # comments skipped. */
export function readListFile(path: string): { root: string; files: string[] } {
  const files = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (!files.length) throw new Error(`${path}: the list file names no images (one path per line)`);
  return { root: resolve(dirname(path)), files };
}

export type InputSource = { kind: 'dataset'; spec: string } | { kind: 'files'; root: string; files: string[]; what: string };

/**
 * What --images names: an existing folder (its image files, path order), an existing file (a list
 * of image paths), else a dataset spec as `lia encode --images` takes it (test, train,
 * fashion-mnist, mnist:…, shapes:…).
 */
export function resolveInputs(spec: string): InputSource {
  if (existsSync(spec)) {
    const info = statSync(spec);
    if (info.isDirectory()) {
      const root = resolve(spec);
      const files = listImageFiles(root);
      if (!files.length) throw new Error(`${spec}: no images found (looked for ${IMAGE_EXTENSIONS.join(', ')} files, recursively)`);
      return { kind: 'files', root, files, what: `folder ${spec}` };
    }
    const { root, files } = readListFile(spec);
    return { kind: 'files', root, files, what: `list ${spec}` };
  }
  return { kind: 'dataset', spec };
}

/** Cuts [0, total) into shards of `size` images (the last one shorter). */
export function shardRanges(total: number, size: number): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (let s = 0; s < total; s += size) out.push({ start: s, end: Math.min(total, s + size) });
  return out;
}
