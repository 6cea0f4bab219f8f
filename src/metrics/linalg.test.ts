// Float64 linear algebra of FID: streaming moments against a two-pass computation, Jacobi against
// reconstruction, tr √(AB) against closed forms and against PyTorch (when /usr/bin/python3 has it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Rng } from '../util/rng.js';
import { MomentAccumulator, matMul, sqrtPsd, symmetricEigen, traceSqrtProduct } from './linalg.js';
import { frechetDistance, type GaussianStats } from './fid.js';

/** A random SPD-ish matrix B Bᵀ / k (rank min(n, k)). */
function randomPsd(rng: Rng, n: number, k: number): Float64Array {
  const b = Float64Array.from({ length: n * k }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let r = 0; r < k; r++) s += b[i * k + r] * b[j * k + r];
    a[i * n + j] = s / k;
  }
  return a;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('moments: streaming float64 mean/covariance equal a two-pass computation, even with a large offset', () => {
  const rng = new Rng(1);
  const n = 300;
  const d = 7;
  const rows = Float64Array.from({ length: n * d }, (_, i) => 1e4 + (i % d) + rng.normal() * (1 + (i % 3)));
  const acc = new MomentAccumulator(d);
  // Uneven batches, as a data stream delivers them.
  for (const [a, b] of [[0, 13], [13, 200], [200, 300]]) acc.add(rows.subarray(a * d, b * d));
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += rows[r * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += ((rows[r * d + i] - mean[i]) * (rows[r * d + j] - mean[j])) / (n - 1);
  assert.equal(acc.count, n);
  assert.ok(maxAbsDiff(acc.mean(), mean) < 1e-9);
  assert.ok(maxAbsDiff(acc.covariance(), cov) < 1e-9, `cov diff ${maxAbsDiff(acc.covariance(), cov)}`);
});

test('Jacobi: V diag(λ) Vᵀ reconstructs A, V orthogonal; √A √A = A', () => {
  const rng = new Rng(2);
  const n = 20;
  const a = randomPsd(rng, n, 12); // rank-deficient: zero eigenvalues must not break √A
  const { values, vectors } = symmetricEigen(a, n);
  const rec = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rec[i * n + j] += vectors[i * n + k] * values[k] * vectors[j * n + k];
  assert.ok(maxAbsDiff(rec, a) < 1e-12, `reconstruction ${maxAbsDiff(rec, a)}`);
  const vtv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) vtv[i * n + j] += vectors[k * n + i] * vectors[k * n + j];
  assert.ok(maxAbsDiff(vtv, Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0))) < 1e-12);
  const s = sqrtPsd(a, n);
  assert.ok(maxAbsDiff(matMul(s, s, n), a) < 1e-7, `√A² − A ${maxAbsDiff(matMul(s, s, n), a)}`);
});

test('tr √(AB): closed forms for commuting (diagonal) and 2×2 matrices', () => {
  // Diagonal: Σ √(aᵢ bᵢ).
  const a = Float64Array.from([4, 0, 0, 0, 9, 0, 0, 0, 0.25]);
  const b = Float64Array.from([1, 0, 0, 0, 4, 0, 0, 0, 16]);
  assert.ok(Math.abs(traceSqrtProduct(a, b, 3) - (2 + 6 + 2)) < 1e-12);
  // 2×2: eigenvalues λ₁, λ₂ of AB give tr √(AB) = √(tr(AB) + 2 √(det A det B)).
  const rng = new Rng(3);
  for (let trial = 0; trial < 5; trial++) {
    const p = randomPsd(rng, 2, 3);
    const q = randomPsd(rng, 2, 3);
    const ab = matMul(p, q, 2);
    const det = (m: Float64Array) => m[0] * m[3] - m[1] * m[2];
    const expected = Math.sqrt(ab[0] + ab[3] + 2 * Math.sqrt(det(p) * det(q)));
    assert.ok(Math.abs(traceSqrtProduct(p, q, 2) - expected) < 1e-12 * expected, `trial ${trial}`);
  }
});

test('Fréchet distance: 0 for identical Gaussians; closed form for commuting covariances', () => {
  const rng = new Rng(4);
  const n = 16;
  const cov = randomPsd(rng, n, 40);
  const mean = Float64Array.from({ length: n }, () => rng.normal());
  const s: GaussianStats = { mean, cov, dim: n, count: 100 };
  assert.ok(frechetDistance(s, s) < 1e-9);
  // Diagonal covariances: ‖μ₁ − μ₂‖² + Σ (σ₁ᵢ − σ₂ᵢ)².
  const d1 = Float64Array.from({ length: n }, () => 0.5 + rng.next());
  const d2 = Float64Array.from({ length: n }, () => 0.5 + rng.next());
  const m2 = Float64Array.from({ length: n }, () => rng.normal());
  const diag = (d: Float64Array) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? d[i / (n + 1)] : 0));
  let expected = 0;
  for (let i = 0; i < n; i++) expected += (mean[i] - m2[i]) ** 2 + (Math.sqrt(d1[i]) - Math.sqrt(d2[i])) ** 2;
  const got = frechetDistance({ mean, cov: diag(d1), dim: n, count: 2 }, { mean: m2, cov: diag(d2), dim: n, count: 2 });
  assert.ok(Math.abs(got - expected) < 1e-10 * expected, `${got} vs ${expected}`);
});

function findTorch(): string | null {
  for (const py of [process.env.LIA_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p))) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return py;
  }
  return null;
}

test('Fréchet distance of 64-dim Gaussians matches PyTorch float64 (eigenvalues of Σ₁Σ₂) to 1e-9 relative', (t) => {
  const python = findTorch();
  if (!python) return t.skip('no python3 with torch (Debian: apt-get install python3-torch)');
  const rng = new Rng(5);
  const n = 64;
  const a: GaussianStats = { mean: Float64Array.from({ length: n }, () => rng.normal()), cov: randomPsd(rng, n, 100), dim: n, count: 2 };
  const b: GaussianStats = { mean: Float64Array.from({ length: n }, () => rng.normal()), cov: randomPsd(rng, n, 50), dim: n, count: 2 };
  // The textbook route: tr √(Σ₁Σ₂) = Σ √λ over the (real, non-negative) eigenvalues of the product.
  const script = `
import json, sys, torch
d = json.load(sys.stdin); n = d['n']
m1, m2 = torch.tensor(d['m1'], dtype=torch.float64), torch.tensor(d['m2'], dtype=torch.float64)
s1, s2 = torch.tensor(d['s1'], dtype=torch.float64).reshape(n, n), torch.tensor(d['s2'], dtype=torch.float64).reshape(n, n)
ev = torch.linalg.eigvals(s1 @ s2)
tr = ev.real.clamp(min=0).sqrt().sum()
print(json.dumps({'fid': float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr), 'imag': float(ev.imag.abs().max())}))
`;
  const input = JSON.stringify({ n, m1: [...a.mean], m2: [...b.mean], s1: [...a.cov], s2: [...b.cov] });
  const r = spawnSync(python, ['-c', script], { input, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(r.stdout) as { fid: number; imag: number };
  const got = frechetDistance(a, b);
  assert.ok(Math.abs(got - ref.fid) <= 1e-9 * ref.fid, `ours ${got}, torch ${ref.fid} (max |imag| ${ref.imag})`);
});
