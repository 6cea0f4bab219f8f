// TensorFlow.js's own op test suite (the jasmine specs shipped in @tensorflow/tfjs-core) against the
// torch backend: every spec outside the commented exclusion list (complex64, strings and kernels the
// backend does not implement) must pass. scripts/tfjs-conformance.mjs does the running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTorchAddon } from './addon.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('tfjs-core conformance: every non-excluded spec passes on torch', { skip: loadTorchAddon() ? false : 'the torch addon is not built' }, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'lia-conformance-')), 'torch.json');
  const r = spawnSync(
    process.execPath,
    [join(root, 'scripts/tfjs-conformance.mjs'), '--backend', 'torch', '--exclude', join(root, 'scripts/tfjs-conformance-torch-exclude.json'), '--json', out],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 },
  );
  assert.equal(r.error, undefined, `conformance run did not finish: ${r.error?.message}`);
  const result = JSON.parse(readFileSync(out, 'utf8'));
  const failures = (result.failures ?? []).map((f: { spec: string; message: string }) => `${f.spec}: ${f.message}`);
  assert.deepEqual(failures, [], 'specs failed on torch');
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  // The exclusion list must not swallow the suite: most of its 4,230 specs run.
  assert.ok(result.counts.passed >= 3600, `only ${result.counts.passed} specs passed`);
});
