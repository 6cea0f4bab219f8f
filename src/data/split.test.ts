import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32, hashOrder, interleave, samplingOrder, stratifiedSplit } from './split.js';

/** FNV-1a 32 written out with BigInt arithmetic, as a reference independent of Math.imul. */
function referenceFnv(bytes: number[]): number {
  let h = 0x811c9dc5n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x01000193n) & 0xffffffffn;
  return Number(h);
}

test('fnv1a32: the published FNV-1a 32 values, over the UTF-8 bytes', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  // Non-ASCII paths hash their UTF-8 bytes, not UTF-16 code units.
  assert.equal(fnv1a32('cats/é😀.png'), referenceFnv([...Buffer.from('cats/é😀.png', 'utf8')]));
  assert.notEqual(fnv1a32('é'), referenceFnv([0xe9]));
});

test('hashOrder sorts by hash and does not depend on the input order', () => {
  const paths = Array.from({ length: 40 }, (_, i) => `c/${i}.png`);
  const order = hashOrder(paths).map((i) => paths[i]);
  const reversed = [...paths].reverse();
  assert.deepEqual(hashOrder(reversed).map((i) => reversed[i]), order);
  for (let k = 1; k < order.length; k++) assert.ok(fnv1a32(order[k - 1]) <= fnv1a32(order[k]));
  assert.notDeepEqual(order, [...paths].sort(), 'hash order is not path order');
});

test('interleave spreads every group evenly over the result', () => {
  const groups = [Array.from({ length: 60 }, (_, i) => i), Array.from({ length: 30 }, (_, i) => 100 + i), Array.from({ length: 10 }, (_, i) => 200 + i)];
  const merged = interleave(groups);
  assert.deepEqual([...merged].sort((a, b) => a - b), groups.flat());
  // Every prefix of 10 holds 6 of the first group, 3 of the second, 1 of the third.
  for (let start = 0; start < 100; start += 10) {
    const counts = [0, 0, 0];
    for (const i of merged.slice(start, start + 10)) counts[Math.floor(i / 100)]++;
    assert.deepEqual(counts, [6, 3, 1], `items ${start}..${start + 9}`);
  }
  // Within a group the order is kept.
  assert.deepEqual(merged.filter((i) => i >= 100 && i < 200), groups[1]);
});

test('stratifiedSplit: floor(n/10) of each class to test, or an explicit train count shared by class size', () => {
  // Classes of 35, 20 and 5 images, listed class by class as a sorted folder would be.
  const sizes = [35, 20, 5];
  const labels = sizes.flatMap((n, c) => new Array<number>(n).fill(c));
  const paths = labels.map((c, i) => `class${c}/img${i}.png`);
  const perPart = (order: number[], train: number) =>
    [order.slice(0, train), order.slice(train)].map((part) => sizes.map((_, c) => part.filter((i) => labels[i] === c).length));

  const byDefault = stratifiedSplit(paths, labels, undefined, 'test');
  assert.equal(byDefault.train, 60 - 3 - 2 - 0);
  assert.deepEqual(perPart(byDefault.order, byDefault.train), [[32, 18, 5], [3, 2, 0]]);
  assert.deepEqual([...byDefault.order].sort((a, b) => a - b), paths.map((_, i) => i), 'a permutation');
  // Each class's test share is the tail of its hash order.
  for (const c of [0, 1]) {
    const classHash = hashOrder(paths, labels.flatMap((l, i) => (l === c ? [i] : [])));
    const test = byDefault.order.slice(byDefault.train).filter((i) => labels[i] === c);
    assert.deepEqual(new Set(test), new Set(classHash.slice(classHash.length - test.length)));
  }

  // 15 test images: quotas 8.75, 5, 1.25 → 8, 5, 1, and the one left goes to the largest remainder.
  const explicit = stratifiedSplit(paths, labels, 45, 'test');
  assert.equal(explicit.train, 45);
  assert.deepEqual(perPart(explicit.order, explicit.train), [[26, 15, 4], [9, 5, 1]]);

  assert.deepEqual(stratifiedSplit(paths, labels, 60, 'test').train, 60);
  assert.throws(() => stratifiedSplit(paths, labels, 61, 'my-folder'), /train = 61 is more than the 60 images of my-folder/);

  // Unlabelled: one class, a deterministic shuffle with the last tenth to test.
  const flat = stratifiedSplit(paths, null, undefined, 'test');
  assert.equal(flat.train, 54);
  assert.deepEqual(flat.order, hashOrder(paths));
});

test('samplingOrder: any prefix holds every class in about its share', () => {
  const labels = [...new Array<number>(50).fill(0), ...new Array<number>(50).fill(1)];
  const paths = labels.map((c, i) => `${c}/${i}.png`);
  const first10 = samplingOrder(paths, labels).slice(0, 10);
  assert.deepEqual([first10.filter((i) => labels[i] === 0).length, first10.filter((i) => labels[i] === 1).length], [5, 5]);
});
