// Safetensors, the checkpoint format of this project (https://huggingface.co/docs/safetensors).
//
//   [8 bytes]  N, the header length, a little-endian u64
//   [N bytes]  UTF-8 JSON: { "<name>": { "dtype", "shape", "data_offsets": [begin, end] }, ..., "__metadata__": {string: string} },
//              padded with spaces so that the data buffer starts 8-byte aligned
//   [rest]     the data buffer: each tensor's elements, little-endian, row-major; offsets are relative to its start
//
// Reading follows the reference (Rust) library: tensors sorted by offset must tile the data buffer exactly — no
// overlaps, no gaps and no trailing bytes (its `MetadataIncompleteBuffer`) — and the header may not exceed 100 MB.
// Every length is checked against the bytes actually present before anything is allocated, so a hostile or
// truncated file costs at most its own size. Only F32, I32 and U8 are supported; that is all a LIA checkpoint holds.
//
// The codec is pure and runs in the browser; reading and writing files is io/safetensors-file.ts (Node).

export type Dtype = 'F32' | 'I32' | 'U8';

/** A tensor as stored: `data` holds product(shape) elements in row-major order; shape [] is a scalar. */
export type SafeTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array };

export type TensorMap = Record<string, SafeTensor>;
export type Metadata = Record<string, string>;

export interface DecodedSafetensors {
  tensors: TensorMap;
  metadata: Metadata;
}

/** The reference library's limit on the JSON header (MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The `__metadata__` convention of LIA checkpoints. */
export const LIA_FORMAT = 'lia-safetensors';
export const LIA_FORMAT_VERSION = '1';

const METADATA_KEY = '__metadata__';
const HEADER_ALIGN = 8;

const DTYPES = {
  F32: { bytes: 4, array: Float32Array },
  I32: { bytes: 4, array: Int32Array },
  U8: { bytes: 1, array: Uint8Array },
} as const;

// The reference writer orders tensors by descending dtype rank, then name, which keeps wide types aligned.
const DTYPE_RANK: Record<Dtype, number> = { F32: 2, I32: 1, U8: 0 };

// Dtypes of the format that this project does not read, so that the error can say so rather than "unknown".
const OTHER_SAFETENSORS_DTYPES = new Set([
  'BOOL', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'I16', 'U16', 'F16', 'BF16', 'U32', 'C64',
  'F64', 'I64', 'U64',
]);

// Typed arrays use the platform's byte order; the format is little-endian. Every platform tfjs runs on is
// little-endian, but a big-endian one gets a byte-swapping copy instead of wrong numbers.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(value: unknown): value is Dtype {
  return value === 'F32' || value === 'I32' || value === 'U8';
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** product(shape), or Infinity once it passes 2^53 (then it can match no real byte length). */
function elementCount(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

/** Orders strings by Unicode code point, as Rust orders `String`s (JS `<` compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return (ca.done ? 0 : 1) - (cb.done ? 0 : 1);
    const diff = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

interface EncodePlan {
  /** The length field and the padded JSON header. */
  head: Uint8Array;
  /** Each tensor's little-endian bytes, in file order. */
  chunks: Uint8Array[];
  byteLength: number;
}

function littleEndianBytes(t: SafeTensor): Uint8Array {
  const { data } = t;
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || t.dtype === 'U8') return view;
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (t.dtype === 'F32') dv.setFloat32(i * 4, t.data[i], true);
    else dv.setInt32(i * 4, t.data[i], true);
  }
  return out;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

function checkTensorToWrite(name: string, t: SafeTensor, where: string): void {
  const fail: (expected: string, found: string) => never = (expected, found) => {
    throw new Error(`${where}: tensor ${JSON.stringify(name)}: expected ${expected}, found ${found}`);
  };
  if (name === METADATA_KEY) throw new Error(`${where}: "${METADATA_KEY}" is reserved and cannot name a tensor`);
  if (!isPlainObject(t)) fail('an object {dtype, shape, data}', describe(t));
  if (!isDtype(t.dtype)) fail('dtype "F32", "I32" or "U8"', describe(t.dtype));
  if (!Array.isArray(t.shape) || !t.shape.every(isIndex)) fail('a shape of non-negative integers', describe(t.shape));
  const Expected = DTYPES[t.dtype].array;
  if (!(t.data instanceof Expected)) fail(`data in a ${Expected.name} for dtype ${t.dtype}`, typeName(t.data));
  const n = elementCount(t.shape);
  if (t.data.length !== n) fail(`${n} elements for shape [${t.shape.join(', ')}]`, `${t.data.length}`);
}

function checkMetadataToWrite(metadata: unknown, where: string): asserts metadata is Metadata {
  if (!isPlainObject(metadata)) throw new Error(`${where}: expected metadata as an object of strings, found ${describe(metadata)}`);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new Error(`${where}: metadata ${JSON.stringify(key)}: expected a string value, found ${describe(value)}`);
    }
  }
}

export function planEncoding(tensors: TensorMap, metadata: Metadata | undefined, where: string): EncodePlan {
  if (!isPlainObject(tensors)) throw new Error(`${where}: expected tensors as an object of names, found ${describe(tensors)}`);
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) checkTensorToWrite(name, t, where);
  if (metadata !== undefined) checkMetadataToWrite(metadata, where);
  entries.sort(([na, a], [nb, b]) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareCodePoints(na, nb));

  // Object.fromEntries defines own properties, so even a tensor named "__proto__" is written as a plain key.
  const header: [string, unknown][] = [];
  if (metadata !== undefined) header.push([METADATA_KEY, metadata]);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = littleEndianBytes(t);
    header.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] }]);
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  const headerLength = Math.ceil(json.length / HEADER_ALIGN) * HEADER_ALIGN;
  const head = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return { head, chunks, byteLength: head.length + offset };
}

/**
 * Serialises tensors (and optional `__metadata__`) to safetensors bytes. Tensors are laid out F32, I32, then U8,
 * each group by name, as the reference writer does; the header is space-padded to a multiple of 8 bytes.
 */
export function encodeSafetensors(tensors: TensorMap, metadata?: Metadata): Uint8Array {
  const plan = planEncoding(tensors, metadata, 'encodeSafetensors');
  const out = new Uint8Array(plan.byteLength);
  out.set(plan.head, 0);
  let at = plan.head.length;
  for (const chunk of plan.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, info: unknown, dataLength: number, fail: (message: string) => never): Entry {
  const what = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(info)) fail(`${what}: expected an object {dtype, shape, data_offsets}, found ${describe(info)}`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (!isDtype(dtype)) {
    if (typeof dtype === 'string' && OTHER_SAFETENSORS_DTYPES.has(dtype)) {
      fail(`${what}: expected dtype F32, I32 or U8, found unsupported dtype ${dtype}`);
    }
    fail(`${what}: expected dtype F32, I32 or U8, found ${describe(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(`${what}: expected shape as an array of non-negative integers, found ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    fail(`${what}: expected data_offsets [begin, end] of non-negative integers, found ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail(`${what}: expected data_offsets with begin <= end <= ${dataLength} (the data buffer's length), found [${begin}, ${end}]`);
  }
  const bytes = elementCount(shape) * DTYPES[dtype].bytes;
  if (bytes !== end - begin) {
    fail(
      `${what}: expected ${Number.isFinite(bytes) ? bytes : 'more than 2^53'} bytes for ${dtype} of shape [${shape.join(', ')}], ` +
        `found data_offsets [${begin}, ${end}] spanning ${end - begin} bytes`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function parseMetadata(value: unknown, fail: (message: string) => never): Metadata {
  // The reference reads `"__metadata__": null` as no metadata.
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) fail(`expected ${METADATA_KEY} as an object of strings, found ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`${METADATA_KEY} ${JSON.stringify(key)}: expected a string value, found ${describe(v)}`);
  }
  return Object.fromEntries(Object.entries(value)) as Metadata;
}

function copyTensor(e: Entry, data: Uint8Array): SafeTensor {
  const bytes = data.subarray(e.begin, e.end);
  const n = (e.end - e.begin) / DTYPES[e.dtype].bytes;
  // new Uint8Array(view) copies; `slice` would not when `bytes` is a Node Buffer.
  if (e.dtype === 'U8') return { dtype: 'U8', shape: e.shape, data: new Uint8Array(bytes) };
  const out = e.dtype === 'F32' ? new Float32Array(n) : new Int32Array(n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = e.dtype === 'F32' ? dv.getFloat32(i * 4, true) : dv.getInt32(i * 4, true);
  }
  return out instanceof Float32Array ? { dtype: 'F32', shape: e.shape, data: out } : { dtype: 'I32', shape: e.shape, data: out };
}

/**
 * Parses and validates safetensors bytes. Tensor data are copies in fresh, aligned typed arrays, never views into
 * `bytes`. Every error is an Error whose message starts with `source`. As with JSON.parse generally, a name that
 * appears twice in the header keeps its last entry (the first one's bytes then show up as a gap).
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): DecodedSafetensors {
  const fail: (message: string) => never = (message) => {
    throw new Error(`${source}: ${message}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array of safetensors bytes, found ${describe(bytes)}`);
  if (bytes.length < 8) fail(`expected at least 8 bytes (the header length), found a file of ${bytes.length} bytes`);

  const claimed = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (claimed > BigInt(MAX_HEADER_BYTES)) {
    fail(`expected a header length of at most ${MAX_HEADER_BYTES} bytes, found ${claimed}`);
  }
  const headerLength = Number(claimed);
  if (8 + headerLength > bytes.length) {
    fail(
      `expected a ${headerLength}-byte header after the 8-byte length field, ` +
        `found only ${bytes.length - 8} bytes (file truncated or header length corrupt)`,
    );
  }
  const headerBytes = bytes.subarray(8, 8 + headerLength);
  // The spec requires the JSON to start with '{'; checking the byte also rules out a BOM, which TextDecoder drops.
  if (headerBytes[0] !== 0x7b) {
    const found = headerLength === 0 ? 'an empty header' : `byte 0x${headerBytes[0].toString(16).padStart(2, '0')}`;
    fail(`expected the header to be a JSON object starting with '{', found ${found}`);
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail('expected the header to be valid UTF-8, found invalid byte sequences');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`expected the header to be valid JSON, found a parse error: ${(err as Error).message}`);
  }
  if (!isPlainObject(header)) fail(`expected the header to be a JSON object, found ${describe(header)}`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Metadata = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(info, fail);
    else entries.push(parseEntry(name, info, dataLength, fail));
  }

  // Sorted by offset, the tensors must tile [0, dataLength) exactly (zero-size tensors take no room).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const e of entries) {
    if (e.begin < covered) {
      fail(
        `expected tensors not to overlap, found ${JSON.stringify(e.name)} [${e.begin}, ${e.end}] inside ` +
          `${JSON.stringify(previous!.name)} [${previous!.begin}, ${previous!.end}]`,
      );
    }
    if (e.begin > covered) {
      fail(
        `expected the tensors to cover the data buffer, found a gap at bytes [${covered}, ${e.begin}) ` +
          `before ${JSON.stringify(e.name)}`,
      );
    }
    covered = e.end;
    if (e.end > e.begin) previous = e;
  }
  if (covered !== dataLength) {
    fail(
      `expected the tensors to cover the ${dataLength}-byte data buffer, ` +
        `found ${dataLength - covered} trailing bytes after byte ${covered}`,
    );
  }

  const data = bytes.subarray(dataStart);
  const tensors = Object.fromEntries(entries.map((e) => [e.name, copyTensor(e, data)])) as TensorMap;
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------------------
// The LIA metadata convention: format, format_version and the run's config as JSON.

/** `__metadata__` for a LIA checkpoint: the format tag, its version and `config` as a JSON string. */
export function withLiaMetadata(config: unknown, extra: Metadata = {}): Metadata {
  for (const key of ['format', 'format_version', 'config']) {
    if (Object.hasOwn(extra, key)) throw new Error(`withLiaMetadata: "${key}" is set by withLiaMetadata and cannot be overridden`);
  }
  checkMetadataToWrite(extra, 'withLiaMetadata');
  let json: string | undefined;
  try {
    json = JSON.stringify(config);
  } catch (err) {
    throw new Error(`withLiaMetadata: expected a JSON-serialisable config, found one that fails: ${(err as Error).message}`);
  }
  if (json === undefined) throw new Error(`withLiaMetadata: expected a JSON-serialisable config, found ${typeof config}`);
  return { ...extra, format: LIA_FORMAT, format_version: LIA_FORMAT_VERSION, config: json };
}

/**
 * Checks that metadata marks a LIA checkpoint of a version this code reads and returns the parsed config (still to be
 * validated by whoever owns its type).
 */
export function readLiaConfig(metadata: Metadata, source: string): unknown {
  const fail: (message: string) => never = (message) => {
    throw new Error(`${source}: ${message}`);
  };
  if (metadata.format !== LIA_FORMAT) {
    fail(`expected ${METADATA_KEY}.format "${LIA_FORMAT}" (a LIA checkpoint), found ${describe(metadata.format)}`);
  }
  if (metadata.format_version !== LIA_FORMAT_VERSION) {
    fail(
      `expected ${METADATA_KEY}.format_version "${LIA_FORMAT_VERSION}", ` +
        `found ${describe(metadata.format_version)} (written by another version of lia?)`,
    );
  }
  if (typeof metadata.config !== 'string') fail(`expected ${METADATA_KEY}.config as a JSON string, found ${describe(metadata.config)}`);
  try {
    return JSON.parse(metadata.config);
  } catch (err) {
    return fail(`expected ${METADATA_KEY}.config to be valid JSON, found a parse error: ${(err as Error).message}`);
  }
}
