// The ADA probability controller (Karras et al., 2020, section 2.3; stylegan2-ada-pytorch's
// training loop): the overfitting heuristic r_t = E[sign(D(x_real))] is collected over `interval`
// steps; then p moves by sign(r_t − target) · batch · interval / (speedKimg · 1000), so p can go
// from 0 to 1 in speedKimg thousand real images. p stays in [0, 1].

export interface AdaControllerOptions {
  /** Target of r_t (the reference: 0.6). */
  target: number;
  /** Images per step. */
  batch: number;
  /** Steps between adjustments (the reference: 4). */
  interval: number;
  /** kimg for p to travel 0 → 1 (the reference: 500). */
  speedKimg: number;
  /** Initial p. */
  p: number;
}

export interface AdaControllerState {
  p: number;
  signSum: number;
  signCount: number;
  steps: number;
  /** r_t of the last adjustment (null before the first). */
  lastRt: number | null;
}

export class AdaController {
  p: number;
  lastRt: number | null = null;
  private signSum = 0;
  private signCount = 0;
  private steps = 0;

  constructor(readonly opts: AdaControllerOptions) {
    if (!(opts.target >= 0 && opts.target <= 1)) throw new Error(`ADA target must be in [0, 1], got ${opts.target}`);
    if (!(opts.p >= 0 && opts.p <= 1)) throw new Error(`augmentation probability p must be in [0, 1], got ${opts.p}`);
    if (!Number.isInteger(opts.interval) || opts.interval < 1) throw new Error(`ADA interval must be a positive integer, got ${opts.interval}`);
    if (!(opts.speedKimg > 0)) throw new Error(`ADA speed must be a positive number of kimg, got ${opts.speedKimg}`);
    this.p = opts.p;
  }

  /** Change of p per adjustment. */
  get stepSize(): number {
    return (this.opts.batch * this.opts.interval) / (this.opts.speedKimg * 1000);
  }

  /** One training step's mean of sign(D(real)); every `interval` steps, p is adjusted. */
  observe(signMean: number): void {
    if (!Number.isFinite(signMean) || signMean < -1 || signMean > 1) throw new Error(`ADA: mean sign of D(real) must be in [−1, 1], got ${signMean}`);
    this.observeSum(signMean, 1);
  }

  /**
   * The sum of `count` consecutive steps' means of sign(D(real)), as one call (a trainer that adds
   * them up on the device reads them once per interval); p is adjusted when the steps observed
   * reach a multiple of `interval`, so the calls must not straddle one.
   */
  observeSum(signSum: number, count: number): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`ADA: step count must be a positive integer, got ${count}`);
    if (!Number.isFinite(signSum) || Math.abs(signSum) > count * (1 + 1e-6)) throw new Error(`ADA: sum of ${count} mean signs of D(real) must be in [−${count}, ${count}], got ${signSum}`);
    const toBoundary = this.opts.interval - (this.steps % this.opts.interval);
    if (count > toBoundary) throw new Error(`ADA: ${count} steps observed at once cross an adjustment (${toBoundary} to go)`);
    this.signSum += signSum;
    this.signCount += count;
    this.steps += count;
    if (this.steps % this.opts.interval !== 0) return;
    const rt = this.signSum / this.signCount;
    this.p = Math.min(1, Math.max(0, this.p + Math.sign(rt - this.opts.target) * this.stepSize));
    this.lastRt = rt;
    this.signSum = 0;
    this.signCount = 0;
  }

  getState(): AdaControllerState {
    return { p: this.p, signSum: this.signSum, signCount: this.signCount, steps: this.steps, lastRt: this.lastRt };
  }

  setState(s: AdaControllerState): void {
    this.p = s.p;
    this.signSum = s.signSum;
    this.signCount = s.signCount;
    this.steps = s.steps;
    this.lastRt = s.lastRt;
  }
}
