// Line charts as standalone SVG (loss curves for reports): several series, optional log-scale y,
// axis ticks and a legend. No browser or canvas needed, and the file opens anywhere.

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const e = raw / mag;
  const step = (e >= 7.5 ? 10 : e >= 3.5 ? 5 : e >= 1.5 ? 2 : 1) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}

export function lineChartSvg(series: Series[], opts: ChartOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { l: 70, r: 20, t: 36, b: 50 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.logY || y > 0));
  if (pts.length === 0) throw new Error(`chart '${opts.title}': no finite points to plot`);
  const ty = (y: number) => (opts.logY ? Math.log10(y) : y);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = 0.04 * (y1 - y0);
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((ty(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  // Axes and ticks.
  const xt = niceTicks(x0, x1);
  const yt = opts.logY
    ? Array.from({ length: Math.floor(y1) - Math.ceil(y0) + 1 }, (_, i) => 10 ** (Math.ceil(y0) + i))
    : niceTicks(y0, y1);
  const yTicks = yt.length >= 2 ? yt : niceTicks(10 ** y0, 10 ** y1).filter((v) => v > 0);
  for (const v of xt) {
    const x = sx(v);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  for (const v of opts.logY ? yTicks : yt) {
    const y = sy(v);
    if (y < m.t - 1 || y > H - m.b + 1) continue;
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}${opts.logY ? ' (log scale)' : ''}</text>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.logY || y > 0));
    if (good.length) {
      const d = good.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`);
    }
    const ly = m.t + 14 + 16 * i;
    parts.push(`<line x1="${W - m.r - 150}" y1="${ly - 4}" x2="${W - m.r - 130}" y2="${ly - 4}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r - 125}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
