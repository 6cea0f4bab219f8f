// Network files (Node): the feature networks and VGG16 weights read from and written to safetensors
// files. The networks themselves (models/) take tensors and run anywhere.
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file.js';
import { FeatureNet } from '../models/features.js';
import { Vgg16, type VggPreprocessing } from '../models/vgg16.js';

/**
 * The evaluation networks shipped with the repository (role eval), by dataset, as paths relative to
 * the repository root. Each differs from its dataset's perceptual network in architecture and recipe,
 * not only in seed, so that FID of reconstructions is not scored by a twin of the encoder's loss
 * (results/features/README.md).
 */
export const DEFAULT_EVAL_NET: Record<string, string> = {
  'fashion-mnist': 'results/features/fmnist-eval-wide.safetensors',
  emoji: 'results/features/emoji-eval.safetensors',
};

/** DEFAULT_EVAL_NET for a --help text: "<file> for <dataset>, …". */
export function describeDefaultEvalNets(): string {
  return Object.entries(DEFAULT_EVAL_NET).map(([d, f]) => `${f} for ${d}`).join(', ');
}

/** Writes a feature network to a safetensors file (atomically). */
export async function saveFeatureNet(net: FeatureNet, path: string): Promise<void> {
  await writeSafetensorsFile(path, await net.weights(), net.metadata());
}

/** Reads a feature network from a safetensors file. */
export async function loadFeatureNet(path: string): Promise<FeatureNet> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  return FeatureNet.fromSafetensors(tensors, metadata, path);
}

/** Reads a VGG16 safetensors file (torchvision or Keras naming). */
export async function loadVgg16(path: string, opts: { preprocessing?: VggPreprocessing } = {}): Promise<Vgg16> {
  const { tensors } = await readSafetensorsFile(path);
  return Vgg16.fromSafetensors(tensors, { ...opts, source: path });
}
