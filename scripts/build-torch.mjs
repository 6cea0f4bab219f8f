#!/usr/bin/env node
// Builds the `torch` backend's native addon (native/torch) when a libtorch is found; run by
// `npm install` and by `npm run build:torch`. Never downloads anything and never fails the
// install: without libtorch, a compiler or Node's headers it prints one line and lia uses wasm.
//   LIA_TORCH=0            skip the build
//   LIA_TORCH_DIR=<dir>    build against the libtorch in <dir> (include/, lib/)
//   LIA_TORCH_STRICT=1     exit 1 when the build fails (CI)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native', 'torch');
const addon = join(dir, 'build', 'Release', 'lia_torch.node');
const strict = process.env.LIA_TORCH_STRICT === '1';
const hint = 'apt-get install -y libtorch-dev build-essential (Debian), or a PyTorch in python3, then npm run build:torch';

function off(reason) {
  console.log(`lia: torch backend not built (${reason}); lia runs on wasm. To enable it: ${hint}`);
  process.exit(strict ? 1 : 0);
}

if (process.env.LIA_TORCH === '0') off('LIA_TORCH=0');

let torch;
try {
  torch = require(join(dir, 'find-torch.cjs')).findTorch();
} catch (e) {
  off(e.message);
}
if (!torch) off('no libtorch found');

// Node's own headers, so that node-gyp downloads nothing: <prefix>/include/node beside the node binary.
const prefix = dirname(dirname(process.execPath));
const nodedir = [process.env.npm_config_nodedir, prefix, '/usr'].find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) off(`no Node headers (include/node/node_api.h) under ${prefix} or /usr`);

// node-gyp: the copy npm runs scripts with, else npm's bundled one, else a local install.
const candidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
try {
  candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
} catch {
  // not installed locally
}
const gyp = candidates.find((p) => p && existsSync(p));
if (!gyp) off('node-gyp not found (it ships with npm)');

const started = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir } });
if (r.status !== 0) {
  const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error|Error/.test(l)).slice(-8).join('\n');
  if (existsSync(addon)) rmSync(addon);
  console.log(tail);
  off(`the build against ${torch.source} failed`);
}
const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); console.log(a.torchVersion); console.log(a.dist.available ? 'with torch.distributed (' + a.dist.backends.join(', ') + ')' : 'without torch.distributed: ' + a.dist.why)`], { encoding: 'utf8' });
if (check.status !== 0) {
  rmSync(addon, { force: true });
  off(`the built addon does not load: ${(check.stderr || '').split('\n')[0]}`);
}
const [version, dist] = check.stdout.trim().split('\n');
console.log(`lia: built the torch backend against libtorch ${version} (${torch.source}, ${torch.libdir}), ${dist}, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
