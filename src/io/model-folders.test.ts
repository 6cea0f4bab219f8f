// Which of a manifest's metric keys the demo's model table and scripts/models-report.mjs show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleMetricName } from './model-folders.js';

test('sampleMetricName: the newest fresh-noise figure, else the fixed-noise one, never SWD levels', () => {
  // Rescored with a newer evaluation network: the key added last wins over the older network's.
  const rescored = { fid10k_fmnistnet_constnoise: 37.6, fid10k_fmnistnet: 37.4, swd10k: 24, 'fid10k_fmnistnet-wide': 58.9 };
  assert.equal(sampleMetricName(rescored, 'fid'), 'fid10k_fmnistnet-wide');
  assert.equal(sampleMetricName(rescored, 'swd'), 'swd10k');
  // Only fixed-noise figures: the first of them.
  assert.equal(sampleMetricName({ fid10k_fmnistnet_constnoise: 37.6, swd10k_constnoise: 24.1 }, 'fid'), 'fid10k_fmnistnet_constnoise');
  // SWD's per-level entries are never chosen, even when they come last.
  assert.equal(sampleMetricName({ swd10k: 8.7, swd10k_swd_32: 10.2, swd10k_swd_16: 7.1 }, 'swd'), 'swd10k');
  assert.equal(sampleMetricName({ mse: 0.017 }, 'fid'), undefined);
});
