// Bytes ↔ [-1, 1]: every byte against the formula in float64, the round trip, clamping, other ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTE_TO_UNIT, toByte, toBytes, toUnitRange } from './pixel-bytes.js';

test('toUnitRange: each byte v is v / 127.5 − 1 rounded once to float32; toByte inverts it exactly', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, v) => v);
  const unit = toUnitRange(bytes);
  for (let v = 0; v < 256; v++) {
    assert.equal(unit[v], Math.fround(v / 127.5 - 1), `byte ${v}`);
    assert.equal(BYTE_TO_UNIT[v], unit[v]);
    assert.equal(toByte(unit[v]), v, `round trip of byte ${v}`);
  }
  assert.deepEqual(toBytes(unit), bytes);
  assert.equal(unit[0], -1);
  assert.equal(unit[255], 1);
});

test('toByte: rounds to the nearest byte, clamps outside the range, other ranges; NaN is stored as 0', () => {
  assert.equal(toByte(0), 128, '(0 + 1) · 127.5 = 127.5 rounds up');
  assert.equal(toByte(-1.5), 0);
  assert.equal(toByte(7), 255);
  assert.equal(toByte(Infinity), 255);
  assert.equal(toByte(-Infinity), 0);
  assert.equal(toByte(0.5, 0, 1), 128);
  assert.equal(toByte(0.25, 0, 1), 64, '63.75 rounds to 64');
  assert.deepEqual(toBytes([NaN, -1, 1]), Uint8Array.from([0, 0, 255]));
});
