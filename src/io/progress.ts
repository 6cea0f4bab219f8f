// Progress for long commands: a cli-progress bar on a terminal, a plain line every 30 s otherwise
// (logs and CI), and nothing when quiet.
import cliProgress from 'cli-progress';

export interface ProgressFields {
  [key: string]: string | number;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly format: (value: number, fields: ProgressFields) => string,
    private readonly quiet = false,
  ) {
    if (!quiet && process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        { format: `${label} {bar} {percentage}% | {text} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { text: '' });
    }
  }

  update(value: number, fields: ProgressFields, etaSec?: number): void {
    if (this.quiet) return;
    const text = this.format(value, fields);
    if (this.bar) {
      this.bar.update(value, { text });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 30_000 || value >= this.total) {
      this.lastLine = now;
      const eta = etaSec !== undefined && Number.isFinite(etaSec) ? ` | ETA ${formatDuration(etaSec)}` : '';
      process.stderr.write(`${this.label} ${((100 * value) / this.total).toFixed(1)}% | ${text}${eta}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

let lastStatus = 0;

/** One-line status: redrawn in place on a terminal; in logs, a line every 30 s and the final one. */
export function statusLine(text: string, final = false): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${text}${final ? '\n' : ''}`);
    return;
  }
  const now = Date.now();
  if (final || now - lastStatus >= 30_000) {
    lastStatus = now;
    process.stderr.write(`${text}\n`);
  }
}
