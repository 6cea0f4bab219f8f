// `lia train-decoder` and `lia train-encoder` expose every training option: each key of the decoder
// and encoder configs has a flag whose help states the config's default, and the flags reach the run's
// options.json (one-step runs on tiny data, cpu backend).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command, type Option } from 'commander';
import { initEngine } from '../../engine/backend.js';
import { DEFAULT_DECODER_CONFIG, type DecoderTrainConfig } from '../../train/decoder-config.js';
import { DEFAULT_ENCODER_CONFIG, type EncoderTrainConfig } from '../../train/encoder-config.js';
import { makeTinyCheckpoints, type TinyCheckpoints } from '../../testing/tiny.js';
import { configFlag } from '../config-flags.js';
import { registerDecoder } from './decoder.js';
import { registerEncoder } from './encoder.js';

const dir = mkdtempSync(join(tmpdir(), 'lia-train-options-'));
const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'cpu', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
let ck: TinyCheckpoints;

before(async () => {
  await initEngine({ backend: 'cpu' });
  ck = await makeTinyCheckpoints(dir);
});

// The config keys without a default (the interfaces' optional fields, and the encoder's decoder).
const DECODER_OPTIONAL: Array<keyof DecoderTrainConfig> = ['dataDir', 'channels', 'trainImages', 'preset'];
const ENCODER_OPTIONAL: Array<keyof EncoderTrainConfig> = ['decoder', 'data', 'dataDir', 'trainImages', 'kl', 'preset'];

function commandOptions(name: string): Map<string, Option> {
  const program = new Command();
  registerDecoder(program);
  registerEncoder(program);
  const cmd = program.commands.find((c) => c.name() === name)!;
  return new Map(cmd.options.map((o) => [o.long!, o]));
}

for (const [name, defaults, optional] of [
  ['train-decoder', DEFAULT_DECODER_CONFIG, DECODER_OPTIONAL],
  ['train-encoder', DEFAULT_ENCODER_CONFIG, ENCODER_OPTIONAL],
] as Array<[string, Record<string, unknown>, string[]]>) {
  test(`${name} has a flag for every config option, and its help states the default`, () => {
    const options = commandOptions(name);
    for (const key of [...Object.keys(defaults), ...optional]) {
      const flag = configFlag(key);
      const option = options.get(flag);
      assert.ok(option, `${name}: config option ${key} has no ${flag}`);
      const value = defaults[key];
      if (value !== undefined && typeof value !== 'boolean') assert.match(option.description, new RegExp(`default ${String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`), `${name} ${flag}: "${option.description}" does not state the default ${value}`);
    }
  });
}

function options(parent: string): { train: Record<string, unknown> } {
  const [runDir] = readdirSync(parent);
  return JSON.parse(readFileSync(join(parent, runDir, 'options.json'), 'utf8'));
}

test('train-decoder: every flag reaches the run (options.json)', () => {
  const out = join(dir, 'dec');
  const r = run(
    'train-decoder', '--data', 'shapes:96', '--resolution', '8', '--channels', '3', '--train', '80', '--mirror', '--batch', '4', '--kimg', '0.004',
    '--latent', '16', '--width-base', '64', '--width-max', '16', '--mapping', 'mlp', '--mlp-layers', '3', '--mapping-lr-mul', '0.02', '--coupling', 'affine',
    '--phi-blocks', '3', '--lr', '0.001', '--r1-gamma', '2', '--r1-interval', '3', '--mixing-prob', '0.5', '--ema-kimg', '0.02', '--y-avg-beta', '0.99',
    '--mbstd-group', '2', '--seed', '4', '--snapshot-kimg', '1', '--log-steps', '1', '--out', out,
  );
  assert.equal(r.status, 0, r.stderr);
  const want: Partial<DecoderTrainConfig> = {
    data: 'shapes:96', resolution: 8, channels: 3, trainImages: 80, mirror: true, batch: 4, kimg: 0.004, latentSize: 16, widthBase: 64, widthMax: 16,
    mapping: 'mlp', mlpLayers: 3, mappingLrMul: 0.02, coupling: 'affine', phiBlocks: 3, lr: 0.001, r1Gamma: 2, r1Interval: 3, mixingProb: 0.5, emaKimg: 0.02,
    yAvgBeta: 0.99, mbstdGroup: 2, seed: 4, snapshotKimg: 1, logSteps: 1, outDir: out,
  };
  const got = options(out).train;
  for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `options.json train.${k}`);
});

test('train-encoder: every flag reaches the run (options.json)', () => {
  const out = join(dir, 'enc');
  const r = run(
    'train-encoder', '--decoder', ck.decoder, '--data', 'shapes:96', '--train', '80', '--mirror', '--batch', '4', '--kimg', '0.004', '--lr', '0.002',
    '--lr-decay', '0.5', '--latent', 'wplus', '--width-base', '32', '--width-max', '8', '--perceptual-net', ck.perceptual, '--perceptual-layer', 'conv2',
    '--beta1', '0.25', '--beta2', '0.2', '--r1-gamma', '2', '--r1-interval', '3', '--seed', '4', '--snapshot-kimg', '1', '--log-steps', '1', '--out', out,
  );
  assert.equal(r.status, 0, r.stderr);
  const want: Partial<EncoderTrainConfig> = {
    decoder: ck.decoder, data: 'shapes:96', trainImages: 80, mirror: true, batch: 4, kimg: 0.004, lr: 0.002, lrDecay: 0.5, latent: 'wplus', widthBase: 32,
    widthMax: 8, perceptualNet: ck.perceptual, perceptualLayer: 'conv2', beta1: 0.25, beta2: 0.2, r1Gamma: 2, r1Interval: 3, seed: 4, snapshotKimg: 1,
    logSteps: 1, outDir: out,
  };
  const got = options(out).train;
  for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `options.json train.${k}`);
});
