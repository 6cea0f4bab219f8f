// Output folders and run folders that survive crashes and never take what is not theirs (Node).
//
// - writeFolder: a command that writes a folder (pack-model, invert) builds it in a sibling staging
//   folder `<out>.tmp-<pid>` and swaps it in with renames. An existing `<out>` that is not the
//   command's own kind of output is refused unless `overwrite`, and then moved aside to
//   `<out>.replaced-<time>`, never deleted. An own-kind `<out>` holding only files the command writes
//   is moved to `<out>.old-<pid>` and removed after the swap.
// - Debris of a crashed run (`<out>.tmp-<pid>`, `<out>.old-<pid>`, `snapshot-*.tmp-<pid>-<hex>`) is
//   cleaned by the next run of the same command, and only when its pid is dead.
// - RunLock: a lock file holding the writer's pid; refused while that process lives, taken over when
//   it is gone.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` whose name matches `pattern` (its first capture group is the pid)
 * and whose process is dead. Returns the removed names. Nothing else is touched.
 */
export function cleanStaleDebris(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Removes `<path>.tmp-<pid>[-<hex>]` left beside `path` by atomic writes of dead processes. */
export function cleanStaleTempsOf(path: string): string[] {
  return cleanStaleDebris(dirname(path), new RegExp(`^${escapeRe(basename(path))}\\.tmp-(\\d+)(?:-[0-9a-f]+)?$`));
}

/** What a command's output folder is, so that an existing one can be told from anything else. */
export interface FolderKind {
  /** e.g. 'a model folder (lia pack-model)'. */
  what: string;
  /** Whether `dir` is such a folder (e.g. its manifest says so). */
  isOwn(dir: string): boolean;
  /** Whether a path inside the folder ('/'-separated, relative) is one the command writes. */
  ownEntry(rel: string): boolean;
}

/** Every path under dir, relative and '/'-separated, folders included; symbolic links are not followed. */
function entriesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...entriesUnder(dir, r));
  }
  return out;
}

/** Whether an existing folder holds only what `kind` writes (an empty folder does). */
function onlyOwnEntries(dir: string, kind: FolderKind): boolean {
  return entriesUnder(dir).every((r) => kind.ownEntry(r));
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** A free name `<out>.replaced-<time>[-k]` to move a folder aside to. */
function asideName(out: string): string {
  const base = `${out}.replaced-${stamp()}`;
  let p = base;
  for (let k = 2; existsSync(p); k++) p = `${base}-${k}`;
  return p;
}

export interface WriteFolderOptions {
  /** Replace an existing folder that is not of the command's kind (it is moved aside, not deleted). */
  overwrite?: boolean;
  /** The flag naming the folder in messages (default '--out'). */
  flag?: string;
  /** Where notices go (default stderr). */
  log?: (line: string) => void;
}

/** Refuses an `--out` that cannot be replaced by a rename; recovers or cleans a crashed run's debris. */
function prepare(out: string, kind: FolderKind, opts: WriteFolderOptions): void {
  const flag = opts.flag ?? '--out';
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cwd = process.cwd();
  if (dirname(out) === out) throw new Error(`${flag} ${out}: cannot replace a filesystem root; choose a new folder`);
  if (cwd === out || cwd.startsWith(out + sep)) throw new Error(`${flag} ${out}: is the working folder or contains it; choose a new folder`);
  const parent = dirname(out);
  const base = basename(out);
  mkdirSync(parent, { recursive: true });
  // Debris of an earlier run of this command whose process died.
  const re = new RegExp(`^${escapeRe(base)}\\.(tmp|old)-(\\d+)$`);
  for (const name of readdirSync(parent)) {
    const m = re.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const p = join(parent, name);
    if (m[1] === 'tmp') {
      rmSync(p, { recursive: true, force: true });
      log(`removed ${p}: the staging folder of an interrupted run (process ${m[2]} is gone)`);
    } else if (!existsSync(out)) {
      renameSync(p, out);
      log(`restored ${out} from ${p}: an interrupted run had moved it aside`);
    } else if (onlyOwnEntries(p, kind)) {
      rmSync(p, { recursive: true, force: true });
      log(`removed ${p}: the previous ${kind.what} an interrupted run had replaced`);
    } else {
      const aside = asideName(out);
      renameSync(p, aside);
      log(`kept ${aside}: the previous folder an interrupted run had replaced`);
    }
  }
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) {
      if (!opts.overwrite) throw new Error(`${flag} ${out}: exists and is a file, not ${kind.what}; pass --overwrite to replace it (it is moved aside, not deleted), or choose another ${flag}`);
    } else if (!opts.overwrite && !(kind.isOwn(out) || readdirSync(out).length === 0)) {
      throw new Error(`${flag} ${out}: exists and is not ${kind.what}; pass --overwrite to replace it (it is moved aside, not deleted), or choose another ${flag}`);
    }
  }
}

/**
 * Builds a folder at `out` through `build(staging)`, then swaps it in with renames (see the header).
 * Checks `out` before building, so a refusal costs nothing. On any failure the staging folder is
 * removed and `out` is as it was.
 */
export async function writeFolder<T>(outPath: string, kind: FolderKind, opts: WriteFolderOptions, build: (staging: string) => Promise<T>): Promise<T> {
  const out = resolve(outPath);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  prepare(out, kind, opts);
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true }); // only ever this process's own
  mkdirSync(staging);
  let result: T;
  try {
    result = await build(staging);
    prepare(out, kind, { ...opts, log }); // out may have changed while building
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(out)) {
    renameSync(staging, out);
    return result;
  }
  const replaceable = statSync(out).isDirectory() && (kind.isOwn(out) || readdirSync(out).length === 0) && onlyOwnEntries(out, kind);
  const aside = replaceable ? `${out}.old-${process.pid}` : asideName(out);
  renameSync(out, aside);
  try {
    renameSync(staging, out);
  } catch (e) {
    renameSync(aside, out);
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  if (replaceable) rmSync(aside, { recursive: true, force: true });
  else log(`moved the previous ${relative(process.cwd(), out) || out} aside to ${aside} (not deleted)`);
  return result;
}

/** An exclusive claim on a run folder: `<dir>/lock` holds {pid, host, since}. */
export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string) {
    process.on('exit', this.onExit);
  }

  /** Takes the lock of `dir`, or throws when a live process holds it. A dead holder's lock is taken over. */
  static acquire(dir: string, what = 'run folder'): RunLock {
    const path = join(dir, 'lock');
    const body = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, body);
        } finally {
          closeSync(fd);
        }
        return new RunLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${path}: cannot create the lock file (${(e as Error).message})`);
      }
      let holder: { pid?: unknown; host?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        // unreadable or half-written: treated as stale below
      }
      const pid = Number(holder.pid);
      const sameHost = holder.host === undefined || holder.host === hostname();
      if (Number.isInteger(pid) && pid > 0 && (!sameHost || pidAlive(pid))) {
        throw new Error(`${dir}: this ${what} is in use by process ${pid}${sameHost ? '' : ` on ${String(holder.host)}`} (lock file ${path}); wait for it to finish or stop it${sameHost ? '' : ', or delete the lock file if that process is gone'}`);
      }
      // Stale: rename it away (only one process can win the rename), then try again.
      const stale = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, stale);
        unlinkSync(stale);
      } catch {
        // another process took it over first; the next attempt sees its lock
      }
    }
    throw new Error(`${path}: could not take the lock`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    try {
      const holder = JSON.parse(readFileSync(this.path, 'utf8')) as { pid?: number };
      if (holder.pid === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
