// The train demo's time budget: a throughput probe slowed by other work plans too short a run, and
// the stage is then extended from the speed measured over the run instead of ending early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainFor } from './demo.js';

/** A stand-in trainer: each step sleeps `slowMs` for the first `slowSteps` steps (a busy machine), then `fastMs`. */
function fakeTrainer(slowSteps: number, slowMs: number, fastMs: number) {
  const cfg = { kimg: 1, snapshotKimg: 1, logSteps: 1000, batch: 32 };
  return {
    cfg,
    step: 0,
    imagesSeen: 0,
    elapsedSec: 0,
    get kimg() {
      return this.imagesSeen / 1000;
    },
    async trainStep() {
      await new Promise((r) => setTimeout(r, this.step < slowSteps ? slowMs : fastMs));
      this.step++;
      this.imagesSeen += cfg.batch;
      return { loss: 0 };
    },
    async saveSnapshot(path: string) {
      writeFileSync(path, 'snapshot');
    },
  };
}

test('trainFor extends a stage planned from a slow probe, and stops by the deadline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-trainfor-'));
  const seconds = 3;
  // Probe (300 ms) at 60 ms per step; afterwards 5 ms per step: the plan is about 12× too short.
  const t = fakeTrainer(8, 60, 5);
  const t0 = Date.now();
  const result = await trainFor('fake', t, dir, seconds, () => '', true, 0.2);
  const took = (Date.now() - t0) / 1000;
  const plannedFromProbe = (32 / 0.06) * (seconds - 0.3 - 0.12) / 1000; // kimg the probe alone would plan
  // 1.5×, not more: on a loaded machine the 5-ms timers run late (2.4 kimg seen under two training
  // runs); with the extension disabled it trains about 1.5 kimg and ends after about 0.5 s.
  assert.ok(t.kimg > 1.5 * plannedFromProbe, `trained ${t.kimg.toFixed(2)} kimg, the probe planned about ${plannedFromProbe.toFixed(2)}`);
  assert.ok(took <= seconds + 0.5, `took ${took.toFixed(2)} s for a ${seconds}-s budget`);
  assert.ok(took >= seconds * 0.6, `ended after ${took.toFixed(2)} s of a ${seconds}-s budget: not extended`);
  assert.ok(['done', 'stopped'].includes(result.reason));
  console.log(`trained ${t.kimg.toFixed(2)} kimg in ${took.toFixed(2)} s (probe plan ${plannedFromProbe.toFixed(2)})`);
});

test('trainFor does not extend a stage whose plan was right', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lia-trainfor-'));
  const t = fakeTrainer(0, 0, 10);
  const t0 = Date.now();
  await trainFor('fake', t, dir, 2, () => '', true, 0.2);
  const took = (Date.now() - t0) / 1000;
  assert.ok(took <= 2.5, `took ${took.toFixed(2)} s for a 2-s budget`);
  // Planned from an honest probe: it trains close to the budget and not past it.
  assert.ok(took >= 1.4, `ended after ${took.toFixed(2)} s`);
});
