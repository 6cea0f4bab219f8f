// The statistics the experiment reports: a paired difference's mean with its 95 % confidence
// interval (Figure 12's seeds), and the mean, spread and median of a trace.

/** Two-sided 95 % Student-t quantiles for 1–30 degrees of freedom (1.96 beyond). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean of paired differences with its 95 % confidence interval (Student t; a single pair has an infinite one). */
export function meanWithCi(d: number[]): { mean: number; lo: number; hi: number; n: number } {
  const n = d.length;
  if (n === 0) throw new Error('meanWithCi: no values');
  const mean = d.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, lo: -Infinity, hi: Infinity, n };
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, n };
}

/** Mean, population standard deviation, coefficient of variation (sd / mean) and median. */
export function stats(v: number[]): { mean: number; sd: number; cv: number; median: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  const s = [...v].sort((a, b) => a - b);
  return { mean, sd, cv: sd / mean, median: s[Math.floor(s.length / 2)] };
}
