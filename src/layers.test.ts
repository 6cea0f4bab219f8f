// The browser entry's import graph, from the compiled JavaScript the browser would load: nothing
// reachable from dist/index.js — nor from any module of nn/, models/, losses/, invert/, the pure
// metrics or the codecs — imports a Node built-in, a Node-only package, or training/CLI code.
// Static and dynamic imports both count (a bundler follows both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DIST = dirname(fileURLToPath(import.meta.url));
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/** Packages that only work in Node (native code, terminals, the CLI, Dawn). */
const NODE_ONLY = ['sharp', 'cli-progress', 'commander', 'webgpu', 'puppeteer-core', 'node-addon-api', '@tensorflow/tfjs-node'];
/** Our Node-only layers: training, the CLI, datasets on disk, demos, benchmarks, Node's engine. */
const NODE_LAYERS = ['train/', 'cli/', 'data/', 'demo/', 'experiments/', 'bench/', 'studio/', 'engine/torch/', 'engine/backend.js', 'engine/wasm-threads.js', 'node.js', 'cli.js', 'io/files.js', 'io/images.js', 'io/safetensors-file.js', 'io/network-files.js', 'io/progress.js'];

const IMPORT = /(?:^|[\s;])(?:import|export)\s*(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT)) out.push(m[1] ?? m[2]);
  return out;
}

/** Every problem in the graph reachable from `roots`: "importer → specifier (why)". */
function walk(roots: string[]): { problems: string[]; files: number } {
  const seen = new Set<string>();
  const problems: string[] = [];
  const stack = [...roots];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = relative(DIST, file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (BUILTINS.has(spec) || spec.startsWith('node:')) problems.push(`${rel} → ${spec} (a Node built-in)`);
      else if (NODE_ONLY.some((p) => spec === p || spec.startsWith(`${p}/`))) problems.push(`${rel} → ${spec} (a Node-only package)`);
      else if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        const trel = relative(DIST, target);
        if (NODE_LAYERS.some((l) => trel === l || trel.startsWith(l))) problems.push(`${rel} → ${trel} (Node-only code)`);
        else if (existsSync(target)) stack.push(target);
        else problems.push(`${rel} → ${spec} (missing)`);
      }
    }
  }
  return { problems, files: seen.size };
}

const jsIn = (dir: string) => readdirSync(join(DIST, dir)).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js')).map((f) => join(DIST, dir, f));

test('the browser entry (dist/index.js) reaches no Node built-in, Node-only package or Node-only layer', () => {
  const { problems, files } = walk([join(DIST, 'index.js')]);
  assert.deepEqual(problems, []);
  assert.ok(files > 20, `only ${files} modules reached: is the walk following imports?`);
});

test('nn/, models/, losses/, invert/, the pure metrics and the codecs are platform-free', () => {
  const roots = [
    ...jsIn('nn'),
    ...jsIn('models'),
    ...jsIn('losses'),
    ...jsIn('invert'),
    ...['fid', 'swd', 'ppl', 'linalg', 'image-quality', 'types', 'adapters'].map((f) => join(DIST, 'metrics', `${f}.js`)),
    ...['safetensors', 'checkpoint', 'pixels', 'chart'].map((f) => join(DIST, 'io', `${f}.js`)),
    join(DIST, 'engine', 'core.js'),
    join(DIST, 'optim', 'adam.js'),
  ];
  const { problems } = walk(roots);
  assert.deepEqual(problems, []);
});

test('the walk finds what it must refuse', () => {
  // The CLI entry is Node: the same walk must flag it, or the two tests above prove nothing.
  const { problems } = walk([join(DIST, 'cli.js')]);
  assert.ok(problems.some((p) => p.includes('commander')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('node:')) || problems.some((p) => p.includes('Node-only code')), problems.join('\n'));
});

test('the npm package ships dist (without tests), the web build, the models and the addon sources — not results/', () => {
  const root = join(DIST, '..');
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  const bad = files.filter((f) => f.startsWith('results/') || f.startsWith('src/') || f.startsWith('web/') || /\.test\.(js|d\.ts)$/.test(f));
  assert.deepEqual(bad, []);
  for (const want of ['dist/index.js', 'dist/node.js', 'dist/cli.js', 'dist/web/index.html', 'native/torch/lia_torch.cc', 'scripts/build-torch.mjs']) assert.ok(files.includes(want), `${want} is not shipped`);
  assert.ok(files.some((f) => /^models\/[^/]+\/model\.safetensors$/.test(f)), 'no model is shipped');
  assert.ok(files.some((f) => /^dist\/web\/assets\/.*\.wasm$/.test(f)), 'the web build ships no wasm');
});
