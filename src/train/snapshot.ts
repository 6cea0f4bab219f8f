// Snapshot files (Node): every variable of a training state (models, EMA, optimiser moments) in one
// safetensors file, the run's config and the loop state (step, RNG, data position) in its metadata.
// The codec itself is io/checkpoint.ts (platform-free).
import { writeSafetensorsFile } from '../io/safetensors-file.js';
import { decodeSnapshot, snapshotTensors, type SnapshotContents, type VariableGroups } from '../io/checkpoint.js';


export async function writeSnapshot(path: string, kind: string, config: unknown, state: unknown, groups: VariableGroups): Promise<void> {
  const { tensors, metadata } = await snapshotTensors(kind, config, state, groups);
  await writeSafetensorsFile(path, tensors, metadata);
}

export async function readSnapshot(path: string): Promise<SnapshotContents> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the snapshot (${(e as Error).message})`);
  }
  return decodeSnapshot(bytes, path);
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
