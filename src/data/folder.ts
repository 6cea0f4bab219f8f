// An image folder as a dataset: every PNG/JPEG/WebP below the folder (recursively, hidden entries
// skipped), listed in the order of their relative paths (plain code-unit order, so it does not
// depend on the locale). Labels, in this order of precedence:
//   - a labels.csv at the folder's root, columns `file,label` (header optional, file relative to the
//     folder): every image must have a row and every row must name an image. Labels that are all
//     non-negative integers are used as class indices (class names "0".."max"); otherwise the
//     distinct names, sorted, become the classes;
//   - otherwise, when every image lies in a sub-folder, the first-level sub-folder's name;
//   - otherwise the dataset is unlabelled.
// Class names come from all files found, before decoding, so a skipped image or `limit` never
// renumbers classes. A file that cannot be decoded (truncated, not an image) is skipped with one
// warning line. Labelled folders are decoded in their classes' interleaved hash order
// (src/data/split.ts), so that `limit` keeps a share of every class; unlabelled ones, or any with
// `order: 'ordered'`, in path order.
// Channels and transparency: see src/data/decode.ts (without `channels`, a folder whose images are
// all grey is one channel; alpha is composited over white unless `background` says otherwise).
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImageList, validateBackground, WHITE, type Rgb } from './decode.js';
import { describeBackground } from './decode.js';
import type { Dataset, LoadOptions } from './dataset.js';
import { samplingOrder, splitByPath, type PathImages, type SplitRule } from './split.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];
const LABELS_CSV = 'labels.csv';

export interface FolderOptions {
  resolution: number;
  /** 1 (grey) or 3 (RGB); default: 1 when every image is grey, else 3. */
  channels?: 1 | 3;
  /** Colour that transparent pixels are composited over; default white. */
  background?: Rgb;
  /** Keep at most this many decodable images (the first ones in decode order). */
  limit?: number;
  /** Decode order: 'ordered' (path order) or 'stratified' (classes interleaved by path hash); default: stratified when labelled. */
  order?: SplitRule;
}

/** The decoded images (files: paths relative to the folder, '/'-separated, in decode order) and how they were read. */
export interface FolderImages extends PathImages {
  /** Files that were skipped because they could not be decoded. */
  skipped: string[];
  /** How the labels were found. */
  labelSource: 'labels.csv' | 'sub-folders' | 'none';
  /** Decoded images with colour (empty when read as 1 channel: grey on request or all grey). */
  colourFiles: string[];
  /** Decoded images whose file has an alpha channel. */
  alphaCount: number;
  background: Rgb;
  /** The decode order used, and so the split rule the folder is meant for. */
  order: SplitRule;
}

const isImageFile = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

/**
 * Relative paths of all image files under dir, sorted. Symbolic links to files and folders are
 * followed; one that loops (back into a folder being read, or onto itself) or dangles is skipped with
 * a warning line naming it.
 */
async function listImages(dir: string, rel = '', reading = new Set<string>()): Promise<string[]> {
  const here = await realpath(join(dir, rel));
  reading.add(here);
  const found: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    let kind: { isDirectory(): boolean; isFile(): boolean } = entry;
    if (entry.isSymbolicLink()) {
      try {
        kind = await stat(join(dir, relPath));
      } catch (e) {
        console.warn(`lia: warning: skipping ${join(dir, relPath)}: a symbolic link that cannot be followed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        continue;
      }
      if (kind.isDirectory() && reading.has(await realpath(join(dir, relPath)))) {
        console.warn(`lia: warning: skipping ${join(dir, relPath)}: a symbolic link back into a folder being read (a loop)`);
        continue;
      }
    }
    if (kind.isDirectory()) found.push(...(await listImages(dir, relPath, reading)));
    else if (kind.isFile() && isImageFile(entry.name)) found.push(relPath);
  }
  reading.delete(here);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Splits one CSV line into fields; handles "quoted, fields" with "" escapes. */
function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

const normaliseRel = (p: string) => p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');

/** Reads labels.csv into file → label name. */
async function readLabelsCsv(csvPath: string): Promise<Map<string, string>> {
  const lines = (await readFile(csvPath, 'utf8')).split(/\r?\n/);
  const map = new Map<string, string>();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = splitCsvLine(line);
    if (i === 0 && fields[0].toLowerCase() === 'file' && fields[1]?.toLowerCase() === 'label') return;
    if (fields.length !== 2 || fields[0] === '' || fields[1] === '') {
      throw new Error(`${csvPath}:${i + 1}: expected two columns 'file,label', got '${line}'`);
    }
    const file = normaliseRel(fields[0]);
    if (map.has(file)) throw new Error(`${csvPath}:${i + 1}: '${file}' is listed twice`);
    map.set(file, fields[1]);
  });
  return map;
}

/** Turns label names into class indices and the class-name table (see the header comment). */
function indexLabels(names: string[]): { indices: number[]; classNames: string[] } {
  if (names.every((s) => /^\d+$/.test(s))) {
    const indices = names.map(Number);
    const max = Math.max(...indices);
    return { indices, classNames: Array.from({ length: max + 1 }, (_, i) => String(i)) };
  }
  const classNames = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lookup = new Map(classNames.map((name, i) => [name, i]));
  return { indices: names.map((name) => lookup.get(name) ?? -1), classNames };
}

/** Finds each image's label name, or null for an unlabelled folder. */
async function findLabelNames(dir: string, files: string[]): Promise<{ names: string[] | null; source: FolderImages['labelSource'] }> {
  const csvPath = join(dir, LABELS_CSV);
  const hasCsv = await stat(csvPath).then((s) => s.isFile(), () => false);
  if (hasCsv) {
    const map = await readLabelsCsv(csvPath);
    const imageSet = new Set(files);
    const unknown = [...map.keys()].filter((f) => !imageSet.has(f));
    if (unknown.length > 0) {
      throw new Error(`${csvPath} names ${unknown.length} file(s) that are not images in ${dir}: ${unknown.slice(0, 5).join(', ')}`);
    }
    const missing = files.filter((f) => !map.has(f));
    if (missing.length > 0) {
      throw new Error(`${csvPath} has no row for ${missing.length} image(s) in ${dir}: ${missing.slice(0, 5).join(', ')}`);
    }
    return { names: files.map((f) => map.get(f) ?? ''), source: 'labels.csv' };
  }
  if (files.every((f) => f.includes('/'))) {
    return { names: files.map((f) => f.slice(0, f.indexOf('/'))), source: 'sub-folders' };
  }
  return { names: null, source: 'none' };
}

/** Reads an image folder into a uint8 NHWC cache (see the header comment for order and labels). */
export async function readImageFolder(dir: string, opts: FolderOptions): Promise<FolderImages> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`${dir}: not a folder`);
  const candidates = await listImages(dir);
  if (candidates.length === 0) {
    throw new Error(`${dir}: no images found (looked for ${IMAGE_EXTENSIONS.join(', ')} files, recursively)`);
  }
  const { names, source } = await findLabelNames(dir, candidates);
  const { indices, classNames } = names ? indexLabels(names) : { indices: null, classNames: [] };
  const background = validateBackground(opts.background ?? [...WHITE]);

  const rule = opts.order ?? (indices ? 'stratified' : 'ordered');
  const order = rule === 'stratified' ? samplingOrder(candidates, indices) : candidates.map((_, i) => i);
  const decoded = await decodeImageList(
    order.map((i) => join(dir, candidates[i])),
    { resolution: opts.resolution, channels: opts.channels ?? 'auto', background, limit: opts.limit },
  );
  if (decoded.kept.length === 0) throw new Error(`${dir}: none of its ${candidates.length} image files could be decoded`);
  const keptFiles = decoded.kept.map((k) => order[k]);

  return {
    files: keptFiles.map((i) => candidates[i]),
    pixels: decoded.pixels,
    channels: decoded.channels,
    labels: indices ? Int32Array.from(keptFiles, (i) => indices[i]) : null,
    classNames,
    skipped: decoded.skipped.map((k) => candidates[order[k]]),
    labelSource: source,
    colourFiles: decoded.colour.map((k) => candidates[order[k]]),
    alphaCount: decoded.alphaCount,
    background,
    order: rule,
  };
}

/** The notice of a folder that mixes grey and colour images (read as RGB). */
function mixedNotice(dir: string, colourFiles: string[], count: number): string {
  const examples = colourFiles.slice(0, 3).join(', ') + (colourFiles.length > 3 ? ', …' : '');
  return (
    `${dir}: ${colourFiles.length} of ${count} images are in colour (${examples}), the others grey: ` +
    `read as 3 channels (RGB), grey images repeated in R, G and B (--channels 1 reads all as grey)`
  );
}

/** An image folder as a dataset: read, described and split (see dataset.ts for the split rules). */
export async function loadFolderDataset(dir: string, opts: LoadOptions): Promise<Dataset> {
  const folder = await readImageFolder(dir, {
    resolution: opts.resolution,
    channels: opts.channels,
    background: opts.background,
    limit: opts.limit,
    order: opts.split,
  });
  const count = folder.files.length;
  const parts = [
    `image folder ${dir}: ${count} images, resized to cover ${opts.resolution}×${opts.resolution} and centre-cropped`,
    folder.channels === 1 && opts.channels === undefined ? 'all grey: 1 channel' : `${folder.channels} channel${folder.channels > 1 ? 's' : ''}`,
    `transparency over ${describeBackground(folder.background)}: ${folder.alphaCount} image(s) with alpha`,
    folder.labelSource === 'none' ? 'unlabelled' : `labels from ${folder.labelSource}`,
    ...(folder.skipped.length ? [`${folder.skipped.length} undecodable file(s) skipped`] : []),
  ];
  const split = splitByPath(folder, folder.order, opts, dir);
  const mixed = opts.channels === undefined && folder.channels === 3 && folder.colourFiles.length < count;
  return {
    name: 'folder',
    source: parts.join(', '),
    pixels: split.pixels,
    count,
    resolution: opts.resolution,
    channels: folder.channels,
    labels: split.labels,
    classNames: folder.classNames,
    files: split.files,
    train: split.train,
    test: split.test,
    split: split.split,
    notices: mixed ? [mixedNotice(dir, folder.colourFiles, count)] : [],
  };
}
