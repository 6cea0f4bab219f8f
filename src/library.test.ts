// The library's public calls (src/index.ts) on a tiny encoder checkpoint (cpu backend), as tfjs-models
// tests its models: tf.memory().numTensors is the same before and after every call — on success (the
// returned tensors disposed) and on every failure path (bad options, non-finite input, a callback
// that throws, divergence, abort). Every bad option is rejected with a message naming the value;
// non-finite images and codes are rejected; a disposed model says so; refine().finalMse is on
// [0, 1] images like every report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lia from './node.js';
import { makeTinyCheckpoints } from './testing/tiny.js';
import { toUnitRange } from './data/index.js';

const tf = lia.tf;
const dir = mkdtempSync(join(tmpdir(), 'lia-library-'));
let bytes: Uint8Array;
let m: lia.LiaModel;
let x: lia.tf.Tensor4D;
let direction: lia.Direction;

// The backend where the leaks showed (torch: Adam's tensor moments), else the default one.
const BACKEND = (process.env.LIA_TEST_BACKEND ?? lia.defaultBackend().backend) as lia.BackendName;

before(async () => {
  await lia.startEngine({ backend: BACKEND });
  const ck = await makeTinyCheckpoints(dir);
  bytes = readFileSync(ck.encoder);
  m = lia.modelFromBytes(bytes, ck.encoder);
  const r = ck.ds.resolution;
  const size = r * r * ck.ds.channels;
  x = tf.tensor4d(toUnitRange(ck.ds.pixels.subarray(ck.ds.test.start * size, (ck.ds.test.start + 2) * size)), [2, r, r, ck.ds.channels]);
  const d = m.G.config.latentSize;
  direction = { name: 'axis0', n: Float64Array.from({ length: d }, (_, i) => (i === 0 ? 1 : 0)), scale: 1, meanPos: 0, meanNeg: 0 } as unknown as lia.Direction;
});

after(() => {
  x?.dispose();
  if (m) lia.disposeModel(m);
  rmSync(dir, { recursive: true, force: true });
});

/** Disposes every tensor inside a call's result (a tensor, an object of tensors, arrays of them). */
function disposeAll(v: unknown): void {
  if (v instanceof tf.Tensor) v.dispose();
  else if (Array.isArray(v)) v.forEach(disposeAll);
  else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) Object.values(v).forEach(disposeAll);
}

async function noLeak(name: string, call: () => unknown): Promise<void> {
  const before = tf.memory().numTensors;
  disposeAll(await call());
  assert.equal(tf.memory().numTensors, before, `${name}: ${tf.memory().numTensors - before} tensors leaked`);
}

async function failsWithoutLeak(name: string, call: () => unknown, message: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  await assert.rejects(async () => disposeAll(await call()), message, name);
  assert.equal(tf.memory().numTensors, before, `${name} (failing): ${tf.memory().numTensors - before} tensors leaked`);
}

test('every public call leaks no tensor on success', async () => {
  const d = m.G.config.latentSize;
  await noLeak('encode', () => lia.encode(m, x));
  await noLeak('encode z', () => lia.encode(m, x, 'z'));
  await noLeak('reconstruct', () => lia.reconstruct(m, x));
  await noLeak('render', () => tf.tidy(() => lia.render(m, tf.zeros([2, d]) as lia.tf.Tensor2D)));
  await noLeak('render ws', () => tf.tidy(() => lia.render(m, tf.zeros([1, m.G.numWs, d]) as lia.tf.Tensor3D)));
  await noLeak('render z', () => tf.tidy(() => lia.render(m, tf.zeros([2, d]) as lia.tf.Tensor2D, 'z')));
  await noLeak('generate', () => lia.generate(m, { n: 2, seed: 3, truncation: 0.7 }));
  for (const space of ['y', 'z', 'wplus'] as const) {
    for (const init of ['encoder', 'mean', 'random'] as const) await noLeak(`refine ${space} from ${init}`, () => lia.refine(m, x, { steps: 2, space, init }));
  }
  const y0 = lia.encode(m, x);
  await noLeak('refine from a code', () => lia.refine(m, x, { steps: 2, init: y0 }));
  y0.dispose();
  const ac = new AbortController();
  await noLeak('refine aborted', async () => {
    const r = await lia.refine(m, x, { steps: 50, signal: ac.signal, onStep: (s) => s.step === 2 && ac.abort() });
    assert.ok(r.stopped && r.history.length === 2);
    return r;
  });
  const a = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as lia.tf.Tensor4D;
  const b = tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]) as lia.tf.Tensor4D;
  await noLeak('interpolate', () => lia.interpolate(m, a, b, { steps: 3 }));
  await noLeak('interpolate z', () => lia.interpolate(m, a, b, { steps: 3, space: 'z' }));
  await noLeak('mix', () => lia.mix(m, a, b, 1));
  await noLeak('edit', () => lia.edit(m, a, direction, [-1, 0, 1]));
  await noLeak('fitDirections', () => lia.fitDirections(m, x, [0, 1], ['a', 'b']));
  await noLeak('encodeCodesOf', () => lia.encodeCodesOf(m, x, 1));
  await noLeak('sefaDirections', () => lia.sefaDirections(m.G, 1, { samples: 64 }));
  await noLeak('pcaDirections', () => lia.pcaDirections(m.G, 1, { samples: 64 }));
  await noLeak('pixelsToTensor', () => lia.pixelsToTensor({ data: new Uint8ClampedArray(8 * 8 * 4).fill(200), width: 8, height: 8 }, lia.modelInfo(m)));
  await noLeak('tensorToPixels', () => lia.tensorToPixels(a));
  await noLeak('loadModel + disposeModel', async () => lia.disposeModel(await lia.loadModel(bytes, 'copy')));
  tf.dispose([a, b]);
});

test('refine reports finalMse on [0, 1] images, like every report', async () => {
  const r = await lia.refine(m, x, { steps: 1 });
  const expected = tf.tidy(() => tf.mean(tf.squaredDifference(tf.div(tf.add(x, 1), 2), tf.div(tf.add(r.images, 1), 2)), [1, 2, 3]).dataSync());
  assert.equal(r.finalMse.length, 2);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(r.finalMse[i] - expected[i]) < 1e-6, `image ${i}: ${r.finalMse[i]} vs ${expected[i]}`);
  disposeAll(r);
});

test('every public call fails cleanly: bad options named, non-finite input, throwing callbacks, divergence; no leak', async () => {
  const d = m.G.config.latentSize;
  const a = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as lia.tf.Tensor4D;
  const nan = tf.tidy(() => tf.concat([x, tf.fill([1, x.shape[1], x.shape[2], x.shape[3]], NaN)])) as lia.tf.Tensor4D;
  const nanOne = tf.slice(nan, [2, 0, 0, 0], [1, -1, -1, -1]) as lia.tf.Tensor4D;
  const inf = tf.fill([1, d], Infinity) as lia.tf.Tensor2D;
  const noCodes = tf.zeros([0, d]) as lia.tf.Tensor2D;
  const none = tf.zeros([0, x.shape[1], x.shape[2], x.shape[3]]) as lia.tf.Tensor4D;
  const bad = (v: unknown) => v as never;

  // Options outside their allowed values: named, with what is allowed.
  await failsWithoutLeak('refine space', () => lia.refine(m, x, { steps: 1, space: bad('q') }), /space must be one of y, z, wplus, got 'q'/);
  await failsWithoutLeak('refine init', () => lia.refine(m, x, { steps: 1, init: bad('bogus') }), /init must be one of encoder, mean, random, got 'bogus'/);
  await failsWithoutLeak('refine seed', () => lia.refine(m, x, { steps: 1, init: 'random', seed: bad('abc') }), /seed.*abc/);
  await failsWithoutLeak('refine steps', () => lia.refine(m, x, { steps: -1 }), /steps.*-1/);
  await failsWithoutLeak('refine lr', () => lia.refine(m, x, { steps: 1, lr: 0 }), /lr.*\b0\b/);
  await failsWithoutLeak('refine beta', () => lia.refine(m, x, { steps: 1, beta: NaN }), /beta.*NaN/);
  await failsWithoutLeak('refine layer', () => lia.refine(m, x, { steps: 1, perceptualLayer: bad('conv9') }), /perceptualLayer.*'conv9'/);
  await failsWithoutLeak('refine init shape', () => lia.refine(m, x, { steps: 1, init: inf }), /initial code|\[2, 16\]|non-finite|NaN or Infinity/);
  await failsWithoutLeak('encode space', () => lia.encode(m, x, bad('w')), /space must be one of y, z, got 'w'/);
  await failsWithoutLeak('render space', () => tf.tidy(() => lia.render(m, tf.zeros([1, d]) as lia.tf.Tensor2D, bad('x'))), /space.*'x'/);
  await failsWithoutLeak('generate n', () => lia.generate(m, { n: 0 }), /n .*0/);
  await failsWithoutLeak('generate seed', () => lia.generate(m, { seed: bad('s1') }), /seed.*s1/);
  await failsWithoutLeak('generate truncation', () => lia.generate(m, { truncation: NaN }), /truncation.*NaN/);
  await failsWithoutLeak('interpolate space', () => lia.interpolate(m, a, a, { space: bad('w') }), /space.*'w'/);
  await failsWithoutLeak('interpolate steps', () => lia.interpolate(m, a, a, { steps: 1 }), /steps.*1/);
  await failsWithoutLeak('mix crossover', () => lia.mix(m, a, a, 99), /crossover.*99/);
  await failsWithoutLeak('edit strengths', () => lia.edit(m, a, direction, []), /strength/);
  await failsWithoutLeak('edit strength NaN', () => lia.edit(m, a, direction, [NaN]), /strength.*NaN/);
  await failsWithoutLeak('edit direction size', () => lia.edit(m, a, { ...direction, n: new Float64Array(3) }, [1]), /direction 'axis0' has 3/);

  // Non-finite and empty input.
  for (const [name, call] of [
    ['encode', () => lia.encode(m, nan)],
    ['reconstruct', () => lia.reconstruct(m, nan)],
    ['refine', () => lia.refine(m, nan, { steps: 1 })],
    ['mix', () => lia.mix(m, nanOne, a, 1)],
    ['render', () => lia.render(m, inf)],
  ] as Array<[string, () => unknown]>) {
    await failsWithoutLeak(`${name} NaN/Inf`, call, /NaN or Infinity/);
  }
  await failsWithoutLeak('encode empty batch', () => lia.encode(m, none), /at least one image/);
  await failsWithoutLeak('refine empty batch', () => lia.refine(m, none, { steps: 1 }), /at least one image/);
  await failsWithoutLeak('render no codes', () => lia.render(m, noCodes), /at least one code/);

  // A callback that throws, and divergence, free everything.
  await failsWithoutLeak('refine onStep throws', () => lia.refine(m, x, { steps: 5, onStep: () => { throw new Error('callback broke'); } }), /callback broke/);
  await failsWithoutLeak('refine diverges', () => lia.refine(m, x, { steps: 5, lr: 1e38 }), /diverged/);
  tf.dispose([a, nan, nanOne, inf, none, noCodes]);
});

test('checkpoints that are not models, or hold NaN weights, are refused without a leak', async () => {
  const file = lia.decodeSafetensors(bytes, 'tiny');
  const name = Object.keys(file.tensors).find((k) => file.tensors[k].dtype === 'F32' && file.tensors[k].data.length > 3)!;
  const data = Float32Array.from(file.tensors[name].data as Float32Array);
  data[3] = NaN;
  const poisoned = lia.encodeSafetensors({ ...file.tensors, [name]: { dtype: 'F32', shape: file.tensors[name].shape, data } }, file.metadata);
  await failsWithoutLeak('loadModel NaN weights', () => lia.loadModel(poisoned, 'poisoned.safetensors'), new RegExp(`poisoned\\.safetensors: tensor '${name.replace(/\./g, '\\.')}' holds NaN at element 3`));
  await failsWithoutLeak('loadModel garbage', () => lia.loadModel(new Uint8Array([1, 2, 3]), 'garbage.bin'), /garbage\.bin/);
});

test('a disposed model says so', async () => {
  const m2 = lia.modelFromBytes(bytes, 'tiny-copy');
  lia.disposeModel(m2);
  const before = tf.memory().numTensors;
  assert.throws(() => lia.encode(m2, x), /tiny-copy.*disposed/);
  assert.throws(() => lia.generate(m2), /tiny-copy.*disposed/);
  await assert.rejects(lia.refine(m2, x, { steps: 1 }), /tiny-copy.*disposed/);
  assert.throws(() => lia.modelInfo(m2), /tiny-copy.*disposed/);
  assert.equal(tf.memory().numTensors, before);
});
