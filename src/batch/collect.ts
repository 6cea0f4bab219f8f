// `lia batch collect`: every shard's codes, concatenated in input order into one codes file (the
// format `lia decode` reads), with the images that failed listed in its metadata.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCodes, type Code, type CodeSpace, type CodesFile } from '../invert/codes.js';
import { readManifest, type BatchManifest } from './manifest.js';
import { readShardEntries, shardDir, SHARD_FILES, type ShardEntry } from './shard.js';

export interface Collected {
  file: CodesFile;
  failed: Array<{ index: number; name: string; reason: string }>;
  shards: number;
}

/** Shards of the batch with no output folder yet. */
export function missingShards(dir: string, m: BatchManifest): number[] {
  return m.shards.filter((s) => !existsSync(join(shardDir({ dir, shard: s.shard }), SHARD_FILES.mse))).map((s) => s.shard);
}

export function collectBatch(dir: string): Collected {
  const m = readManifest(dir);
  const missing = missingShards(dir, m);
  if (missing.length) {
    throw new Error(`${dir}: ${missing.length} of ${m.shards.length} shards are not done (${missing.slice(0, 8).map((s) => `shard-${String(s).padStart(5, '0')}`).join(', ')}${missing.length > 8 ? ', …' : ''}); see \`lia batch status --dir ${dir}\``);
  }
  const parts: Array<{ codes: CodesFile['codes']; names: string[]; entries: ShardEntry[] }> = [];
  let spaces: CodeSpace[] | null = null;
  for (const s of m.shards) {
    const sdir = shardDir({ dir, shard: s.shard });
    const entries = readShardEntries(sdir);
    if (entries.length !== s.count || entries.some((e, k) => e.index !== s.first + k)) {
      throw new Error(`${sdir}: its mse.json lists ${entries.length} images, the batch planned ${s.count} from index ${s.first}`);
    }
    const okNames = entries.filter((e) => e.error === undefined).map((e) => e.name);
    const codesPath = join(sdir, SHARD_FILES.codes);
    const file: CodesFile = okNames.length ? decodeCodes(readFileSync(codesPath), codesPath) : { codes: {}, names: [], about: {} };
    if (okNames.length) {
      if (file.names.length !== okNames.length || file.names.some((n, k) => n !== okNames[k])) throw new Error(`${codesPath}: its names do not match mse.json's images`);
      const have = Object.keys(file.codes).sort() as CodeSpace[];
      if (spaces && have.join() !== spaces.join()) throw new Error(`${codesPath}: holds codes ${have.join(', ')}, earlier shards ${spaces.join(', ')}`);
      spaces = have;
    }
    parts.push({ codes: file.codes, names: file.names, entries });
  }
  const codes: Partial<Record<CodeSpace, Code>> = {};
  const names = parts.flatMap((p) => p.names);
  for (const space of spaces ?? []) {
    const rows = parts.filter((p) => p.names.length);
    const tail = rows[0].codes[space]!.shape.slice(1);
    const per = tail.reduce((a, b) => a * b, 1);
    const data = new Float32Array(names.length * per);
    let at = 0;
    for (const p of rows) {
      data.set(p.codes[space]!.data, at);
      at += p.codes[space]!.data.length;
    }
    codes[space] = { shape: [names.length, ...tail], data };
  }
  const failed = parts.flatMap((p) => p.entries.filter((e) => e.error !== undefined).map((e) => ({ index: e.index, name: e.name, reason: e.error! })));
  const about = { batch: dir, model: m.model, modelSha256: m.modelSha256, images: m.images, refine: m.refine, total: m.total, failed };
  return { file: { codes, names, about }, failed, shards: m.shards.length };
}
