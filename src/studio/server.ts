// The studio's web server (Node): serves the built page (dist/web), the shipped models (models/) and
// an optional user model, on 127.0.0.1, fully offline. /models/index.json is the catalogue the page
// reads: one entry per model folder with a manifest.json (a broken one listed with its error), plus
// the --model file.
//
// What it serves, and nothing else: the files of the built page and the files the catalogue names
// (each model's model.safetensors, directions.safetensors and samples). Each is opened by its real
// path, which must stay under its real root (a symbolic link out of --models is not followed), and
// read from the one file descriptor it was measured on, so a file replaced mid-request is served whole
// or not at all; a read error is answered with 500 (or ends that response) and logged, never fatal.
// Requests must name the server as 127.0.0.1, localhost or [::1] with its port (421 otherwise: DNS
// rebinding). Every response carries the cross-origin isolation headers (COOP same-origin, COEP
// require-corp, for SharedArrayBuffer and threaded wasm), nosniff, and a CSP allowing only this origin
// (plus wasm compilation and the blob: workers of threaded wasm) and no framing.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { constants, existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import type { CatalogueEntry } from './catalogue.js';
import { listModelFolders, readModelFolder, type ModelFolder } from '../io/model-folders.js';

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

/**
 * Only this origin; 'wasm-unsafe-eval' lets the page compile WebAssembly, blob: workers are how
 * tfjs starts threaded wasm; images may be blob:/data: (drawn and downloaded images).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self' blob: data:",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface StudioServerOptions {
  /** The built page (vite build's output). */
  webDir: string;
  /** Folder of model folders, each with manifest.json and model.safetensors. */
  modelsDir?: string;
  /** An extra checkpoint (an encoder or decoder file) or model folder, listed first. */
  extraModel?: string;
  port?: number;
  host?: string;
  /** Where request errors are logged (default stderr). */
  log?: (line: string) => void;
}

export interface StudioServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A file the server may send: its path, and the real folder its real path must stay under. */
interface Route {
  file: string;
  root: string;
}

/** The catalogue and the URL → file table of the models in it. */
interface Models {
  catalogue: CatalogueEntry[];
  routes: Map<string, Route>;
}

const isUnder = (p: string, root: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** A URL for a path: each segment percent-encoded (routes are keyed by the decoded path). */
const urlOf = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** A model folder's catalogue entry and its files' routes; `base` is its decoded URL path ('/models/<id>'). */
function addFolder(models: Models, f: ModelFolder, base: string, root: string): void {
  const add = (path: string, file: string) => {
    models.routes.set(path, { file, root });
    return urlOf(path);
  };
  models.catalogue.push({
    id: f.id,
    title: typeof f.manifest.title === 'string' ? f.manifest.title : f.id,
    model: add(`${base}/model.safetensors`, f.model),
    directions: f.directions ? add(`${base}/directions.safetensors`, f.directions) : undefined,
    samples: f.samples.map((p) => add(`${base}/samples/${basename(p)}`, p)),
    manifest: f.manifest,
  });
}

/** The catalogue (the extra model first, then every model folder, LIA models first) and its files. */
function collectModels(opts: StudioServerOptions): Models {
  const models: Models = { catalogue: [], routes: new Map() };
  if (opts.extraModel) {
    const p = resolve(opts.extraModel);
    if (!existsSync(p)) throw new Error(`--model ${opts.extraModel}: no such file or folder`);
    if (statSync(p).isDirectory()) {
      const f = readModelFolder(p, 'user');
      if (!f) throw new Error(`--model ${opts.extraModel}: a model folder needs manifest.json and model.safetensors`);
      addFolder(models, f, '/user', realpathSync(p));
    } else {
      models.catalogue.push({ id: 'user', title: basename(p), model: '/user/model.safetensors', samples: [], manifest: { title: basename(p), source: p } });
      // The file the user named, wherever its real path is: its root is its own real folder.
      models.routes.set('/user/model.safetensors', { file: p, root: dirname(realpathSync(p)) });
    }
  }
  if (opts.modelsDir) {
    const dir = resolve(opts.modelsDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--models ${opts.modelsDir}: no such folder (a folder of model folders made by lia pack-model)`);
    const root = realpathSync(dir);
    const broken: CatalogueEntry[] = [];
    const failed = (id: string, error: string) => broken.push({ id, title: id, model: '', samples: [], manifest: {}, error });
    for (const f of listModelFolders(dir, (id, _dir, e) => failed(id, e.message))) {
      if (!isUnder(realpathSync(f.dir), root)) failed(f.id, `${f.dir} links outside ${opts.modelsDir}; it is not served`);
      else addFolder(models, f, `/models/${f.id}`, root);
    }
    models.catalogue.push(...broken);
  }
  return models;
}

/** The catalogue: the extra model first, then every model folder, LIA models first, broken ones last with their error. */
export function buildCatalogue(opts: StudioServerOptions): CatalogueEntry[] {
  return collectModels(opts).catalogue;
}

/** Every regular file of the built page, by URL path ('/' is index.html). Links are not followed. */
function pageRoutes(webDir: string): Map<string, Route> {
  const root = realpathSync(webDir);
  const routes = new Map<string, Route>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) routes.set(`/${r}`, { file: join(root, r), root });
    }
  };
  walk('');
  routes.set('/', { file: join(root, 'index.html'), root });
  return routes;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const NOT_FOUND = 'not found\n';

export async function startStudioServer(opts: StudioServerOptions): Promise<StudioServer> {
  const webDir = resolve(opts.webDir);
  if (!existsSync(join(webDir, 'index.html'))) throw new Error(`${webDir}: the studio is not built (no index.html); run \`npm run build\``);
  const { catalogue, routes: modelRoutes } = collectModels(opts);
  const routes = new Map([...pageRoutes(webDir), ...modelRoutes]);
  const index = JSON.stringify({ models: catalogue });
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let allowedHosts = new Set<string>();

  /** Sends one routed file from a single open descriptor (see the header). */
  const sendFile = async (route: Route, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    let fh: FileHandle | undefined;
    try {
      const real = await realpath(route.file);
      if (!isUnder(real, route.root)) return send(res, 404, 'text/plain', NOT_FOUND);
      fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      const st = await fh.stat();
      if (!st.isFile()) return send(res, 404, 'text/plain', NOT_FOUND);
      res.writeHead(200, { 'Content-Type': TYPES[extname(real)] ?? 'application/octet-stream', 'Content-Length': st.size });
      if (req.method === 'HEAD' || st.size === 0) return void res.end();
      const stream = fh.createReadStream({ start: 0, end: st.size - 1, autoClose: true });
      fh = undefined; // the stream owns it now
      // A file truncated in place while it is read: the response would stay short of its length, and
      // the client would wait; cut the connection instead.
      let sent = 0;
      stream.on('data', (c: Buffer | string) => (sent += c.length));
      stream.on('end', () => {
        if (sent < st.size) {
          log(`lia studio: ${path}: the file shrank while it was served (${sent} of ${st.size} bytes); the response was cut off`);
          res.destroy();
        }
      });
      pipeline(stream, res, (e) => {
        if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') log(`lia studio: ${path}: read failed (${e.message}); the response was cut off`);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return send(res, 404, 'text/plain', NOT_FOUND);
      log(`lia studio: ${path}: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    } finally {
      await fh?.close().catch(() => undefined);
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      return send(res, 421, 'text/plain', `misdirected request: this server answers only as ${[...allowedHosts].join(', ')}\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(res, 404, 'text/plain', NOT_FOUND);
    }
    if (path === '/models/index.json') return send(res, 200, TYPES['.json'], index);
    const route = routes.get(path);
    if (!route) return send(res, 404, 'text/plain', NOT_FOUND);
    void sendFile(route, req, res, path);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      log(`lia studio: ${req.url}: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new Error(`port ${opts.port} is in use; pick another with --port`) : e));
    server.listen(opts.port ?? 8080, host, () => ok());
  });
  server.on('error', (e) => log(`lia studio: ${e.message}`));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const names = ['127.0.0.1', 'localhost', '[::1]', host.includes(':') && !host.startsWith('[') ? `[${host}]` : host];
  allowedHosts = new Set(names.map((h) => `${h.toLowerCase()}:${port}`));
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
