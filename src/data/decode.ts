// Decoding the image files of a dataset (folders, emoji) into one uint8 NHWC cache.
//   - Transparency: images with alpha are composited over a stated background, white unless told
//     otherwise (emoji and icon-like art are drawn for a light page; over black their dark outlines
//     vanish). The file is brought to sRGB first, so a grey+alpha image over a coloured background
//     gets that colour rather than the background's first component.
//   - Channels: asked for 1 or 3, every image is converted (colour to grey by libvips' luminance,
//     grey repeated in R, G and B). Not asked ('auto'), images are decoded as RGB and each is checked
//     for colour on the pixels training would see (after compositing and resizing): when none has
//     any pixel with R, G and B unequal, the cache is one channel; otherwise three, and the caller
//     gets the colour images' indices to say so once.
import sharp from 'sharp';

export type Rgb = [number, number, number];
export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
/** Images decoded at once; libvips also threads inside each decode. */
const DECODE_CONCURRENCY = 8;

const hex2 = (v: number) => v.toString(16).padStart(2, '0');

/** 'white (#ffffff)', 'black (#000000)' or '#rrggbb'. */
export function describeBackground(rgb: Rgb): string {
  const hex = `#${rgb.map(hex2).join('')}`;
  return hex === '#ffffff' ? `white (${hex})` : hex === '#000000' ? `black (${hex})` : hex;
}

/** Parses 'white', 'black' or '#rrggbb' (the # optional). */
export function parseBackground(text: string): Rgb {
  const t = text.trim().toLowerCase();
  if (t === 'white') return [...WHITE];
  if (t === 'black') return [...BLACK];
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(t);
  if (!m) throw new Error(`background must be white, black or #rrggbb, got '${text}'`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

export function validateBackground(rgb: unknown): Rgb {
  const ok = Array.isArray(rgb) && rgb.length === 3 && rgb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
  if (!ok) throw new Error(`background must be [r, g, b] with integers 0..255, got ${JSON.stringify(rgb)}`);
  return rgb as Rgb;
}

export interface DecodedImage {
  /** uint8 [resolution, resolution, channels]. */
  data: Uint8Array;
  /** The file has an alpha channel (composited over the background). */
  alpha: boolean;
  /** Some pixel has R, G and B unequal (only known when decoded as 3 channels; false for 1). */
  colour: boolean;
}

function hasColour(rgb: Uint8Array): boolean {
  for (let i = 0; i < rgb.length; i += 3) if (rgb[i] !== rgb[i + 1] || rgb[i] !== rgb[i + 2]) return true;
  return false;
}

/**
 * Decodes one file to uint8 HWC [resolution, resolution, channels]: EXIF orientation applied,
 * transparency composited over `background`, resized to cover the square (Lanczos) and
 * centre-cropped. Throws on truncated or corrupt files (libvips warnings count as errors).
 */
export async function decodeDatasetImage(path: string, resolution: number, channels: 1 | 3, background: Rgb): Promise<DecodedImage> {
  const img = sharp(path, { failOn: 'warning' });
  // The header alone: cheap, and the pipeline below reuses the opened input.
  const { hasAlpha } = await img.metadata();
  const { data, info } = await img
    .pipelineColourspace('srgb')
    .autoOrient()
    .flatten({ background: { r: background[0], g: background[1], b: background[2] } })
    .resize(resolution, resolution, { fit: 'cover', position: 'centre' })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== resolution || info.height !== resolution || info.channels !== channels) {
    throw new Error(`${path}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${resolution}×${resolution}×${channels}`);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { data: pixels, alpha: Boolean(hasAlpha), colour: channels === 3 && hasColour(pixels) };
}

export interface DecodeListOptions {
  resolution: number;
  /** 1 or 3; 'auto' decides from the images (see the header comment). */
  channels: 1 | 3 | 'auto';
  background: Rgb;
  /** Keep at most this many decodable images, the first ones in list order. */
  limit?: number;
}

export interface DecodedList {
  /** Indices into the path list of the decoded images, in list order. */
  kept: number[];
  /** uint8 [kept.length, resolution, resolution, channels]. */
  pixels: Uint8Array;
  channels: 1 | 3;
  /** Indices of the files that could not be decoded (each warned about once). */
  skipped: number[];
  /** Indices of kept images with colour ('auto' and 3 only). */
  colour: number[];
  /** Kept images whose file has an alpha channel. */
  alphaCount: number;
}

/** Keeps channel 0 of every RGB pixel: exact for images with R = G = B. */
function firstChannel(rgb: Uint8Array): Uint8Array {
  const grey = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < grey.length; i++) grey[i] = rgb[3 * i];
  return grey;
}

/**
 * Decodes files in order, a window at a time, until `limit` images are in. A file that cannot be
 * decoded is skipped with one warning line naming it.
 */
export async function decodeImageList(paths: string[], opts: DecodeListOptions): Promise<DecodedList> {
  const { resolution, background } = opts;
  const decodeChannels: 1 | 3 = opts.channels === 1 ? 1 : 3;
  const imageBytes = resolution * resolution * decodeChannels;
  const cap = Math.min(opts.limit ?? Infinity, paths.length);
  let pixels: Uint8Array = new Uint8Array(cap * imageBytes);
  const kept: number[] = [];
  const skipped: number[] = [];
  const colour: number[] = [];
  let alphaCount = 0;

  for (let start = 0; start < paths.length && kept.length < cap; start += DECODE_CONCURRENCY) {
    const window = paths.slice(start, start + DECODE_CONCURRENCY);
    const decoded = await Promise.all(
      window.map((path) =>
        decodeDatasetImage(path, resolution, decodeChannels, background).then(
          (image) => ({ ok: true as const, image }),
          (err: unknown) => ({ ok: false as const, reason: (err instanceof Error ? err.message : String(err)).split('\n')[0] }),
        ),
      ),
    );
    decoded.forEach((result, k) => {
      if (!result.ok) {
        console.warn(`lia: warning: skipping ${window[k]}: cannot decode (${result.reason})`);
        skipped.push(start + k);
        return;
      }
      if (kept.length >= cap) return;
      pixels.set(result.image.data, kept.length * imageBytes);
      if (result.image.colour) colour.push(start + k);
      if (result.image.alpha) alphaCount++;
      kept.push(start + k);
    });
  }
  if (kept.length < cap) pixels = pixels.slice(0, kept.length * imageBytes);
  const channels = opts.channels === 'auto' ? (colour.length === 0 ? 1 : 3) : opts.channels;
  if (channels !== decodeChannels) pixels = firstChannel(pixels);
  return { kept, pixels, channels, skipped, colour, alphaCount };
}
