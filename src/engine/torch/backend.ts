// The `torch` TensorFlow.js backend: tensors live in libtorch memory (native/torch) and every
// kernel is one call into it. Like tfjs-node's backend over libtensorflow: tfjs keeps the API,
// autodiff and the project's registered gradients; this class only stores data and runs kernels.
// Handles are freed the moment tfjs disposes their data (never left to the garbage collector).
import * as tf from '@tensorflow/tfjs';
import { CODE_DTYPES, DTYPE_CODES, type TorchAddon } from './addon.js';

type DataId = object;
type NumericDtype = keyof typeof DTYPE_CODES;

interface Entry {
  /** Native handle; -1 for strings, which stay in JavaScript. */
  handle: number;
  dtype: tf.DataType;
  refCount: number;
  strings?: Uint8Array[];
}

export interface TorchTensorInfo {
  dataId: DataId;
  shape: number[];
  dtype: tf.DataType;
}

const SCRATCH = 1 << 16;

export class TorchBackend extends tf.KernelBackend {
  readonly addon: TorchAddon;
  private readonly entries = new Map<DataId, Entry>();
  private readonly scratch = new Int32Array(SCRATCH);
  private disposed = false;
  /** Native op calls so far (for `lia bench train`'s kernel counts). */
  nativeCalls = 0;

  constructor(addon: TorchAddon) {
    super();
    this.addon = addon;
    addon.setScratch(this.scratch);
  }

  // --- storage -------------------------------------------------------------------------------

  private entry(dataId: DataId): Entry {
    let e = this.entries.get(dataId);
    if (!e) {
      // Data written by another backend: tfjs moves it here through write()/move().
      tf.engine().moveData(this, dataId);
      e = this.entries.get(dataId);
      if (!e) throw new Error('torch backend: tensor data not found (was it disposed?)');
    }
    return e;
  }

  /** The native handle behind a tensor (moving it here from another backend if needed). */
  handle(t: { dataId: DataId; dtype: tf.DataType }): number {
    const e = this.entry(t.dataId);
    if (e.handle < 0) throw new Error(`torch backend: kernels do not take ${e.dtype} tensors`);
    return e.handle;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const dataId = {};
    this.entries.set(dataId, this.entryFor(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const old = this.entries.get(dataId);
    if (old && old.handle >= 0) this.addon.free(old.handle);
    this.entries.set(dataId, this.entryFor(values, shape, dtype, refCount));
  }

  private entryFor(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType, refCount: number): Entry {
    if (dtype === 'string') return { handle: -1, dtype, refCount, strings: (values ?? []) as Uint8Array[] };
    if (dtype === 'complex64') throw new Error('torch backend: complex64 tensors are not supported');
    const size = shape.reduce((a, b) => a * b, 1);
    const typed = toTyped(values, dtype as NumericDtype, size);
    return { handle: this.addon.write(typed, shape, DTYPE_CODES[dtype as NumericDtype]), dtype, refCount };
  }

  /** A new tensor from values (used by kernels that compute a result in JavaScript). */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TorchTensorInfo {
    const size = shape.reduce((a, b) => a * b, 1);
    const dataId = this.write(values ?? zerosFor(dtype, size), shape, dtype);
    return { dataId, shape, dtype };
  }

  override async read(dataId: DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const e = this.entry(dataId);
    if (e.handle < 0) return e.strings as Uint8Array[];
    return this.addon.read(e.handle);
  }

  override refCount(dataId: DataId): number {
    return this.entries.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    const e = this.entries.get(dataId);
    if (e) e.refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const e = this.entries.get(dataId);
    if (!e) return true;
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    if (e.handle >= 0) this.addon.free(e.handle);
    this.entries.delete(dataId);
    return true;
  }

  override numDataIds(): number {
    return this.entries.size;
  }

  override memory(): { unreliable: boolean; reasons?: string[]; nativeBytes: number; nativeHandles: number } {
    const m = this.addon.memory();
    return { unreliable: false, nativeBytes: m.bytes, nativeHandles: m.handles };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = performance.now();
    f();
    return { kernelMs: performance.now() - start };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override dispose(): void {
    if (this.disposed) return;
    for (const e of this.entries.values()) if (e.handle >= 0) this.addon.free(e.handle);
    this.entries.clear();
    this.disposed = true;
  }

  // --- kernels -------------------------------------------------------------------------------

  /**
   * Runs native op `name` on the given tensors. `outDtype` casts a single result (null keeps what
   * libtorch produced, folded onto float32/int32/bool). Returns one TensorInfo per result.
   */
  runOp(name: string, inputs: { dataId: DataId; dtype: tf.DataType }[], attrs: number[] = [], outDtype: tf.DataType | null = null): TorchTensorInfo[] {
    const code = this.addon.ops[name];
    if (code === undefined) throw new Error(`torch backend: the native addon has no op '${name}' (rebuild it with \`npm run build:torch\`)`);
    const handles = new Array<number>(inputs.length);
    for (let i = 0; i < inputs.length; i++) handles[i] = this.handle(inputs[i]);
    this.nativeCalls++;
    this.addon.run(code, outDtype === null ? -1 : DTYPE_CODES[outDtype as NumericDtype], handles, attrs);
    const s = this.scratch;
    const count = s[0];
    const out = new Array<TorchTensorInfo>(count);
    let k = 1;
    for (let i = 0; i < count; i++) {
      const handle = s[k++];
      const dtype = CODE_DTYPES[s[k++]];
      const rank = s[k++];
      const shape = new Array<number>(rank);
      for (let d = 0; d < rank; d++) shape[d] = s[k++];
      const dataId = {};
      this.entries.set(dataId, { handle, dtype, refCount: 1 });
      out[i] = { dataId, shape, dtype };
    }
    return out;
  }

  /** runOp for single-result ops. */
  run1(name: string, inputs: { dataId: DataId; dtype: tf.DataType }[], attrs: number[] = [], outDtype: tf.DataType | null = null): TorchTensorInfo {
    return this.runOp(name, inputs, attrs, outDtype)[0];
  }

  /** A tensor sharing x's data (tfjs's Identity): no native call. */
  alias(x: { dataId: DataId; shape: number[]; dtype: tf.DataType }): TorchTensorInfo {
    this.entry(x.dataId).refCount++;
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  }
}

function toTyped(values: tf.backend_util.BackendValues | null, dtype: NumericDtype, size: number): Float32Array | Int32Array | Uint8Array {
  if (values === null || values === undefined) return zerosFor(dtype, size) as Float32Array | Int32Array | Uint8Array;
  switch (dtype) {
    case 'float32':
      return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
    case 'int32':
      return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
    case 'bool':
      return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}

function zerosFor(dtype: tf.DataType, size: number): tf.backend_util.BackendValues {
  if (dtype === 'int32') return new Int32Array(size);
  if (dtype === 'bool') return new Uint8Array(size);
  if (dtype === 'string') return new Array<Uint8Array>(size).fill(new Uint8Array(0));
  return new Float32Array(size);
}
