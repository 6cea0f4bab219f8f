// Channel widths per resolution, shared by the generator, the discriminator and the benchmarks.
// width(r) = min(max, base / r): with base 1024 and max 128 this gives 128/128/64/32/16 at
// 4/8/16/32/64 px, the model ENGINE.md calibrated training budgets with (a scaled-down form of
// StyleGAN's fmap_base / 2^stage rule).

export interface WidthConfig {
  base: number;
  max: number;
}

export const DEFAULT_WIDTHS: WidthConfig = { base: 1024, max: 128 };

export function channelWidth(resolution: number, cfg: WidthConfig = DEFAULT_WIDTHS): number {
  return Math.max(1, Math.min(cfg.max, Math.floor(cfg.base / resolution)));
}

/** Resolutions 4, 8, …, `resolution` (a power of two ≥ 8). */
export function levels(resolution: number): number[] {
  if (!Number.isInteger(Math.log2(resolution)) || resolution < 8) {
    throw new Error(`resolution must be a power of two ≥ 8, got ${resolution}`);
  }
  const out: number[] = [];
  for (let r = 4; r <= resolution; r *= 2) out.push(r);
  return out;
}
