// The studio's web server (Node): serves the built page (dist/web), the shipped models (models/) and
// an optional user model, on 127.0.0.1, fully offline. Every response carries the cross-origin
// isolation headers (COOP same-origin, COEP require-corp), so the page may use SharedArrayBuffer and
// threaded wasm. /models/index.json is the catalogue the page reads: one entry per model folder with
// a manifest.json, plus the --model file.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { CatalogueEntry } from './catalogue.js';
import { listModelFolders, readModelFolder } from '../io/model-folders.js';

export type { CatalogueEntry } from './catalogue.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.ico': 'image/x-icon',
};


export interface StudioServerOptions {
  /** The built page (vite build's output). */
  webDir: string;
  /** Folder of model folders, each with manifest.json and model.safetensors. */
  modelsDir?: string;
  /** An extra checkpoint (an encoder or decoder file) or model folder, listed first. */
  extraModel?: string;
  port?: number;
  host?: string;
}

export interface StudioServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A model folder's catalogue entry, or null when it has no manifest.json or model.safetensors. */
function folderEntry(dir: string, urlBase: string, id: string): CatalogueEntry | null {
  const f = readModelFolder(dir, id);
  if (!f) return null;
  return {
    id,
    title: typeof f.manifest.title === 'string' ? f.manifest.title : id,
    model: `${urlBase}/model.safetensors`,
    directions: f.directions ? `${urlBase}/directions.safetensors` : undefined,
    samples: f.samples.map((p) => `${urlBase}/samples/${basename(p)}`),
    manifest: f.manifest,
  };
}

/** The catalogue: the extra model first, then every model folder, LIA models first. */
export function buildCatalogue(opts: StudioServerOptions): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  if (opts.extraModel) {
    const p = resolve(opts.extraModel);
    if (!existsSync(p)) throw new Error(`--model ${opts.extraModel}: no such file or folder`);
    if (statSync(p).isDirectory()) {
      const e = folderEntry(p, '/user', 'user');
      if (!e) throw new Error(`--model ${opts.extraModel}: a model folder needs manifest.json and model.safetensors`);
      out.push(e);
    } else {
      out.push({ id: 'user', title: basename(p), model: '/user/model.safetensors', samples: [], manifest: { title: basename(p), source: p } });
    }
  }
  if (opts.modelsDir) {
    for (const f of listModelFolders(opts.modelsDir)) out.push(folderEntry(f.dir, `/models/${encodeURIComponent(f.id)}`, f.id)!);
  }
  return out;
}

/** The file a URL path names under `root`, or null when it would leave root or does not exist. */
function fileUnder(root: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const p = resolve(root, `.${rel}`);
  if (p !== root && !p.startsWith(root + sep)) return null;
  if (!existsSync(p) || !statSync(p).isFile()) return null;
  return p;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startStudioServer(opts: StudioServerOptions): Promise<StudioServer> {
  const webDir = resolve(opts.webDir);
  if (!existsSync(join(webDir, 'index.html'))) throw new Error(`${webDir}: the studio is not built (no index.html); run \`npm run build\``);
  const modelsDir = opts.modelsDir ? resolve(opts.modelsDir) : undefined;
  const catalogue = buildCatalogue({ ...opts, modelsDir });
  const extra = opts.extraModel ? resolve(opts.extraModel) : undefined;
  const extraIsDir = extra ? statSync(extra).isDirectory() : false;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // Cross-origin isolation for threaded wasm; everything is same-origin.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let file: string | null = null;
    if (path === '/models/index.json') return send(res, 200, TYPES['.json'], JSON.stringify({ models: catalogue }));
    if (path.startsWith('/models/') && modelsDir) file = fileUnder(modelsDir, path.slice('/models'.length));
    else if (path.startsWith('/user/') && extra) file = extraIsDir ? fileUnder(extra, path.slice('/user'.length)) : path === '/user/model.safetensors' ? extra : null;
    else file = fileUnder(webDir, path === '/' ? '/index.html' : path);
    if (!file) return send(res, 404, 'text/plain', `not found: ${path}`);
    const size = statSync(file).size;
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };

  const server = createServer(handle);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new Error(`port ${opts.port} is in use; pick another with --port`) : e));
    server.listen(opts.port ?? 8080, host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
