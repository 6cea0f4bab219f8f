// Kernel calls per stage-1 step on torch (a count, not a time): the quick 32×32 model stays under a
// fixed bound (R1 amortised over its interval, style mixing on every step), and the count is the
// same at batch 8 and 16 (at batch 4 minibatch std's single group takes another path): the host's
// work per step does not grow with the batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../engine/backend.js';
import { loadTorchAddon } from '../engine/torch/addon.js';
import { DecoderTrainer } from '../train/stage1.js';
import { PRESETS } from '../train/decoder-config.js';
import { benchConfig, countKernelCalls, randomDataset } from './train.js';

const skip = loadTorchAddon() ? false : 'the torch addon is not built (npm run build:torch)';

/** The bound of the quick model's kernel calls per step (issue 23: 3,718 before; target 1,200; 1,392 measured). */
export const QUICK_KERNEL_CALL_BOUND = 1450;

function trainer(batch: number): DecoderTrainer {
  const cfg = benchConfig({ resolution: 32, channels: 1, batch, steps: 1, warmup: 0, config: { ...PRESETS.quick, mixingProb: 1 } });
  return new DecoderTrainer(cfg, randomDataset(32, 1, 64));
}

test(`the quick 32×32 model's stage-1 step makes at most ${QUICK_KERNEL_CALL_BOUND} kernel calls on torch, whatever the batch`, { skip, timeout: 600_000 }, async (t) => {
  await initEngine({ backend: 'torch', threads: 2 });
  const a = trainer(8);
  await a.trainStep(); // step 0 (an R1 step); the next 16 steps hold one R1 step (step 16)
  const quick = await countKernelCalls(a, a.cfg.r1Interval);
  t.diagnostic(`kernel calls per step ${quick.kernel_calls_per_step} (native ${quick.native_calls_per_step}); most: ${JSON.stringify(quick.kernel_calls_by_name)}`);
  assert.ok(quick.kernel_calls_per_step! <= QUICK_KERNEL_CALL_BOUND, `${quick.kernel_calls_per_step} kernel calls per step`);
  a.dispose();
  // Steps 1 and 2 of two fresh runs at batch 8 and 16 (the same draws, no R1): the same calls.
  const count = async (batch: number) => {
    const run = trainer(batch);
    await run.trainStep();
    const c = await countKernelCalls(run, 2);
    run.dispose();
    return c;
  };
  const small = await count(8);
  const large = await count(16);
  assert.equal(large.kernel_calls_per_step, small.kernel_calls_per_step, 'kernel calls grow with the batch');
  assert.equal(large.native_calls_per_step, small.native_calls_per_step, 'native calls grow with the batch');
});
