// Codes files (what `lia encode` and `lia invert` write and `lia decode` reads): safetensors with one
// F32 tensor per space — 'y' [N, d], 'z' [N, d] or 'ws' [N, numWs, d] — the image names in the
// metadata. Platform-free: bytes in, bytes out.
import { decodeSafetensors, encodeSafetensors, readLiaConfig, withLiaMetadata, type TensorMap } from '../io/safetensors.js';

export const CODES_KIND = 'lia-codes';
export type CodeSpace = 'y' | 'z' | 'ws';
export const CODE_SPACES: readonly CodeSpace[] = ['y', 'ws', 'z'];

export interface Code {
  shape: number[];
  data: Float32Array;
}

export interface CodesFile {
  codes: Partial<Record<CodeSpace, Code>>;
  names: string[];
  /** What produced them (checkpoint, images, refinement settings…). */
  about: Record<string, unknown>;
}

export function encodeCodes(file: CodesFile): Uint8Array {
  const tensors: TensorMap = {};
  let n = -1;
  for (const [space, c] of Object.entries(file.codes) as Array<[CodeSpace, Code]>) {
    if (c.shape.reduce((a, b) => a * b, 1) !== c.data.length) throw new Error(`codes '${space}': shape [${c.shape}] does not hold ${c.data.length} numbers`);
    if (n >= 0 && c.shape[0] !== n) throw new Error(`codes '${space}' have ${c.shape[0]} rows, another space has ${n}`);
    n = c.shape[0];
    tensors[space] = { dtype: 'F32', shape: c.shape, data: c.data };
  }
  if (n < 0) throw new Error('no codes to write');
  if (file.names.length !== n) throw new Error(`${n} codes but ${file.names.length} names`);
  return encodeSafetensors(tensors, withLiaMetadata(file.about, { kind: CODES_KIND, names: JSON.stringify(file.names) }));
}

export function decodeCodes(bytes: Uint8Array, source: string): CodesFile {
  const f = decodeSafetensors(bytes, source);
  if (f.metadata?.kind !== CODES_KIND) throw new Error(`${source}: expected a codes file (lia encode, lia invert), found kind '${f.metadata?.kind ?? 'none'}'`);
  const codes: CodesFile['codes'] = {};
  for (const space of CODE_SPACES) {
    const t = f.tensors[space];
    if (!t) continue;
    const rank = space === 'ws' ? 3 : 2;
    if (t.dtype !== 'F32' || t.shape.length !== rank) throw new Error(`${source}: codes '${space}' must be F32 of rank ${rank}, found ${t.dtype} [${t.shape}]`);
    codes[space] = { shape: t.shape, data: t.data as Float32Array };
  }
  if (!Object.keys(codes).length) throw new Error(`${source}: the codes file holds none of ${CODE_SPACES.join(', ')}`);
  let names: unknown = [];
  try {
    names = JSON.parse(f.metadata.names ?? '[]');
  } catch {
    throw new Error(`${source}: the image names in the metadata are not valid JSON`);
  }
  if (!Array.isArray(names)) throw new Error(`${source}: the image names in the metadata are not a list`);
  return { codes, names: names.map(String), about: readLiaConfig(f.metadata, source) as Record<string, unknown> };
}
