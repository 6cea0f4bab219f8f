// `lia data …`: look at a dataset the way training will see it.
//   lia data info --data <spec>   counts, the split and its rule, per-class counts of both parts,
//                                 resolution, channels, labels, pixel statistics, the loader's
//                                 notices (on stderr, once), and with --out a grid of the first 64
//                                 training images.
import { defaultAugmentMode, describeAugmentDefault } from '../../augment/index.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  loadDataset,
  summariseDataset,
  imageAt,
  rangeSize,
  parseBackground,
  SPLIT_RULES,
  type Dataset,
  type DatasetSummary,
  type Rgb,
  type SplitRule,
} from '../../data/index.js';
import { writeImageGrid } from '../../io/images.js';

/** What addDataOptions adds to a command's options. */
export interface DataOptions {
  data: string;
  dataDir?: string;
  resolution: number;
  channels?: 1 | 3;
  train?: number;
  limit?: number;
}

/** What addImageSourceOptions adds: how image folders and emoji are split and flattened. */
export interface ImageSourceOptions {
  split?: SplitRule;
  background?: Rgb;
}

interface InfoOpts extends DataOptions, ImageSourceOptions {
  out?: string;
  json?: boolean;
}

const GRID_IMAGES = 64;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return n;
}

/** Options every command that reads a dataset shares: --data, --data-dir, --resolution, --channels, --train, --limit. */
export function addDataOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--data <spec>', 'dataset: fashion-mnist[:DIR], mnist:DIR|IMAGES[,LABELS], shapes[:COUNT], emoji[:google|:twitter], or an image folder')
    .option('--data-dir <dir>', 'folder of the IDX files for fashion-mnist and mnist (default for fashion-mnist: /usr/share/datasets/fashion-mnist/)')
    .addOption(new Option('--resolution <px>', 'image side, a power of two ≥ 8').default(32).argParser(positiveInt))
    .addOption(
      new Option('--channels <n>', "1 (grey) or 3 (RGB); default: the source's own (folders: 1 when every image is grey)")
        .choices(['1', '3'])
        .argParser((v) => {
          if (v !== '1' && v !== '3') throw new InvalidArgumentError('Allowed choices are 1, 3.');
          return v === '1' ? 1 : 3;
        }),
    )
    .addOption(
      new Option('--train <n>', "images in the train part (default: the source's split, or 90 %; a stratified split keeps each class's share)").argParser(positiveInt),
    )
    .addOption(new Option('--limit <n>', 'read only the first N images of each source (quick runs)').argParser(positiveInt));
}

/**
 * --split and --background, for commands that read image folders or emoji; pass them on to
 * loadDataset as { split, background }.
 */
export function addImageSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--split <rule>', 'ordered: first N train, in the source order; stratified: every class on both sides, by a stable hash of the path (default for labelled folders and emoji)').choices([
        ...SPLIT_RULES,
      ]),
    )
    .addOption(
      new Option('--background <colour>', 'colour transparent pixels are composited over: white, black or #rrggbb (default white)').argParser((v) => {
        try {
          return parseBackground(v);
        } catch (err) {
          throw new InvalidArgumentError((err as Error).message);
        }
      }),
    );
}

function formatSummary(s: DatasetSummary, out: string | undefined): string {
  const lines: string[] = [];
  const row = (key: string, value: string) => lines.push(`${key.padEnd(12)}${value}`);
  const fmt = (x: number) => x.toFixed(4);
  row('dataset', s.name);
  row('source', s.source);
  row('images', `${s.count}: train ${s.train.count} [${s.train.start}, ${s.train.end}), test ${s.test.count} [${s.test.start}, ${s.test.end})`);
  if (s.split) row('split', s.split.description);
  row('resolution', `${s.resolution}×${s.resolution}, ${s.channels === 1 ? '1 channel (grey)' : `${s.channels} channels (RGB)`}`);
  const perChannel = s.channels > 1 ? ` (${s.pixels.perChannel.map((p, k) => `${'RGB'[k]} ${fmt(p.mean)} ± ${fmt(p.std)}`).join(', ')})` : '';
  row('pixels', `mean ${fmt(s.pixels.mean)}, std ${fmt(s.pixels.std)} in [-1, 1], train part${perChannel}`);
  if (!s.classes) row('labels', 'none');
  else {
    row('labels', `${s.classes.length} classes`);
    const nameWidth = Math.max(5, ...s.classes.map((c) => c.name.length));
    lines.push(`${' '.repeat(12)}${'#'.padStart(3)}  ${'class'.padEnd(nameWidth)}  ${'train'.padStart(7)}  ${'test'.padStart(7)}`);
    for (const c of s.classes) {
      lines.push(`${' '.repeat(12)}${String(c.label).padStart(3)}  ${c.name.padEnd(nameWidth)}  ${String(c.train).padStart(7)}  ${String(c.test).padStart(7)}`);
    }
  }
  if (out) row('grid', out);
  return lines.join('\n');
}

/** Writes the first (up to) 64 training images as an 8×8 grid. */
async function writePreview(ds: Dataset, path: string): Promise<number> {
  const size = ds.resolution * ds.resolution * ds.channels;
  const available = rangeSize(ds.train) > 0 ? ds.train : { start: 0, end: ds.count };
  const n = Math.min(GRID_IMAGES, rangeSize(available));
  const data = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) data.set(imageAt(ds, available.start + i), i * size);
  await writeImageGrid(path, { data, n, h: ds.resolution, w: ds.resolution, c: ds.channels }, { cols: 8 });
  return n;
}

export function registerData(program: Command): void {
  const data = program.command('data').description('inspect datasets as training will see them');

  addImageSourceOptions(
    addDataOptions(
      data
        .command('info')
        .description('print counts, train/test split, resolution, channels, source, labels and pixel statistics of a dataset'),
    ),
  )
    .option('--out <png>', 'also write the first 64 training images as an 8×8 PNG grid')
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: InfoOpts) => {
    const ds = await loadDataset(opts.data, {
      resolution: opts.resolution,
      channels: opts.channels,
      train: opts.train,
      dataDir: opts.dataDir,
      limit: opts.limit,
      split: opts.split,
      background: opts.background,
    });
    // Notices go to stderr once, in both output forms (--json also carries them in the report).
    for (const notice of ds.notices ?? []) console.warn(`lia: note: ${notice}`);
    const summary = summariseDataset(ds);
    if (opts.out) await writePreview(ds, opts.out);
    // What `lia train-decoder` does by default with a training set of this size (src/augment).
    const augment = { default: defaultAugmentMode(summary.train.count), why: describeAugmentDefault(summary.train.count) };
    if (opts.json) console.log(JSON.stringify({ ...summary, augment, grid: opts.out ?? null }, null, 2));
    else console.log(`${formatSummary(summary, opts.out)}\ntrain-decoder --augment default: ${augment.why}`);
  });
}
