// Discriminator augmentation for small datasets, one object per training run: the mode (ADA with
// an adaptive p, the same pipeline at a fixed p, DiffAugment, or off), its own seeded random stream,
// and the p controller; all of it saved in snapshots (getState/setState) so a resumed run continues
// the same p and the same draws.
import type * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../util/rng.js';
import { AdaController, type AdaControllerState } from './ada.js';
import { applyAugment, drawAugment, pipeSpec, AUGMENT_PIPES, type PipeSpec } from './pipeline.js';
import { applyDiffAugment, drawDiffAugment } from './diffaugment.js';

export { AdaController } from './ada.js';
export { affineWarp } from './sampler.js';
export * from './pipeline.js';
export { applyDiffAugment, drawDiffAugment } from './diffaugment.js';

export const AUGMENT_MODES = ['ada', 'fixed', 'diffaugment', 'off'] as const;
export type AugmentMode = (typeof AUGMENT_MODES)[number];

/** The augmentation fields of a training config (all optional: older runs have none, = off). */
export interface AugmentOptions {
  augment?: AugmentMode;
  /** ada: initial p; fixed: the p. */
  augmentP?: number;
  /** ada: target of r_t = E[sign(D(real))]. */
  adaTarget?: number;
  /** ada / fixed: which transforms (bgc, bg, blit, geom, color). */
  augmentPipe?: string;
  /** ada: steps between adjustments of p. */
  adaInterval?: number;
  /** ada: kimg for p to travel from 0 to 1. */
  adaKimg?: number;
}

export const AUGMENT_DEFAULTS = { augmentP: 0, adaTarget: 0.6, augmentPipe: 'bgc', adaInterval: 4, adaKimg: 500 } as const;

/** Training sets smaller than this get ADA by default on the command line (`lia train-decoder`). */
export const ADA_DEFAULT_BELOW_IMAGES = 30000;

export function defaultAugmentMode(trainImages: number): AugmentMode {
  return trainImages < ADA_DEFAULT_BELOW_IMAGES ? 'ada' : 'off';
}

/** A sentence for `lia data info` and the run's first line. */
export function describeAugmentDefault(trainImages: number): string {
  const mode = defaultAugmentMode(trainImages);
  return mode === 'ada'
    ? `ada (adaptive discriminator augmentation: ${trainImages} training images < ${ADA_DEFAULT_BELOW_IMAGES})`
    : `off (${trainImages} training images ≥ ${ADA_DEFAULT_BELOW_IMAGES})`;
}

export function validateAugmentOptions(o: AugmentOptions): void {
  const fail = (what: string, v: unknown, expected: string) => {
    throw new Error(`invalid ${what}: ${JSON.stringify(v)} (expected ${expected})`);
  };
  if (o.augment !== undefined && !AUGMENT_MODES.includes(o.augment)) fail('augment', o.augment, AUGMENT_MODES.join(', '));
  if (o.augmentP !== undefined && !(o.augmentP >= 0 && o.augmentP <= 1)) fail('augmentP', o.augmentP, 'a number in [0, 1]');
  if (o.adaTarget !== undefined && !(o.adaTarget >= 0 && o.adaTarget <= 1)) fail('adaTarget', o.adaTarget, 'a number in [0, 1]');
  if (o.augmentPipe !== undefined && !AUGMENT_PIPES[o.augmentPipe]) fail('augmentPipe', o.augmentPipe, Object.keys(AUGMENT_PIPES).join(', '));
  if (o.adaInterval !== undefined && !(Number.isInteger(o.adaInterval) && o.adaInterval >= 1)) fail('adaInterval', o.adaInterval, 'a positive integer');
  if (o.adaKimg !== undefined && !(o.adaKimg > 0)) fail('adaKimg', o.adaKimg, 'a positive number');
}

/** Every augmentation field, the missing ones from AUGMENT_DEFAULTS (mode: off). */
export function resolveAugmentOptions(o: AugmentOptions): Required<AugmentOptions> {
  const defined = Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k in { augment: 1, ...AUGMENT_DEFAULTS }));
  const r = { augment: 'off' as AugmentMode, ...AUGMENT_DEFAULTS, ...defined } as Required<AugmentOptions>;
  validateAugmentOptions(r);
  return r;
}

export interface AugmentState {
  p: number;
  rng: RngState;
  ada: AdaControllerState | null;
}

export class DiscriminatorAugment {
  readonly mode: AugmentMode;
  readonly spec: PipeSpec;
  readonly rng: Rng;
  readonly controller: AdaController | null;
  private fixedP: number;

  constructor(opts: AugmentOptions, batch: number, seed: number) {
    validateAugmentOptions(opts);
    this.mode = opts.augment ?? 'off';
    this.spec = pipeSpec(opts.augmentPipe ?? AUGMENT_DEFAULTS.augmentPipe);
    this.rng = new Rng(seed);
    this.fixedP = this.mode === 'diffaugment' ? 1 : this.mode === 'off' ? 0 : (opts.augmentP ?? AUGMENT_DEFAULTS.augmentP);
    this.controller = this.mode === 'ada'
      ? new AdaController({
        target: opts.adaTarget ?? AUGMENT_DEFAULTS.adaTarget,
        batch,
        interval: opts.adaInterval ?? AUGMENT_DEFAULTS.adaInterval,
        speedKimg: opts.adaKimg ?? AUGMENT_DEFAULTS.adaKimg,
        p: this.fixedP,
      })
      : null;
  }

  get active(): boolean {
    return this.mode !== 'off';
  }

  /** Whether p follows D's outputs (observe() must be called once per step). */
  get adaptive(): boolean {
    return this.controller !== null;
  }

  /** The current augmentation probability (1 for DiffAugment, 0 when off). */
  get p(): number {
    return this.controller ? this.controller.p : this.fixedP;
  }

  /** Augments a batch D is about to see (new draws on every call). Returns x itself when off. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (this.mode === 'off') return x;
    if (this.mode === 'diffaugment') return applyDiffAugment(x, drawDiffAugment(this.rng, n, h, w));
    return applyAugment(x, drawAugment(this.rng, n, h, w, c, this.p, this.spec));
  }

  /** Whether the controller adjusts p once `pending` more steps are observed (ada only). */
  dueForAdjustment(pending: number): boolean {
    return this.controller !== null && (this.controller.getState().steps + pending) % this.controller.opts.interval === 0;
  }

  /** One step's mean of sign(D(real)) (ada only). */
  observe(signMean: number): void {
    this.controller?.observe(signMean);
  }

  /** The sum of several consecutive steps' means of sign(D(real)) (ada only; see AdaController.observeSum). */
  observeSum(signSum: number, count: number): void {
    this.controller?.observeSum(signSum, count);
  }

  getState(): AugmentState {
    return { p: this.p, rng: this.rng.getState(), ada: this.controller?.getState() ?? null };
  }

  setState(s: AugmentState): void {
    this.rng.setState(s.rng);
    if (this.controller && s.ada) this.controller.setState(s.ada);
  }
}
