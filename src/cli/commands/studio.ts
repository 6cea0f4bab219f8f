// `lia studio` (the browser studio's server) and `lia decode` (codes files back to images).
// `lia pack-model` lives in pack-model.ts.
import { Command, Option } from 'commander';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { startStudioServer } from '../../studio/server.js';
import * as lia from '../../node.js';
import { registerPackModel } from './pack-model.js';

export { PACKAGE_ROOT } from '../../io/model-folders.js';
import { PACKAGE_ROOT } from '../../io/model-folders.js';

export { DATA_LICENCES } from './pack-model.js';

export function registerStudio(program: Command): void {
  program
    .command('studio')
    .description('serve the browser studio (encode, refine, interpolate, mix, edit and sample images) on 127.0.0.1, offline')
    .addOption(new Option('--port <n>', 'port').argParser(parsePositiveInt).default(8080))
    .option('--model <file>', 'also offer this encoder checkpoint (or model folder) in the studio, listed first')
    .option('--models <dir>', 'folder of model folders (lia pack-model)', join(PACKAGE_ROOT, 'models'))
    .action(async (opts: { port: number; model?: string; models: string }) => {
      const s = await startStudioServer({ webDir: join(PACKAGE_ROOT, 'dist', 'web'), modelsDir: opts.models, extraModel: opts.model, port: opts.port });
      console.log(`lia studio: ${s.url} (Ctrl-C stops it)`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void s.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  addEngineOptions(
    program
      .command('decode')
      .description('render a codes file (lia encode, lia invert, the studio) back to images')
      .requiredOption('--ckpt <file>', 'the encoder checkpoint or decoder snapshot the codes belong to')
      .requiredOption('--codes <file>', 'codes (.safetensors): y, ws (one y per style input) or z')
      .addOption(new Option('--space <s>', 'which codes of the file to render (default: y, else ws, else z)').choices(['y', 'ws', 'z']))
      .requiredOption('--out <png>', 'one image per code, in a row'),
  ).action(async (opts: EngineOptions & { ckpt: string; codes: string; space?: 'y' | 'ws' | 'z'; out: string }) => {
    await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      const file = await lia.readCodes(opts.codes);
      const space = opts.space ?? (['y', 'ws', 'z'] as const).find((s) => file.codes[s]);
      const code = space ? file.codes[space] : undefined;
      if (!space || !code) throw new Error(`${opts.codes}: has no '${opts.space}' codes (it has: ${Object.keys(file.codes).join(', ')})`);
      const t = (code.shape.length === 3 ? tf.tensor3d(code.data, code.shape as [number, number, number]) : tf.tensor2d(code.data, code.shape as [number, number]));
      const images = lia.render(m, t, space === 'z' ? 'z' : 'y');
      await lia.writeImages(opts.out, images, { cols: Math.min(16, images.shape[0]), scale: m.decoder.generator.resolution < 64 ? 2 : 1 });
      tf.dispose([t, images]);
      console.error(`wrote ${opts.out}: ${code.shape[0]} images from the '${space}' codes of ${opts.codes}`);
    } finally {
      lia.disposeModel(m);
    }
  });

  registerPackModel(program);
}
