// Real-image applications: `lia interpolate --a --b` (through decoder.ts), `lia mix`,
// `lia directions fit` and `lia edit`.
import { Command, Option } from 'commander';
import { statusLine } from '../../io/progress.js';
import * as tf from '@tensorflow/tfjs';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { loadImagesFor, loadOneImage, imageTarget } from '../images.js';
import * as lia from '../../node.js';
import type { LiaModel } from '../../node.js';
import { formatTable } from '../table.js';


async function one(m: LiaModel, spec: string): Promise<{ x: tf.Tensor4D; name: string }> {
  const g = m.decoder.generator;
  const { data, name } = await loadOneImage(spec, imageTarget(m));
  return { x: tf.tensor4d(data, [1, g.resolution, g.resolution, g.channels]), name };
}

async function writeStrip(path: string, m: LiaModel, images: tf.Tensor4D, labels?: string[]): Promise<void> {
  await lia.writeImages(path, images, { scale: m.decoder.generator.resolution < 64 ? 2 : 1, labels });
}

/** `lia interpolate --ckpt E --a img --b img`: the real-image path of `lia interpolate`. */
export async function interpolateReal(opts: EngineOptions & { ckpt: string; a: string; b: string; space: 'y' | 'z'; steps: number; out: string }): Promise<void> {
  await initEngineFrom(opts);
  const m = await lia.loadModel(opts.ckpt);
  try {
    const a = await one(m, opts.a);
    const b = await one(m, opts.b);
    const mid = lia.interpolate(m, a.x, b.x, { space: opts.space, steps: opts.steps });
    const strip = tf.concat([a.x, mid, b.x], 0) as tf.Tensor4D;
    const labels = ['A', ...Array.from({ length: opts.steps }, (_, i) => `t=${(i / (opts.steps - 1)).toFixed(2)}`), 'B'];
    await writeStrip(opts.out, m, strip, labels);
    tf.dispose([a.x, b.x, mid, strip]);
    console.error(`wrote ${opts.out}: ${a.name}, then ${opts.steps} images ${opts.space === 'y' ? 'lerping in y' : 'slerping in z'} from its code to that of ${b.name}, then ${b.name}`);
  } finally {
    lia.disposeModel(m);
  }
}

export function registerApps(program: Command): void {
  addEngineOptions(
    program
      .command('mix')
      .description('style mixing of two real images: coarse layers from one, fine layers from the other')
      .requiredOption('--ckpt <file>', 'encoder checkpoint')
      .requiredOption('--coarse <image>', 'image file or test:N / train:N giving the coarse styles (layout, shape)')
      .requiredOption('--fine <image>', 'image giving the fine styles (texture, shading)')
      .addOption(new Option('--crossover <k>', 'first style input taken from --fine (default: half of them)').argParser(parsePositiveInt))
      .requiredOption('--out <png>', 'strip: coarse, fine, their reconstructions, the mix'),
  ).action(async (opts: EngineOptions & { ckpt: string; coarse: string; fine: string; crossover?: number; out: string }) => {
    await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      const k = opts.crossover ?? Math.floor(m.G.numWs / 2);
      const c = await one(m, opts.coarse);
      const f = await one(m, opts.fine);
      const out = lia.mix(m, c.x, f.x, k);
      const strip = tf.concat([c.x, f.x, out], 0) as tf.Tensor4D;
      await writeStrip(opts.out, m, strip, ['coarse', 'fine', 'g(f(coarse))', 'g(f(fine))', `mix @${k}`]);
      tf.dispose([c.x, f.x, out, strip]);
      console.error(`wrote ${opts.out}: style inputs 0…${k - 1} from ${c.name}, ${k}…${m.G.numWs - 1} from ${f.name}`);
    } finally {
      lia.disposeModel(m);
    }
  });

  const directions = program.command('directions').description('linear attribute directions in y');
  addEngineOptions(
    directions
      .command('fit')
      .description('edit directions in y: one per label (logistic regression on encoded images, one-vs-rest), or without labels: SeFa (eigenvectors of the first style affine) or PCA of sampled y (GANSpace)')
      .requiredOption('--ckpt <file>', 'encoder checkpoint (a decoder snapshot is enough for sefa and pca)')
      .addOption(new Option('--method <m>', 'labels, sefa or pca').choices(['labels', 'sefa', 'pca']).default('labels'))
      .addOption(new Option('--count <k>', 'sefa, pca: directions to keep (the largest first)').argParser(parsePositiveInt).default(8))
      .addOption(new Option('--samples <n>', 'sefa, pca: sampled codes (the spread of edits; pca: the axes)').argParser(parsePositiveInt).default(10000))
      .option('--data <spec>', "labelled images: a dataset with classes (fashion-mnist, a folder with sub-folders or labels.csv); default: the checkpoint's dataset, train split")
      .option('--labels <names>', 'comma-separated class names to fit (default: every class)')
      .addOption(new Option('--limit <n>', 'images to encode').argParser(parsePositiveInt).default(10000))
      .requiredOption('--out <file>', 'directions (.safetensors)'),
  ).action(async (opts: EngineOptions & { ckpt: string; method: 'labels' | 'sefa' | 'pca'; count: number; samples: number; data?: string; labels?: string; limit: number; out: string }) => {
    await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      if (opts.method !== 'labels') {
        const fit = opts.method === 'sefa' ? lia.sefaDirections : lia.pcaDirections;
        const dirs = await fit(m.G, opts.count, { samples: opts.samples, seed: 0 });
        await lia.writeDirections(opts.out, dirs, { checkpoint: opts.ckpt, method: opts.method, samples: opts.samples });
        console.log(formatTable(['direction', opts.method === 'sefa' ? 'eigenvalue of W Wᵀ' : 'variance of y along it', 'scale (std of sampled y·n)'], dirs.map((x) => [x.name, x.value!.toPrecision(4), x.scale.toPrecision(3)])));
        console.error(`wrote ${opts.out}: ${dirs.length} ${opts.method} directions`);
        return;
      }
      const target = imageTarget(m);
      const { images, labels, dataset } = await loadImagesFor(opts.data ?? 'train', target, opts.limit);
      if (!labels || dataset.classNames.length < 2) throw new Error(`${opts.data ?? m.data}: directions need labelled images with at least two classes (sub-folders or labels.csv for a folder), found ${dataset.classNames.length} class(es)`);
      const wanted = opts.labels ? opts.labels.split(',').map((s) => s.trim()) : dataset.classNames;
      for (const w of wanted) if (!dataset.classNames.includes(w)) throw new Error(`--labels: '${w}' is not a class of ${dataset.name} (classes: ${dataset.classNames.join(', ')})`);
      const { resolution: r, channels: c } = target;
      const x = tf.tensor4d(images.data, [images.n, r, r, c]);
      const classes = wanted.map((w) => dataset.classNames.indexOf(w));
      const relabelled = Array.from(labels, (l) => classes.indexOf(l));
      const y = await lia.encodeCodesOf(m, x, 256, (done, total) => statusLine(`encoding ${done}/${total}`, done >= total));
      x.dispose();
      const dirs = lia.fitDirectionsFromCodes(y, relabelled, wanted, m.G.config.latentSize);
      await lia.writeDirections(opts.out, dirs, { checkpoint: opts.ckpt, data: opts.data ?? `${m.data} (train)`, images: images.n });
      console.log(formatTable(['direction', 'images with it', 'accuracy (fit)', 'accuracy (held out)', 'scale'], dirs.map((x) => [x.name, x.positives, x.trainAccuracy.toFixed(3), x.heldOutAccuracy.toFixed(3), x.scale.toPrecision(3)])));
      console.error(`wrote ${opts.out}: ${dirs.length} directions fitted on ${images.n} encoded images`);
    } finally {
      lia.disposeModel(m);
    }
  });

  addEngineOptions(
    program
      .command('edit')
      .description('edit a real image along a direction in y: g(f(x) + α·scale·n) for each strength α')
      .requiredOption('--ckpt <file>', 'encoder checkpoint')
      .requiredOption('--image <image>', 'image file or test:N / train:N')
      .requiredOption('--directions <file>', 'directions file (lia directions fit)')
      .requiredOption('--direction <name>', 'which direction')
      .option('--strength <list>', 'strengths α in standard deviations of the codes along the direction', '-3,-2,-1,0,1,2,3')
      .requiredOption('--out <png>', 'the original, then one image per strength'),
  ).action(async (opts: EngineOptions & { ckpt: string; image: string; directions: string; direction: string; strength: string; out: string }) => {
    await initEngineFrom(opts);
    const m = await lia.loadModel(opts.ckpt);
    try {
      const dirs = await lia.readDirections(opts.directions);
      const dir = dirs.find((x) => x.name === opts.direction);
      if (!dir) throw new Error(`${opts.directions} has no direction '${opts.direction}' (it has: ${dirs.map((x) => x.name).join(', ')})`);
      const strengths = opts.strength.split(',').map((s) => {
        const v = Number(s);
        if (!Number.isFinite(v)) throw new Error(`--strength: '${s}' is not a number`);
        return v;
      });
      const img = await one(m, opts.image);
      const edited = await lia.edit(m, img.x, dir, strengths);
      const out = tf.concat([img.x, edited], 0) as tf.Tensor4D;
      edited.dispose();
      await writeStrip(opts.out, m, out, ['original', ...strengths.map((a) => `α=${a}`)]);
      tf.dispose([img.x, out]);
      console.error(`wrote ${opts.out}: ${img.name} edited along '${dir.name}' at α = ${strengths.join(', ')}`);
    } finally {
      lia.disposeModel(m);
    }
  });
}
