// The budgets of `lia experiment paper` (how many images, steps and seeds each part uses) and the
// options of a run.

export type PaperBudget = 'smoke' | 'small' | 'full';

export interface BudgetSettings {
  /** Table 2: PPL paths per space and decoder. */
  pplSamples: number;
  /** Table 3: test images the encoders reconstruct. */
  evalImages: number;
  /** Table 3: the first images of those, refined and optimised. */
  optImages: number;
  /** Adam steps of refinement and optimisation (Table 3, Figures 10 and 11). */
  optSteps: number;
  /** Figures 10 and 11: images per curve. */
  curveImages: number;
  /** Figure 12: thousands of images each encoder trains for. */
  fig12Kimg: number;
  /** Figure 12: seeds, one LIA and one VAE-style encoder each. */
  fig12Seeds: number;
  /** Cost: images timed. */
  costImages: number;
  /** Cost: steps of MSE optimisation. */
  costSteps: number;
}

export const PAPER_BUDGETS: Record<PaperBudget, BudgetSettings> = {
  smoke: { pplSamples: 32, evalImages: 64, optImages: 16, optSteps: 5, curveImages: 8, fig12Kimg: 0.064, fig12Seeds: 2, costImages: 4, costSteps: 10 },
  small: { pplSamples: 2000, evalImages: 10000, optImages: 256, optSteps: 100, curveImages: 64, fig12Kimg: 3, fig12Seeds: 3, costImages: 16, costSteps: 1000 },
  full: { pplSamples: 10000, evalImages: 10000, optImages: 1000, optSteps: 1000, curveImages: 256, fig12Kimg: 20, fig12Seeds: 5, costImages: 64, costSteps: 1000 },
};

export interface PaperOptions {
  data: string;
  budget: PaperBudget;
  out: string;
  liaDecoder: string;
  mlpDecoder: string;
  liaEncoder: string;
  baselineEncoder: string;
  evalNet: string;
  /** Refinement learning rate (Adam). */
  lr: number;
  /** KL weight of the VAE-style encoder of Figure 12. */
  kl: number;
  quiet?: boolean;
}
