// The studio page: the library (src/index.ts) in the browser. Everything runs locally; the models
// come from the server's /models/index.json (lia studio). URL parameters: ?backend=wasm|webgl|webgpu|cpu
// and ?model=<id> choose them; window.__liaBench(N) is the latency benchmark (lia bench studio).
import './style.css';
import * as lia from '../../src/index.js';
import type { CatalogueEntry } from '../../src/studio/catalogue.js';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const { tf } = lia;
type Tensor4D = lia.tf.Tensor4D;
type Tensor2D = lia.tf.Tensor2D;


interface Slot {
  x: Tensor4D;
  y: Tensor2D | null;
  name: string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const params = new URLSearchParams(location.search);
const state = {
  engine: null as lia.EngineInfo | null,
  catalogue: [] as CatalogueEntry[],
  entry: null as CatalogueEntry | null,
  model: null as lia.LiaModel | null,
  info: null as lia.ModelInfo | null,
  directions: [] as lia.Direction[],
  slots: { A: null, B: null } as Record<'A' | 'B', Slot | null>,
  refined: null as lia.tf.Tensor | null,
  refineHistory: [] as lia.RefineStep[],
  refineAbort: null as AbortController | null,
  lastLatencyMs: NaN,
  renders: 0,
};

// ------------------------------------------------------------------------------------------------
// Messages

function showError(e: unknown): void {
  const box = $('error');
  box.textContent = e instanceof Error ? e.message : String(e);
  box.hidden = false;
  console.warn('lia studio:', box.textContent);
}

function clearError(): void {
  $('error').hidden = true;
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

/** Runs a UI action: one at a time per action name, errors shown on the page, the busy flag kept for tests. */
const running = new Set<string>();
async function act(name: string, fn: () => Promise<void> | void): Promise<void> {
  if (running.has(name)) return;
  running.add(name);
  document.body.dataset.busy = String(running.size);
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    running.delete(name);
    document.body.dataset.busy = String(running.size);
    document.body.dataset.renders = String(++state.renders);
  }
}

// ------------------------------------------------------------------------------------------------
// Drawing

async function draw(canvasId: string, x: Tensor4D): Promise<void> {
  const canvas = $<HTMLCanvasElement>(canvasId);
  const images = await lia.tensorToPixels(x);
  const [, h, w] = x.shape;
  canvas.width = w * images.length;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas');
  images.forEach((img, i) => ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), w, h), i * w, 0));
}

function clearCanvas(id: string): void {
  const c = $<HTMLCanvasElement>(id);
  c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
}

function drawLossCurve(history: lia.RefineStep[]): void {
  const c = $<HTMLCanvasElement>('lossCurve');
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const W = c.width;
  const H = c.height;
  const m = { l: 48, r: 8, t: 10, b: 22 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#555';
  if (!history.length) return;
  const ys = history.map((h) => Math.log10(Math.max(h.loss, 1e-12)));
  const lo = Math.min(...ys);
  const hi = Math.max(...ys) + 1e-9;
  const n = Math.max(history.length, 2);
  const px = (i: number) => m.l + ((W - m.l - m.r) * i) / (n - 1);
  const py = (v: number) => m.t + ((H - m.t - m.b) * (hi - v)) / (hi - lo || 1);
  ctx.strokeStyle = '#ccd';
  ctx.strokeRect(m.l, m.t, W - m.l - m.r, H - m.t - m.b);
  ctx.fillText(history[0].loss.toPrecision(3), 2, py(ys[0]) + 4);
  ctx.fillText(history.at(-1)!.loss.toPrecision(3), 2, py(ys.at(-1)!) + 4);
  ctx.fillText(`step ${history.length}`, W - 70, H - 6);
  ctx.fillText('loss (log)', m.l + 4, m.t + 12);
  ctx.strokeStyle = '#3a7bd5';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ys.forEach((v, i) => (i ? ctx.lineTo(px(i), py(v)) : ctx.moveTo(px(i), py(v))));
  ctx.stroke();
}

// ------------------------------------------------------------------------------------------------
// Models

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${what} (${url}): HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function renderManifest(entry: CatalogueEntry): void {
  const m = entry.manifest;
  const rows: Array<[string, string]> = [];
  const add = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') rows.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  };
  add('title', m.title);
  add('kind', `${m.kind ?? ''} ${m.mapping === 'invertible' ? '(LIA: invertible Φ)' : m.mapping === 'mlp' ? '(StyleGAN + encoder baseline)' : ''}`);
  add('images', m.resolution ? `${m.resolution}×${m.resolution}×${m.channels}` : undefined);
  add('data', m.data);
  add('data licence', m.dataLicence);
  add('training', m.training);
  add('metrics', m.metrics);
  const table = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $('manifest').replaceChildren(table);
}

function disposeSlots(): void {
  for (const k of ['A', 'B'] as const) {
    const s = state.slots[k];
    if (s) tf.dispose([s.x, ...(s.y ? [s.y] : [])]);
    state.slots[k] = null;
    clearCanvas(`in${k}`);
    clearCanvas(`rec${k}`);
  }
  state.refined?.dispose();
  state.refined = null;
}

async function loadEntry(entry: CatalogueEntry): Promise<void> {
  setStatus(`loading ${entry.title}…`);
  const bytes = await fetchBytes(entry.model, `model '${entry.title}'`);
  const model = lia.modelFromBytes(bytes, entry.title);
  disposeSlots();
  if (state.model) lia.disposeModel(state.model);
  state.model = model;
  state.entry = entry;
  state.info = lia.modelInfo(model);
  state.directions = entry.directions ? lia.decodeDirections(await fetchBytes(entry.directions, 'directions'), entry.directions) : [];
  renderManifest(entry);
  const mixK = $<HTMLInputElement>('mixK');
  mixK.max = String(state.info.styleInputs - 1);
  mixK.value = String(Math.floor(state.info.styleInputs / 2));
  $('mixKv').textContent = mixK.value;
  const dirSel = $<HTMLSelectElement>('editDir');
  const label = (d: lia.Direction) => (d.method === 'sefa' || d.method === 'pca' ? `${d.name} (unsupervised: ${d.method === 'sefa' ? 'SeFa' : 'PCA of y'})` : `${d.name} (class; held-out acc. ${(d.heldOutAccuracy * 100).toFixed(0)} %)`);
  dirSel.replaceChildren(...state.directions.map((d) => new Option(label(d), d.name)));
  $('editNote').textContent = state.directions.length ? 'Directions: classes (one-vs-rest logistic regression on encoded training images) and, without labels, SeFa (eigenvectors of the first style affine) and PCA of sampled y — lia directions fit --method labels|sefa|pca.' : 'This model ships no directions.';
  const samples = $('samples');
  samples.replaceChildren(
    ...entry.samples.map((url) => {
      const img = document.createElement('img');
      img.src = url;
      img.title = url.split('/').pop() ?? url;
      img.alt = img.title;
      img.addEventListener('click', (ev) => void act(`load${ev.shiftKey ? 'B' : 'A'}`, () => loadUrl(ev.shiftKey ? 'B' : 'A', url)));
      return img;
    }),
  );
  setStatus(`${engineLine()} · ${entry.title}${state.info.kind === 'decoder' ? ' (a decoder: sampling only)' : ''}`);
  await updateSamples();
  if (state.info.kind === 'encoder' && entry.samples.length) {
    await loadUrl('A', entry.samples[0]);
    await loadUrl('B', entry.samples[Math.min(entry.samples.length - 1, 1)]);
  }
}

function engineLine(): string {
  const e = state.engine;
  return e ? `${e.backend} (${e.device})` : 'no backend';
}

// ------------------------------------------------------------------------------------------------
// Images

async function decodeBlob(blob: Blob, name: string): Promise<lia.RawImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`${name}: not an image this browser can decode (${(e as Error).message || 'decoding failed'})`);
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return { data, width: canvas.width, height: canvas.height, channels: 4 };
}

function requireEncoder(): { model: lia.LiaModel; info: lia.ModelInfo } {
  const { model, info } = state;
  if (!model || !info) throw new Error('no model is loaded');
  if (info.kind !== 'encoder') throw new Error(`${info.source} is a decoder snapshot: encoding real images needs an encoder checkpoint (lia export-encoder)`);
  return { model, info };
}

async function setImage(slot: 'A' | 'B', blob: Blob, name: string): Promise<void> {
  const { model, info } = requireEncoder();
  const raw = await decodeBlob(blob, name);
  const { x, notices } = lia.pixelsToTensor(raw, info);
  const old = state.slots[slot];
  if (old) tf.dispose([old.x, ...(old.y ? [old.y] : [])]);
  state.slots[slot] = { x, y: null, name };
  await draw(`in${slot}`, x);
  const t0 = performance.now();
  const y = lia.encode(model, x);
  const rec = lia.render(model, y);
  await rec.data();
  const ms = performance.now() - t0;
  state.slots[slot]!.y = y;
  await draw(`rec${slot}`, rec);
  rec.dispose();
  if (slot === 'A') state.lastLatencyMs = ms;
  $(`meta${slot}`).textContent = `${name}: encoded and reconstructed in ${ms.toFixed(1)} ms on ${state.engine?.backend}${notices.length ? ` · ${notices.join('; ')}` : ''}`;
  clearError();
  await updateDependents();
}

async function loadUrl(slot: 'A' | 'B', url: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  await setImage(slot, await res.blob(), url.split('/').pop() ?? url);
}

// ------------------------------------------------------------------------------------------------
// Applications

async function updateDependents(): Promise<void> {
  await updateInterp();
  await updateMix();
  await updateEdit();
}

/** The model and both images, or null while B (or A) is still missing. */
function bothSlots(): { model: lia.LiaModel; a: Slot; b: Slot } | null {
  const { model } = requireEncoder();
  const { A: a, B: b } = state.slots;
  return a && b ? { model, a, b } : null;
}

async function updateInterp(): Promise<void> {
  const both = bothSlots();
  if (!both) return;
  const { model, a, b } = both;
  const t = Number($<HTMLInputElement>('interpT').value);
  const space = $<HTMLSelectElement>('interpSpace').value as 'y' | 'z';
  // interpolate() gives evenly spaced points from both ends; 21 steps hold every slider value (0.05 apart).
  const steps = 21;
  const all = lia.interpolate(model, a.x, b.x, { space, steps });
  const k = Math.round(t * (steps - 1));
  const one = tf.slice(all, [k, 0, 0, 0], [1, -1, -1, -1]) as Tensor4D;
  await draw('interpOut', one);
  tf.dispose([all, one]);
}

async function updateMix(): Promise<void> {
  const both = bothSlots();
  if (!both) return;
  const { model, a, b } = both;
  const k = Number($<HTMLInputElement>('mixK').value);
  const out = lia.mix(model, a.x, b.x, k);
  const m = tf.slice(out, [2, 0, 0, 0], [1, -1, -1, -1]) as Tensor4D;
  await draw('mixOut', m);
  tf.dispose([out, m]);
}

async function updateEdit(): Promise<void> {
  const { model } = requireEncoder();
  const a = state.slots.A;
  const dir = state.directions.find((d) => d.name === $<HTMLSelectElement>('editDir').value);
  if (!a || !dir) return;
  const alpha = Number($<HTMLInputElement>('editA').value);
  const out = await lia.edit(model, a.x, dir, [alpha]);
  await draw('editOut', out);
  out.dispose();
}

async function updateSamples(): Promise<void> {
  const model = state.model;
  if (!model) return;
  const seed = Number($<HTMLInputElement>('sampleSeed').value) || 0;
  const truncation = Number($<HTMLInputElement>('sampleTrunc').value);
  const x = lia.generate(model, { n: 8, seed, truncation });
  await draw('sampleOut', x);
  x.dispose();
}

async function runRefine(): Promise<void> {
  const { model } = requireEncoder();
  const a = state.slots.A;
  if (!a) throw new Error('pick image A first');
  const steps = Number($<HTMLInputElement>('refSteps').value);
  const lr = Number($<HTMLInputElement>('refLr').value);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${$<HTMLInputElement>('refSteps').value}`);
  if (!(lr > 0)) throw new Error(`lr must be positive, got ${$<HTMLInputElement>('refLr').value}`);
  const init = $<HTMLSelectElement>('refInit').value as lia.RefineInit;
  state.refineAbort = new AbortController();
  state.refineHistory = [];
  $<HTMLButtonElement>('refStop').disabled = false;
  $<HTMLButtonElement>('refRun').disabled = true;
  const t0 = performance.now();
  try {
    const r = await lia.refine(model, a.x, {
      steps,
      lr,
      init,
      signal: state.refineAbort.signal,
      onStep: (s) => {
        state.refineHistory.push(s);
        $('refStep').textContent = `step ${s.step}/${steps} · loss ${s.loss.toExponential(3)}`;
        if (s.step % 5 === 0 || s.step === steps) drawLossCurve(state.refineHistory);
      },
    });
    drawLossCurve(state.refineHistory);
    await draw('refOut', r.images);
    state.refined?.dispose();
    state.refined = r.code;
    r.images.dispose();
    const sec = (performance.now() - t0) / 1000;
    $('refStep').dataset.first = String(r.history[0]?.loss ?? NaN);
    $('refStep').dataset.last = String(r.history.at(-1)?.loss ?? NaN);
    $('refStep').textContent = `${r.stopped ? 'stopped' : 'done'} after ${r.history.length} steps · loss ${r.history.at(-1)?.loss.toExponential(3) ?? '–'} · ${(r.history.length / sec).toFixed(1)} steps/s`;
  } finally {
    $<HTMLButtonElement>('refStop').disabled = true;
    $<HTMLButtonElement>('refRun').disabled = false;
    state.refineAbort = null;
  }
}

// ------------------------------------------------------------------------------------------------
// Downloads

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function codesBytes(): Promise<Uint8Array> {
  const { model, info } = requireEncoder();
  const rows: Float32Array[] = [];
  const names: string[] = [];
  for (const k of ['A', 'B'] as const) {
    const s = state.slots[k];
    if (s?.y) {
      rows.push((await s.y.data()) as Float32Array);
      names.push(`${k}: ${s.name}`);
    }
  }
  if (state.refined && state.refined.rank === 2) {
    rows.push((await state.refined.data()) as Float32Array);
    names.push(`A refined: ${state.slots.A?.name ?? ''}`);
  }
  if (!rows.length) throw new Error('no codes yet: pick an image first');
  const d = info.latentSize;
  const data = new Float32Array(rows.length * d);
  rows.forEach((r, i) => data.set(r, i * d));
  return lia.encodeCodes({ codes: { y: { shape: [rows.length, d], data } }, names, about: { model: model.source, by: 'lia studio' } });
}

function wireDownloads(): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('a.dl[data-canvas]')) {
    a.addEventListener('click', () =>
      void act(`download ${a.dataset.canvas}`, async () => {
        const canvas = $<HTMLCanvasElement>(a.dataset.canvas!);
        const blob = await new Promise<Blob | null>((ok) => canvas.toBlob(ok, 'image/png'));
        if (!blob) throw new Error('the canvas could not be encoded as PNG');
        download(blob, `${a.dataset.canvas}.png`);
      }),
    );
  }
  $('codesDl').addEventListener('click', () => void act('download codes', async () => download(new Blob([(await codesBytes()) as BlobPart]), 'codes.safetensors')));
}

// ------------------------------------------------------------------------------------------------
// Wiring

function wireSlot(slot: 'A' | 'B'): void {
  const el = $(`slot${slot}`);
  el.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    el.classList.add('drag');
  });
  el.addEventListener('dragleave', () => el.classList.remove('drag'));
  el.addEventListener('drop', (ev) => {
    ev.preventDefault();
    el.classList.remove('drag');
    const file = ev.dataTransfer?.files[0];
    if (file) void act(`load${slot}`, () => setImage(slot, file, file.name));
  });
  $<HTMLInputElement>(`file${slot}`).addEventListener('change', (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (file) void act(`load${slot}`, () => setImage(slot, file, file.name));
  });
}

function wireSlider(id: string, outId: string, fn: () => Promise<void>): void {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('input', () => {
    $(outId).textContent = input.value;
    void act(id, fn);
  });
}

/** The median latency of encode + reconstruct over N runs and refinement steps/s (lia bench studio). */
async function bench(n: number): Promise<Record<string, unknown>> {
  const { model } = requireEncoder();
  const a = state.slots.A;
  if (!a) throw new Error('bench: no test image');
  const times: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const t0 = performance.now();
    const rec = lia.reconstruct(model, a.x);
    await rec.data();
    rec.dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((p, q) => p - q);
  const steps = 10;
  const t0 = performance.now();
  const r = await lia.refine(model, a.x, { steps: 3 });
  tf.dispose([r.code, r.images]);
  const warm = performance.now() - t0;
  const t1 = performance.now();
  const r2 = await lia.refine(model, a.x, { steps });
  const refineSec = (performance.now() - t1) / 1000;
  tf.dispose([r2.code, r2.images]);
  return { backend: state.engine, encodeReconstructMs: times, medianMs: times[Math.floor(times.length / 2)], refineStepsPerSec: steps / refineSec, refineWarmupMs: warm, crossOriginIsolated };
}

async function startBackend(): Promise<void> {
  const chosen = $<HTMLSelectElement>('backend').value as lia.BrowserBackendName | 'auto';
  const fallbacks: string[] = [];
  state.engine = await lia.startEngine({
    backend: chosen,
    // Only the SIMD builds ship (every browser with WebAssembly SIMD: Chrome 91, Firefox 89, Safari 16.4 on);
    // tfjs wants a path for the plain build too: without SIMD it fails to compile and auto mode moves on.
    wasmPaths: { 'tfjs-backend-wasm.wasm': wasmSimd, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded },
    onFallback: (b, why) => fallbacks.push(`${b}: ${why}`),
  });
  if (fallbacks.length) console.info('lia studio: skipped', fallbacks.join('; '));
  document.body.dataset.backend = state.engine.backend;
}

async function main(): Promise<void> {
  const backendSel = $<HTMLSelectElement>('backend');
  const wanted = params.get('backend');
  if (wanted) {
    if (![...backendSel.options].some((o) => o.value === wanted)) throw new Error(`?backend=${wanted}: expected auto, webgpu, webgl, wasm or cpu`);
    backendSel.value = wanted;
  }
  await startBackend();
  const res = await fetch('models/index.json');
  if (!res.ok) throw new Error(`the model catalogue (models/index.json) did not load: HTTP ${res.status}. Serve this page with \`lia studio\`.`);
  state.catalogue = ((await res.json()) as { models: CatalogueEntry[] }).models;
  // A broken model folder is listed, disabled, with its error; the others load.
  const broken = state.catalogue.filter((e) => e.error);
  const usable = state.catalogue.filter((e) => !e.error);
  const sel = $<HTMLSelectElement>('model');
  sel.replaceChildren(...state.catalogue.map((e) => Object.assign(new Option(e.error ? `${e.title} — cannot be loaded` : e.title, e.id), { disabled: !!e.error, title: e.error ?? '' })));
  if (!usable.length) throw new Error(`the server offers no usable models${broken.length ? ` (${broken.map((e) => `'${e.id}': ${e.error}`).join('; ')})` : ''}: add one with \`lia studio --model <encoder.safetensors>\``);
  const want = params.get('model');
  const entry = (want && usable.find((e) => e.id === want)) || usable[0];
  sel.value = entry.id;
  await loadEntry(entry);
  // Shown after loading, which clears the message box when it reconstructs the first sample.
  const notices = broken.map((e) => `model folder '${e.id}': ${e.error}`);
  if (want && entry.id !== want) notices.unshift(`?model=${want}: no such model here; showing ${entry.title}`);
  if (notices.length) showError(notices.join('\n'));

  sel.addEventListener('change', () => void act('model', () => loadEntry(state.catalogue.find((e) => e.id === sel.value)!)));
  backendSel.addEventListener('change', () =>
    void act('backend', async () => {
      await startBackend();
      setStatus(`${engineLine()} · ${state.entry?.title ?? ''}`);
      if (state.slots.A) await loadUrlOrKeep();
    }),
  );
  wireSlot('A');
  wireSlot('B');
  wireSlider('interpT', 'interpTv', updateInterp);
  $('interpSpace').addEventListener('change', () => void act('interpT', updateInterp));
  wireSlider('mixK', 'mixKv', updateMix);
  wireSlider('editA', 'editAv', updateEdit);
  $('editDir').addEventListener('change', () => void act('editA', updateEdit));
  wireSlider('sampleTrunc', 'sampleTruncv', updateSamples);
  $('sampleSeed').addEventListener('input', () => void act('sample', updateSamples));
  $('refRun').addEventListener('click', () => void act('refine', runRefine));
  $('refStop').addEventListener('click', () => state.refineAbort?.abort());
  wireDownloads();
  $('bundleNote').textContent = `backend ${engineLine()}${crossOriginIsolated ? ', cross-origin isolated' : ''}`;

  // The hook lia bench studio calls (src/bench/studio.ts).
  (window as unknown as { __liaBench: typeof bench }).__liaBench = bench;
}

/** After a backend switch, re-encode A and B on the new backend (their tensors moved with tfjs). */
async function loadUrlOrKeep(): Promise<void> {
  for (const k of ['A', 'B'] as const) {
    const s = state.slots[k];
    if (!s) continue;
    const { model } = requireEncoder();
    s.y?.dispose();
    s.y = lia.encode(model, s.x);
    const rec = lia.render(model, s.y);
    await draw(`rec${k}`, rec);
    rec.dispose();
  }
  await updateDependents();
  await updateSamples();
}

document.body.dataset.busy = '1';
main()
  .then(() => {
    document.body.dataset.ready = 'true';
  })
  .catch((e) => {
    showError(e);
    setStatus('failed to start');
    document.body.dataset.ready = 'error';
  })
  .finally(() => {
    document.body.dataset.busy = String(running.size);
  });
