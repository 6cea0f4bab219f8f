// SVG charts: well-formed output with one path per series at the right place, log scale, and a clear
// error when there is nothing to plot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChartSvg, niceTicks } from './chart.js';

test('niceTicks gives round values covering the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 4), [20, 40, 60, 80]);
});

test('lineChartSvg draws one path per series inside the plot area', () => {
  const svg = lineChartSvg(
    [
      { name: 'a <1>', points: [[0, 1], [10, 0.1]] },
      { name: 'b', points: [[0, 2], [5, 1], [10, 0.5]] },
    ],
    { title: 'loss', xLabel: 'step', yLabel: 'loss', logY: true },
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(paths.length, 2);
  assert.equal(paths[1].split('L').length, 3);
  // The series' maximum (y = 2) is at the top of the padded range, its minimum at the bottom.
  const ys = paths.flatMap((p) => [...p.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => Number(m[2])));
  for (const y of ys) assert.ok(y >= 36 && y <= 350, `y ${y} outside the plot`);
  assert.match(svg, /a &lt;1&gt;/);
});

test('lineChartSvg refuses an empty chart', () => {
  assert.throws(() => lineChartSvg([{ name: 'x', points: [[0, Number.NaN]] }], { title: 't', xLabel: 'x', yLabel: 'y' }), /no finite points/);
});
