// A small seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state),
// seeded from one integer through splitmix32. Math.random cannot be seeded or saved; training runs
// need both, so every random choice in data (shuffles, mirroring, synthetic scenes) draws from here.
// The whole state is four uint32 words plus Box–Muller's cached second normal, so getState() is a
// small JSON object that a checkpoint can hold and setState() resumes the exact stream.

export interface RngState {
  /** sfc32 words a, b, c, counter d (uint32). */
  s: [number, number, number, number];
  /** Box–Muller produces normals in pairs; the unused one waits here (null when none). */
  spare: number | null;
}

/** An array-like that can be written: plain arrays and typed arrays. */
export interface MutableArrayLike<T> {
  length: number;
  [index: number]: T;
}

const TWO_POW_32 = 4294967296;

/** splitmix32: spreads a small integer seed over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare: number | null = null;

  /** seed: any integer that fits in a double exactly (|seed| < 2^53). */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed)) throw new Error(`rng seed must be an integer, got ${seed}`);
    // The low 32 bits pick a, b, c (splitmix32's first output is a bijection of its input); the
    // high bits start the counter d, so no two safe integers share a stream.
    const sm = { x: seed >>> 0 };
    this.a = splitmix32(sm);
    this.b = splitmix32(sm);
    this.c = splitmix32(sm);
    this.d = (1 + Math.floor(seed / TWO_POW_32)) | 0;
    // Discard the first outputs: sfc32's authors advise it to mix the seed in.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling); n in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new Error(`rng.int(n) needs an integer n in [1, 2^32], got ${n}`);
    }
    // Reject draws from the last partial block of size (2^32 mod n).
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal N(0, 1) by the Box–Muller transform (both outputs of each pair are used). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const u1 = 1 - this.next(); // (0, 1]: log(u1) is finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends MutableArrayLike<unknown>>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  getState(): RngState {
    return { s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spare: this.spare };
  }

  setState(state: RngState): void {
    const s = state?.s;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_POW_32)) {
      throw new Error(`rng state must be {s: four uint32 words, spare}, got ${JSON.stringify(state)}`);
    }
    if (state.spare !== null && typeof state.spare !== 'number') {
      throw new Error(`rng state 'spare' must be a number or null, got ${JSON.stringify(state.spare)}`);
    }
    [this.a, this.b, this.c, this.d] = s.map((v) => v | 0);
    this.spare = state.spare;
  }
}

/**
 * A seed for tfjs's seeded random ops. tfjs treats a seed of 0 as "no seed" and draws from
 * Math.random instead, which silently breaks reproducibility for seed 0; every seed is shifted to
 * be ≥ 1.
 */
export function tfSeed(seed: number): number {
  return Math.abs(Math.trunc(seed)) + 1;
}
