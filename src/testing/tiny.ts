// Tiny checkpoints for tests of the commands: a one-step decoder (invertible or MLP mapping) on 16×16
// shapes, a perceptual network, and an encoder trained for a few steps. Seconds on the cpu backend.
import { join } from 'node:path';
import { loadDataset, type Dataset } from '../data/index.js';
import { resolveDecoderConfig } from '../train/decoder-config.js';
import { resolveEncoderConfig } from '../train/encoder-config.js';
import { DecoderTrainer } from '../train/stage1.js';
import { EncoderTrainer } from '../train/stage2.js';
import { FeatureNet } from '../models/features.js';
import { saveFeatureNet } from '../io/network-files.js';

export const TINY_DATA = 'shapes:96';

export interface TinyCheckpoints {
  ds: Dataset;
  decoder: string;
  encoder: string;
  perceptual: string;
}

export async function makeTinyCheckpoints(dir: string, mapping: 'invertible' | 'mlp' = 'invertible', encoderSteps = 2): Promise<TinyCheckpoints> {
  const ds = await loadDataset(TINY_DATA, { resolution: 16, channels: 1 });
  const cfg = resolveDecoderConfig({ data: TINY_DATA, resolution: 16, channels: 1, batch: 4, latentSize: 16, widthBase: 64, widthMax: 16, phiBlocks: 2, mlpLayers: 2, mapping });
  const t = new DecoderTrainer(cfg, ds);
  await t.trainStep();
  const decoder = join(dir, `tiny-dec-${mapping}.safetensors`);
  await t.saveSnapshot(decoder);
  t.dispose();
  const net = new FeatureNet({ name: 'tinyperc', resolution: 16, channels: 1, widths: [4, 8, 8], fcWidth: 8, classNames: ['a', 'b'], seed: 3, training: { dataset: 'none', role: 'perceptual' } });
  const perceptual = join(dir, 'tiny-perc.safetensors');
  await saveFeatureNet(net, perceptual);
  const ecfg = { ...resolveEncoderConfig({ decoder, batch: 4, kimg: 1, widthBase: 64, widthMax: 16, perceptualNet: perceptual, r1Interval: 2 }), beta1: 0.5 };
  const e = await EncoderTrainer.create(ecfg, ds, net);
  for (let i = 0; i < encoderSteps; i++) await e.trainStep();
  const encoder = join(dir, `tiny-enc-${mapping}.safetensors`);
  await e.saveSnapshot(encoder);
  e.dispose();
  net.dispose();
  return { ds, decoder, encoder, perceptual };
}
