// How each comparison with the paper is judged from its numbers, and the record of every verdict
// with the numbers it was judged on (results.json's `verdicts`).

export type Verdict = 'agrees' | 'inconclusive' | 'contradicts';

const lower = (a: number, b: number): Verdict => (a < b ? 'agrees' : 'contradicts');

/**
 * The rules (all "lower is better"). The paper's claims are strict inequalities, so a tie
 * contradicts; Figure 12 compares two noisy statistics, so it is judged by a confidence interval.
 */
export const VERDICTS = {
  /** Table 2: the LIA decoder's PPL in y (lerp) is below its PPL in z (slerp). */
  table2: (ppl: { z: number; y: number }): Verdict => lower(ppl.y, ppl.z),
  /** Table 3: the LIA encoder's test MSE is below the StyleGAN + encoder baseline's. */
  table3Encoder: (mse: { lia: number; baseline: number }): Verdict => lower(mse.lia, mse.baseline),
  /** Table 3: refinement from the encoder ends below MSE optimisation from the mean and from a random y. */
  table3Refinement: (mse: { refined: number; mean: number; random: number }): Verdict => lower(mse.refined, Math.min(mse.mean, mse.random)),
  /** Figure 11: eq. 13 from the encoder's code ends below the same from the mean and from a random y. */
  figure11: (loss: { encoder: number; mean: number; random: number }): Verdict => lower(loss.encoder, Math.min(loss.mean, loss.random)),
  /** Figure 10: from the encoder's code, optimising in y ends below optimising in z. */
  figure10: (loss: { y: number; z: number }): Verdict => lower(loss.y, loss.z),
  /**
   * Figure 12: the LIA encoder's gradient norm varies less (coefficient of variation) than the
   * VAE-style encoder's on the same decoder: the 95 % interval of the paired difference cv(VAE) −
   * cv(LIA) over seeds lies above 0 (agrees), below 0 (contradicts), or contains it (inconclusive).
   */
  figure12: (d: { mean: number; lo: number; hi: number }): Verdict => (d.lo > 0 ? 'agrees' : d.hi < 0 ? 'contradicts' : 'inconclusive'),
  /** Cost: the encoder plus refinement reaches N-step optimisation's MSE in less time per image. */
  costAtEqualMse: (sec: { encoderPlusRefinement: number; optimisation: number }): Verdict => lower(sec.encoderPlusRefinement, sec.optimisation),
};

export type VerdictName = keyof typeof VERDICTS;

/** Judges a comparison by its rule and records the verdict with its numbers. */
export type Judge = <K extends VerdictName>(name: K, numbers: Parameters<(typeof VERDICTS)[K]>[0]) => Verdict;

/** A judge that writes every verdict into `record`, in the order they are made. */
export function recordingJudge(record: Record<string, { verdict: Verdict; numbers: object }>): Judge {
  return (name, numbers) => {
    const verdict = (VERDICTS[name] as (n: typeof numbers) => Verdict)(numbers);
    record[name] = { verdict, numbers };
    return verdict;
  };
}
