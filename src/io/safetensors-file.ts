// Safetensors files (Node): atomic writes and validated reads over the codec in io/safetensors.ts.
import { open, rename, rm, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cleanStaleTempsOf } from './staging.js';
import { decodeSafetensors, planEncoding, type DecodedSafetensors, type Metadata, type TensorMap } from './safetensors.js';

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Writes a safetensors file atomically: the bytes go to `<path>.tmp-<pid>-<random>` in the same directory, which is
 * fsynced and renamed over `path`, then the directory is fsynced where the platform allows. On any failure the
 * temporary file is removed and `path` is left as it was.
 */
export async function writeSafetensorsFile(path: string, tensors: TensorMap, metadata?: Metadata): Promise<void> {
  // Validate and lay out everything before touching the disk.
  const plan = planEncoding(tensors, metadata, path);
  cleanStaleTempsOf(path); // an earlier writer of this path that died mid-write
  const tmp = `${path}.tmp-${process.pid}-${randomSuffix()}`;
  let created = false;
  try {
    const file = await open(tmp, 'wx');
    created = true;
    try {
      for (const chunk of [plan.head, ...plan.chunks]) {
        let at = 0;
        while (at < chunk.length) at += (await file.write(chunk, at, chunk.length - at)).bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (err) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`${path}: could not write safetensors file: ${(err as Error).message}`, { cause: err });
  }
  // Makes the rename itself durable; directories cannot be opened or fsynced on every platform (Windows).
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // best effort
  }
}

/** Reads and validates a safetensors file; every error names `path`. */
export async function readSafetensorsFile(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: could not read safetensors file: ${(err as Error).message}`, { cause: err });
  }
  return decodeSafetensors(bytes, path);
}
