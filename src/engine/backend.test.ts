// Backend selection: wasm threads in Node (and a clean exit), clear errors for webgpu without an
// adapter and for tfjs-node when it is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { tfjsNodeInstalled } from './backend.js';

const backendModule = fileURLToPath(new URL('./backend.js', import.meta.url));

/** Runs an ES module snippet in a fresh Node process (wasm threads are fixed per process). */
function runNode(code: string, timeoutMs = 60_000) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: timeoutMs });
}

test('wasm runs the requested thread count in Node and the process exits by itself', () => {
  const want = Math.min(2, availableParallelism());
  const r = runNode(`
    import * as tf from '@tensorflow/tfjs';
    const { initEngine } = await import(${JSON.stringify(backendModule)});
    const info = await initEngine({ backend: 'wasm', threads: ${want} });
    const y = tf.conv2d(tf.randomNormal([4, 16, 16, 16]), tf.randomNormal([3, 3, 16, 16]), 1, 'same');
    const s = (await y.sum().data())[0];
    console.log(JSON.stringify({ threads: info.threads, multithread: info.multithread, finite: Number.isFinite(s) }));
  `);
  assert.equal(r.error, undefined, `child did not exit within the timeout (threads keep Node alive?): ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.threads, want);
  assert.equal(out.multithread, want > 1);
  assert.equal(out.finite, true);
});

test('webgpu without a GPU adapter fails with a clear message, without hanging', { skip: process.env.LIA_TEST_BACKEND === 'webgpu' ? 'a GPU is expected here' : false }, () => {
  const r = runNode(`
    const { initEngine, shutdownEngine } = await import(${JSON.stringify(backendModule)});
    try { await initEngine({ backend: 'webgpu' }); console.log('INITIALISED'); }
    catch (e) { console.log('ERROR ' + e.message); }
    await shutdownEngine();
  `);
  assert.equal(r.error, undefined, 'webgpu probe hung');
  assert.equal(r.status, 0, r.stderr);
  if (r.stdout.includes('INITIALISED')) return; // this machine has a GPU after all
  assert.match(r.stdout, /ERROR backend 'webgpu': no GPU adapter found/);
});

test('the tensorflow backend explains how to install tfjs-node when it is missing', { skip: tfjsNodeInstalled() ? 'tfjs-node is installed' : false }, () => {
  const r = runNode(`
    const { initEngine } = await import(${JSON.stringify(backendModule)});
    try { await initEngine({ backend: 'tensorflow' }); } catch (e) { console.log(e.message); }
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /needs @tensorflow\/tfjs-node, which is not installed/);
  assert.match(r.stdout, /--backend wasm/);
});

test('invalid thread counts are rejected', async () => {
  const { initEngine } = await import('./backend.js');
  await assert.rejects(initEngine({ backend: 'wasm', threads: 0 }), /--threads must be a positive integer, got 0/);
});
