// Real-image applications: `lia interpolate --a --b` (through decoder.ts), `lia mix`,
// `lia directions fit` and `lia edit`.
import { Command, Option } from 'commander';
import { statusLine } from '../progress.js';
import * as tf from '@tensorflow/tfjs';
import { addEngineOptions, initEngineFrom, parsePositiveInt, type EngineOptions } from '../engine-options.js';
import { loadImagesFor, loadOneImage, imageTarget } from '../images.js';
import { loadModel, disposeModel, encodeY, type LiaModel } from '../../invert/model.js';
import { interpolateImages, mixImages } from '../../invert/apps.js';
import { fitDirection, editSeries, type Direction } from '../../invert/directions.js';
import { writeImageGrid } from '../../io/images.js';
import { writeSafetensorsFile, readSafetensorsFile, withLiaMetadata, readLiaConfig } from '../../io/safetensors.js';
import { formatTable } from '../table.js';


async function one(m: LiaModel, spec: string): Promise<{ x: tf.Tensor4D; name: string }> {
  const g = m.decoder.generator;
  const { data, name } = await loadOneImage(spec, imageTarget(m));
  return { x: tf.tensor4d(data, [1, g.resolution, g.resolution, g.channels]), name };
}

async function writeStrip(path: string, m: LiaModel, images: tf.Tensor4D, labels?: string[]): Promise<void> {
  const g = m.decoder.generator;
  const n = images.shape[0];
  await writeImageGrid(path, { data: (await images.data()) as Float32Array, n, h: g.resolution, w: g.resolution, c: g.channels }, { cols: n, scale: g.resolution < 64 ? 2 : 1, labels });
}

/** `lia interpolate --ckpt E --a img --b img`: the real-image path of `lia interpolate`. */
export async function interpolateReal(opts: EngineOptions & { ckpt: string; a: string; b: string; space: 'y' | 'z'; steps: number; out: string }): Promise<void> {
  await initEngineFrom(opts);
  const m = await loadModel(opts.ckpt);
  try {
    const a = await one(m, opts.a);
    const b = await one(m, opts.b);
    const mid = interpolateImages(m, a.x, b.x, opts.space, opts.steps);
    const strip = tf.concat([a.x, mid, b.x], 0) as tf.Tensor4D;
    const labels = ['A', ...Array.from({ length: opts.steps }, (_, i) => `t=${(i / (opts.steps - 1)).toFixed(2)}`), 'B'];
    await writeStrip(opts.out, m, strip, labels);
    tf.dispose([a.x, b.x, mid, strip]);
    console.error(`wrote ${opts.out}: ${a.name}, then ${opts.steps} images ${opts.space === 'y' ? 'lerping in y' : 'slerping in z'} from its code to that of ${b.name}, then ${b.name}`);
  } finally {
    disposeModel(m);
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
    const m = await loadModel(opts.ckpt);
    try {
      const k = opts.crossover ?? Math.floor(m.G.numWs / 2);
      const c = await one(m, opts.coarse);
      const f = await one(m, opts.fine);
      const out = mixImages(m, c.x, f.x, k);
      const strip = tf.concat([c.x, f.x, out], 0) as tf.Tensor4D;
      await writeStrip(opts.out, m, strip, ['coarse', 'fine', 'g(f(coarse))', 'g(f(fine))', `mix @${k}`]);
      tf.dispose([c.x, f.x, out, strip]);
      console.error(`wrote ${opts.out}: style inputs 0…${k - 1} from ${c.name}, ${k}…${m.G.numWs - 1} from ${f.name}`);
    } finally {
      disposeModel(m);
    }
  });

  const directions = program.command('directions').description('linear attribute directions in y');
  addEngineOptions(
    directions
      .command('fit')
      .description('fit one direction per label in y with logistic regression on encoded images (one-vs-rest)')
      .requiredOption('--ckpt <file>', 'encoder checkpoint')
      .option('--data <spec>', "labelled images: a dataset with classes (fashion-mnist, a folder with sub-folders or labels.csv); default: the checkpoint's dataset, train split")
      .option('--labels <names>', 'comma-separated class names to fit (default: every class)')
      .addOption(new Option('--limit <n>', 'images to encode').argParser(parsePositiveInt).default(10000))
      .requiredOption('--out <file>', 'directions (.safetensors)'),
  ).action(async (opts: EngineOptions & { ckpt: string; data?: string; labels?: string; limit: number; out: string }) => {
    await initEngineFrom(opts);
    const m = await loadModel(opts.ckpt);
    try {
      const target = imageTarget(m);
      const { images, labels, dataset } = await loadImagesFor(opts.data ?? 'train', target, opts.limit);
      if (!labels || dataset.classNames.length < 2) throw new Error(`${opts.data ?? m.data}: directions need labelled images with at least two classes (sub-folders or labels.csv for a folder), found ${dataset.classNames.length} class(es)`);
      const wanted = opts.labels ? opts.labels.split(',').map((s) => s.trim()) : dataset.classNames;
      for (const w of wanted) if (!dataset.classNames.includes(w)) throw new Error(`--labels: '${w}' is not a class of ${dataset.name} (classes: ${dataset.classNames.join(', ')})`);
      const d = m.G.config.latentSize;
      const { resolution: r, channels: c } = target;
      const size = r * r * c;
      const y = new Float32Array(images.n * d);
      for (let i = 0; i < images.n; i += 256) {
        const b = Math.min(256, images.n - i);
        const code = tf.tidy(() => encodeY(m, tf.tensor4d(images.data.subarray(i * size, (i + b) * size), [b, r, r, c])));
        y.set((await code.data()) as Float32Array, i * d);
        code.dispose();
        statusLine(`encoding ${i + b}/${images.n}`, i + b >= images.n);
      }
      const dirs: Direction[] = [];
      for (const name of wanted) {
        const k = dataset.classNames.indexOf(name);
        const positive = Array.from(labels, (l) => l === k);
        dirs.push(fitDirection(name, y, images.n, d, positive));
      }
      await writeDirections(opts.out, dirs, { checkpoint: opts.ckpt, data: opts.data ?? `${m.data} (train)`, images: images.n });
      console.log(formatTable(['direction', 'images with it', 'accuracy (fit)', 'accuracy (held out)', 'scale'], dirs.map((x) => [x.name, x.positives, x.trainAccuracy.toFixed(3), x.heldOutAccuracy.toFixed(3), x.scale.toPrecision(3)])));
      console.error(`wrote ${opts.out}: ${dirs.length} directions fitted on ${images.n} encoded images`);
    } finally {
      disposeModel(m);
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
    const m = await loadModel(opts.ckpt);
    try {
      const dirs = await readDirections(opts.directions);
      const dir = dirs.find((x) => x.name === opts.direction);
      if (!dir) throw new Error(`${opts.directions} has no direction '${opts.direction}' (it has: ${dirs.map((x) => x.name).join(', ')})`);
      const strengths = opts.strength.split(',').map((s) => {
        const v = Number(s);
        if (!Number.isFinite(v)) throw new Error(`--strength: '${s}' is not a number`);
        return v;
      });
      const img = await one(m, opts.image);
      const y = encodeY(m, img.x);
      const codes = editSeries(await y.data(), dir, strengths);
      const out = tf.tidy(() => tf.concat([img.x, m.G.render(tf.tensor2d(codes, [strengths.length, dir.n.length]))], 0) as tf.Tensor4D);
      await writeStrip(opts.out, m, out, ['original', ...strengths.map((a) => `α=${a}`)]);
      tf.dispose([img.x, y, out]);
      console.error(`wrote ${opts.out}: ${img.name} edited along '${dir.name}' at α = ${strengths.join(', ')}`);
    } finally {
      disposeModel(m);
    }
  });
}

export async function writeDirections(path: string, dirs: Direction[], about: Record<string, unknown>): Promise<void> {
  const tensors = Object.fromEntries(dirs.map((x) => [x.name, { dtype: 'F32' as const, shape: [x.n.length], data: Float32Array.from(x.n) }]));
  const stats = dirs.map(({ n: _n, ...rest }) => rest);
  await writeSafetensorsFile(path, tensors, withLiaMetadata({ ...about, directions: stats }, { kind: 'lia-directions' }));
}

export async function readDirections(path: string): Promise<Direction[]> {
  const file = await readSafetensorsFile(path);
  if (file.metadata?.kind !== 'lia-directions') throw new Error(`${path}: expected a directions file (lia directions fit), found kind '${file.metadata?.kind ?? 'none'}'`);
  const cfg = readLiaConfig(file.metadata, path) as { directions: Array<Omit<Direction, 'n'>> };
  return cfg.directions.map((s) => {
    const t = file.tensors[s.name];
    if (!t) throw new Error(`${path}: direction '${s.name}' has no tensor`);
    return { ...s, n: Float64Array.from(t.data as Float32Array) };
  });
}
