// Atomic text writes: a temporary file in the same folder, fsync, then rename, so that a reader never
// sees half a file and an interrupted write leaves the old file (or nothing) in place.
import { openSync, writeSync, fsyncSync, closeSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeTextAtomic(path: string, text: string): void {
  writeBytesAtomic(path, text);
}

/** The same for bytes (or text). */
export function writeBytesAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
