#!/usr/bin/env node
// Runs TensorFlow.js's own op test suite (the jasmine specs shipped in the npm package
// @tensorflow/tfjs-core: dist/tests.js and dist/**/*_test.js) against one backend, the way tfjs-node
// runs them against its libtensorflow backend, and prints pass/fail counts.
//
//   node scripts/tfjs-conformance.mjs --backend torch|wasm|cpu [--json out.json] [--grep REGEX]
//                                     [--exclude FILE]
//
// --grep REGEX    run only specs whose full name matches (the others are not counted at all).
// --exclude FILE  JSON list of {pattern, reason}: specs whose full name matches the regular
//                 expression `pattern` are not run and are counted as excluded, not as passes.
// Exit status: 0 when every spec that ran passed (and no suite hook failed), 1 otherwise, 2 on a
// usage or set-up error.
//
// Versions: jasmine 4.2.1 / jasmine-core 4.2.0 (devDependencies), as tfjs itself uses.
//
// How the suite is loaded: the dist/**/*.js files of tfjs-core are ES modules in a package without
// "type":"module", with extension-less relative imports, `import * as x from '<CommonJS package>'`
// and two uses of `require`. Module hooks (module.register, Node >= 20.6) make Node read them as
// ES modules, resolve './foo' to './foo.js' or './foo/index.js', give them a `require`, and hand
// them a CommonJS package's module.exports for a namespace import (seedrandom's `alea` is attached
// at run time and invisible to Node's static export detection). The project itself uses the
// CommonJS build of tfjs; both copies of tfjs-core share one engine, kernel registry and
// environment through the global namespace, so kernels and backends registered by the project are
// the ones the specs run against.
//
// Every `describeWithFlags` suite calls ENGINE.reset() before and after it, which disposes the
// backend and rebuilds it through its registered factory; the factory must therefore redo whatever
// set-up the backend needs (for wasm: the pthread worker URLs, thread count and flags, see below).

import { register } from 'node:module';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(resolvePath(ROOT, 'package.json'));

// ---- arguments ---------------------------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`tfjs-conformance: ${msg}`);
  console.error('usage: node scripts/tfjs-conformance.mjs --backend torch|wasm|cpu [--json out.json] [--grep REGEX] [--exclude FILE]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { backend: null, json: null, grep: null, exclude: null, threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--backend') opts.backend = value();
    else if (a === '--json') opts.json = value();
    else if (a === '--grep') opts.grep = value();
    else if (a === '--exclude') opts.exclude = value();
    else if (a === '--threads') opts.threads = Number(value());
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument '${a}'`);
  }
  if (!['torch', 'wasm', 'cpu'].includes(opts.backend)) usage('--backend must be torch, wasm or cpu');
  if (!Number.isInteger(opts.threads) || opts.threads < 1) usage('--threads must be a positive integer');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
let grepRe = null;
if (opts.grep) {
  try { grepRe = new RegExp(opts.grep); } catch (e) { usage(`bad --grep: ${e.message}`); }
}
let exclusions = [];
if (opts.exclude) {
  let list;
  try { list = JSON.parse(readFileSync(opts.exclude, 'utf8')); } catch (e) { usage(`cannot read --exclude ${opts.exclude}: ${e.message}`); }
  if (!Array.isArray(list)) usage('--exclude file must hold a JSON list of {pattern, reason}');
  exclusions = list.map((x, i) => {
    if (!x || typeof x.pattern !== 'string') usage(`--exclude entry ${i} has no string 'pattern'`);
    try { return { pattern: x.pattern, reason: String(x.reason ?? ''), re: new RegExp(x.pattern) }; }
    catch (e) { return usage(`--exclude entry ${i}: ${e.message}`); }
  });
}
const exclusionFor = (name) => exclusions.find((x) => x.re.test(name)) ?? null;

// ---- module hooks for tfjs-core's ES module test files ------------------------------------------

const HOOKS = String.raw`
import { existsSync, statSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const CORE = '/node_modules/@tensorflow/tfjs-core/dist/';
const isCoreModule = (url) => url.startsWith('file:') && url.includes(CORE) && url.endsWith('.js') &&
  !/\/dist\/tf-core[^/]*\.js$/.test(url);   // the bundles (tf-core.node.js is CommonJS) stay as they are
const isFile = (p) => { try { return statSync(p).isFile(); } catch { return false; } };
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && isCoreModule(parent) && /^\.\.?(\/|$)/.test(specifier) && !/\.(m?js|cjs|json)$/.test(specifier)) {
    const base = new URL(specifier, parent).href.replace(/\/$/, '');
    for (const url of [base + '.js', base + '/index.js']) {
      if (isFile(fileURLToPath(url))) return { url, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!isCoreModule(url)) return next(url, context);
  let source = readFileSync(fileURLToPath(url), 'utf8');
  // import * as x from '<bare package>': give the module a CommonJS package's module.exports.
  source = source.replace(/^import \* as (\w+) from '([^.'][^']*)';/gm, (_, name, spec) =>
    'import * as __ns_' + name + " from '" + spec + "'; const " + name + ' = (__ns_' + name +
    '.default != null ? __ns_' + name + '.default : __ns_' + name + ');');
  if (/\brequire\s*[(.]/.test(source)) {
    source = "import { createRequire as __liaCreateRequire } from 'node:module'; " +
      'const require = __liaCreateRequire(import.meta.url);\n' + source;
  }
  return { format: 'module', source, shortCircuit: true };
}
`;
register('data:text/javascript,' + encodeURIComponent(HOOKS), import.meta.url);

// ---- jasmine ------------------------------------------------------------------------------------

const Jasmine = require('jasmine');
const runner = new Jasmine({ projectBaseDir: ROOT }); // installs describe/it/... as globals
runner.exitOnCompletion = false;
const jenv = runner.env;
jenv.clearReporters();
jenv.configure({ random: false, stopOnSpecFailure: false, stopSpecOnExpectationFailure: false });
globalThis.jasmine.DEFAULT_TIMEOUT_INTERVAL = 20000; // tfjs's jasmine_util sets this on its own core copy

// ---- backend ------------------------------------------------------------------------------------

const tf = require('@tensorflow/tfjs'); // the CommonJS build, the one the project's dist uses
const coreDist = resolvePath(ROOT, 'node_modules/@tensorflow/tfjs-core/dist');
const pkgVersion = (name) => JSON.parse(readFileSync(resolvePath(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const tfjsVersion = JSON.parse(readFileSync(resolvePath(coreDist, '../package.json'), 'utf8')).version;
const importDist = (p) => import(pathToFileURL(resolvePath(ROOT, 'dist', p)).href);

let backendInfo = {};
async function setUpBackend(name) {
  if (name === 'cpu') {
    require('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error("backend 'cpu' failed to initialise");
    backendInfo = { backend: 'cpu' };
  } else if (name === 'torch') {
    const torch = await importDist('engine/torch/index.js');
    const addon = torch.registerTorchBackend(opts.threads);
    if (!(await tf.setBackend('torch'))) throw new Error("backend 'torch' failed to initialise");
    backendInfo = { backend: 'torch', threads: addon.getThreads?.(), libtorch: addon.torchVersion };
  } else if (name === 'wasm') {
    const engine = await importDist('engine/backend.js');
    const info = await engine.initEngine({ backend: 'wasm', threads: opts.threads });
    backendInfo = { ...info };
    // ENGINE.reset() (around every suite) clears the flags and rebuilds the backend through the
    // factory of tfjs-backend-wasm, which alone would come back single-threaded (tfjs turns threads
    // off in Node) or fail to start its workers. Redo the project's set-up inside the factory.
    if (info.multithread) {
      const threads = await importDist('engine/wasm-threads.js');
      const reg = tf.engine().registryFactory.wasm;
      const original = reg.factory;
      reg.factory = () => {
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
        return threads.withLogicalCores(info.threads, () => threads.withNodeWorkerUrls(async () => {
          const backend = await original();
          threads.unrefWasmWorkers(backend.wasm);
          return backend;
        }));
      };
    }
  }
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`active backend is '${tf.getBackend()}', not '${name}'`);
}

try {
  await setUpBackend(opts.backend);
} catch (e) {
  console.error(`tfjs-conformance: cannot set up backend '${opts.backend}': ${e.stack ?? e}`);
  process.exit(2);
}

// ---- test environment and filters ---------------------------------------------------------------

const jasmineUtil = await import(pathToFileURL(resolvePath(coreDist, 'jasmine_util.js')).href);
const ENV_NAME = `test-${opts.backend}`;
const ENV_FLAGS = {};
jasmineUtil.setTestEnvs([{ name: ENV_NAME, backendName: opts.backend, flags: ENV_FLAGS, isDataSync: true }]);
const ENV_SUFFIX = ` ${ENV_NAME} ${JSON.stringify(ENV_FLAGS)}`;

jenv.configure({
  specFilter: (spec) => {
    const name = spec.getFullName();
    if (grepRe && !grepRe.test(name)) return false;
    return exclusionFor(name) === null;
  },
});

// ---- reporter -----------------------------------------------------------------------------------

const firstLine = (s) => String(s ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
const groupOf = (suiteName) => (suiteName.endsWith(ENV_SUFFIX) ? suiteName.slice(0, -ENV_SUFFIX.length) : suiteName).trim();

const counts = { total: 0, passed: 0, failed: 0, excluded: 0, pending: 0 };
const failures = [];
const excluded = [];
const suiteErrors = [];
const suiteStack = [];
let lastProgress = performance.now();
const started = performance.now();

jenv.addReporter({
  suiteStarted(r) { suiteStack.push(r.description); },
  suiteDone(r) {
    suiteStack.pop();
    for (const fe of r.failedExpectations ?? []) {
      suiteErrors.push({ suite: r.fullName, group: groupOf(suiteStack[0] ?? r.description), message: firstLine(fe.message) });
    }
  },
  specDone(r) {
    const name = r.fullName;
    const group = groupOf(suiteStack[0] ?? name);
    if (r.status === 'excluded') {
      // Filtered out: by the exclusion file (counted) or by --grep (not counted at all).
      const x = exclusionFor(name);
      if (x && (!grepRe || grepRe.test(name))) {
        counts.excluded++;
        excluded.push({ spec: name, group, pattern: x.pattern, reason: x.reason });
      }
      return;
    }
    counts.total++;
    if (r.status === 'passed') counts.passed++;
    else if (r.status === 'failed') {
      counts.failed++;
      const fe = r.failedExpectations?.[0];
      failures.push({ spec: name, group, message: firstLine(fe?.message) });
    } else counts.pending++; // xit/pending specs: neither pass nor fail
    const now = performance.now();
    if (now - lastProgress > 15000) {
      lastProgress = now;
      process.stderr.write(`[${((now - started) / 1000).toFixed(0)} s] ${counts.total} specs: ${counts.passed} passed, ${counts.failed} failed (${group})\n`);
    }
  },
});

// ---- load and run -------------------------------------------------------------------------------

const loadStart = performance.now();
await import(pathToFileURL(resolvePath(coreDist, 'tests.js')).href);
process.stderr.write(`tfjs-conformance: loaded tfjs-core ${tfjsVersion} specs in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; running on '${opts.backend}'\n`);
const overall = await jenv.execute();
const wallS = (performance.now() - started) / 1000;
if (opts.backend === 'wasm') {
  // Check that the factory wrapper worked: a backend rebuilt after ENGINE.reset() keeps its threads.
  tf.engine().reset();
  await tf.setBackend('wasm');
  backendInfo.threadsAfterReset = require('@tensorflow/tfjs-backend-wasm').getThreadsCount();
}

// ---- summary ------------------------------------------------------------------------------------

const byGroup = new Map();
for (const f of failures) {
  if (!byGroup.has(f.group)) byGroup.set(f.group, []);
  byGroup.get(f.group).push(f);
}
const groups = [...byGroup.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));

console.log(`\n=== tfjs-core ${tfjsVersion} conformance on backend '${opts.backend}' ===`);
if (backendInfo.device) console.log(`device: ${backendInfo.device}`);
if (backendInfo.threadsAfterReset !== undefined) console.log(`wasm threads after an engine reset: ${backendInfo.threadsAfterReset}`);
for (const [group, list] of groups) {
  console.log(`\n${group} — ${list.length} failed`);
  for (const f of list) {
    const short = f.spec.startsWith(group) ? f.spec.slice(group.length).replace(ENV_SUFFIX, '').trim() : f.spec;
    console.log(`  ✗ ${short}\n      ${f.message}`);
  }
}
if (suiteErrors.length) {
  console.log('\nsuite-level errors (beforeAll/afterAll or errors thrown outside specs):');
  for (const s of suiteErrors) console.log(`  ${s.suite}: ${s.message}`);
}
const overallErrors = (overall?.failedExpectations ?? []).map((fe) => firstLine(fe.message));
if (overallErrors.length) {
  console.log('\nglobal errors:');
  for (const m of overallErrors) console.log(`  ${m}`);
}
console.log(`\ntotal ${counts.total}, passed ${counts.passed}, failed ${counts.failed}, excluded ${counts.excluded}` +
  (counts.pending ? `, pending ${counts.pending}` : '') + ` — ${groups.length} failing groups — ${wallS.toFixed(1)} s` +
  ` (jasmine: ${overall?.overallStatus})`);

if (opts.json) {
  const out = {
    backend: opts.backend,
    backendInfo,
    date: new Date().toISOString(),
    tfjsVersion,
    jasmine: { jasmine: pkgVersion('jasmine'), jasmineCore: pkgVersion('jasmine-core') },
    node: process.version,
    args: process.argv.slice(2),
    wallSeconds: Number(wallS.toFixed(1)),
    counts,
    failuresByGroup: Object.fromEntries(groups.map(([g, l]) => [g, l.length])),
    failures: failures.map(({ spec, group, message }) => ({ spec, group, message })),
    suiteErrors,
    globalErrors: overallErrors,
    excluded,
  };
  mkdirSync(dirname(resolvePath(opts.json)), { recursive: true });
  writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${opts.json}`);
}

process.exitCode = counts.failed === 0 && suiteErrors.length === 0 && overallErrors.length === 0 ? 0 : 1;

// The process should now end by itself. If something still holds it open, say what and end anyway.
const guard = setTimeout(() => {
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
  console.error(`tfjs-conformance: still alive 10 s after the run (${left.join(', ') || 'unknown handles'}); exiting`);
  process.exit(process.exitCode ?? 1);
}, 10_000);
guard.unref();
