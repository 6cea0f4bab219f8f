// Float64 linear algebra for the metrics, in plain JS: streaming mean/covariance, the symmetric
// eigendecomposition (cyclic Jacobi) and what FID needs from it. Matrices are row-major Float64Arrays.

/** Streaming mean and covariance of rows, accumulated in float64 around a shift (the first row) so
 * that large means do not cancel the variance. */
export class MomentAccumulator {
  readonly dim: number;
  count = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array;
  /** Upper triangle (j ≥ i) of Σ (x − shift)(x − shift)ᵀ. */
  private readonly outer: Float64Array;
  private readonly row: Float64Array;

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`moment accumulator: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.sum = new Float64Array(dim);
    this.outer = new Float64Array(dim * dim);
    this.row = new Float64Array(dim);
  }

  /** Adds rows of a row-major [n, dim] array. */
  add(rows: ArrayLike<number>): void {
    const d = this.dim;
    if (rows.length % d !== 0) throw new Error(`moment accumulator: ${rows.length} values are not whole rows of ${d}`);
    const n = rows.length / d;
    if (n === 0) return;
    if (!this.shift) this.shift = Float64Array.from({ length: d }, (_, j) => rows[j]);
    const { shift, sum, outer, row } = this;
    for (let r = 0; r < n; r++) {
      const off = r * d;
      for (let j = 0; j < d; j++) row[j] = rows[off + j] - shift[j];
      for (let i = 0; i < d; i++) {
        const ri = row[i];
        sum[i] += ri;
        if (ri === 0) continue;
        const base = i * d;
        for (let j = i; j < d; j++) outer[base + j] += ri * row[j];
      }
    }
    this.count += n;
  }

  mean(): Float64Array {
    if (this.count === 0) throw new Error('moment accumulator: no rows added');
    return Float64Array.from(this.sum, (s, j) => this.shift![j] + s / this.count);
  }

  /** Unbiased covariance (divides by n − 1, as numpy.cov), [dim, dim]. */
  covariance(): Float64Array {
    const n = this.count;
    if (n < 2) throw new Error(`moment accumulator: covariance needs at least 2 rows, got ${n}`);
    const d = this.dim;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = (this.outer[i * d + j] - (this.sum[i] * this.sum[j]) / n) / (n - 1);
        cov[i * d + j] = v;
        cov[j * d + i] = v;
      }
    }
    return cov;
  }
}

/**
 * Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations: A = V diag(values) Vᵀ,
 * V's columns the eigenvectors. Accurate to a few ulps of ‖A‖; O(n³) per sweep, ~6–10 sweeps.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  // Symmetrise: rounding in the caller's products leaves tiny asymmetries.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = m[j * n + i] = 0.5 * (m[i * n + j] + m[j * n + i]);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += m[i] * m[i];
  const tiny = 1e-30 * Math.max(norm, 1e-300);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
    // Converged when the off-diagonal mass is at rounding level (~(n·ε)² of ‖A‖², ε = 2^-52).
    if (off <= 1e-24 * norm || off < tiny) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        // Rotation angle that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.4.1).
        const tau = (aqq - app) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => m[i * n + i]), vectors: v };
}

/** C = A B for n×n row-major matrices. */
export function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

/** The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues, rounding noise, clamp to 0). */
export function sqrtPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

/**
 * tr √(A B) for symmetric PSD A and B. A B is not symmetric, but it is similar to √A B √A, which
 * is symmetric PSD with the same eigenvalues; so tr √(A B) = Σ √λᵢ(√A B √A). Exact up to rounding
 * where scipy.linalg.sqrtm on A B needs a complex Schur form and can return imaginary noise.
 */
export function traceSqrtProduct(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  const sa = sqrtPsd(a, n);
  const m = matMul(matMul(sa, Float64Array.from(b), n), sa, n);
  const { values } = symmetricEigen(m, n);
  let tr = 0;
  for (const v of values) tr += Math.sqrt(Math.max(v, 0));
  return tr;
}
