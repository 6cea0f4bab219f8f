// `lia bench studio`: the studio in headless Chromium, per backend — the first load (navigation to
// a reconstructed test image), the latency of encode + reconstruct of one image (median of N runs
// after two warm-up runs, timed in the page), refinement steps/s, the bytes of JavaScript and wasm
// the page loaded, and the size of the whole build.
import { readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, extname } from 'node:path';
import { startStudioServer } from '../studio/server.js';
import { launchChromium } from '../studio/browser.js';

export interface StudioBenchRow {
  backend: string;
  device?: string;
  ok: boolean;
  error?: string;
  firstLoadSec?: number;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  refineStepsPerSec?: number;
  loadedKiB?: { js: number; wasm: number };
  crossOriginIsolated?: boolean;
  threads?: number;
}

export interface StudioBenchResult {
  runs: number;
  model: string;
  bundleKiB: { js: number; wasm: number; css: number; html: number; total: number; jsAndWasm: number };
  rows: StudioBenchRow[];
  chromium: string;
  date: string;
}

/** Bytes of the build by kind (models apart: they are served from models/). */
export function bundleSizes(webDir: string): StudioBenchResult['bundleKiB'] {
  const sizes = { js: 0, wasm: 0, css: 0, html: 0, total: 0, jsAndWasm: 0 };
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else {
        const kind = ({ '.js': 'js', '.wasm': 'wasm', '.css': 'css', '.html': 'html' } as const)[extname(f) as '.js'];
        if (kind) sizes[kind] += st.size;
        sizes.total += st.size;
      }
    }
  };
  walk(webDir);
  sizes.jsAndWasm = sizes.js + sizes.wasm;
  for (const k of Object.keys(sizes) as Array<keyof typeof sizes>) sizes[k] = Math.round(sizes[k] / 1024);
  return sizes;
}

export async function benchStudio(opts: { webDir: string; modelsDir: string; backends: string[]; runs: number; model: string; screenshots?: string; timeoutSec?: number }): Promise<StudioBenchResult> {
  const server = await startStudioServer({ webDir: opts.webDir, modelsDir: opts.modelsDir, port: 0 });
  const browser = await launchChromium();
  const rows: StudioBenchRow[] = [];
  try {
    for (const backend of opts.backends) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      try {
        const t0 = Date.now();
        await page.goto(`${server.url}?backend=${backend}&model=${encodeURIComponent(opts.model)}`);
        await page.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.busy === '0', { timeout: (opts.timeoutSec ?? 300) * 1000, polling: 50 });
        const firstLoadSec = (Date.now() - t0) / 1000;
        const failed = await page.evaluate(() => (document.body.dataset.ready === 'true' ? '' : document.getElementById('error')?.textContent ?? 'failed'));
        if (failed) {
          rows.push({ backend, ok: false, error: failed });
          continue;
        }
        const loaded = await page.evaluate(() => {
          const r = { js: 0, wasm: 0 };
          for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
            if (e.name.endsWith('.js')) r.js += e.encodedBodySize;
            if (e.name.endsWith('.wasm')) r.wasm += e.encodedBodySize;
          }
          return r;
        });
        // The benchmark itself runs in the page (web/src/main.ts bench()), on the already loaded model and image.
        const result = (await page.evaluate(async (n: number) => {
          const w = window as unknown as { __liaBench?: (n: number) => Promise<Record<string, unknown>> };
          if (!w.__liaBench) throw new Error('the page has no benchmark hook');
          return w.__liaBench(n);
        }, opts.runs)) as { encodeReconstructMs: number[]; medianMs: number; refineStepsPerSec: number; backend: { device: string; threads: number }; crossOriginIsolated: boolean };
        if (opts.screenshots) {
          // A refinement through the page's own controls, so the screenshot shows the loss curve too.
          await page.evaluate(() => {
            (document.getElementById('refSteps') as HTMLInputElement).value = '10';
            document.getElementById('refRun')!.click();
          });
          await page.waitForFunction(() => /done after/.test(document.getElementById('refStep')?.textContent ?? ''), { timeout: (opts.timeoutSec ?? 300) * 1000 });
          await page.screenshot({ path: join(opts.screenshots, `studio-${backend}.png`), fullPage: true });
        }
        const ms = result.encodeReconstructMs;
        rows.push({
          backend,
          device: result.backend.device,
          ok: true,
          firstLoadSec,
          medianMs: result.medianMs,
          minMs: Math.min(...ms),
          maxMs: Math.max(...ms),
          refineStepsPerSec: result.refineStepsPerSec,
          loadedKiB: { js: Math.round(loaded.js / 1024), wasm: Math.round(loaded.wasm / 1024) },
          crossOriginIsolated: result.crossOriginIsolated,
          threads: result.backend.threads,
        });
      } catch (e) {
        rows.push({ backend, ok: false, error: (e as Error).message.split('\n')[0].slice(0, 300) });
      } finally {
        await page.close();
      }
    }
    const version = await browser.version();
    return { runs: opts.runs, model: opts.model, bundleKiB: bundleSizes(opts.webDir), rows, chromium: version, date: new Date().toISOString() };
  } finally {
    await browser.close();
    await server.close();
  }
}

export function studioBenchTable(r: StudioBenchResult): string[][] {
  return r.rows.map((x) =>
    x.ok
      ? [x.backend, x.device ?? '', `${x.medianMs!.toFixed(1)} (${x.minMs!.toFixed(1)}–${x.maxMs!.toFixed(1)})`, x.refineStepsPerSec!.toFixed(1), x.firstLoadSec!.toFixed(1), `${x.loadedKiB!.js} + ${x.loadedKiB!.wasm}`]
      : [x.backend, `failed: ${x.error}`, '', '', '', ''],
  );
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}
