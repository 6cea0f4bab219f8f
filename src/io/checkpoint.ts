// The checkpoint codec, platform-free: a snapshot (every variable of a training state, the run's
// config and loop state in the metadata) to and from safetensors bytes, and assigning its tensors to
// a model's variables. Reading and writing files is train/snapshot.ts (Node).
import * as tf from '@tensorflow/tfjs';
import { decodeSafetensors, encodeSafetensors, withLiaMetadata, readLiaConfig, type TensorMap, type Metadata } from './safetensors.js';

/** Something a snapshot can save and restore: a tf.Variable, or optimiser state held in JS. */
export interface StateEntry {
  shape: number[];
  read(): Promise<Float32Array>;
  write(data: Float32Array): void;
}

export type StateMap = Map<string, tf.Variable | StateEntry>;
export type VariableGroups = Record<string, StateMap>;

export function asEntry(v: tf.Variable | StateEntry): StateEntry {
  if (!(v instanceof tf.Variable)) return v;
  return {
    shape: v.shape,
    read: async () => (await v.data()) as Float32Array,
    write: (data) => tf.tidy(() => v.assign(tf.tensor(data, v.shape))),
  };
}

export interface SnapshotContents {
  kind: string;
  config: unknown;
  state: unknown;
  tensors: TensorMap;
  /** The file's metadata as stored (kind, config and state are parsed from it above). */
  metadata: Metadata;
  source: string;
}

/** The tensors and metadata of a snapshot of `groups` (names `<group>.<variable>`). */
export async function snapshotTensors(kind: string, config: unknown, state: unknown, groups: VariableGroups): Promise<{ tensors: TensorMap; metadata: Metadata }> {
  const tensors: TensorMap = {};
  for (const [group, vars] of Object.entries(groups)) {
    for (const [name, v] of vars) {
      const e = asEntry(v);
      tensors[`${group}.${name}`] = { dtype: 'F32', shape: e.shape, data: await e.read() };
    }
  }
  return { tensors, metadata: withLiaMetadata(config, { kind, state: JSON.stringify(state) }) };
}

/** A snapshot as safetensors bytes. */
export async function encodeSnapshot(kind: string, config: unknown, state: unknown, groups: VariableGroups): Promise<Uint8Array> {
  const { tensors, metadata } = await snapshotTensors(kind, config, state, groups);
  return encodeSafetensors(tensors, metadata);
}

/** Parses snapshot bytes; `source` names them in errors (a file path, a URL, a file's name). */
export function decodeSnapshot(bytes: Uint8Array, source: string): SnapshotContents {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const config = readLiaConfig(metadata, source);
  if (!metadata.kind) throw new Error(`${source}: not a lia snapshot (no 'kind' in its metadata)`);
  let state: unknown = null;
  if (metadata.state) {
    try {
      state = JSON.parse(metadata.state);
    } catch (e) {
      throw new Error(`${source}: the snapshot's state is not valid JSON (${(e as Error).message})`);
    }
  }
  return { kind: metadata.kind, config, state, tensors, metadata, source };
}

/**
 * Assigns `<group>.<name>` tensors to the variables of a group, checking names and shapes. Names in
 * `optional` may be absent (snapshots from before they existed); those variables keep their values.
 */
export function loadGroup(snap: SnapshotContents, group: string, vars: StateMap, optional: ReadonlySet<string> = new Set()): void {
  for (const [name, entry] of vars) {
    const v = asEntry(entry);
    const key = `${group}.${name}`;
    const t = snap.tensors[key];
    if (!t && optional.has(name)) continue;
    if (!t) throw new Error(`${snap.source}: missing tensor '${key}' (the snapshot was written by a different model configuration?)`);
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new Error(`${snap.source}: tensor '${key}' has shape [${t.shape}], expected [${v.shape}]`);
    }
    if (t.dtype !== 'F32') throw new Error(`${snap.source}: tensor '${key}' is ${t.dtype}, expected F32`);
    v.write(t.data as Float32Array);
  }
}
