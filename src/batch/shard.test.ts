// A shard as a worker runs it, without a queue (tiny checkpoints, cpu backend): a retried shard writes
// the same bytes (codes, mse.json, PNGs), encode-only and with refinement; a finished shard is not
// recomputed; a dead process's temporary folder is cleared; no tensors are left behind; the codes are
// the library's (lia.encode) and refinement lowers each image's error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { makeTinyCheckpoints, type TinyCheckpoints } from '../testing/tiny.js';
import { loadModel, encode, disposeModel } from '../node.js';
import { loadImagesFor, imageTarget } from '../cli/images.js';
import { readCodes } from '../node.js';
import { ShardRunner, shardDir, type ShardEntry } from './shard.js';
import { sha256File, type ShardJob } from './plan.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-shard-'));
let ck: TinyCheckpoints;

before(async () => {
  await initEngine({ backend: 'cpu' });
  ck = await makeTinyCheckpoints(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function job(out: string, shard: number, start: number, end: number, refine: ShardJob['refine'] = null): ShardJob {
  return { version: 1, dir: out, shard, first: start, count: end - start, model: ck.encoder, modelSha256: sha256File(ck.encoder), images: { kind: 'dataset', spec: 'train', start, end }, batch: 4, refine, saveImages: refine !== null };
}

/** Every file below a folder, relative path → bytes. */
function files(root: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of files(root, p)) out.set(k, v);
    else out.set(p, readFileSync(join(root, p)));
  }
  return out;
}

async function retriedWritesSameBytes(j: ShardJob) {
  const runner = new ShardRunner();
  const first = await runner.run(j, 'job-a');
  assert.equal(first.alreadyDone, false);
  const target = shardDir(j);
  const aside = `${target}-first`;
  renameSync(target, aside);
  // A worker killed while writing this shard left its temporary folder (a pid that is not running).
  const stale = join(j.dir, `.shard-${String(j.shard).padStart(5, '0')}.${hostname()}.999999999.tmp`);
  mkdirSync(stale);
  const second = await new ShardRunner().run(j, 'job-a');
  assert.deepEqual({ ...second, seconds: 0 }, { ...first, seconds: 0 });
  assert.ok(!existsSync(stale), 'the dead process\'s temporary folder is left behind');
  const [a, b] = [files(aside), files(target)];
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} differs between two runs of the same shard`);
  // Done is done: the same job again reads the folder back and computes nothing.
  const again = await runner.run(j, 'job-a');
  assert.equal(again.alreadyDone, true);
  await assert.rejects(runner.run(j, 'job-b'), /holds the output of another job/);
  runner.dispose();
  return { target, entries: JSON.parse(readFileSync(join(target, 'mse.json'), 'utf8')).images as ShardEntry[] };
}

test('an encode-only shard: the same bytes when retried, the codes of lia.encode, no tensors left', async () => {
  const out = join(dir, 'enc');
  const j = job(out, 1, 4, 10);
  const { target, entries } = await retriedWritesSameBytes(j);
  assert.deepEqual(entries.map((e) => e.index), [4, 5, 6, 7, 8, 9]);
  for (const e of entries) assert.ok(e.mse! > 0 && e.mse! < 1, JSON.stringify(e));
  const codes = await readCodes(join(target, 'codes.safetensors'));
  // The library's own encode of the same images, batched as the shard (4, then 2).
  const m = await loadModel(ck.encoder);
  const { images, names } = await loadImagesFor('train', imageTarget(m), 6, 4);
  assert.deepEqual(codes.names, names);
  const want: number[] = [];
  for (const [s, e] of [[0, 4], [4, 6]]) {
    const x = tf.tensor4d(images.data.subarray(s * 256, e * 256), [e - s, 16, 16, 1]);
    const y = encode(m, x);
    want.push(...(await y.data()));
    tf.dispose([x, y]);
  }
  assert.deepEqual(Array.from(codes.codes.y!.data), want);
  assert.deepEqual(codes.codes.z!.shape, [6, 16]);
  disposeModel(m);

  const runner = new ShardRunner();
  await runner.run(job(out, 0, 0, 4), 'warm'); // loads the model and the data once
  const before = tf.memory().numTensors;
  await runner.run(job(out, 2, 10, 13), 'leak');
  assert.equal(tf.memory().numTensors, before);
  runner.dispose();
});

test('a refined shard with images: the same bytes when retried, lower error than encoding alone', async () => {
  const encOut = join(dir, 'enc2');
  const plain = new ShardRunner();
  await plain.run(job(encOut, 0, 0, 6), 'plain');
  plain.dispose();
  const encoded = JSON.parse(readFileSync(join(encOut, 'shard-00000', 'mse.json'), 'utf8')).images as ShardEntry[];

  const out = join(dir, 'refined');
  const j = job(out, 0, 0, 6, { steps: 20, space: 'y', lr: 0.05, beta: 0 });
  const { target, entries } = await retriedWritesSameBytes(j);
  const codes = await readCodes(join(target, 'codes.safetensors'));
  assert.deepEqual(Object.keys(codes.codes), ['y']);
  assert.deepEqual(codes.codes.y!.shape, [6, 16]);
  assert.deepEqual(readdirSync(join(target, 'images')), ['00000000.png', '00000001.png', '00000002.png', '00000003.png', '00000004.png', '00000005.png']);
  const mean = (es: ShardEntry[]) => es.reduce((a, e) => a + e.mse!, 0) / es.length;
  assert.ok(mean(entries) < mean(encoded), `refined ${mean(entries)} vs encoded ${mean(encoded)}`);
});
