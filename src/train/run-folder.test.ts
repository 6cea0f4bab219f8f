// Run folders under runTraining, with a counting trainer (no tensors): a resumed run's log.jsonl holds
// every step once; a second trainer on a folder another live trainer holds is refused, a dead
// trainer's lock is taken over and the lock is gone when the run ends; snapshot staging files of
// dead processes are removed and nothing else is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { runTraining, type Trainable } from './run-loop.js';

/** 100 images a step; a snapshot is a file holding the step it was taken at. */
class CountingTrainer implements Trainable<{ loss: number }> {
  readonly cfg = { kimg: 1, snapshotKimg: 0.3, logSteps: 1, batch: 100 };
  elapsedSec = 0;
  gate: Promise<void> = Promise.resolve();
  constructor(
    public step = 0,
    public imagesSeen = 0,
  ) {}
  get kimg(): number {
    return this.imagesSeen / 1000;
  }
  async trainStep(): Promise<{ loss: number }> {
    await this.gate;
    this.step++;
    this.imagesSeen += this.cfg.batch;
    return { loss: 1 / this.step };
  }
  async saveSnapshot(path: string): Promise<void> {
    writeFileSync(path, JSON.stringify({ step: this.step, imagesSeen: this.imagesSeen }));
  }
  static resume(path: string): CountingTrainer {
    const s = JSON.parse(readFileSync(path, 'utf8')) as { step: number; imagesSeen: number };
    return new CountingTrainer(s.step, s.imagesSeen);
  }
}

const logSteps = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { step: number }).step);

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

test('resume: log.jsonl is cut back to the resumed snapshot, so every step appears once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-runfolder-'));
  try {
    // A run stopped after step 8 (its last snapshot at step 6, 0.6 kimg), its log holding steps 1..8.
    const t = new CountingTrainer();
    let n = 0;
    await runTraining(t, dir, { shouldStop: () => ++n >= 8 });
    assert.deepEqual(logSteps(dir), [1, 2, 3, 4, 5, 6, 7, 8]);
    rmSync(join(dir, 'snapshot-000000800.safetensors')); // as if killed before the stop snapshot
    const snap = join(dir, 'snapshot-000000600.safetensors');
    assert.ok(existsSync(snap), readdirSync(dir).join());
    // A killed writer can also leave a torn last line.
    writeFileSync(join(dir, 'log.jsonl'), readFileSync(join(dir, 'log.jsonl'), 'utf8') + '{"step": 9, "lo');
    const r = CountingTrainer.resume(snap);
    assert.equal(r.step, 6);
    await runTraining(r, dir);
    assert.deepEqual(logSteps(dir), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lock: a second trainer on a folder a live trainer holds is refused; a dead one’s lock is taken over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-runfolder-'));
  try {
    // Two trainers in one process: the first holds the folder while its step waits.
    const first = new CountingTrainer();
    let open!: () => void;
    first.gate = new Promise<void>((ok) => (open = ok));
    const running = runTraining(first, dir);
    await new Promise((ok) => setTimeout(ok, 20));
    await assert.rejects(runTraining(new CountingTrainer(), dir), new RegExp(`in use by process ${process.pid} \\(lock file .*lock\\)`));
    open();
    await running;
    assert.ok(!existsSync(join(dir, 'lock')), 'the lock is released when the run ends');

    // Another live process's lock (a sleeping child): refused, naming its pid.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: child.pid, host: hostname(), since: new Date().toISOString() }));
      const resumed = () => CountingTrainer.resume(join(dir, 'snapshot-000001000.safetensors'));
      await assert.rejects(runTraining(resumed(), dir), new RegExp(`in use by process ${child.pid}`));
      assert.ok(existsSync(join(dir, 'lock')));
    } finally {
      child.kill('SIGKILL');
    }
    // A dead process's lock: taken over.
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: deadPid(), host: hostname(), since: new Date().toISOString() }));
    const r = await runTraining(CountingTrainer.resume(join(dir, 'snapshot-000001000.safetensors')), dir);
    assert.equal(r.reason, 'done');
    assert.ok(!existsSync(join(dir, 'lock')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot staging files of dead processes are removed, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-runfolder-'));
  try {
    const dead = deadPid();
    const files = {
      deadSnapshot: `snapshot-000000300.safetensors.tmp-${dead}-0a1b2c3d4e5f`,
      deadGrid: `grid-000000300.png.tmp-${dead}`,
      liveSnapshot: `snapshot-000000300.safetensors.tmp-${process.pid}-0a1b2c3d4e5f`,
      otherName: `notes.txt.tmp-${dead}`,
      userFile: 'snapshot-notes.txt',
    };
    for (const f of Object.values(files)) writeFileSync(join(dir, f), 'x');
    await runTraining(new CountingTrainer(), dir);
    const left = new Set(readdirSync(dir));
    assert.ok(!left.has(files.deadSnapshot) && !left.has(files.deadGrid), [...left].join());
    for (const f of [files.liveSnapshot, files.otherName, files.userFile]) assert.ok(left.has(f), `${f} kept`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
