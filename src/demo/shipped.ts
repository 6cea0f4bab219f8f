// `lia demo` (what `npm start` runs): the shipped models (models/, lia pack-model) used on held-out
// images without any training — samples, one-pass reconstruction (beside the StyleGAN + encoder
// baseline of the same data), refinement from three starts, interpolation, style mixing, and edits
// along class, SeFa and PCA directions — and a report that says which models, trained how long, and
// what was measured. `lia demo --train` (demo.ts) trains a small LIA from scratch instead.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { EngineInfo } from '../engine/backend.js';
import * as lia from '../node.js';
import { loadDataset, toUnitRange } from '../data/index.js';
import { loadFeatureNet } from '../io/network-files.js';
import type { FeatureNet } from '../models/features.js';
import type { Direction } from '../invert/directions.js';
import { createRunDir } from '../train/run-dir.js';
import { writeTextAtomic } from '../io/files.js';
import { listModelFolders, readModelFolder, sampleMetricName, trainedKimg, PACKAGE_ROOT, type ModelFolder } from '../io/model-folders.js';
import { reportMarkdown, reportHtml, type Block, type Report, type Section } from './report.js';
import { editingPart, interpolationPart, mixingPart, reconstructionPart, refinementPart, samplesPart, guarded, type Failure, type PartContext, type Pool } from './applications.js';

export interface ShippedDemoOptions {
  /** Folder of model folders (default: the package's models/). */
  modelsDir: string;
  /** Model folders to show instead of the longest-trained LIA model of each dataset. */
  models?: string[];
  outDir: string;
  quiet?: boolean;
  seed?: number;
  /** Held-out images reconstructed for the quality figures (default 1,000). */
  images?: number;
  /** Refinement steps (default 100). */
  refineSteps?: number;
}

export interface DemoResult {
  dir: string;
  report: Report;
  summary: Record<string, unknown>;
}

function log(quiet: boolean | undefined, msg: string): void {
  if (!quiet) process.stderr.write(`${msg}\n`);
}

const fmtTime = (s: number | undefined) => {
  if (s === undefined || !Number.isFinite(s)) return '';
  const m = Math.round(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
};

/** The models shown: the given folders, or the longest-trained LIA model (with an encoder) of each dataset. */
export function chooseModels(all: ModelFolder[], given?: string[]): ModelFolder[] {
  if (given?.length) {
    return given.map((p) => {
      const f = readModelFolder(resolve(p), p);
      if (!f) throw new Error(`--model ${p}: not a model folder (it needs manifest.json and model.safetensors; make one with lia pack-model)`);
      return f;
    });
  }
  const best = new Map<string, ModelFolder>();
  for (const f of all) {
    if (f.manifest.mapping !== 'invertible' || f.manifest.kind !== 'encoder') continue;
    const key = `${f.manifest.data}:${f.manifest.resolution}`;
    const b = best.get(key);
    if (!b || trainedKimg(f) > trainedKimg(b)) best.set(key, f);
  }
  return [...best.values()];
}

/** The longest-trained baseline (the MLP mapping) of the same data and resolution, if any. */
function baselineFor(all: ModelFolder[], f: ModelFolder): ModelFolder | undefined {
  return all
    .filter((b) => b.manifest.mapping === 'mlp' && b.manifest.kind === 'encoder' && b.manifest.data === f.manifest.data && b.manifest.resolution === f.manifest.resolution)
    .sort((a, b) => trainedKimg(b) - trainedKimg(a))[0];
}

/**
 * Held-out images: the test split of the model's dataset when it is installed, otherwise the test
 * images shipped in the model folder (samples/).
 */
async function heldOut(f: ModelFolder, m: lia.LiaModel, count: number, quiet?: boolean): Promise<Pool> {
  const info = lia.modelInfo(m);
  const { resolution, channels } = info;
  const size = resolution * resolution * channels;
  try {
    const ds = await loadDataset(m.data, { resolution, channels: channels as 1 | 3, dataDir: m.dataDir });
    const n = Math.min(count, ds.test.end - ds.test.start);
    const x = toUnitRange(ds.pixels.subarray(ds.test.start * size, (ds.test.start + n) * size));
    return { x, n, resolution, channels, labels: ds.labels?.subarray(ds.test.start, ds.test.start + n), classNames: ds.classNames, source: `the first ${n} images of ${ds.name}'s test split (never seen in training)` };
  } catch (e) {
    if (!f.samples.length) throw new Error(`${f.dir}: the data '${m.data}' is not available (${(e as Error).message.split('\n')[0]}) and the folder ships no samples`);
    log(quiet, `${m.data} is not installed (${(e as Error).message.split('\n').slice(0, 2).map((l) => l.trim()).join(' ')}); using the ${f.samples.length} test images shipped in ${f.dir}/samples`);
    const x = new Float32Array(f.samples.length * size);
    for (const [k, p] of f.samples.entries()) {
      const t = await lia.readImage(p, { resolution, channels });
      x.set((await t.data()) as Float32Array, k * size);
      t.dispose();
    }
    return { x, n: f.samples.length, resolution, channels, classNames: [], source: `the ${f.samples.length} test-split images shipped in ${f.dir}/samples (the dataset is not installed here)` };
  }
}

/** The model's perceptual network, when its file is here (refinement then uses the paper's loss). */
async function perceptualNet(m: lia.LiaModel): Promise<{ net?: FeatureNet; note: string }> {
  const p = m.encoder?.train.perceptualNet;
  if (!p) return { note: 'pixel MSE only (the model names no perceptual network)' };
  for (const c of isAbsolute(p) ? [p] : [resolve(p), join(PACKAGE_ROOT, p)]) {
    if (existsSync(c)) return { net: await loadFeatureNet(c), note: `pixel MSE + β·perceptual with β = ${m.encoder!.train.beta1.toPrecision(3)} and the perceptual network ${p}` };
  }
  return { note: `pixel MSE only (the perceptual network ${p} is not here)` };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : '');

/** One row per model folder: what it is, how long it trained, what was measured (from its manifest). */
function modelsTable(all: ModelFolder[]): Block {
  return {
    kind: 'table',
    head: ['model', 'mapping', 'decoder kimg', 'encoder kimg', 'training time (decoder + encoder)', 'sample FID', 'sample SWD', 'reconstruction MSE', 'PSNR', 'SSIM'],
    rows: all.map((f) => {
      const t = f.manifest.training;
      const s = f.manifest.sampleMetrics ?? {};
      const r = f.manifest.metrics ?? {};
      const fid = sampleMetricName(s, 'fid');
      const swd = sampleMetricName(s, 'swd');
      const secs = (t?.decoder?.seconds ?? NaN) + (t?.encoder?.seconds ?? NaN);
      return [f.id, f.manifest.mapping === 'invertible' ? 'LIA (Φ)' : 'StyleGAN (MLP)', num(t?.decoder?.kimg), num(t?.encoder?.kimg), Number.isFinite(secs) ? fmtTime(secs) : t?.encoder?.seconds ? `encoder ${fmtTime(t.encoder.seconds)}` : '', fid ? `${Number(s[fid].toPrecision(4))} (${fid})` : '', swd ? `${Number(s[swd].toPrecision(4))} (${swd})` : '', num(r.mse), num(r.psnr), num(r.ssim)];
    }),
  };
}

export async function runShippedDemo(opts: ShippedDemoOptions, engine: EngineInfo): Promise<DemoResult> {
  const t0 = Date.now();
  const all = listModelFolders(opts.modelsDir);
  const chosen = chooseModels(all, opts.models);
  if (!chosen.length) throw new Error(`${opts.modelsDir}: no LIA model folders (with an encoder) to show; train one with scripts/train-models.sh or run lia demo --train`);
  const dir = createRunDir(opts.outDir, 'demo');
  log(opts.quiet, `demo ${dir}: ${chosen.map((f) => f.id).join(', ')}; backend ${engine.backend} (${engine.threads} thread${engine.threads > 1 ? 's' : ''})`);
  const failures: Failure[] = [];
  const summary: Record<string, unknown> = { dir, mode: 'shipped models', backend: engine.backend, threads: engine.threads, models: {} as Record<string, unknown>, failures };
  const sections: Section[] = [
    {
      title: 'The models',
      blocks: [
        { kind: 'text', text: `Every model folder in ${opts.modelsDir}, with the numbers measured when it was packed (sample FID/SWD: 10,000 samples against the test split with the evaluation network; reconstruction: the test split). This demo uses ${chosen.map((f) => `**${f.manifest.title ?? f.id}**`).join(' and ')}.` },
        modelsTable(all),
      ],
    },
  ];
  for (const f of chosen) {
    const tm = Date.now();
    const prefix = `${f.id}-`;
    const modelSummary: Record<string, unknown> = {};
    (summary.models as Record<string, unknown>)[f.id] = modelSummary;
    const ctx: PartContext = { dir, prefix, failures, summary: modelSummary, quiet: opts.quiet };
    const blocks: Block[] = [];
    let m: lia.LiaModel | undefined;
    let base: lia.LiaModel | undefined;
    let net: FeatureNet | undefined;
    try {
      blocks.push(
        ...(await guarded(ctx, 'loading', async () => {
          m = await lia.loadModel(f.model);
          return [];
        })),
      );
      if (!m) {
        sections.push({ title: f.manifest.title ?? f.id, blocks });
        continue;
      }
      const model = m;
      const t = f.manifest.training;
      blocks.push({ kind: 'text', text: `${f.id}: ${f.manifest.data} ${f.manifest.resolution}×${f.manifest.resolution}×${f.manifest.channels}; decoder ${t?.decoder?.kimg ?? '?'} kimg${t?.decoder?.seconds ? ` (${fmtTime(t.decoder.seconds)})` : ''}, encoder ${t?.encoder?.kimg ?? '?'} kimg${t?.encoder?.seconds ? ` (${fmtTime(t.encoder.seconds)})` : ''}${t?.trainedOn ? `, trained on ${t.trainedOn}` : ''}. Trained with: \`${t?.command ?? 'not recorded'}\`. Data licence: ${f.manifest.dataLicence ?? 'not recorded'}.` });
      log(opts.quiet, `${f.id}: held-out images, samples, reconstruction…`);
      const pool = await heldOut(f, model, opts.images ?? 1000, opts.quiet);
      modelSummary.held_out = pool.source;
      blocks.push(...(await samplesPart(ctx, model, opts.seed ?? 0, 'Random samples g(Φ⁻¹(z)), z ~ N(0, I), seeds 0–31.')));
      const bf = baselineFor(all, f);
      const others: Array<{ name: string; m: lia.LiaModel }> = [];
      if (bf) {
        try {
          base = await lia.loadModel(bf.model);
          others.push({ name: `baseline ${bf.id}`, m: base });
        } catch (e) {
          failures.push({ part: `${prefix}baseline`, error: (e as Error).message });
        }
      }
      blocks.push({ kind: 'text', text: `Held-out images: ${pool.source}.` });
      const rec = await reconstructionPart(ctx, model, pool, others);
      blocks.push(...rec.blocks);
      log(opts.quiet, `${f.id}: refinement…`);
      const p = await perceptualNet(model);
      net = p.net;
      blocks.push(...(await refinementPart(ctx, model, pool, net, opts.refineSteps ?? 100, p.note)));
      log(opts.quiet, `${f.id}: interpolation, mixing, edits…`);
      blocks.push(...(await interpolationPart(ctx, model, pool)));
      blocks.push(...(await mixingPart(ctx, model, pool)));
      let dirs: Direction[] = [];
      if (f.directions) {
        const path = f.directions;
        blocks.push(...(await guarded(ctx, 'directions', async () => {
          dirs = await lia.readDirections(path);
          return [];
        })));
      }
      const byMethod = (meth: string) => dirs.filter((d) => (d.method ?? 'labels') === meth).slice(0, 3);
      for (const [meth, what] of [['labels', 'class'], ['sefa', 'SeFa'], ['pca', 'PCA']] as const) {
        if (meth === 'labels' && !byMethod(meth).length) continue; // unlabelled data: no class directions to show
        blocks.push(...(await editingPart(ctx, model, pool, byMethod(meth), what)));
      }
      modelSummary.seconds = (Date.now() - tm) / 1000;
    } catch (e) {
      // Something outside the guarded parts (e.g. no held-out images): this model's section says so, the report is still written.
      const error = (e as Error).message.split('\n')[0];
      failures.push({ part: f.id, error });
      blocks.push({ kind: 'text', text: `**This model could not be shown**: ${error}.` });
    } finally {
      if (m) lia.disposeModel(m);
      if (base) lia.disposeModel(base);
      net?.dispose();
    }
    sections.push({ title: f.manifest.title ?? f.id, blocks });
  }
  const total = (Date.now() - t0) / 1000;
  summary.seconds = total;
  sections.push({
    title: 'Reproduce',
    blocks: [
      { kind: 'code', text: `npm start            # = lia demo: the shipped models, no training\nnode dist/cli.js demo --train --minutes 15   # a small LIA trained from scratch\nnode dist/cli.js studio                      # the same models in the browser` },
      { kind: 'text', text: `${failures.length ? `${failures.length} part(s) failed: ${failures.map((x) => `${x.part} (${x.error})`).join('; ')}.` : 'Every part ran.'} Wall time ${total.toFixed(1)} s on the ${engine.backend} backend (${engine.threads} thread(s)).` },
    ],
  });
  const report: Report = { title: 'LIA demo: the shipped models', intro: [`Trained Latently Invertible Autoencoders loaded from ${opts.modelsDir} (nothing is trained here) and used on held-out images: one-pass reconstruction, refinement, interpolation, style mixing and edits. ${total.toFixed(0)} s in all.`], sections };
  writeTextAtomic(join(dir, 'report.md'), reportMarkdown(report));
  writeTextAtomic(join(dir, 'report.html'), reportHtml(report));
  writeTextAtomic(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { dir, report, summary };
}
