// Data-parallel training (torch backend, gloo): from one snapshot, 2 ranks × batch 8 take the steps
// one process with batch 16 takes. Reference: the same trainer in this process, batch 16.
//   - every variable (models, optimiser moments) after one D + R1 + G step (step 0 is an R1 step) and
//     after one D + G step: within 1e-5 of the tensor's largest value; both ranks hold the same weights;
//   - the losses of 20 steps: within the drift `lia bench drift --steps 20 --batch 16` measured
//     between the torch and cpu backends on the same model, snapshot seed and batches
//     (results/engine/distributed/drift-20-steps-batch16.json): float rounding amplified by GAN training;
//   - the same for one encoder step.
// Skipped where the torch addon or its torch.distributed part is not built.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../engine/backend.js';
import { distributedSupport } from '../engine/torch/dist.js';
import { maxRelativeError } from '../engine/reference.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { resolveDecoderConfig } from './decoder-config.js';
import { resolveEncoderConfig } from './encoder-config.js';
import { DecoderTrainer } from './stage1.js';
import { EncoderTrainer } from './stage2.js';
import { DRIFT_CONFIG } from '../bench/drift.js';
import { FeatureNet } from '../models/features.js';
import { saveFeatureNet } from '../io/network-files.js';
import { readSnapshot } from './snapshot.js';
import type { VariableGroups } from '../io/checkpoint.js';
import { asEntry } from '../io/checkpoint.js';
import type { WorkerArgs } from '../testing/dist-worker.js';

const support = distributedSupport();
const skip = support.available ? false : `torch.distributed is not built: ${support.why}`;
const dir = mkdtempSync(join(tmpdir(), 'lia-dp-'));
const worker = fileURLToPath(new URL('../testing/dist-worker.js', import.meta.url));
const driftFile = fileURLToPath(new URL('../../results/engine/distributed/drift-20-steps-batch16.json', import.meta.url));
const DATA = DRIFT_CONFIG.data!;
const RES = DRIFT_CONFIG.resolution!;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs 2 ranks of dist-worker.js on the snapshot; resolves when both exit 0. */
async function runRanks(args: Omit<WorkerArgs, 'url' | 'rank' | 'worldSize'>): Promise<void> {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const runs = [0, 1].map(
    (rank) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, [worker, JSON.stringify({ ...args, url, rank, worldSize: 2 })], { stdio: ['ignore', 'inherit', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rank ${rank} exited ${code}: ${err}`))));
      }),
  );
  await Promise.all(runs);
}

async function valuesOf(groups: VariableGroups, names: string[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const g of names) for (const [k, v] of groups[g]) out.set(`${g}.${k}`, Float32Array.from(await asEntry(v).read()));
  return out;
}

function snapshotValues(path: string): Promise<Map<string, Float32Array>> {
  return readSnapshot(path).then((s) => new Map(Object.entries(s.tensors).map(([k, t]) => [k, t.data as Float32Array])));
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * The largest max|a − b| / max|b| over the named tensors, and where. As in engine/torch/torch.test.ts,
 * a variable whose gradient is zero in exact arithmetic (a bias feeding a training-mode batch norm)
 * gets float noise as its gradient in both runs, which Adam's first step scales up to ±lr: for those
 * (first moment < 1e-7 in the reference) only "noise in both" is checked.
 */
function worst(a: Map<string, Float32Array>, b: Map<string, Float32Array>, groups: string[]): { name: string; rel: number; count: number } {
  const noise = new Set<string>();
  for (const [k, m] of b) {
    const hit = /^opt_(\w+)\.(.+)\.m$/.exec(k);
    if (!hit || !groups.includes(`opt_${hit[1]}`) || maxAbs(m) >= 1e-7) continue;
    assert.ok(maxAbs(a.get(k)!) < 1e-7, `${k}: the gradient is float noise in one process but not with 2 ranks`);
    for (const key of [`${hit[1]}.${hit[2]}`, k, k.replace(/\.m$/, '.v')]) noise.add(key);
  }
  assert.ok(noise.size <= 6, `too many variables with a vanishing gradient: ${[...noise].join(', ')}`);
  let w = { name: '', rel: 0, count: 0 };
  for (const [k, ref] of b) {
    if (!groups.some((g) => k.startsWith(`${g}.`)) || noise.has(k)) continue;
    const got = a.get(k);
    assert.ok(got, `the 2-rank state has no ${k}`);
    // Adam's second moments are squares of gradients: a relative error e in a gradient is 2e in v,
    // so v is judged at the gradients' scale (halved); weights and first moments as they are.
    const rel = maxRelativeError(got, ref) / (/^opt_\w+\..+\.v$/.test(k) ? 2 : 1);
    w = rel > w.rel ? { name: k, rel, count: w.count + 1 } : { ...w, count: w.count + 1 };
  }
  return w;
}

let ds: Dataset;
before(async () => {
  if (skip) return;
  await initEngine({ backend: 'torch', threads: 1 });
  ds = await loadDataset(DATA, { resolution: RES });
});

test('decoder: 2 ranks × batch 8 take the steps of 1 process × batch 16', { skip }, async () => {
  const init = join(dir, 'dec-init.safetensors');
  const t0 = new DecoderTrainer(resolveDecoderConfig({ ...DRIFT_CONFIG, batch: 16 }), ds);
  await t0.saveSnapshot(init);
  t0.dispose();

  const steps = 20;
  await runRanks({ kind: 'decoder', snapshot: init, data: DATA, resolution: RES, steps, saveAfter: [1, 2], out: join(dir, 'dec') });

  const ref = await DecoderTrainer.resume(init, ds);
  const refLosses: Record<string, number>[] = [];
  const groups = ['g', 'd', 'opt_g', 'opt_d', 'g_ema'];
  for (let s = 1; s <= steps; s++) {
    refLosses.push((await ref.trainStep()) as unknown as Record<string, number>);
    if (s > 2) continue;
    const want = await valuesOf(ref.stateGroups(), groups);
    const rank0 = await snapshotValues(join(dir, `dec-r0-s${s}.safetensors`));
    const rank1 = await snapshotValues(join(dir, `dec-r1-s${s}.safetensors`));
    const w = worst(rank0, want, groups);
    assert.ok(w.count > 50, `compared ${w.count} tensors`);
    assert.ok(w.rel <= 1e-5, `after step ${s} (${s === 1 ? 'D + R1 + G' : 'D + G'}): ${w.name} differs by ${w.rel.toExponential(2)} of its largest value`);
    // The ranks take identical updates: their models and moments agree exactly.
    const same = worst(rank1, rank0, ['g', 'd', 'opt_g', 'opt_d']);
    assert.equal(same.rel, 0, `ranks 0 and 1 differ after step ${s}: ${same.name}`);
    console.log(`step ${s}: worst ${w.name} ${w.rel.toExponential(2)} over ${w.count} tensors`);
  }
  ref.dispose();

  // Losses of 20 steps against the drift lia bench drift reports for torch vs cpu over 20 steps.
  const drift = JSON.parse(readFileSync(driftFile, 'utf8')) as { config: { batch: number }; rows: { backend: string; lossDrift: number[] }[] };
  assert.equal(drift.config.batch, 16, 'the drift reference is for batch 16');
  const bound = Math.max(...drift.rows.find((r) => r.backend === 'torch')!.lossDrift.slice(0, steps));
  const got = JSON.parse(readFileSync(join(dir, 'dec-r0-losses.json'), 'utf8')) as Record<string, number>[];
  // No tensor leaks on either rank: the count after every step is the count after the first.
  for (const r of [0, 1]) {
    const counts = JSON.parse(readFileSync(join(dir, `dec-r${r}-tensors.json`), 'utf8')) as number[];
    assert.deepEqual(counts, counts.map(() => counts[0]), `rank ${r}: live tensors after each step ${counts.join(' ')}`);
  }
  // The bench's measure: per step, max over the losses of |a − b| / max(|b|, 1e-3).
  const perStep = refLosses.map((ref, i) => Math.max(...Object.entries(ref).map(([k, v]) => Math.abs(got[i][k] - v) / Math.max(Math.abs(v), 1e-3))));
  const maxDrift = Math.max(...perStep);
  console.log(`per step: ${perStep.map((d) => d.toExponential(1)).join(' ')}`);
  console.log(`losses over ${steps} steps: max drift ${maxDrift.toExponential(4)} (bench drift bound ${bound.toExponential(4)})`);
  // One chaotic trajectory's amplification against another's: "of one size" is at most twice it.
  assert.ok(maxDrift <= 2 * bound, `2-rank losses drift ${maxDrift.toExponential(2)} from 1 process's, more than twice torch's drift from cpu (${bound.toExponential(2)})`);
});

test('encoder: one step of 2 ranks × batch 8 equals 1 process × batch 16', { skip }, async () => {
  const dec = join(dir, 'enc-dec.safetensors');
  const cfg = resolveDecoderConfig({ ...DRIFT_CONFIG, batch: 16 });
  const d = new DecoderTrainer(cfg, ds);
  await d.trainStep();
  await d.saveSnapshot(dec);
  d.dispose();
  const percPath = join(dir, 'perc.safetensors');
  const perc = new FeatureNet({ name: 'tinyperc', resolution: RES, channels: ds.channels, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 3, training: { dataset: 'none', role: 'perceptual' } });
  await saveFeatureNet(perc, percPath);
  const ecfg = { ...resolveEncoderConfig({ decoder: dec, batch: 16, kimg: 1, widthBase: 64, widthMax: 16, perceptualNet: percPath, r1Interval: 2 }), beta1: 0.5 };
  const e0 = await EncoderTrainer.create(ecfg, ds, perc);
  const init = join(dir, 'enc-init.safetensors');
  await e0.saveSnapshot(init);
  e0.dispose();

  await runRanks({ kind: 'encoder', snapshot: init, data: DATA, resolution: RES, perceptualNet: percPath, steps: 1, saveAfter: [1], out: join(dir, 'enc') });
  const ref = await EncoderTrainer.resume(init, ds, perc);
  const refLoss = (await ref.trainStep()) as unknown as Record<string, number>;
  const got = (JSON.parse(readFileSync(join(dir, 'enc-r0-losses.json'), 'utf8')) as Record<string, number>[])[0];
  for (const [k, v] of Object.entries(refLoss)) assert.ok(Math.abs(got[k] - v) <= 1e-5 * Math.max(Math.abs(v), 1e-3), `encoder loss ${k}: 2 ranks ${got[k]}, 1 process ${v}`);
  const groups = ['e', 'd', 'opt_e', 'opt_d'];
  const want = await valuesOf(ref.stateGroups(), groups);
  const w = worst(await snapshotValues(join(dir, 'enc-r0-s1.safetensors')), want, groups);
  console.log(`encoder step: worst ${w.name} ${w.rel.toExponential(2)} over ${w.count} tensors`);
  assert.ok(w.rel <= 1e-5, `after one encoder step (c with R1, then f): ${w.name} differs by ${w.rel.toExponential(2)}`);
  ref.dispose();
  perc.dispose();
});

test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
