// lia for Node: everything of the platform-free library (index.ts), plus the native and threaded
// backends, models, codes and directions read from and written to files, and image files decoded to
// model inputs (sharp). `import { … } from 'lia/node'`.
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { modelFromBytes, type LiaModel } from './invert/model.js';
import { decodeCodes, encodeCodes, type CodesFile } from './invert/codes.js';
import { decodeDirections, encodeDirections, type Direction } from './invert/directions.js';
import { decodeImageFile, writeImageGrid } from './io/images.js';
import { writeBytesAtomic } from './io/files.js';

export * from './index.js';
export { startEngine, initEngine, shutdownEngine, defaultBackend, BACKENDS, type BackendName, type StartOptions } from './engine/backend.js';

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the ${what} (${(e as Error).message})`);
  }
}

/** A model from a file path, an http(s) URL or bytes (see index.ts loadModel). */
export async function loadModel(source: string | URL | Uint8Array | ArrayBuffer, name?: string): Promise<LiaModel> {
  if (source instanceof Uint8Array) return modelFromBytes(source, name ?? 'model bytes');
  if (source instanceof ArrayBuffer) return modelFromBytes(new Uint8Array(source), name ?? 'model bytes');
  const s = String(source);
  if (/^https?:\/\//.test(s)) return (await import('./index.js')).loadModel(s, name);
  const path = s.startsWith('file:') ? new URL(s).pathname : s;
  return modelFromBytes(await readBytes(path, 'model'), name ?? path);
}

/**
 * An image file (PNG, JPEG, WebP, …) as a model input [1, R, R, C] in [-1, 1]: resized to cover the
 * square and centre-cropped, transparency over white, grey or sRGB as the model takes.
 */
export async function readImage(path: string, target: { resolution: number; channels: number }): Promise<tf.Tensor4D> {
  const { resolution: r, channels: c } = target;
  const pixels = await decodeImageFile(path, r, c as 1 | 3);
  return tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(pixels), [1, r, r, c]), 127.5), 1) as tf.Tensor4D);
}

/** Writes images [N, R, R, C] in [-1, 1] as one PNG grid (`cols` per row, default all in one row). */
export async function writeImages(path: string, x: tf.Tensor4D, opts: { cols?: number; scale?: number; labels?: string[] } = {}): Promise<void> {
  const [n, h, w, c] = x.shape;
  await writeImageGrid(path, { data: (await x.data()) as Float32Array, n, h, w, c }, { cols: opts.cols ?? n, scale: opts.scale, labels: opts.labels });
}

export async function readCodes(path: string): Promise<CodesFile> {
  return decodeCodes(await readBytes(path, 'codes file'), path);
}

export async function writeCodes(path: string, file: CodesFile): Promise<void> {
  writeBytesAtomic(path, encodeCodes(file));
}

export async function readDirections(path: string): Promise<Direction[]> {
  return decodeDirections(await readBytes(path, 'directions file'), path);
}

export async function writeDirections(path: string, dirs: Direction[], about: Record<string, unknown>): Promise<void> {
  writeBytesAtomic(path, encodeDirections(dirs, about));
}

