import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Dtype,
  type SafeTensor,
  type TensorMap,
  LIA_FORMAT,
  LIA_FORMAT_VERSION,
  decodeSafetensors,
  encodeSafetensors,
  readLiaConfig,
  withLiaMetadata,
} from './safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file.js';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** mulberry32: a small seeded generator, so that every failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL_F32 = [NaN, Infinity, -Infinity, -0, 0, 1.401298464324817e-45, 3.4028234663852886e38, -1.1754943508222875e-38];
const SPECIAL_I32 = [-2147483648, 2147483647, 0, -1];

function randomTensor(dtype: Dtype, shape: number[], rand: () => number): SafeTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'F32') {
    const data = Float32Array.from({ length: n }, (_, i) => (i < SPECIAL_F32.length && rand() < 0.5 ? SPECIAL_F32[i] : (rand() - 0.5) * 1e3));
    return { dtype, shape, data };
  }
  if (dtype === 'I32') {
    const data = Int32Array.from({ length: n }, (_, i) => (i < SPECIAL_I32.length && rand() < 0.5 ? SPECIAL_I32[i] : (rand() * 2 ** 32) | 0));
    return { dtype, shape, data };
  }
  return { dtype, shape, data: Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)) };
}

function bytesOf(t: SafeTensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Exact equality, bit for bit (NaN payloads and -0 included). */
function assertSameTensors(actual: TensorMap, expected: TensorMap): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name];
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.equal(a.data.constructor, e.data.constructor, name);
    assert.ok(bytesOf(a).equals(bytesOf(e)), `data of ${name}`);
  }
}

/** A file with a hand-written header (string or JSON value) and data buffer; `headerLength` overrides the length field. */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function headerLengthOf(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

/** decodeSafetensors must throw an Error that starts with the source and matches `pattern`. */
function assertRejects(bytes: Uint8Array, pattern: RegExp, source = 'bad.safetensors'): void {
  assert.throws(
    () => decodeSafetensors(bytes, source),
    (err: unknown) => {
      assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
      assert.ok(err.message.startsWith(`${source}: `), `message does not start with the source: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const f32 = (shape: number[], values: number[]): SafeTensor => ({ dtype: 'F32', shape, data: Float32Array.from(values) });
const i32 = (shape: number[], values: number[]): SafeTensor => ({ dtype: 'I32', shape, data: Int32Array.from(values) });
const u8 = (shape: number[], values: number[]): SafeTensor => ({ dtype: 'U8', shape, data: Uint8Array.from(values) });
/** For deliberately ill-typed input. */
const untyped = (value: unknown) => value as TensorMap;

// ---------------------------------------------------------------------------------------------------------------
// Round trip and layout

test('round-trips random F32, I32 and U8 tensors of many shapes, scalars and zero-size ones included', () => {
  const rand = rng(1);
  const shapes = [[], [0], [1], [7], [2, 3], [3, 0, 2], [2, 3, 4], [1, 1, 1, 5], [4, 1, 3, 2]];
  const tensors: TensorMap = {};
  for (const dtype of ['F32', 'I32', 'U8'] as const) {
    shapes.forEach((shape, i) => (tensors[`${dtype.toLowerCase()}.${i}`] = randomTensor(dtype, shape, rand)));
  }
  tensors['unicode ✓ é/名前'] = randomTensor('F32', [3], rand);
  // A plain assignment would set the prototype; the format allows the name, so it must survive as a key.
  Object.defineProperty(tensors, '__proto__', { value: randomTensor('U8', [2], rand), enumerable: true, writable: true, configurable: true });
  const metadata = { note: 'ünïcode ✓', empty: '', json: '{"a":[1,2]}' };

  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes);
  assertSameTensors(decoded.tensors, tensors);
  assert.deepEqual(decoded.metadata, metadata);
  assert.ok(Object.hasOwn(decoded.tensors, '__proto__'));
  for (const t of Object.values(decoded.tensors)) {
    assert.notEqual(t.data.buffer, bytes.buffer, 'decoded data must be a copy');
    assert.equal(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, 0);
  }
  // Decoding a Node Buffer copies too: changing the file's bytes afterwards changes no tensor.
  const buffer = Buffer.from(bytes);
  const fromBuffer = decodeSafetensors(buffer);
  buffer.fill(0);
  assertSameTensors(fromBuffer.tensors, tensors);
  // Without metadata, the reader reports none.
  assert.deepEqual(decodeSafetensors(encodeSafetensors({ x: tensors['f32.1'] })).metadata, {});
});

test('encodes only the bytes a typed-array view covers, and decodes from an unaligned Buffer slice', () => {
  const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
  const view = backing.subarray(2, 5);
  const bytes = encodeSafetensors({ v: { dtype: 'F32', shape: [3], data: view }, u: u8([3], [1, 2, 3]) });
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const decoded = decodeSafetensors(shifted.subarray(3));
  assert.deepEqual(Array.from(decoded.tensors.v.data), [1, 2, 3]);
  assert.deepEqual(Array.from(decoded.tensors.u.data), [1, 2, 3]);
});

test('pads the header with spaces to a multiple of 8 and puts wide dtypes first, so every tensor is aligned', () => {
  for (let len = 1; len <= 16; len++) {
    const bytes = encodeSafetensors(
      { ['u'.repeat(len)]: u8([3], [0, 0, 0]), w: f32([2], [1, 2]), i: i32([1], [0]) },
      { k: 'v'.repeat(len) },
    );
    const n = headerLengthOf(bytes);
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const trimmed = text.trimEnd();
    assert.match(text.slice(trimmed.length), /^ {0,7}$/);
    const header = JSON.parse(trimmed) as Record<string, { data_offsets: [number, number] }>;
    assert.deepEqual(header.w.data_offsets, [0, 8]);
    assert.deepEqual(header.i.data_offsets, [8, 12]);
    assert.deepEqual(header['u'.repeat(len)].data_offsets, [12, 15]);
  }
});

test('matches a hand-computed byte layout', () => {
  const bytes = encodeSafetensors(
    { n: u8([3], [7, 8, 9]), i: i32([], [-1]), w: f32([2], [1, -2]) },
    { a: 'b' },
  );
  // 186 bytes of JSON (F32, then I32, then U8), padded with 6 spaces to 192 = 0xc0.
  const json =
    '{"__metadata__":{"a":"b"},' +
    '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"i":{"dtype":"I32","shape":[],"data_offsets":[8,12]},' +
    '"n":{"dtype":"U8","shape":[3],"data_offsets":[12,15]}}';
  assert.equal(json.length, 186);
  const expected = [
    ...[0xc0, 0, 0, 0, 0, 0, 0, 0],
    ...Buffer.from(json + '      ', 'latin1'),
    ...[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], // 1.0f, -2.0f
    ...[0xff, 0xff, 0xff, 0xff], // -1
    ...[7, 8, 9],
  ];
  assert.deepEqual(Array.from(bytes), expected);
});

test('reproduces the byte vectors of the reference library’s own serialisation tests', () => {
  // One F32 [1,1,2,3] tensor 0..5: 65 bytes of JSON padded to 72.
  const attn = encodeSafetensors({ attn0: f32([1, 1, 2, 3], [0, 1, 2, 3, 4, 5]) });
  const attnJson = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  assert.deepEqual(Array.from(attn), [
    ...[72, 0, 0, 0, 0, 0, 0, 0],
    ...Buffer.from(attnJson + ' '.repeat(72 - attnJson.length), 'latin1'),
    ...Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer),
  ]);
  assert.deepEqual(Array.from(encodeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual(Array.from(encodeSafetensors({}, { framework: 'pt' })), [
    ...[40, 0, 0, 0, 0, 0, 0, 0],
    ...Buffer.from('{"__metadata__":{"framework":"pt"}}     ', 'latin1'),
  ]);
  // A file with no tensors at all, and `"__metadata__": null`, are both valid.
  assert.deepEqual(decodeSafetensors(encodeSafetensors({})), { tensors: {}, metadata: {} });
  assert.deepEqual(decodeSafetensors(rawFile({ __metadata__: null })).metadata, {});
});

test('decodes tensors stored in any order, unaligned, with unknown entry fields ignored', () => {
  // U8 first, so the F32 after it starts at byte 3 of the data buffer; zero-size tensors may share an offset.
  const data = new Uint8Array([1, 2, 3, 0, 0, 0x80, 0x3f]);
  const decoded = decodeSafetensors(
    rawFile(
      {
        f: { dtype: 'F32', shape: [1], data_offsets: [3, 7], extra: 'ignored' },
        u: { dtype: 'U8', shape: [3], data_offsets: [0, 3] },
        z1: { dtype: 'F32', shape: [0, 4], data_offsets: [3, 3] },
        z2: { dtype: 'I32', shape: [2, 0], data_offsets: [3, 3] },
        z3: { dtype: 'U8', shape: [0], data_offsets: [7, 7] },
      },
      data,
    ),
  );
  assert.deepEqual(Array.from(decoded.tensors.f.data), [1]);
  assert.deepEqual(Array.from(decoded.tensors.u.data), [1, 2, 3]);
  assert.deepEqual(decoded.tensors.z1.shape, [0, 4]);
  assert.equal(decoded.tensors.z2.data.length, 0);
  assert.ok(decoded.tensors.z2.data instanceof Int32Array);
  assert.equal(decoded.tensors.z3.data.length, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Writing: invalid input

test('encodeSafetensors rejects invalid tensors and metadata with precise errors', () => {
  const cases: [TensorMap, Record<string, unknown> | undefined, RegExp][] = [
    [{ __metadata__: f32([1], [1]) }, undefined, /"__metadata__" is reserved/],
    [untyped({ a: { dtype: 'F32', shape: [2], data: new Int32Array(2) } }), undefined, /tensor "a": expected data in a Float32Array for dtype F32, found Int32Array/],
    [{ a: f32([2, 2], [1, 2, 3]) }, undefined, /tensor "a": expected 4 elements for shape \[2, 2\], found 3/],
    [{ a: f32([-1], []) }, undefined, /tensor "a": expected a shape of non-negative integers, found \[-1\]/],
    [{ a: f32([1.5], [1]) }, undefined, /shape of non-negative integers/],
    [untyped({ a: { dtype: 'F16', shape: [1], data: new Float32Array(1) } }), undefined, /expected dtype "F32", "I32" or "U8", found "F16"/],
    [{}, { k: 1 }, /metadata "k": expected a string value, found 1/],
  ];
  for (const [tensors, metadata, pattern] of cases) {
    assert.throws(() => encodeSafetensors(tensors, metadata as Record<string, string>), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(err.message.startsWith('encodeSafetensors: '), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Reading: rejection of malformed files

const VALID = encodeSafetensors(
  { w: f32([2, 3], [1, 2, 3, 4, 5, 6]), s: i32([], [42]), m: u8([5], [1, 2, 3, 4, 5]) },
  { format: 'x' },
);

test('rejects truncated files, cut anywhere', () => {
  const n = headerLengthOf(VALID);
  const cuts = [0, 1, 7, 8, 9, 8 + (n >> 1), 8 + n - 1, 8 + n, 8 + n + 1, 8 + n + 24, VALID.length - 1];
  for (const cut of cuts) {
    const pattern =
      cut < 8 ? /expected at least 8 bytes.*found a file of \d+ bytes/ : cut < 8 + n ? /expected a \d+-byte header.*found only/ : /data_offsets|cover/;
    assertRejects(VALID.slice(0, cut), pattern, `cut-at-${cut}.safetensors`);
  }
});

test('rejects header lengths larger than the file or absurdly large, before allocating them', () => {
  const big = rawFile({}, 0, BigInt(VALID.length));
  assertRejects(big, /expected a \d+-byte header after the 8-byte length field, found only 2 bytes/);
  for (const claimed of [2n ** 60n, 2n ** 64n - 1n, 100_000_001n]) {
    assertRejects(rawFile({}, 0, claimed), new RegExp(`at most 100000000 bytes, found ${claimed}`));
  }
});

test('rejects headers that are not UTF-8 JSON objects', () => {
  // Raw header bytes, so that they can be invalid UTF-8: a stray 0xff, an overlong '/', a cut-off '✓'.
  for (const header of [[0x7b, 0xff, 0x7d], [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d], [0x7b, 0x22, 0xe2, 0x9c, 0x22, 0x3a, 0x31, 0x7d]]) {
    const bytes = new Uint8Array(8 + header.length);
    bytes[0] = header.length;
    bytes.set(header, 8);
    assertRejects(bytes, /expected the header to be valid UTF-8, found invalid byte sequences/);
  }
  assertRejects(rawFile('{"a": {"dtype": "F32", '), /expected the header to be valid JSON, found a parse error/);
  assertRejects(rawFile('{garbage}'), /valid JSON/);
  assertRejects(rawFile(''), /starting with '\{', found an empty header/);
  for (const notObject of ['[1, 2]', '"text"', '42', 'null', ' {}', '\uFEFF{}']) {
    assertRejects(rawFile(notObject), /expected the header to be a JSON object starting with '\{', found byte 0x/);
  }
  assertRejects(rawFile({ a: 5 }), /tensor "a": expected an object \{dtype, shape, data_offsets\}, found 5/);
  assertRejects(rawFile({ a: [] }), /tensor "a": expected an object/);
});

test('rejects unknown, unsupported and malformed dtypes, naming the tensor', () => {
  assertRejects(rawFile({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4), /tensor "h": expected dtype F32, I32 or U8, found unsupported dtype F16/);
  assertRejects(rawFile({ h: { dtype: 'BF16', shape: [], data_offsets: [0, 2] } }, 2), /tensor "h".*unsupported dtype BF16/);
  assertRejects(rawFile({ q: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, 1), /tensor "q": expected dtype F32, I32 or U8, found "Q7"/);
  assertRejects(rawFile({ q: { dtype: 4, shape: [1], data_offsets: [0, 1] } }, 1), /tensor "q": expected dtype.*found 4/);
  assertRejects(rawFile({ q: { shape: [1], data_offsets: [0, 1] } }, 1), /tensor "q": expected dtype.*found nothing/);
});

test('rejects negative, fractional and non-numeric shapes', () => {
  for (const shape of [[-1], [1.5], ['2'], '3', null, [2, null], [2 ** 53]]) {
    assertRejects(rawFile({ t: { dtype: 'U8', shape, data_offsets: [0, 2] } }, 2), /tensor "t": expected shape as an array of non-negative integers/);
  }
  // Integers whose product overflows: caught as a size mismatch, without ever computing a huge allocation.
  assertRejects(rawFile({ t: { dtype: 'F32', shape: [1e6, 1e6, 1e6, 1e6], data_offsets: [0, 4] } }, 4), /expected more than 2\^53 bytes for F32 of shape \[1000000, 1000000/);
});

test('rejects malformed and out-of-range data offsets', () => {
  const bad: [unknown, RegExp][] = [
    [[0, 100], /expected data_offsets with begin <= end <= 8 \(the data buffer's length\), found \[0, 100\]/],
    [[8, 4], /begin <= end.*found \[8, 4\]/],
    [[-1, 3], /expected data_offsets \[begin, end\] of non-negative integers, found \[-1,3\]/],
    [[0], /data_offsets \[begin, end\]/],
    [[0, 4, 8], /data_offsets \[begin, end\]/],
    ['0,4', /data_offsets \[begin, end\]/],
    [[0, 2 ** 60], /data_offsets \[begin, end\]/],
    [undefined, /data_offsets \[begin, end\] of non-negative integers, found nothing/],
  ];
  for (const [offsets, pattern] of bad) {
    assertRejects(rawFile({ t: { dtype: 'U8', shape: [4], data_offsets: offsets } }, 8), pattern);
  }
});

test('rejects overlapping tensors, naming both', () => {
  const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
  assertRejects(rawFile(header, 12), /expected tensors not to overlap, found "b" \[4, 12\] inside "a" \[0, 8\]/);
  const same = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } };
  assertRejects(rawFile(same, 4), /not to overlap/);
  const emptyInside = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, z: { dtype: 'U8', shape: [0], data_offsets: [2, 2] } };
  assertRejects(rawFile(emptyInside, 4), /found "z" \[2, 2\] inside "a" \[0, 4\]/);
});

test('rejects a byte length that does not match dtype × shape', () => {
  assertRejects(rawFile({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor "t": expected 12 bytes for F32 of shape \[3\], found data_offsets \[0, 8\] spanning 8 bytes/);
  assertRejects(rawFile({ t: { dtype: 'I32', shape: [], data_offsets: [0, 1] } }, 1), /expected 4 bytes for I32 of shape \[\]/);
  assertRejects(rawFile({ t: { dtype: 'U8', shape: [0], data_offsets: [0, 1] } }, 1), /expected 0 bytes/);
});

test('rejects gaps and trailing bytes: the tensors must cover the data buffer exactly', () => {
  const gap = { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [8, 12] } };
  assertRejects(rawFile(gap, 12), /expected the tensors to cover the data buffer, found a gap at bytes \[4, 8\) before "b"/);
  assertRejects(rawFile({ b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, 8), /gap at bytes \[0, 4\)/);
  assertRejects(rawFile({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, 6), /cover the 6-byte data buffer, found 2 trailing bytes after byte 4/);
  assertRejects(rawFile({}, 3), /found 3 trailing bytes/);
  const extended = new Uint8Array(VALID.length + 1);
  extended.set(VALID);
  assertRejects(extended, /1 trailing bytes/);
});

test('rejects metadata that is not an object of strings', () => {
  for (const meta of [{ k: 1 }, { k: null }, { k: { nested: 'x' } }, { k: ['a'] }]) {
    assertRejects(rawFile({ __metadata__: meta }), /__metadata__ "k": expected a string value/);
  }
  for (const meta of ['text', 3, ['a']]) {
    assertRejects(rawFile({ __metadata__: meta }), /expected __metadata__ as an object of strings/);
  }
});

test('fuzz: 500 random mutations and truncations each decode or throw an Error naming the source', (t) => {
  const rand = rng(20240611);
  const base = encodeSafetensors(
    {
      w: randomTensor('F32', [3, 4], rand),
      b: randomTensor('F32', [4], rand),
      s: randomTensor('I32', [], rand),
      i: randomTensor('I32', [2, 2], rand),
      m: randomTensor('U8', [7], rand),
      z: randomTensor('F32', [0, 3], rand),
    },
    withLiaMetadata({ resolution: 32, channels: [64, 32] }),
  );
  const n = headerLengthOf(base);
  const pick = (k: number) => Math.floor(rand() * k);
  const JSON_CHARS = '{}[]",:0123456789-. eEtrufalsn\\';
  let decoded = 0;
  let rejected = 0;
  const started = Date.now();
  for (let iter = 0; iter < 500; iter++) {
    let bytes = base.slice();
    const mutations = 1 + pick(3);
    for (let m = 0; m < mutations; m++) {
      switch (pick(8)) {
        case 0: // flip random bits anywhere
          bytes[pick(bytes.length)] ^= 1 << pick(8);
          break;
        case 1: // a random byte in the header
          bytes[8 + pick(n)] = pick(256);
          break;
        case 2: // a plausible JSON character in the header
          bytes[8 + pick(n)] = JSON_CHARS.charCodeAt(pick(JSON_CHARS.length));
          break;
        case 3: // change a digit, which keeps the JSON valid but breaks shapes and offsets
        {
          const digits = [...bytes.subarray(8, 8 + n).keys()].filter((k) => bytes[8 + k] >= 0x30 && bytes[8 + k] <= 0x39);
          if (digits.length > 0) bytes[8 + digits[pick(digits.length)]] = 0x30 + pick(10);
          break;
        }
        case 4: // truncate
          bytes = bytes.slice(0, pick(bytes.length + 1));
          break;
        case 5: // append garbage
        {
          const extra = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
          const grown = new Uint8Array(bytes.length + extra.length);
          grown.set(bytes);
          grown.set(extra, bytes.length);
          bytes = grown;
          break;
        }
        case 6: // rewrite the length field: near the truth, or anything up to 2^64 - 1
          if (bytes.length >= 8) {
            const claimed = rand() < 0.5 ? BigInt(Math.max(0, n + pick(17) - 8)) : BigInt.asUintN(64, BigInt(pick(2 ** 32)) * BigInt(pick(2 ** 32) + 1));
            new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, claimed, true);
          }
          break;
        default: // delete a slice
        {
          const at = pick(bytes.length + 1);
          bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + pick(8))]);
        }
      }
    }
    const source = `fuzz-${iter}.safetensors`;
    try {
      const result = decodeSafetensors(bytes, source);
      for (const t of Object.values(result.tensors)) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      decoded++;
    } catch (err) {
      assert.ok(err instanceof Error, `iteration ${iter} threw a non-Error: ${String(err)}`);
      assert.ok(err.message.startsWith(`${source}: `), `iteration ${iter}: ${err.message}`);
      assert.ok(!(err instanceof RangeError) && !(err instanceof TypeError), `iteration ${iter} crashed: ${err.stack}`);
      rejected++;
    }
  }
  t.diagnostic(`fuzz: ${decoded} decoded, ${rejected} rejected`);
  assert.equal(decoded + rejected, 500);
  assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
  assert.ok(Date.now() - started < 10_000, 'fuzz loop took too long');
});

// ---------------------------------------------------------------------------------------------------------------
// LIA metadata

test('withLiaMetadata and readLiaConfig round-trip the config and check format and version', () => {
  const config = { resolution: 32, mapping: { layers: 8 }, name: 'café' };
  const metadata = withLiaMetadata(config, { stage: '1', step: '1200' });
  assert.deepEqual(metadata, { stage: '1', step: '1200', format: LIA_FORMAT, format_version: LIA_FORMAT_VERSION, config: JSON.stringify(config) });
  const decoded = decodeSafetensors(encodeSafetensors({}, metadata), 'ckpt.safetensors');
  assert.deepEqual(readLiaConfig(decoded.metadata, 'ckpt.safetensors'), config);

  const rejects = (meta: Record<string, string>, pattern: RegExp) =>
    assert.throws(() => readLiaConfig(meta, 'ckpt.safetensors'), (err: unknown) => err instanceof Error && err.message.startsWith('ckpt.safetensors: ') && pattern.test(err.message));
  rejects({}, /expected __metadata__.format "lia-safetensors" \(a LIA checkpoint\), found nothing/);
  rejects({ format: 'pt' }, /expected __metadata__.format "lia-safetensors".*found "pt"/);
  rejects({ format: LIA_FORMAT, format_version: '2', config: '{}' }, /expected __metadata__.format_version "1", found "2"/);
  rejects({ format: LIA_FORMAT, format_version: LIA_FORMAT_VERSION }, /expected __metadata__.config as a JSON string, found nothing/);
  rejects({ format: LIA_FORMAT, format_version: LIA_FORMAT_VERSION, config: '{oops' }, /expected __metadata__.config to be valid JSON/);

  assert.throws(() => withLiaMetadata(config, { format: 'other' }), /"format" is set by withLiaMetadata/);
  assert.throws(() => withLiaMetadata(undefined), /expected a JSON-serialisable config, found undefined/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => withLiaMetadata(cyclic), /expected a JSON-serialisable config/);
});

// ---------------------------------------------------------------------------------------------------------------
// Files

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'lia-safetensors-'));
}

const SAMPLE: TensorMap = { w: f32([2, 2], [1, 2, 3, 4]), step: i32([], [7]) };

async function assertRejectsNaming(promise: Promise<unknown>, path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

test('writeSafetensorsFile writes atomically and readSafetensorsFile reads it back', async () => {
  const dir = scratchDir();
  try {
    const path = join(dir, 'ckpt.safetensors');
    await writeSafetensorsFile(path, SAMPLE, withLiaMetadata({ a: 1 }));
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
    const read = await readSafetensorsFile(path);
    assertSameTensors(read.tensors, SAMPLE);
    assert.deepEqual(readLiaConfig(read.metadata, path), { a: 1 });
    assert.ok(readFileSync(path).equals(encodeSafetensors(SAMPLE, withLiaMetadata({ a: 1 }))));

    // Overwriting replaces the whole file.
    const next = { only: u8([1], [5]) } satisfies TensorMap;
    await writeSafetensorsFile(path, next);
    assertSameTensors((await readSafetensorsFile(path)).tensors, next);
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write leaves the target untouched and no temporary file', async () => {
  const dir = scratchDir();
  try {
    const path = join(dir, 'ckpt.safetensors');
    await writeSafetensorsFile(path, SAMPLE);
    const before = readFileSync(path);

    // Invalid input.
    await assertRejectsNaming(writeSafetensorsFile(path, { bad: f32([3], [1]) }), path, /expected 3 elements/);
    // Encoding that throws midway through the tensors.
    const throwing: TensorMap = { a: f32([1], [1]) };
    Object.defineProperty(throwing, 'b', { enumerable: true, get: () => { throw new Error('tensor readback failed'); } });
    await assert.rejects(writeSafetensorsFile(path, throwing), /tensor readback failed/);
    assert.ok(readFileSync(path).equals(before));
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);

    // The rename fails after the temporary file was fully written: the target is a non-empty directory.
    const blocked = join(dir, 'blocked.safetensors');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'keep'), 'x');
    await assertRejectsNaming(writeSafetensorsFile(blocked, SAMPLE), blocked, /could not write safetensors file/);
    assert.deepEqual(readdirSync(dir).sort(), ['blocked.safetensors', 'ckpt.safetensors']);
    assert.deepEqual(readdirSync(blocked), ['keep']);

    // A directory that does not exist.
    const missing = join(dir, 'missing', 'ckpt.safetensors');
    await assertRejectsNaming(writeSafetensorsFile(missing, SAMPLE), missing, /could not write safetensors file: ENOENT/);
    assert.equal(existsSync(join(dir, 'missing')), false);
    assert.ok(readFileSync(path).equals(before));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readSafetensorsFile names the file in every error', async () => {
  const dir = scratchDir();
  try {
    const missing = join(dir, 'nope.safetensors');
    await assertRejectsNaming(readSafetensorsFile(missing), missing, /could not read safetensors file: ENOENT/);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, VALID.subarray(0, VALID.length - 3));
    await assertRejectsNaming(readSafetensorsFile(truncated), truncated, /data_offsets|cover/);
    const tiny = join(dir, 'tiny.safetensors');
    writeFileSync(tiny, new Uint8Array(5));
    await assertRejectsNaming(readSafetensorsFile(tiny), tiny, /expected at least 8 bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Interop with Python: the reference library when installed, else a reader and writer that follow the spec by
// hand with torch (Debian's python3-torch lives under /usr/bin/python3, which may not be the python3 on PATH).

const PYTHON_INTEROP = `
import json, math, struct, sys

MODE, ACTION, PATH = sys.argv[1], sys.argv[2], sys.argv[3]
METADATA = {"format": "lia-safetensors", "format_version": "1", "config": json.dumps({"resolution": 32, "name": "café"})}

def plain(values):
    return [v if not isinstance(v, float) or math.isfinite(v) else repr(v) for v in values]

def report(tensors, metadata):
    print(json.dumps({
        "tensors": {k: {"dtype": d, "shape": [int(x) for x in s], "values": plain(v)} for k, (d, s, v) in tensors.items()},
        "metadata": metadata,
    }))

SPECIAL = [float("nan"), float("inf"), -float("inf"), -0.0, 1e-45]

if MODE == "safetensors":
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
    NAMES = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}
    if ACTION == "read":
        arrays = load_file(PATH)
        with safe_open(PATH, framework="np") as f:
            metadata = f.metadata() or {}
        report({k: (NAMES[a.dtype], a.shape, a.reshape(-1).tolist()) for k, a in arrays.items()}, metadata)
    else:
        rng = np.random.default_rng(0)
        arrays = {
            "a.mask": rng.integers(0, 256, size=5, dtype=np.uint8),
            "b.weight": rng.standard_normal((3, 4)).astype(np.float32),
            "c.steps": np.array(12345, dtype=np.int32),
            "d.empty": np.zeros((0, 3), dtype=np.float32),
            "e.special": np.array(SPECIAL, dtype=np.float32),
            "f.ints": np.array([-2**31, 2**31 - 1, 0, -1], dtype=np.int32),
        }
        save_file(arrays, PATH, metadata=METADATA)
        report({k: (NAMES[a.dtype], a.shape, a.reshape(-1).tolist()) for k, a in arrays.items()}, METADATA)
else:
    import torch
    DT = {"F32": (torch.float32, 4), "I32": (torch.int32, 4), "U8": (torch.uint8, 1)}
    NAMES = {torch.float32: "F32", torch.int32: "I32", torch.uint8: "U8"}
    assert sys.byteorder == "little"
    if ACTION == "read":
        with open(PATH, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        assert n % 8 == 0, "header length is not a multiple of 8"
        header = json.loads(raw[8:8 + n].decode("utf-8"))
        metadata = header.pop("__metadata__", {})
        data = raw[8 + n:]
        end = 0
        for begin, stop in sorted(tuple(info["data_offsets"]) for info in header.values()):
            assert begin == end, "gap or overlap in the data buffer"
            end = stop
        assert end == len(data), "data buffer not fully covered"
        out = {}
        for name, info in header.items():
            dtype, size = DT[info["dtype"]]
            begin, stop = info["data_offsets"]
            assert stop - begin == math.prod(info["shape"]) * size, "byte length does not match dtype and shape"
            assert begin % size == 0, "tensor not aligned to its element size"
            t = torch.frombuffer(bytearray(data[begin:stop]), dtype=dtype) if stop > begin else torch.empty(0, dtype=dtype)
            t = t.reshape(info["shape"])
            out[name] = (info["dtype"], tuple(t.shape), t.reshape(-1).tolist())
        report(out, metadata)
    else:
        torch.manual_seed(0)
        tensors = {
            "a.mask": torch.randint(0, 256, (5,), dtype=torch.uint8),  # odd length first: what follows is unaligned
            "b.weight": torch.randn(3, 4),
            "c.steps": torch.tensor(12345, dtype=torch.int32),
            "d.empty": torch.zeros(0, 3),
            "e.special": torch.tensor(SPECIAL),
            "f.ints": torch.tensor([-2**31, 2**31 - 1, 0, -1], dtype=torch.int32),
        }
        header = {"__metadata__": METADATA}
        chunks, offset = [], 0
        for name, t in tensors.items():
            b = bytes(t.contiguous().reshape(-1).view(torch.uint8).tolist())
            header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
            chunks.append(b)
            offset += len(b)
        h = json.dumps(header).encode("utf-8")
        h += b" " * (-len(h) % 8)
        with open(PATH, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))
        report({k: (NAMES[t.dtype], tuple(t.shape), t.reshape(-1).tolist()) for k, t in tensors.items()}, METADATA)
`;

type PythonMode = 'safetensors' | 'torch';
interface PythonReport {
  tensors: Record<string, { dtype: Dtype; shape: number[]; values: (number | string)[] }>;
  metadata: Record<string, string>;
}

const PYTHON_TIMEOUT_MS = 120_000;

function findPython(): { exe: string; mode: PythonMode } | string {
  const candidates = [...new Set([process.env.LIA_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c))];
  const works = (exe: string, code: string) => spawnSync(exe, ['-c', code], { timeout: PYTHON_TIMEOUT_MS, stdio: 'ignore' }).status === 0;
  for (const [mode, code] of [['safetensors', 'import safetensors.numpy, numpy'], ['torch', 'import torch']] as const) {
    const exe = candidates.find((c) => works(c, code));
    if (exe) return { exe, mode };
  }
  return `none of ${candidates.join(', ')} can import safetensors or torch`;
}

const python = findPython();

function runPython(mode: PythonMode, exe: string, action: 'read' | 'write', path: string, script: string): PythonReport {
  const result = spawnSync(exe, [script, mode, action, path], { encoding: 'utf8', timeout: PYTHON_TIMEOUT_MS });
  assert.equal(result.status, 0, `python ${action} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as PythonReport;
}

function assertMatchesPython(tensors: TensorMap, report: PythonReport): void {
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(report.tensors).sort());
  for (const [name, expected] of Object.entries(report.tensors)) {
    const t = tensors[name];
    assert.equal(t.dtype, expected.dtype, name);
    assert.deepEqual(t.shape, expected.shape, name);
    assert.equal(t.data.length, expected.values.length, name);
    expected.values.forEach((v, i) => {
      const want = typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity;
      assert.ok(Object.is(t.data[i], want), `${name}[${i}]: ${t.data[i]} !== ${v}`);
    });
  }
}

test('interop: Python reads our files and we read Python’s', (t) => {
  if (typeof python === 'string') {
    t.skip(`no Python to compare with: ${python}`);
    return;
  }
  const dir = scratchDir();
  try {
    const script = join(dir, 'interop.py');
    writeFileSync(script, PYTHON_INTEROP);
    t.diagnostic(`python: ${python.exe} (${python.mode === 'safetensors' ? 'safetensors library' : 'spec reader/writer in torch'})`);

    // Ours → Python.
    const rand = rng(7);
    const ours: TensorMap = {
      'mapping.0.weight': randomTensor('F32', [4, 3], rand),
      'mapping.0.bias': randomTensor('F32', [3], rand),
      specials: f32([SPECIAL_F32.length], SPECIAL_F32),
      scalar: randomTensor('F32', [], rand),
      empty: randomTensor('F32', [2, 0], rand),
      step: i32([], [123456]),
      ints: { dtype: 'I32', shape: [2, 2], data: Int32Array.from(SPECIAL_I32) },
      'bytes ✓': randomTensor('U8', [3, 3], rand),
      u8empty: randomTensor('U8', [0], rand),
    };
    const metadata = withLiaMetadata({ resolution: 32, name: 'café ✓' }, { note: 'written by lia' });
    const ourPath = join(dir, 'ours.safetensors');
    writeFileSync(ourPath, encodeSafetensors(ours, metadata));
    const seen = runPython(python.mode, python.exe, 'read', ourPath, script);
    assertMatchesPython(ours, seen);
    assert.deepEqual(seen.metadata, metadata);

    // Python → ours.
    const theirPath = join(dir, 'theirs.safetensors');
    const written = runPython(python.mode, python.exe, 'write', theirPath, script);
    const decoded = decodeSafetensors(readFileSync(theirPath), theirPath);
    assertMatchesPython(decoded.tensors, written);
    assert.deepEqual(decoded.metadata, written.metadata);
    assert.deepEqual(readLiaConfig(decoded.metadata, theirPath), { resolution: 32, name: 'café' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
