// Linear attribute directions in y (InterFaceGAN-style, PAPER.md's editing experiment): for each
// label, a one-vs-rest logistic regression on the codes y of labelled images. Its weight vector,
// normalised, is the direction n; moving y along n changes the attribute. Strengths are expressed in
// standard deviations of the codes' projections on n, so α = ±2 means "two typical spreads".
//
// Plain float64 JS: d ≈ 128 features and ≤ tens of thousands of codes fit comfortably, and the fit is
// deterministic.

import { decodeSafetensors, encodeSafetensors, readLiaConfig, withLiaMetadata } from '../io/safetensors.js';

export interface Direction {
  name: string;
  /** How it was found: 'labels' (logistic regression on labelled codes; the default), 'sefa' or 'pca' (unsupervised.ts). */
  method?: 'labels' | 'sefa' | 'pca';
  /** sefa: the eigenvalue of W Wᵀ; pca: the variance of the codes along n. */
  value?: number;
  /** Unit vector in y, length d. */
  n: Float64Array;
  /** Standard deviation of y·n over the fitted codes (the unit of edit strengths). */
  scale: number;
  /** Mean of y·n over the codes with the label and without it. */
  meanPos: number;
  meanNeg: number;
  /** Accuracy of the classifier on the fitted codes and on the held-out codes (NaN, stored as null, for sefa and pca). */
  trainAccuracy: number;
  heldOutAccuracy: number;
  positives: number;
}

export interface FitOptions {
  /** Full-batch gradient-descent iterations (default 500). */
  iterations?: number;
  /** L2 penalty on the standardised weights (default 1e-3). */
  l2?: number;
  /** Fraction of codes held out to measure accuracy (default 0.2; every 5th code). */
  heldOut?: number;
}

/**
 * One-vs-rest logistic regression of `positive[i]` on codes y [n, d] (row-major). Features are
 * standardised; the loss is the mean log-loss with classes re-weighted to balance, plus l2·‖w‖²/2.
 */
export function fitDirection(name: string, y: Float32Array | Float64Array, n: number, d: number, positive: ArrayLike<boolean>, opts: FitOptions = {}): Direction {
  if (y.length !== n * d) throw new Error(`codes must be ${n}×${d} = ${n * d} numbers, got ${y.length}`);
  if (positive.length !== n) throw new Error(`${n} codes but ${positive.length} labels`);
  const iterations = opts.iterations ?? 500;
  const l2 = opts.l2 ?? 1e-3;
  // Every `every`-th image with the label and every `every`-th without it is held out: counted within
  // each side, so an ordering that cycles through the classes (an interleaved split) cannot put one
  // class wholly on the held-out side.
  const every = Math.round(1 / (opts.heldOut ?? 0.2));
  const held = new Uint8Array(n);
  if (every > 0) {
    let kPos = 0;
    let kNeg = 0;
    for (let i = 0; i < n; i++) held[i] = (positive[i] ? kPos++ : kNeg++) % every === every - 1 ? 1 : 0;
  }
  const isHeld = (i: number) => held[i] === 1;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < n; i++) if (!isHeld(i)) positive[i] ? pos++ : neg++;
  if (pos === 0 || neg === 0) throw new Error(`direction '${name}': the fitted codes need both images with the label and without it (${pos} with, ${neg} without)`);
  // Standardise.
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += y[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (y[i * d + j] - mu[j]) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  const xs = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xs[i * d + j] = (y[i * d + j] - mu[j]) / sd[j];
  const wPos = 0.5 / pos;
  const wNeg = 0.5 / neg;
  const w = new Float64Array(d);
  let b = 0;
  const g = new Float64Array(d);
  // Gradient descent with a step of 1/L for the logistic loss on standardised features (L ≤ max row ‖x‖²/4 + l2).
  let maxRow = 0;
  for (let i = 0; i < n; i++) {
    let s = 1;
    for (let j = 0; j < d; j++) s += xs[i * d + j] ** 2;
    maxRow = Math.max(maxRow, s);
  }
  const lr = 1 / (maxRow / 4 + l2);
  for (let it = 0; it < iterations; it++) {
    g.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      if (isHeld(i)) continue;
      let s = b;
      for (let j = 0; j < d; j++) s += w[j] * xs[i * d + j];
      const p = 1 / (1 + Math.exp(-s));
      const t = positive[i] ? 1 : 0;
      const r = (p - t) * (positive[i] ? wPos : wNeg);
      for (let j = 0; j < d; j++) g[j] += r * xs[i * d + j];
      gb += r;
    }
    // Step size scaled by the number of effective samples: the weights sum to 1, so L ≤ maxRow/4.
    for (let j = 0; j < d; j++) w[j] -= lr * 4 * (g[j] + l2 * w[j]);
    b -= lr * 4 * gb;
  }
  // Back to y units: s = b + Σ w_j (y_j − μ_j)/σ_j, so the normal in y is w/σ.
  const dir = new Float64Array(d);
  let norm = 0;
  for (let j = 0; j < d; j++) {
    dir[j] = w[j] / sd[j];
    norm += dir[j] ** 2;
  }
  norm = Math.sqrt(norm);
  if (!(norm > 0)) throw new Error(`direction '${name}': the classifier did not learn (zero weights)`);
  for (let j = 0; j < d; j++) dir[j] /= norm;
  // Accuracy, projections and their spread.
  let right = 0;
  let total = 0;
  let rightHeld = 0;
  let totalHeld = 0;
  const proj = new Float64Array(n);
  let sumPos = 0;
  let sumNeg = 0;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    let s = b;
    let p = 0;
    for (let j = 0; j < d; j++) {
      s += w[j] * xs[i * d + j];
      p += dir[j] * y[i * d + j];
    }
    proj[i] = p;
    const ok = s > 0 === Boolean(positive[i]);
    if (isHeld(i)) {
      totalHeld++;
      if (ok) rightHeld++;
    } else {
      total++;
      if (ok) right++;
    }
    if (positive[i]) {
      sumPos += p;
      nPos++;
    } else sumNeg += p;
  }
  const mean = proj.reduce((a, v) => a + v, 0) / n;
  const scale = Math.sqrt(proj.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  return {
    name,
    n: dir,
    scale,
    meanPos: sumPos / Math.max(1, nPos),
    meanNeg: sumNeg / Math.max(1, n - nPos),
    trainAccuracy: right / total,
    heldOutAccuracy: totalHeld ? rightHeld / totalHeld : Number.NaN,
    positives: nPos,
  };
}

/** y + α·scale·n for each α: the codes of an edit series, [α count, d]. */
export function editSeries(y: ArrayLike<number>, dir: Direction, strengths: number[]): Float32Array {
  const d = dir.n.length;
  if (y.length !== d) throw new Error(`code has ${y.length} entries, direction '${dir.name}' has ${d}`);
  const out = new Float32Array(strengths.length * d);
  strengths.forEach((a, k) => {
    for (let j = 0; j < d; j++) out[k * d + j] = y[j] + a * dir.scale * dir.n[j];
  });
  return out;
}

export const DIRECTIONS_KIND = 'lia-directions';

/** A directions file (what `lia directions fit` writes): one F32 tensor per direction, the statistics in the metadata. */
export function encodeDirections(dirs: Direction[], about: Record<string, unknown>): Uint8Array {
  const tensors = Object.fromEntries(dirs.map((x) => [x.name, { dtype: 'F32' as const, shape: [x.n.length], data: Float32Array.from(x.n) }]));
  const stats = dirs.map(({ n: _n, ...rest }) => rest);
  return encodeSafetensors(tensors, withLiaMetadata({ ...about, directions: stats }, { kind: DIRECTIONS_KIND }));
}

/** Parses a directions file; `source` names it in errors. */
export function decodeDirections(bytes: Uint8Array, source: string): Direction[] {
  const file = decodeSafetensors(bytes, source);
  if (file.metadata?.kind !== DIRECTIONS_KIND) throw new Error(`${source}: expected a directions file (lia directions fit), found kind '${file.metadata?.kind ?? 'none'}'`);
  const cfg = readLiaConfig(file.metadata, source) as { directions?: Array<Omit<Direction, 'n'>> };
  if (!Array.isArray(cfg.directions)) throw new Error(`${source}: the directions file has no direction list in its metadata`);
  return cfg.directions.map((s) => {
    const t = file.tensors[s.name];
    if (!t || t.dtype !== 'F32' || t.shape.length !== 1) throw new Error(`${source}: direction '${s.name}' has no F32 vector`);
    const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
    return { ...s, trainAccuracy: num(s.trainAccuracy), heldOutAccuracy: num(s.heldOutAccuracy), n: Float64Array.from(t.data as Float32Array) };
  });
}

/** One direction per class name: `labels[i]` is the index in `classNames` of code i's class (−1: none of them). */
export function fitDirectionsFromCodes(y: Float32Array | Float64Array, labels: ArrayLike<number>, classNames: string[], d: number, opts: FitOptions = {}): Direction[] {
  const n = labels.length;
  return classNames.map((name, k) => fitDirection(name, y, n, d, Array.from(labels, (l) => l === k), opts));
}
