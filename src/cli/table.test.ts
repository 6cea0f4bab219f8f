import test from 'node:test';
import assert from 'node:assert/strict';
import { formatNumber, formatTable } from './table.js';

test('formatNumber keeps three significant digits below 10, so small metrics stay readable', () => {
  // Expected strings written out by hand for each magnitude.
  const cases: [number, string][] = [
    [0.013518263, '0.0135'],
    [0.0008123, '0.000812'],
    [0.6445092, '0.645'],
    [1.6, '1.60'],
    [9.774705, '9.77'],
    [17.588552, '17.6'],
    [365.54, '366'],
    [1, '1'],
    [10000, '10000'],
    [0, '0'],
    [-0.0421, '-0.0421'],
    [Number.NaN, 'NaN'],
  ];
  for (const [x, want] of cases) assert.equal(formatNumber(x), want, `formatNumber(${x})`);
});

test('formatTable right-aligns numbers under a dashed rule', () => {
  const t = formatTable(['metric', 'value'], [['mse', 0.0135], ['images', 10000]]).split('\n');
  assert.deepEqual(t, ['metric   value', '------  ------', 'mse     0.0135', 'images   10000']);
});
