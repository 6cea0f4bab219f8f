#!/usr/bin/env node
// The `lia` command. Each command lives in src/cli/commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { registerDoctor } from './cli/commands/doctor.js';
import { registerBench } from './cli/commands/bench.js';
import { registerData } from './cli/commands/data.js';
import { registerDecoder } from './cli/commands/decoder.js';
import { registerEval } from './cli/commands/eval.js';
import { registerEncoder } from './cli/commands/encoder.js';
import { registerFeatures } from './cli/commands/features.js';
import { registerInvert } from './cli/commands/invert.js';
import { registerApps } from './cli/commands/apps.js';
import { registerDemo } from './cli/commands/demo.js';
import { registerExperiment } from './cli/commands/experiment.js';
import { registerStudio } from './cli/commands/studio.js';
import { registerBatch } from './cli/commands/batch.js';
import { shutdownEngine } from './engine/backend.js';

const program = new Command()
  .name('lia')
  .description('Latently Invertible Autoencoders: train a StyleGAN-style decoder with an invertible mapping, then an encoder that inverts real images in one pass')
  .version('0.1.0')
  .showHelpAfterError();

registerDoctor(program);
registerBench(program);
registerData(program);
registerDecoder(program);
registerEval(program);
registerEncoder(program);
registerFeatures(program);
registerInvert(program);
registerApps(program);
registerDemo(program);
registerExperiment(program);
registerStudio(program);
registerBatch(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`lia: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await shutdownEngine();
}
