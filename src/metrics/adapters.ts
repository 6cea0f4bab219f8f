// A decoder as the metrics see it: z → y → image, with the fixed noise maps (deterministic) or, given
// a noise seed, fresh per-pixel noise.
import type { Generator } from '../models/generator.js';
import type { GeneratorLike } from './types.js';

export function asGeneratorLike(G: Generator): GeneratorLike {
  return {
    latentSize: G.config.latentSize,
    resolution: G.config.resolution,
    channels: G.config.channels,
    mapping: (z) => G.toY(z),
    synthesis: (y, noiseSeed) => (noiseSeed === undefined ? G.render(y) : G.synthesis.forward(y, { noise: 'random', noiseSeed })),
  };
}
