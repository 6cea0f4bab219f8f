// Model folders (lia pack-model): model.safetensors, manifest.json, samples/*.png and
// directions.safetensors. Read by the studio's server and by `lia demo`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (models/, dist/web/ and results/ live under it). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What pack-model writes into manifest.json (the fields the demo and the studio read). */
export interface ModelManifest {
  title?: string;
  kind?: 'encoder' | 'decoder';
  mapping?: 'invertible' | 'mlp';
  resolution?: number;
  channels?: number;
  data?: string;
  dataLicence?: string;
  training?: {
    command?: string;
    trainedOn?: string;
    decoder?: { kimg?: number; imagesSeen?: number; seconds?: number; preset?: string };
    encoder?: { kimg?: number; imagesSeen?: number; seconds?: number };
  };
  metrics?: Record<string, unknown>;
  sampleMetrics?: Record<string, number>;
  [key: string]: unknown;
}

export interface ModelFolder {
  id: string;
  dir: string;
  manifest: ModelManifest;
  model: string;
  directions?: string;
  samples: string[];
}

/** A model folder, or null when it has no manifest.json or model.safetensors. */
export function readModelFolder(dir: string, id: string): ModelFolder | null {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath) || !existsSync(join(dir, 'model.safetensors'))) return null;
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  } catch (e) {
    throw new Error(`${manifestPath}: not valid JSON (${(e as Error).message})`);
  }
  const samplesDir = join(dir, 'samples');
  const samples = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort().map((f) => join(samplesDir, f)) : [];
  const directions = join(dir, 'directions.safetensors');
  return { id, dir, manifest, model: join(dir, 'model.safetensors'), directions: existsSync(directions) ? directions : undefined, samples };
}

/**
 * Every model folder under `root`: LIA models (the invertible mapping) first, then by name. A folder
 * that cannot be read (a broken manifest, a dangling link) throws, or, with `onError`, is reported
 * there and left out.
 */
export function listModelFolders(root: string, onError?: (id: string, dir: string, error: Error) => void): ModelFolder[] {
  if (!existsSync(root)) return [];
  const found: ModelFolder[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    try {
      if (!statSync(dir).isDirectory()) continue;
      const f = readModelFolder(dir, name);
      if (f) found.push(f);
    } catch (e) {
      if (!onError) throw e;
      onError(name, dir, e as Error);
    }
  }
  const rank = (f: ModelFolder) => (f.manifest.mapping === 'invertible' ? 0 : 1);
  return found.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

/** Training length of a model in kimg (decoder + encoder), for choosing the longest-trained one. */
export function trainedKimg(f: ModelFolder): number {
  const t = f.manifest.training;
  return (t?.decoder?.kimg ?? 0) + (t?.encoder?.kimg ?? 0);
}

/**
 * The key of a manifest's metric `base` ('fid', 'swd'): the newest fresh-noise figure when one was
 * measured (the last such key: a manifest rescored with a newer evaluation network, e.g.
 * fid10k_fmnistnet-wide after fid10k_fmnistnet, shows the newer one), else the fixed-noise one
 * (_constnoise); never SWD's per-level entries.
 */
export function sampleMetricName(metrics: Record<string, number>, base: string): string | undefined {
  const keys = Object.keys(metrics).filter((k) => k.startsWith(base) && !k.includes('_swd_'));
  return keys.filter((k) => !k.endsWith('_constnoise')).at(-1) ?? keys[0];
}
