// The studio in headless Chromium (Debian's chromium through puppeteer-core): it loads without a
// console error on every backend Chromium offers headless, its reconstruction of a shipped test
// image equals the CLI library's (Node, sharp-decoded file) to MSE < 1e-4, every slider changes its
// output, refinement lowers the loss, downloads parse (codes read back by `lia decode`), and bad
// input gives a message on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import * as lia from '../node.js';
import { startStudioServer, type StudioServer } from './server.js';
import { findChromium, launchChromium, openStudio, settle } from './browser.js';
import { PACKAGE_ROOT } from '../cli/commands/studio.js';

const MODELS = join(PACKAGE_ROOT, 'models');
const MODEL_ID = 'fmnist32-quick-lia';
const WEB = join(PACKAGE_ROOT, 'dist', 'web');
const skip = !findChromium() ? 'no Chromium (apt-get install -y chromium)' : !existsSync(join(WEB, 'index.html')) ? 'the studio is not built (npm run build)' : !existsSync(join(MODELS, MODEL_ID)) ? `no shipped model ${MODEL_ID}` : false;

let server: StudioServer;
let browser: Browser;
let tmp: string;
let reference: { input: Float64Array; pixels: Float64Array; y: Float32Array; name: string };

/** The reconstruction canvas's grey values in [0, 1] (R of RGBA). */
async function canvasGrey(page: Page, id: string): Promise<Float64Array> {
  const v = await page.evaluate((cid) => {
    const c = document.getElementById(cid) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return Array.from(d.filter((_, i) => i % 4 === 0));
  }, id);
  return Float64Array.from(v, (x) => x / 255);
}

function mse(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'lia-studio-'));
  await lia.startEngine({ backend: 'cpu' });
  // The CLI's path: the shipped sample file decoded by sharp, reconstructed by the library on cpu.
  const m = await lia.loadModel(join(MODELS, MODEL_ID, 'model.safetensors'));
  const name = readdirSync(join(MODELS, MODEL_ID, 'samples')).sort()[0];
  const x = await lia.readImage(join(MODELS, MODEL_ID, 'samples', name), lia.modelInfo(m));
  const input = Float64Array.from((await x.data()) as Float32Array, (t) => Math.round((t + 1) * 127.5) / 255);
  const y = lia.encode(m, x);
  const rec = lia.render(m, y);
  const v = (await rec.data()) as Float32Array;
  reference = { input, pixels: Float64Array.from(v, (t) => Math.min(255, Math.max(0, Math.round((t + 1) * 127.5))) / 255), y: (await y.data()) as Float32Array, name };
  lia.tf.dispose([x, y, rec]);
  lia.disposeModel(m);
  server = await startStudioServer({ webDir: WEB, modelsDir: MODELS, port: 0 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

for (const backend of ['wasm', 'webgl', 'webgpu'] as const) {
  test(`studio on ${backend}: loads cleanly and reconstructs like the CLI`, { skip, timeout: 300_000 }, async (t) => {
    const { page, errors } = await openStudio(browser, `${server.url}?backend=${backend}&model=${MODEL_ID}`, 240_000);
    try {
      const ready = await page.evaluate(() => document.body.dataset.ready);
      const message = await page.evaluate(() => (document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent));
      if (backend === 'webgpu' && ready === 'error' && /WebGPU/.test(message ?? '')) {
        t.skip(`Chromium offers no WebGPU here: ${message}`);
        return;
      }
      assert.equal(ready, 'true', `the page did not start: ${message}`);
      assert.equal(message, '', 'an error is shown');
      assert.deepEqual(errors, [], 'console errors');
      assert.equal(await page.evaluate(() => document.body.dataset.backend), backend);
      const meta = await page.evaluate(() => document.getElementById('metaA')!.textContent);
      assert.ok(meta?.startsWith(reference.name), `image A is ${meta}`);
      // The page's input is the file's pixels exactly, and its reconstruction the CLI's to MSE < 1e-4.
      assert.equal(mse(await canvasGrey(page, 'inA'), reference.input), 0, "the page's input differs from the file's pixels");
      const got = await canvasGrey(page, 'recA');
      const e = mse(got, reference.pixels);
      t.diagnostic(`${backend}: reconstruction MSE vs the CLI ${e.toExponential(2)}`);
      assert.ok(e < 1e-4, `reconstruction differs from the CLI's: MSE ${e}`);
      await page.screenshot({ path: join(tmp, `${backend}.png`), fullPage: true });
    } finally {
      await page.close();
    }
  });
}

test('studio: every slider changes its output, refinement lowers the loss, downloads parse', { skip, timeout: 300_000 }, async () => {
  const downloads = join(tmp, 'downloads');
  const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: downloads } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    await page.goto(`${server.url}?backend=wasm&model=${MODEL_ID}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.busy === '0', { timeout: 120_000 });
    const sliders: Array<[string, string, string]> = [
      ['interpT', '0.9', 'interpOut'],
      ['mixK', '1', 'mixOut'],
      ['editA', '2.5', 'editOut'],
      ['sampleTrunc', '0.2', 'sampleOut'],
    ];
    for (const [id, value, out] of sliders) {
      const before = await canvasGrey(page, out);
      await page.evaluate((sid, v) => {
        const el = document.getElementById(sid) as HTMLInputElement;
        el.value = v;
        el.dispatchEvent(new Event('input'));
      }, id, value);
      await settle(page);
      const after = await canvasGrey(page, out);
      assert.ok(mse(before, after) > 1e-5, `moving ${id} to ${value} did not change ${out} (MSE ${mse(before, after)})`);
    }
    // Refinement from the encoder's code lowers the loss.
    await page.evaluate(() => {
      (document.getElementById('refSteps') as HTMLInputElement).value = '30';
      document.getElementById('refRun')!.click();
    });
    await page.waitForFunction(() => /done after/.test(document.getElementById('refStep')!.textContent ?? ''), { timeout: 120_000 });
    await settle(page);
    const { first, last } = await page.evaluate(() => ({ ...document.getElementById('refStep')!.dataset }));
    assert.ok(Number(last) < Number(first), `refinement loss ${first} → ${last}`);
    // Downloads: the reconstruction PNG and the codes.
    // Two clicks in a row: each download is its own action, so neither is dropped.
    await page.evaluate(() => (document.querySelector('a.dl[data-canvas="recA"]') as HTMLElement).click());
    await page.evaluate(() => document.getElementById('codesDl')!.click());
    const deadline = Date.now() + 60_000;
    while (!(existsSync(join(downloads, 'recA.png')) && existsSync(join(downloads, 'codes.safetensors'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const png = await sharp(join(downloads, 'recA.png')).raw().toBuffer({ resolveWithObject: true });
    assert.equal(png.info.width, 32);
    const pngGrey = Float64Array.from({ length: 32 * 32 }, (_, i) => png.data[i * png.info.channels] / 255);
    assert.ok(mse(pngGrey, await canvasGrey(page, 'recA')) === 0, 'the downloaded PNG differs from the canvas');
    const codes = lia.decodeCodes(readFileSync(join(downloads, 'codes.safetensors')), 'codes.safetensors');
    assert.deepEqual(codes.codes.y?.shape, [3, 128]);
    let worst = 0;
    for (let j = 0; j < 128; j++) worst = Math.max(worst, Math.abs(codes.codes.y!.data[j] - reference.y[j]));
    assert.ok(worst < 1e-3, `the downloaded y of image A differs from the CLI's encoding by ${worst}`);
    // The CLI reads the codes back.
    const out = join(tmp, 'decoded.png');
    const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'decode', '--ckpt', join(MODELS, MODEL_ID, 'model.safetensors'), '--codes', join(downloads, 'codes.safetensors'), '--out', out, '--backend', 'cpu'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('studio: bad input is a message on the page, never a blank', { skip, timeout: 300_000 }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}?backend=cpu&model=${MODEL_ID}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.busy === '0', { timeout: 120_000 });
    // Not an image.
    const notImage = join(tmp, 'notes.png');
    writeFileSync(notImage, 'this is not an image');
    const input = (await page.$('#fileA')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(notImage);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden, { timeout: 30_000 });
    const msg = await page.evaluate(() => document.getElementById('error')!.textContent);
    assert.match(msg ?? '', /notes\.png: not an image/);
    // A colour image of another size: converted, with a notice.
    const colour = join(tmp, 'wide.png');
    const w = 64;
    const h = 48;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set([(i * 7) % 256, (i * 13) % 256, 128], i * 3);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(colour);
    await input.uploadFile(colour);
    await page.waitForFunction(() => /wide\.png/.test(document.getElementById('metaA')!.textContent ?? ''), { timeout: 30_000 });
    await settle(page);
    const meta = await page.evaluate(() => document.getElementById('metaA')!.textContent);
    assert.match(meta ?? '', /resized from 64×48 to 32×32/);
    assert.match(meta ?? '', /converted from colour to grey/);
  } finally {
    await page.close();
  }
  // A model of the wrong kind (a decoder snapshot: sampling only) and a file that is not a model.
  const dec = join(PACKAGE_ROOT, 'results', 'decoders', 'fmnist32-quick-invertible.safetensors');
  for (const [file, expect] of [
    [dec, /decoder snapshot: encoding real images needs an encoder checkpoint|sampling only/],
    [join(tmp, 'garbage.safetensors'), /garbage\.safetensors|safetensors/],
  ] as const) {
    if (file.endsWith('garbage.safetensors')) writeFileSync(file, Buffer.from('0123456789abcdef'));
    const s = await startStudioServer({ webDir: WEB, extraModel: file, port: 0 });
    const p = await browser.newPage();
    try {
      await p.goto(`${s.url}?backend=cpu`);
      await p.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.busy === '0', { timeout: 60_000 });
      const shown = await p.evaluate(() => `${document.getElementById('status')!.textContent} | ${document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent}`);
      assert.match(shown, expect, `the page for ${file} says: ${shown}`);
    } finally {
      await p.close();
      await s.close();
    }
  }
});

test('studio: a broken model folder is listed with its error on the page while the others load', { skip, timeout: 300_000 }, async () => {
  const models = join(tmp, 'models-with-broken');
  cpSync(join(MODELS, MODEL_ID), join(models, MODEL_ID), { recursive: true });
  cpSync(join(MODELS, MODEL_ID), join(models, 'broken'), { recursive: true });
  writeFileSync(join(models, 'broken', 'manifest.json'), '{ "title": oops');
  const s = await startStudioServer({ webDir: WEB, modelsDir: models, port: 0 });
  const page = await browser.newPage();
  try {
    await page.goto(`${s.url}?backend=cpu`);
    await page.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.busy === '0', { timeout: 120_000 });
    const got = await page.evaluate(() => ({
      ready: document.body.dataset.ready,
      error: document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent,
      options: [...(document.getElementById('model') as HTMLSelectElement).options].map((o) => ({ value: o.value, disabled: o.disabled })),
      selected: (document.getElementById('model') as HTMLSelectElement).value,
    }));
    assert.equal(got.ready, 'true');
    assert.match(got.error ?? '', /model folder 'broken':.*manifest\.json: not valid JSON/);
    assert.deepEqual(got.options.find((o) => o.value === 'broken'), { value: 'broken', disabled: true });
    assert.equal(got.selected, MODEL_ID);
  } finally {
    await page.close();
    await s.close();
  }
});
