// metrics.jsonl: one JSON object per line per metric result, appended (as stylegan2-ada does), so
// that a run's folder keeps the history of every evaluation.
import type { MetricResult } from './types.js';

export interface MetricRecord {
  /** Full metric name, e.g. fid10k_fmnistnet. */
  metric: string;
  value: number;
  values: Record<string, number>;
  /** Training progress of the snapshot in thousands of images, when known. */
  kimg?: number;
  /** The checkpoint evaluated (path or name), or null. */
  snapshot: string | null;
  /** ISO 8601 time of the evaluation. */
  time: string;
  backend: string;
  num_images: number;
  /** Name of the feature network, or null for metrics without one (swd). */
  feature_net: string | null;
  /** Wall time of the metric in seconds. */
  seconds: number;
}

export function toMetricRecord(r: MetricResult, info: { snapshot?: string | null; kimg?: number; backend: string; time?: Date }): MetricRecord {
  return {
    metric: r.metric,
    value: r.value,
    values: r.values,
    ...(info.kimg !== undefined ? { kimg: info.kimg } : {}),
    snapshot: info.snapshot ?? null,
    time: (info.time ?? new Date()).toISOString(),
    backend: info.backend,
    num_images: r.numImages,
    feature_net: r.featureNet,
    seconds: Math.round(r.seconds * 100) / 100,
  };
}

/** Appends records to a JSON-lines file (one line each), creating it and its folder. Node only. */
export async function appendMetrics(path: string, records: MetricRecord | MetricRecord[]): Promise<void> {
  const list = Array.isArray(records) ? records : [records];
  if (list.length === 0) return;
  const { appendFile, mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  // One write call for all lines: concurrent appenders interleave whole writes, not parts of lines.
  await appendFile(path, list.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');
}

/** Reads every record of a metrics.jsonl (blank lines ignored). Node only. */
export async function readMetrics(path: string): Promise<MetricRecord[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as MetricRecord;
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not a JSON line: ${(err as Error).message}`);
      }
    });
}
