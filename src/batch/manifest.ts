// DIR/batch.json: what `lia batch submit` planned — the queue, the model, the inputs, the options and
// every shard's job id — so that status, retry-failed and collect need only the folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextAtomic } from '../io/files.js';
import type { RefineJob } from './plan.js';

export const MANIFEST_FILE = 'batch.json';
export const MANIFEST_FORMAT = 'lia-batch';

export interface BatchManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** Hash of everything that decides the outputs: a second submit to the folder must match it. */
  key: string;
  /** The queue's URL without its password, and the queue name. */
  queue: string;
  name: string;
  model: string;
  modelSha256: string;
  /** --images as given, and what it was read as. */
  images: string;
  inputs: string;
  total: number;
  shardSize: number;
  batch: number;
  refine: RefineJob | null;
  saveImages: boolean;
  shards: Array<{ shard: number; jobId: string; first: number; count: number }>;
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

export function readManifest(dir: string): BatchManifest {
  const path = manifestPath(dir);
  if (!existsSync(path)) throw new Error(`${dir}: no ${MANIFEST_FILE} (not a batch folder; \`lia batch submit --out ${dir}\` makes one)`);
  let m: BatchManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BatchManifest;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.shards)) throw new Error(`${path}: expected a ${MANIFEST_FORMAT} manifest`);
  return m;
}

export function writeManifest(dir: string, m: BatchManifest): void {
  writeTextAtomic(manifestPath(dir), JSON.stringify(m, null, 1) + '\n');
}
