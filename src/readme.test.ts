// The README's two library examples, run as a user would: the Node one from a clean folder through
// the package's own name ('lia/node'), the browser one bundled by Vite from the package's source
// ('lia') and opened in headless Chromium; both must reconstruct the shipped sample like the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PACKAGE_ROOT } from './cli/commands/studio.js';
import { findChromium, launchChromium } from './studio/browser.js';
import { startStudioServer } from './studio/server.js';

const README = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
const SAMPLE = 'models/fmnist32-quick-lia/samples/test-00000-Ankle_boot.png';

function example(name: string): string {
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(README);
  assert.ok(m, `README has no '${name}' example`);
  const lines = m[1].trim().split('\n');
  assert.ok(lines.length <= 12, `the ${name} example is ${lines.length} lines long`);
  return m[1];
}

test("README's Node example runs from a clean folder and refinement beats the encoder", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-readme-'));
  try {
    symlinkSync(join(PACKAGE_ROOT, 'models'), join(dir, 'models'));
    // Inside the package (dist/), so that 'lia/node' resolves to this package by its name.
    const script = join(PACKAGE_ROOT, 'dist', 'readme-example-node.mjs');
    writeFileSync(script, example('node'));
    const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', timeout: 280_000 });
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
    const m = /MSE: encoder ([\d.e-]+), refined ([\d.e-]+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[2]) < Number(m[1]), `refinement ${m[2]} vs encoder ${m[1]}`);
    assert.ok(existsSync(join(dir, 'ankle-boot.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const skipBrowser = findChromium() ? false : 'no Chromium (apt-get install -y chromium)';

test("README's browser example, bundled by Vite, reconstructs in headless Chromium", { skip: skipBrowser, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-readme-web-'));
  const { build } = await import('vite');
  const server = { close: async () => undefined } as { close(): Promise<void>; url?: string };
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><img src="/${SAMPLE}"><script type="module" src="./main.js"></script></body></html>`);
    writeFileSync(join(dir, 'main.js'), example('browser'));
    mkdirSync(join(dir, 'out'));
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      resolve: {
        alias: [
          { find: /^lia$/, replacement: join(PACKAGE_ROOT, 'src', 'index.ts') },
          { find: /^@tensorflow\/tfjs$/, replacement: join(PACKAGE_ROOT, 'web', 'src', 'tf-browser.ts') },
        ],
      },
      build: { outDir: join(dir, 'out'), target: 'es2022', emptyOutDir: true },
    });
    const s = await startStudioServer({ webDir: join(dir, 'out'), modelsDir: join(PACKAGE_ROOT, 'models'), port: 0 });
    Object.assign(server, s);
    browser = await launchChromium({ webgpu: false });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(s.url);
    await page.waitForSelector('#reconstruction', { timeout: 240_000 });
    const got = await page.evaluate(() => {
      const c = document.getElementById('reconstruction') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
    });
    assert.deepEqual(errors, []);
    // The same reconstruction through the Node library (the CLI's path).
    const lia = await import('./node.js');
    await lia.startEngine({ backend: 'cpu' });
    const model = await lia.loadModel(join(PACKAGE_ROOT, 'models/fmnist32-quick-lia/model.safetensors'));
    const x = await lia.readImage(join(PACKAGE_ROOT, SAMPLE), lia.modelInfo(model));
    const ref = (await lia.reconstruct(model, x).data()) as Float32Array;
    let e = 0;
    for (let i = 0; i < ref.length; i++) e += (got[i] / 255 - Math.min(255, Math.max(0, Math.round((ref[i] + 1) * 127.5))) / 255) ** 2;
    e /= ref.length;
    t.diagnostic(`reconstruction MSE vs Node ${e.toExponential(2)}`);
    assert.equal(got.length, ref.length);
    assert.ok(e < 1e-4, `MSE ${e}`);
  } finally {
    await browser?.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
