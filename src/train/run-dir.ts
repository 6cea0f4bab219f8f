// Numbered run folders (runs/00003-fashion-mnist-32/) and the JSONL training log.
import { appendFileSync, mkdirSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextAtomic } from '../io/files.js';

/** Creates `<outDir>/<NNNNN>-<name>` with the next free number and returns its path. */
export function createRunDir(outDir: string, name: string): string {
  mkdirSync(outDir, { recursive: true });
  const used = readdirSync(outDir)
    .map((d) => /^(\d{5})-/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const next = used.length ? Math.max(...used) + 1 : 0;
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  const dir = join(outDir, `${String(next).padStart(5, '0')}-${safe}`);
  mkdirSync(dir);
  return dir;
}

/** Appends one JSON object per line. Each line is written whole, so a killed run leaves valid lines. */
export class JsonlLog {
  constructor(readonly path: string) {}
  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify(record) + '\n');
  }
}

/**
 * Cuts a log back to the lines of steps ≤ `step` (a run resumed from that step's snapshot writes the
 * later steps again). A line cut off by a kill is dropped too.
 */
export function truncateLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const kept = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as { step?: unknown };
      return typeof r.step !== 'number' || r.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) writeTextAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

/** Staging files of snapshot and grid writes (`<name>.tmp-<pid>[-<hex>]`); the group is the pid. */
export const SNAPSHOT_DEBRIS = /^(?:snapshot-\d+\.safetensors|grid-\d+\.png)\.tmp-(\d+)(?:-[0-9a-f]+)?$/;

export function snapshotName(kimg: number): string {
  return `snapshot-${String(Math.round(kimg * 1000)).padStart(9, '0')}.safetensors`;
}

/** The newest snapshot in a run folder, or null. */
export function latestSnapshot(runDir: string): string | null {
  if (!existsSync(runDir)) return null;
  const snaps = readdirSync(runDir).filter((f) => /^snapshot-\d+\.safetensors$/.test(f)).sort();
  return snaps.length ? join(runDir, snaps[snaps.length - 1]) : null;
}
