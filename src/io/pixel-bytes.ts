// Pixel values between bytes and what the models see: a byte v of 0…255 is v / 127.5 − 1 in [-1, 1],
// and a value x of [-1, 1] is the byte round((x + 1) · 127.5), clamped to 0…255. Plain JS in float64
// (the tensor forms, which round in float32, are in pixels.ts). Also the one type of a uint8 image
// stack, NHWC [n, h, w, c].

/** uint8 images NHWC [n, h, w, c], 0…255. */
export interface Uint8Images {
  pixels: Uint8Array;
  n: number;
  h: number;
  w: number;
  c: number;
}

/** v / 127.5 − 1 for every byte v, computed once (index it with a byte). */
export const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/** Scales uint8 pixels to float32 in [-1, 1]. */
export function toUnitRange(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = BYTE_TO_UNIT[pixels[i]];
  return out;
}

/**
 * A value of [lo, hi] (default [-1, 1]) as a byte: round((v − lo) / (hi − lo) · 255), clamped to
 * 0…255; NaN stays NaN, which a Uint8Array stores as 0.
 */
export function toByte(v: number, lo = -1, hi = 1): number {
  const b = Math.round(((v - lo) / (hi - lo)) * 255);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/** Values of [-1, 1] as bytes (toByte of each). */
export function toBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toByte(values[i]);
  return out;
}
