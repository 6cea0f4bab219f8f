// How training-config keys appear on the command line, so that help texts can name the flags a
// preset sets. Every key's flag is its kebab case, except the three the commands shorten.

const SHORTER: Record<string, string> = { latentSize: 'latent', trainImages: 'train', outDir: 'out' };

/** A config key's flag: `mixingProb` → `--mixing-prob`, `latentSize` → `--latent`. */
export function configFlag(key: string): string {
  return `--${SHORTER[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Each preset with the defaults it replaces: "quick: --kimg 60 --latent 128; paper: …". */
export function describePresets(presets: Record<string, object>): string {
  return Object.entries(presets)
    .map(([name, p]) => `${name}: ${Object.entries(p).map(([k, v]) => `${configFlag(k)} ${v}`).join(' ')}`)
    .join('; ');
}
