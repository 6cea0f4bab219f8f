// `lia bench drift`: how far a fast backend's GAN training drifts from the cpu backend (the
// reference) over N steps from the same snapshot and batches. GAN training amplifies float
// rounding, so the drift of each backend is reported beside the others: torch and wasm should
// drift by amounts of one size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, type BackendName } from '../engine/backend.js';
import { withHostRandom } from '../engine/random.js';
import { maxRelativeError } from '../engine/reference.js';
import { loadDataset } from '../data/index.js';
import { resolveDecoderConfig, type DecoderTrainConfig } from '../train/decoder-config.js';
import { DecoderTrainer, type StepLosses } from '../train/stage1.js';

export interface DriftOptions {
  steps: number;
  backends: BackendName[];
  threads: number;
  config: Partial<DecoderTrainConfig>;
  /** Where the torch backend computes (cuda: an addon built against a CUDA libtorch). */
  device?: 'cpu' | 'cuda';
  /** torch on CUDA: TF32 'on' or 'off' (unset: PyTorch's defaults, convolutions on). */
  tf32?: 'on' | 'off';
}

export interface DriftRow {
  backend: BackendName;
  /** Per step: max over the losses of |loss - cpu loss| / max(|cpu loss|, 1e-3). */
  lossDrift: number[];
  /** Drift of the losses at steps 1, 10, 25, N (1-based). */
  atSteps: Record<string, number>;
  /** After N steps: ‖w − w_cpu‖ / ‖w_cpu‖ over all of G's variables together. */
  paramDrift: number;
  /** The variable with the largest max|w − w_cpu| / max|w_cpu| after N steps, and that value. */
  worstVariable: { name: string; drift: number };
  msPerStep: number;
}

/** A small stage-1 model on the built-in shapes (the cpu backend trains it in seconds per step). */
export const DRIFT_CONFIG: Partial<DecoderTrainConfig> = {
  data: 'shapes:256', resolution: 16, batch: 8, latentSize: 32, widthBase: 128, widthMax: 32,
  phiBlocks: 2, mlpLayers: 2, r1Interval: 4, emaKimg: 0.1, seed: 11,
};

async function trainFrom(snapshot: string, steps: number, cfg: Partial<DecoderTrainConfig>): Promise<{ losses: StepLosses[]; params: Map<string, Float32Array>; ms: number }> {
  const ds = await loadDataset(cfg.data!, { resolution: cfg.resolution! });
  const t = await DecoderTrainer.resume(snapshot, ds);
  const losses: StepLosses[] = [];
  const start = performance.now();
  // Latents and noise from the host generator on every backend (torch would draw its own): the
  // backends then train on the same numbers, and the drift is the arithmetic's alone.
  await withHostRandom(async () => {
    for (let i = 0; i < steps; i++) losses.push(await t.trainStep());
  });
  const ms = (performance.now() - start) / steps;
  const params = new Map<string, Float32Array>();
  for (const [k, v] of t.G.namedState()) params.set(k, (await v.data()) as Float32Array);
  t.dispose();
  return { losses, params, ms };
}

export async function benchDrift(opts: DriftOptions, log: (s: string) => void = () => {}): Promise<{ config: Partial<DecoderTrainConfig>; steps: number; cpuMsPerStep: number; rows: DriftRow[] }> {
  const cfg = { ...DRIFT_CONFIG, ...opts.config };
  const dir = mkdtempSync(join(tmpdir(), 'lia-drift-'));
  try {
    await initEngine({ backend: 'cpu' });
    const ds = await loadDataset(cfg.data!, { resolution: cfg.resolution! });
    const init = new DecoderTrainer(resolveDecoderConfig(cfg), ds);
    const snap = join(dir, 'init.safetensors');
    await init.saveSnapshot(snap);
    init.dispose();
    log(`cpu: ${opts.steps} steps …\n`);
    const ref = await trainFrom(snap, opts.steps, cfg);
    const rows: DriftRow[] = [];
    for (const backend of opts.backends) {
      await initEngine(backend === 'torch' ? { backend, threads: opts.threads, device: opts.device, tf32: opts.tf32 } : { backend, threads: opts.threads });
      log(`${backend}: ${opts.steps} steps …\n`);
      const run = await trainFrom(snap, opts.steps, cfg);
      const lossDrift = run.losses.map((l, i) => {
        let worst = 0;
        for (const [k, v] of Object.entries(ref.losses[i])) {
          if (typeof v !== 'number') continue;
          const o = (l as unknown as Record<string, number>)[k];
          worst = Math.max(worst, Math.abs(o - v) / Math.max(Math.abs(v), 1e-3));
        }
        return worst;
      });
      let diff2 = 0;
      let norm2 = 0;
      let worstVariable = { name: '', drift: 0 };
      for (const [k, w] of ref.params) {
        const o = run.params.get(k)!;
        for (let i = 0; i < w.length; i++) {
          diff2 += (o[i] - w[i]) ** 2;
          norm2 += w[i] ** 2;
        }
        const rel = maxRelativeError(o, w);
        if (rel > worstVariable.drift) worstVariable = { name: k, drift: rel };
      }
      const paramDrift = Math.sqrt(diff2 / Math.max(norm2, 1e-30));
      const at: Record<string, number> = {};
      for (const s of [1, 10, 25, opts.steps]) if (s <= opts.steps) at[s] = lossDrift[s - 1];
      rows.push({ backend, lossDrift, atSteps: at, paramDrift, worstVariable, msPerStep: run.ms });
    }
    return { config: cfg, steps: opts.steps, cpuMsPerStep: ref.ms, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
