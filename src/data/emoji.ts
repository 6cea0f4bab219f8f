// The emoji dataset: the 64×64 PNGs of the npm packages emoji-datasource-google and
// emoji-datasource-twitter (iamcal/emoji-data, MIT), read from where npm put them. Nothing is
// downloaded at run time; without the packages the loader fails with the command that installs them.
//   emoji           both vendors' images together (the same emoji drawn twice, two styles)
//   emoji:google    one vendor
//   emoji:twitter
// Layout of a package root: emoji.json (an array with one object per emoji: `image` the file name,
// `category` e.g. "Smileys & Emotion", `has_img_<vendor>`) and img/<vendor>/64/<image>. One image per
// emoji.json entry: the skin-tone variants (`skin_variations`) are left out, as near-copies of
// their base emoji they would crowd "People & Body" and put the same drawing on both sides of the
// split. Labels are the categories, sorted by name. Each image's relative path, for the split's
// hash and ds.files, is `<vendor>/<image>`.
// Package roots are found, in this order: LoadOptions.emojiDirs, the LIA_EMOJI_DIR environment
// variable (roots separated by the platform's path delimiter, ':' on Linux), or Node's module
// resolution from the current folder and from lia's own installation.
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { decodeImageList, validateBackground, WHITE, type Rgb } from './decode.js';
import { describeBackground } from './decode.js';
import type { Dataset, LoadOptions } from './dataset.js';
import { samplingOrder, splitByPath, type SplitRule } from './split.js';

export const EMOJI_VENDORS = ['google', 'twitter'] as const;
export type EmojiVendor = (typeof EMOJI_VENDORS)[number];
export const EMOJI_PACKAGES: Record<EmojiVendor, string> = { google: 'emoji-datasource-google', twitter: 'emoji-datasource-twitter' };
export const EMOJI_INSTALL_COMMAND = `npm install --no-save ${EMOJI_VENDORS.map((v) => EMOJI_PACKAGES[v]).join(' ')}`;
export const EMOJI_DIR_ENV = 'LIA_EMOJI_DIR';
const EMOJI_SIZE = 64;

/** The vendors an `emoji[:VENDOR]` spec names. */
export function parseEmojiVendors(rest: string | undefined): EmojiVendor[] {
  if (rest === undefined || rest === '') return [...EMOJI_VENDORS];
  const vendor = EMOJI_VENDORS.find((v) => v === rest);
  if (!vendor) throw new Error(`emoji:VENDOR takes ${EMOJI_VENDORS.join(' or ')}, got '${rest}'`);
  return [vendor];
}

export interface EmojiPackage {
  vendor: EmojiVendor;
  root: string;
  /** From the root's package.json, when it has one. */
  version?: string;
}

const isDir = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);
const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);
const imageDir = (root: string, vendor: EmojiVendor) => join(root, 'img', vendor, String(EMOJI_SIZE));

async function servesVendor(root: string, vendor: EmojiVendor): Promise<boolean> {
  return (await isFile(join(root, 'emoji.json'))) && (await isDir(imageDir(root, vendor)));
}

/** The package root of one vendor by Node's module resolution from each base, or undefined. */
function resolvePackage(vendor: EmojiVendor, searchFrom: string[]): string | undefined {
  for (const base of searchFrom) {
    try {
      return dirname(createRequire(base).resolve(`${EMOJI_PACKAGES[vendor]}/package.json`));
    } catch {
      // Not installed below this base; try the next.
    }
  }
  return undefined;
}

async function readVersion(root: string): Promise<string | undefined> {
  try {
    const version: unknown = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

export interface FindEmojiOptions {
  /** Package roots to use instead of module resolution (default: $LIA_EMOJI_DIR, if set). */
  dirs?: string[];
  /** Files or folders to resolve the packages from (default: the current folder and lia itself). */
  searchFrom?: string[];
}

/** The emoji-dir roots from the environment, or undefined when LIA_EMOJI_DIR is unset or empty. */
function dirsFromEnv(): string[] | undefined {
  const value = process.env[EMOJI_DIR_ENV];
  const dirs = value?.split(delimiter).filter((d) => d !== '');
  return dirs && dirs.length > 0 ? dirs : undefined;
}

/** Finds the package root of each vendor; the error names what is missing and how to install it. */
export async function findEmojiPackages(vendors: EmojiVendor[], opts: FindEmojiOptions = {}): Promise<EmojiPackage[]> {
  const dirs = opts.dirs ?? dirsFromEnv();
  const searchFrom = opts.searchFrom ?? [join(process.cwd(), 'package.json'), import.meta.url];
  const found: EmojiPackage[] = [];
  const missing: EmojiVendor[] = [];
  for (const vendor of vendors) {
    let root: string | undefined;
    if (dirs) {
      for (const dir of dirs) if (!root && (await servesVendor(dir, vendor))) root = dir;
    } else {
      const resolved = resolvePackage(vendor, searchFrom);
      if (resolved && (await servesVendor(resolved, vendor))) root = resolved;
    }
    if (root) found.push({ vendor, root, version: await readVersion(root) });
    else missing.push(vendor);
  }
  if (missing.length > 0) {
    const names = missing.map((v) => EMOJI_PACKAGES[v]).join(' and ');
    const where = dirs
      ? `none of the folders in ${opts.dirs ? 'emojiDirs' : `$${EMOJI_DIR_ENV}`} (${dirs.join(', ')}) has emoji.json and img/<vendor>/${EMOJI_SIZE}/ for ${missing.join(' and ')}`
      : `not installed where Node looks from ${process.cwd()} or lia's own folder`;
    throw new Error(
      `emoji: ${names}: ${where}. Install the images once with\n  ${EMOJI_INSTALL_COMMAND}\n` +
        `(lia downloads nothing at run time; or set ${EMOJI_DIR_ENV} to the packages' folders)`,
    );
  }
  return found;
}

interface EmojiEntry {
  image: string;
  category: string;
}

/** The entries of a root's emoji.json that have an image of the vendor, in the file's order. */
async function readEmojiJson(root: string, vendor: EmojiVendor): Promise<EmojiEntry[]> {
  const path = join(root, 'emoji.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected an array of emoji objects`);
  const flag = `has_img_${vendor}`;
  const entries: EmojiEntry[] = [];
  parsed.forEach((item: Record<string, unknown>, i) => {
    if (item?.[flag] !== true) return;
    if (typeof item.image !== 'string' || item.image === '' || typeof item.category !== 'string' || item.category === '') {
      throw new Error(`${path}: entry ${i} has ${flag} but no 'image' and 'category' strings`);
    }
    entries.push({ image: item.image, category: item.category });
  });
  if (entries.length === 0) throw new Error(`${path}: no entry has ${flag}: true`);
  return entries;
}

export interface EmojiOptions extends FindEmojiOptions {
  resolution: number;
  /** Default 3: emoji are colour art. */
  channels?: 1 | 3;
  /** Colour transparent pixels are composited over; default white. */
  background?: Rgb;
  /** Keep at most this many decodable images (the first ones in decode order). */
  limit?: number;
  /** Decode order: 'ordered' (vendor by vendor, emoji.json order) or 'stratified' (categories interleaved by path hash). */
  order?: SplitRule;
}

export interface EmojiImages {
  packages: (EmojiPackage & { images: number })[];
  /** `<vendor>/<image>` of each decoded image, in decode order. */
  files: string[];
  /** uint8 [N, resolution, resolution, channels]. */
  pixels: Uint8Array;
  channels: 1 | 3;
  labels: Int32Array;
  classNames: string[];
  skipped: string[];
  alphaCount: number;
  background: Rgb;
}

/** Reads the emoji images of the given vendors (see the header comment). */
export async function readEmoji(vendors: EmojiVendor[], opts: EmojiOptions): Promise<EmojiImages> {
  const packages = await findEmojiPackages(vendors, opts);
  const files: string[] = [];
  const paths: string[] = [];
  const categories: string[] = [];
  for (const pkg of packages) {
    for (const entry of await readEmojiJson(pkg.root, pkg.vendor)) {
      files.push(`${pkg.vendor}/${entry.image}`);
      paths.push(join(imageDir(pkg.root, pkg.vendor), entry.image));
      categories.push(entry.category);
    }
  }
  const classNames = [...new Set(categories)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lookup = new Map(classNames.map((name, i) => [name, i]));
  const indices = categories.map((c) => lookup.get(c) ?? -1);
  const background = validateBackground(opts.background ?? [...WHITE]);

  const order = opts.order === 'stratified' ? samplingOrder(files, indices) : files.map((_, i) => i);
  const decoded = await decodeImageList(
    order.map((i) => paths[i]),
    { resolution: opts.resolution, channels: opts.channels ?? 3, background, limit: opts.limit },
  );
  if (decoded.kept.length === 0) throw new Error(`emoji: none of the ${paths.length} images could be decoded`);
  const kept = decoded.kept.map((k) => order[k]);
  const vendorOf = (i: number) => files[i].slice(0, files[i].indexOf('/'));
  return {
    packages: packages.map((p) => ({ ...p, images: kept.filter((i) => vendorOf(i) === p.vendor).length })),
    files: kept.map((i) => files[i]),
    pixels: decoded.pixels,
    channels: decoded.channels,
    labels: Int32Array.from(kept, (i) => indices[i]),
    classNames,
    skipped: decoded.skipped.map((k) => files[order[k]]),
    alphaCount: decoded.alphaCount,
    background,
  };
}

/** emoji[:google|:twitter] as a dataset, split stratified by category unless opts.split says otherwise. */
export async function loadEmojiDataset(rest: string | undefined, opts: LoadOptions): Promise<Dataset> {
  const vendors = parseEmojiVendors(rest);
  const emoji = await readEmoji(vendors, {
    resolution: opts.resolution,
    channels: opts.channels,
    background: opts.background,
    limit: opts.limit,
    order: opts.split ?? 'stratified',
    dirs: opts.emojiDirs,
  });
  const count = emoji.files.length;
  const packages = emoji.packages.map((p) => `${p.images} from ${p.root}${p.version ? ` (v${p.version})` : ''}`).join(' + ');
  const parts = [
    `emoji ${vendors.join(' + ')}, ${count} images (one per emoji, no skin-tone variants): ${packages}`,
    `64×64 PNG${opts.resolution === 64 ? '' : ` resized to ${opts.resolution}×${opts.resolution}`}, ${emoji.channels} channel${emoji.channels > 1 ? 's' : ''}`,
    `transparency over ${describeBackground(emoji.background)}: ${emoji.alphaCount} image(s) with alpha`,
    `labels: the ${emoji.classNames.length} categories of emoji.json`,
    ...(emoji.skipped.length ? [`${emoji.skipped.length} undecodable file(s) skipped`] : []),
  ];
  const split = splitByPath(emoji, opts.split ?? 'stratified', opts, `emoji:${vendors.join('+')}`);
  return {
    name: vendors.length === 1 ? `emoji:${vendors[0]}` : 'emoji',
    source: parts.join(', '),
    pixels: split.pixels,
    count,
    resolution: opts.resolution,
    channels: emoji.channels,
    labels: split.labels,
    classNames: emoji.classNames,
    files: split.files,
    train: split.train,
    test: split.test,
    split: split.split,
    notices: [],
  };
}
