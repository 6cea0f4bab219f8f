// The studio's server under hostile conditions (plain HTTP, no browser): a symbolic link out of the
// models folder and files the catalogue does not name are 404 and no 404 echoes the path; a foreign
// Host header is refused (DNS rebinding); every response carries nosniff and a CSP forbidding framing;
// files replaced and removed while they are being served never kill the server (it answers
// afterwards); a broken model folder is listed with its error while the others are served; a missing
// --models folder is a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync, renameSync, existsSync, truncateSync } from 'node:fs';
import { request, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startStudioServer, type StudioServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-server-'));
const web = join(dir, 'web');
const models = join(dir, 'models');
const outside = join(dir, 'outside');
const SECRET = 'SECRET-CONTENT-1234';
let server: StudioServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, path: string, host?: string): Promise<Reply> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: host ? { host } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** A model folder: a manifest and a model file (the server never parses the model). */
function modelFolder(at: string, title: string, modelBytes = 1024): void {
  mkdirSync(join(at, 'samples'), { recursive: true });
  writeFileSync(join(at, 'manifest.json'), JSON.stringify({ format: 'lia-model', title, mapping: 'invertible' }));
  writeFileSync(join(at, 'model.safetensors'), Buffer.alloc(modelBytes, 7));
  writeFileSync(join(at, 'samples', 'test-00000.png'), 'png bytes');
}

before(async () => {
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.png'), SECRET);
  modelFolder(join(models, 'good'), 'Good');
  symlinkSync(join(outside, 'secret.png'), join(models, 'good', 'samples', 'evil.png'));
  symlinkSync(outside, join(models, 'good', 'samples', 'dir'));
  writeFileSync(join(models, 'good', 'notes.txt'), SECRET); // in the folder, but no catalogue file
  modelFolder(join(outside, 'elsewhere'), 'Elsewhere');
  writeFileSync(join(outside, 'elsewhere', 'model.safetensors'), SECRET);
  symlinkSync(join(outside, 'elsewhere'), join(models, 'linked'));
  server = await startStudioServer({ webDir: web, modelsDir: models, port: 0, log: () => undefined });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('server: symbolic links out of --models and files the catalogue does not name are 404, without echoing the path', async () => {
  assert.equal((await get(server.url, '/models/good/model.safetensors')).status, 200);
  assert.equal((await get(server.url, '/models/good/samples/test-00000.png')).status, 200);
  assert.equal((await get(server.url, '/assets/app.js')).status, 200);
  for (const path of ['/models/good/samples/evil.png', '/models/good/samples/dir/secret.png', '/models/linked/model.safetensors', '/models/good/notes.txt', '/models/good/manifest.json', '/models/good/samples/..%2f..%2f..%2foutside%2fsecret.png']) {
    const r = await get(server.url, path);
    assert.equal(r.status, 404, `${path}: ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${path} leaked the file`);
  }
  const r = await get(server.url, '/no-such-<script>alert(1)</script>');
  assert.equal(r.status, 404);
  assert.ok(!/script|no-such/.test(r.body.toString()), `404 body echoes the path: ${r.body}`);
});

test('server: a foreign Host is refused; responses carry nosniff, a same-origin CSP and no framing', async () => {
  const port = new URL(server.url).port;
  for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${Number(port) + 1}`, 'localhost']) {
    const r = await get(server.url, '/models/index.json', host);
    assert.ok(r.status === 421 || r.status === 403, `Host ${host}: ${r.status}`);
    assert.ok(!r.body.includes('Good'), `Host ${host} got the catalogue`);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
    assert.equal((await get(server.url, '/models/index.json', host)).status, 200, `Host ${host}`);
  }
  const r = await get(server.url, '/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.ok(!/unsafe-inline|'unsafe-eval'|\*/.test(csp), csp);
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
});

test('server: a broken model folder is listed with its error while the others are served; a missing --models is an error', async () => {
  const m2 = join(dir, 'models2');
  modelFolder(join(m2, 'fine one'), 'Fine');
  writeFileSync(join(m2, 'fine one', 'samples', 'test-00001-T-shirt #1.png'), 'png');
  modelFolder(join(m2, 'broken'), 'Broken');
  writeFileSync(join(m2, 'broken', 'manifest.json'), '{ "title": oops');
  const s = await startStudioServer({ webDir: web, modelsDir: m2, port: 0, log: () => undefined });
  try {
    const cat = JSON.parse((await get(s.url, '/models/index.json')).body.toString()) as { models: Array<{ id: string; error?: string; model: string }> };
    const fine = cat.models.find((e) => e.id === 'fine one') as { id: string; error?: string; model: string; samples: string[] };
    const broken = cat.models.find((e) => e.id === 'broken');
    assert.ok(fine && !fine.error);
    assert.match(broken?.error ?? '', /manifest\.json: not valid JSON/);
    assert.equal((await get(s.url, fine.model)).status, 200);
    assert.equal(fine.samples.length, 2);
    for (const url of fine.samples) assert.equal((await get(s.url, url)).status, 200, url);
  } finally {
    await s.close();
  }
  await assert.rejects(startStudioServer({ webDir: web, modelsDir: join(dir, 'no-such-models'), port: 0 }), /--models .*no-such-models: no such folder/);
});

/** A free port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

test('server: files replaced and removed while being served never kill it', { timeout: 120_000 }, async () => {
  const m3 = join(dir, 'models3');
  const model = join(m3, 'busy', 'model.safetensors');
  modelFolder(join(m3, 'busy'), 'Busy', 4 << 20);
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [cli, 'studio', '--port', String(port), '--models', m3], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  try {
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('lia studio:') && ok());
      child.on('exit', () => fail(new Error(`the studio did not start: ${stderr}`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    // Many reads while the file is replaced (a new version renamed over it, as pack-model's swap does),
    // truncated in place, removed and rewritten.
    const replies: Array<Promise<Reply | Error>> = [];
    for (let i = 0; i < 150 && child.exitCode === null; i++) {
      replies.push(get(url, '/models/busy/model.safetensors').catch((e: Error) => e));
      if (i % 4 === 0) {
        writeFileSync(`${model}.new`, Buffer.alloc((1 + (i % 5)) << 20, i));
        renameSync(`${model}.new`, model);
      } else if (i % 4 === 1) truncateSync(model, 1000); // in place, under a reader
      else if (i % 4 === 2) rmSync(model, { force: true });
      else writeFileSync(model, Buffer.alloc(2 << 20, i));
      await new Promise((ok) => setImmediate(ok));
    }
    const got = await Promise.all(replies);
    assert.equal(child.exitCode, null, `the server died: ${stderr}`);
    // Every complete 200 reply is one whole version of the file: a single byte value throughout.
    for (const r of got) {
      if (r instanceof Error || r.status !== 200) continue;
      if (r.body.length === Number(r.headers['content-length'])) assert.ok(r.body.every((b) => b === r.body[0]), 'a reply mixes two versions of the file');
    }
    if (!existsSync(model)) writeFileSync(model, Buffer.alloc(1024, 1));
    const after = await get(url, '/models/busy/model.safetensors');
    assert.equal(after.status, 200, 'the server answers afterwards');
    assert.equal((await get(url, '/models/index.json')).status, 200);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
