// What every training command does around the run loop: Ctrl-C / SIGTERM write a snapshot and stop
// (a second signal aborts), and a progress bar shows kimg, img/s, ETA and the latest losses.
import { runTraining, type Trainable, type RunResult } from './run-loop.js';
import { Progress, formatDuration } from '../io/progress.js';

export async function runWithProgress<L extends object>(
  label: string,
  trainer: Trainable<L>,
  runDir: string,
  describe: (losses: L) => string,
  quiet = false,
  /** Wall-clock time (Date.now()) at which the run writes a snapshot and stops, for time budgets. */
  deadline = Infinity,
): Promise<RunResult> {
  const total = trainer.cfg.kimg;
  let stopRequested = false;
  const onSignal = (sig: string) => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write(`\n${sig}: writing a snapshot, then stopping (again to abort)\n`);
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  // Only rank 0 of a data-parallel run shows progress.
  quiet = quiet || !(trainer.parallel?.isPrimary ?? true);
  const bar = new Progress(label, total * 1000, (_v, f) => `${f.kimg}/${Number(total.toFixed(2))} kimg | ${f.ips} img/s | ${f.losses}`, quiet);
  try {
    const result = await runTraining(trainer, runDir, {
      shouldStop: () => stopRequested || Date.now() >= deadline,
      onStep: (s) => {
        const eta = ((s.totalKimg - s.kimg) * 1000) / Math.max(s.imgPerSec, 1e-9);
        bar.update(trainer.imagesSeen, { kimg: s.kimg.toFixed(2), ips: s.imgPerSec.toFixed(1), losses: describe(s.losses) }, eta);
      },
    });
    bar.stop();
    if (!quiet) {
      process.stderr.write(
        `${result.reason === 'done' ? 'finished' : 'stopped'} at ${result.kimg.toFixed(2)} kimg after ${formatDuration(result.elapsedSec)} of training; snapshot ${result.snapshot}\n`,
      );
    }
    return result;
  } finally {
    bar.stop();
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
}
