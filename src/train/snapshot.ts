// Snapshots: every variable of a training state (models, EMA, optimiser moments) in one safetensors
// file, the run's config and the loop state (step, RNG, data position) in its metadata.
import * as tf from '@tensorflow/tfjs';
import { readSafetensorsFile, writeSafetensorsFile, withLiaMetadata, readLiaConfig, type TensorMap, type Metadata } from '../io/safetensors.js';

/** Something a snapshot can save and restore: a tf.Variable, or optimiser state held in JS. */
export interface StateEntry {
  shape: number[];
  read(): Promise<Float32Array>;
  write(data: Float32Array): void;
}

export type StateMap = Map<string, tf.Variable | StateEntry>;
export type VariableGroups = Record<string, StateMap>;

function asEntry(v: tf.Variable | StateEntry): StateEntry {
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

export async function writeSnapshot(path: string, kind: string, config: unknown, state: unknown, groups: VariableGroups): Promise<void> {
  const tensors: TensorMap = {};
  for (const [group, vars] of Object.entries(groups)) {
    for (const [name, v] of vars) {
      const e = asEntry(v);
      tensors[`${group}.${name}`] = { dtype: 'F32', shape: e.shape, data: await e.read() };
    }
  }
  await writeSafetensorsFile(path, tensors, withLiaMetadata(config, { kind, state: JSON.stringify(state) }));
}

export async function readSnapshot(path: string): Promise<SnapshotContents> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  const config = readLiaConfig(metadata, path);
  if (!metadata.kind) throw new Error(`${path}: not a lia snapshot (no 'kind' in its metadata)`);
  let state: unknown = null;
  if (metadata.state) {
    try {
      state = JSON.parse(metadata.state);
    } catch (e) {
      throw new Error(`${path}: the snapshot's state is not valid JSON (${(e as Error).message})`);
    }
  }
  return { kind: metadata.kind, config, state, tensors, metadata, source: path };
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

/**
 * Copies only the tensors of `groups` (and the metadata) of a snapshot to `out`: what inference needs,
 * without optimiser state. Returns the tensor and value counts.
 */
export async function exportGroups(snap: SnapshotContents, out: string, groups: string[]): Promise<{ tensors: number; values: number }> {
  const kept = Object.fromEntries(Object.entries(snap.tensors).filter(([k]) => groups.some((g) => k.startsWith(`${g}.`))));
  await writeSafetensorsFile(out, kept, { ...snap.metadata, exported_from: snap.source });
  return { tensors: Object.keys(kept).length, values: Object.values(kept).reduce((a, t) => a + t.data.length, 0) };
}
