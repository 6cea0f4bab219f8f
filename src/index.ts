// lia, the library: load a trained LIA (or baseline) model and encode, reconstruct, generate, refine,
// interpolate, mix and edit images with it. Platform-free — the same code runs in browsers and in
// Node; `lia/node` adds files, the native backends and image decoding for Node.
//
// Images are tf.Tensor4D [N, R, R, C] in [-1, 1] (C = 1 or 3, R the model's resolution); codes are y
// [N, d] (LIA's disentangled space) unless a function says otherwise. Every function that returns a
// tensor gives it to the caller to dispose.
import * as tf from '@tensorflow/tfjs';
import { modelFromBytes, encodeIn, encodeY, initialCode, requireEncoder, requireLive, type LiaModel } from './invert/model.js';
import { reconstruct as reconstructWith } from './models/checkpoints.js';
import { refineAsync, REFINE_DEFAULTS, REFINE_INITS, REFINE_SPACES, type RefineInit, type RefineSpace, type RefineStep } from './invert/refine.js';
import { interpolateImages, mixImages } from './invert/apps.js';
import { fitDirectionsFromCodes, editSeries, type Direction, type FitOptions } from './invert/directions.js';
import { FEATURE_LAYERS, type FeatureNet, type FeatureLayer } from './models/features.js';
import { tfSeed } from './util/rng.js';

export { startBrowserEngine as startEngine, engineInfo, BROWSER_BACKENDS, type BrowserEngineConfig, type BrowserBackendName, type EngineInfo } from './engine/core.js';
export { modelFromBytes, disposeModel, type LiaModel } from './invert/model.js';
export { pixelsToTensor, tensorToPixels, type RawImage, type ImageShape, type PixelsOptions } from './io/pixels.js';
export { encodeCodes, decodeCodes, type CodesFile, type Code, type CodeSpace } from './invert/codes.js';
export { encodeDirections, decodeDirections, fitDirectionsFromCodes, type Direction, type FitOptions } from './invert/directions.js';
export { sefaDirections, pcaDirections, sampleCodes, DIRECTION_METHODS, type DirectionMethod } from './invert/unsupervised.js';
export { REFINE_DEFAULTS, type RefineStep, type RefineSpace, type RefineInit } from './invert/refine.js';
export { encodeSafetensors, decodeSafetensors } from './io/safetensors.js';
export { tf };

/**
 * Library-wide settings. `assertFinite` (default true): images and codes holding NaN or Infinity are
 * refused with an error instead of producing NaN images. The synchronous calls (encode, reconstruct,
 * render, interpolate, mix) read their input to check it, which WebGPU cannot do synchronously: there
 * only refine and edit check.
 */
export const settings = { assertFinite: true };

// ------------------------------------------------------------------------------------------------
// Validation at the edge: every option against its allowed values, with the value in the message.

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new Error(`${what} must be one of ${allowed.join(', ')}, got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  return value as T;
}

/** An integer ≥ min (any integer without min: seeds). */
function integer(what: string, value: unknown, min?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (min ?? -Infinity)) throw new Error(`${what} must be an integer${min === undefined ? '' : ` ≥ ${min}`}, got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  return value;
}

function finiteNumber(what: string, value: unknown, check: (v: number) => boolean = () => true, expected = 'a finite number'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw new Error(`${what} must be ${expected}, got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  return value;
}

function firstNonFinite(v: ArrayLike<number>): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return i;
  return -1;
}

function nonFiniteError(what: string, v: ArrayLike<number>, i: number): Error {
  return new Error(`${what} holds NaN or Infinity (${v[i]} at element ${i}); lia.settings.assertFinite = false turns this check off`);
}

/** Refuses a tensor holding NaN or ±Infinity (settings.assertFinite), read synchronously (not on WebGPU). */
function assertFiniteSync(t: tf.Tensor, what: string): void {
  if (!settings.assertFinite || tf.getBackend() === 'webgpu') return;
  const v = t.dataSync() as Float32Array;
  const i = firstNonFinite(v);
  if (i >= 0) throw nonFiniteError(what, v, i);
}

async function assertFinite(t: tf.Tensor, what: string): Promise<void> {
  if (!settings.assertFinite) return;
  const v = (await t.data()) as Float32Array;
  const i = firstNonFinite(v);
  if (i >= 0) throw nonFiniteError(what, v, i);
}

/** What a model is and takes. */
export interface ModelInfo {
  /** 'encoder': an encoder checkpoint (encoder + generator); 'decoder': a generator only. */
  kind: 'encoder' | 'decoder';
  /** 'invertible': LIA's Φ; 'mlp': StyleGAN's mapping (the "StyleGAN + encoder" baseline). */
  mapping: 'invertible' | 'mlp';
  /** What the encoder predicts: y (LIA) or z (the baseline); undefined for a decoder. */
  predicts?: 'y' | 'z';
  resolution: number;
  channels: number;
  latentSize: number;
  /** Style inputs of the generator (layers a style mix can take from either image). */
  styleInputs: number;
  /** The dataset it was trained on. */
  data: string;
  source: string;
}

/**
 * Loads a model: checkpoint bytes (Uint8Array, ArrayBuffer), or a URL (string or URL) fetched with
 * the platform's fetch. An encoder checkpoint (`lia export-encoder`) gives every function; a decoder
 * snapshot (`lia export-decoder`) gives generate, render and refinement from the mean.
 */
export async function loadModel(source: Uint8Array | ArrayBuffer | URL | string, name?: string): Promise<LiaModel> {
  if (source instanceof Uint8Array) return modelFromBytes(source, name ?? 'model bytes');
  if (source instanceof ArrayBuffer) return modelFromBytes(new Uint8Array(source), name ?? 'model bytes');
  const url = String(source);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`${url}: could not fetch the model (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`${url}: could not fetch the model (HTTP ${res.status})`);
  return modelFromBytes(new Uint8Array(await res.arrayBuffer()), name ?? url);
}

export function modelInfo(m: LiaModel): ModelInfo {
  requireLive(m, 'modelInfo');
  const g = m.decoder.generator;
  return {
    kind: m.E ? 'encoder' : 'decoder',
    mapping: g.mapping,
    predicts: m.encoder?.predicts,
    resolution: g.resolution,
    channels: g.channels,
    latentSize: g.latentSize,
    styleInputs: m.G.numWs,
    data: m.data,
    source: m.source,
  };
}

/** Images for the model: the right shape, at least one, finite (synchronously checked unless `sync` is false). */
function checkImages(m: LiaModel, x: tf.Tensor4D, what: string, sync = true): void {
  requireLive(m, what);
  const g = m.decoder.generator;
  if (!(x instanceof tf.Tensor) || x.rank !== 4 || x.shape[1] !== g.resolution || x.shape[2] !== g.resolution || x.shape[3] !== g.channels) {
    throw new Error(`${what}: expected images [N, ${g.resolution}, ${g.resolution}, ${g.channels}] for ${m.source}, got ${x instanceof tf.Tensor ? `[${x.shape}]` : String(x)} (pixelsToTensor converts any image)`);
  }
  if (x.shape[0] < 1) throw new Error(`${what}: expected at least one image, got a batch of 0`);
  if (sync) assertFiniteSync(x, `${what}: the images`);
}

/** The code of each image: y = f(x) for LIA (Φ⁻¹ is never run), or z when `space` is 'z' (Φ(f(x))). */
export function encode(m: LiaModel, x: tf.Tensor4D, space: 'y' | 'z' = 'y'): tf.Tensor2D {
  oneOf('encode: space', space, ['y', 'z'] as const);
  checkImages(m, x, 'encode');
  return encodeIn(m, x, space);
}

/** g(f(x)): each image encoded and decoded in one pass (W+ encoders and the baseline's z included). */
export function reconstruct(m: LiaModel, x: tf.Tensor4D): tf.Tensor4D {
  checkImages(m, x, 'reconstruct');
  const { E, config } = requireEncoder(m, 'reconstruct');
  return reconstructWith(E, m.G, config.predicts, x);
}

/** Images of codes: y [N, d] or one y per style input [N, styleInputs, d]; z [N, d] with space 'z'. */
export function render(m: LiaModel, code: tf.Tensor2D | tf.Tensor3D, space: 'y' | 'z' = 'y'): tf.Tensor4D {
  requireLive(m, 'render');
  oneOf('render: space', space, ['y', 'z'] as const);
  const d = m.G.config.latentSize;
  const ok = code instanceof tf.Tensor && code.shape[code.rank - 1] === d && (code.rank === 2 || (code.rank === 3 && space === 'y' && code.shape[1] === m.G.numWs));
  if (!ok) throw new Error(`render: expected codes [N, ${d}]${space === 'y' ? ` or [N, ${m.G.numWs}, ${d}]` : ''} in ${space}, got ${code instanceof tf.Tensor ? `[${code.shape}]` : String(code)}`);
  if (code.shape[0] < 1) throw new Error('render: expected at least one code, got 0');
  assertFiniteSync(code, 'render: the codes');
  return m.G.render(code, space);
}

export interface GenerateOptions {
  n?: number;
  seed?: number;
  /** Truncation ψ in y towards the mean (1 = none). */
  truncation?: number;
}

/** Random samples g(Φ⁻¹(z)), z ~ N(0, I) from `seed` (the same seed gives the images `lia generate` gives). */
export function generate(m: LiaModel, opts: GenerateOptions = {}): tf.Tensor4D {
  requireLive(m, 'generate');
  const n = integer('generate: n', opts.n ?? 16, 1);
  const seed = integer('generate: seed', opts.seed ?? 0);
  const truncation = finiteNumber('generate: truncation', opts.truncation ?? 1);
  return tf.tidy(() => {
    const z = tf.randomNormal([n, m.G.config.latentSize], 0, 1, 'float32', tfSeed(seed)) as tf.Tensor2D;
    return m.G.forward(z, { noise: 'const', truncation });
  });
}

export interface RefineOptions {
  /** Adam steps (default 200). */
  steps?: number;
  /** Learning rate (default 0.1). */
  lr?: number;
  /** 'y' (default), 'z' or 'wplus' (one y per style input). */
  space?: RefineSpace;
  /** Start: the encoder's code (default when the model has an encoder), the mean y, a random y, or a code tensor in `space`. */
  init?: RefineInit | tf.Tensor;
  /** Weight of the perceptual term (needs perceptualNet); default 0, pixel MSE only. */
  beta?: number;
  perceptualNet?: FeatureNet;
  perceptualLayer?: FeatureLayer;
  /** Called after every step with the batch-mean losses. */
  onStep?: (s: RefineStep) => void;
  /** Stops after the current step; the result holds what was reached. */
  signal?: AbortSignal;
  /** Seed of init 'random' (an integer; default 0). */
  seed?: number;
}

export interface RefineOutput {
  /** The refined codes in `space`. */
  code: tf.Tensor;
  images: tf.Tensor4D;
  history: RefineStep[];
  /** Per-image pixel MSE at the end, on images in [0, 1] (the unit of every report and command). */
  finalMse: Float32Array;
  stopped: boolean;
}

/**
 * Refinement (PAPER.md eq. 13): Adam on one code per image, minimising ‖x − g(code)‖² (+ β·perceptual),
 * g frozen; from the encoder's code by default. Yields to the event loop between steps.
 */
export async function refine(m: LiaModel, x: tf.Tensor4D, opts: RefineOptions = {}): Promise<RefineOutput> {
  checkImages(m, x, 'refine', false);
  const space = oneOf('refine: space', opts.space ?? 'y', REFINE_SPACES);
  const init = opts.init ?? (m.E ? 'encoder' : 'mean');
  if (!(init instanceof tf.Tensor)) oneOf('refine: init', init, REFINE_INITS);
  const seed = integer('refine: seed', opts.seed ?? 0);
  const steps = integer('refine: steps', opts.steps ?? REFINE_DEFAULTS.steps, 0);
  const lr = finiteNumber('refine: lr', opts.lr ?? REFINE_DEFAULTS.lr, (v) => v > 0, 'a positive number');
  const beta = finiteNumber('refine: beta', opts.beta ?? 0, (v) => v >= 0, 'a number ≥ 0');
  const perceptualLayer = opts.perceptualLayer === undefined ? undefined : oneOf('refine: perceptualLayer', opts.perceptualLayer, FEATURE_LAYERS);
  await assertFinite(x, 'refine: the images');
  if (init instanceof tf.Tensor) await assertFinite(init, 'refine: the initial code');
  const start = init instanceof tf.Tensor ? init : initialCode(m, space, init as RefineInit, x, seed);
  try {
    return await refineAsync(m.G, x, start, { steps, lr, beta, perceptualNet: opts.perceptualNet, perceptualLayer, space, onStep: opts.onStep, signal: opts.signal });
  } finally {
    if (start !== init) start.dispose();
  }
}

/** `steps` images from g(f(a)) to g(f(b)) (both ends included): lerp in y, or slerp in z. a, b: [1, R, R, C]. */
export function interpolate(m: LiaModel, a: tf.Tensor4D, b: tf.Tensor4D, opts: { space?: 'y' | 'z'; steps?: number } = {}): tf.Tensor4D {
  checkImages(m, a, 'interpolate');
  checkImages(m, b, 'interpolate');
  if (a.shape[0] !== 1 || b.shape[0] !== 1) throw new Error(`interpolate: one image each, got batches of ${a.shape[0]} and ${b.shape[0]}`);
  const space = oneOf('interpolate: space', opts.space ?? 'y', ['y', 'z'] as const);
  const steps = integer('interpolate: steps', opts.steps ?? 8, 2);
  return interpolateImages(m, a, b, space, steps);
}

/**
 * Style mixing: style inputs < crossover from `coarse`, the rest from `fine`. Returns
 * [g(f(coarse)), g(f(fine)), the mix], [3, R, R, C].
 */
export function mix(m: LiaModel, coarse: tf.Tensor4D, fine: tf.Tensor4D, crossover: number): tf.Tensor4D {
  checkImages(m, coarse, 'mix');
  checkImages(m, fine, 'mix');
  return mixImages(m, coarse, fine, crossover);
}

/** g(f(x) + α·scale·n) for each strength α (in standard deviations of the codes along the direction). x: [1, R, R, C]. */
export async function edit(m: LiaModel, x: tf.Tensor4D, direction: Direction, strengths: number[]): Promise<tf.Tensor4D> {
  checkImages(m, x, 'edit', false);
  if (x.shape[0] !== 1) throw new Error(`edit: one image at a time, got ${x.shape[0]}`);
  if (!Array.isArray(strengths) || strengths.length === 0) throw new Error('edit: give at least one strength (e.g. [-2, 0, 2])');
  strengths.forEach((a, i) => finiteNumber(`edit: strength ${i}`, a));
  await assertFinite(x, 'edit: the image');
  const y = encodeY(m, x);
  let codes: Float32Array;
  try {
    codes = editSeries(await y.data(), direction, strengths);
  } finally {
    y.dispose();
  }
  return tf.tidy(() => m.G.render(tf.tensor2d(codes, [strengths.length, direction.n.length])));
}

/**
 * One direction per class in y: one-vs-rest logistic regression on the codes of labelled images.
 * `labels[i]` is the class index of image i, `classNames` names the classes to fit (by index).
 */
export async function fitDirections(m: LiaModel, x: tf.Tensor4D, labels: ArrayLike<number>, classNames: string[], opts: FitOptions & { batch?: number } = {}): Promise<Direction[]> {
  checkImages(m, x, 'fitDirections', false);
  await assertFinite(x, 'fitDirections: the images');
  const n = x.shape[0];
  if (labels.length !== n) throw new Error(`fitDirections: ${n} images but ${labels.length} labels`);
  const y = await encodeCodesOf(m, x, opts.batch ?? 256);
  return fitDirectionsFromCodes(y, labels, classNames, m.G.config.latentSize, opts);
}

/** y of many images, in batches: [N·d] row-major. */
export async function encodeCodesOf(m: LiaModel, x: tf.Tensor4D, batch = 256, onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
  requireLive(m, 'encodeCodesOf');
  integer('encodeCodesOf: batch', batch, 1);
  const n = x.shape[0];
  const d = m.G.config.latentSize;
  const y = new Float32Array(n * d);
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const code = tf.tidy(() => encodeY(m, tf.slice(x, [i, 0, 0, 0], [b, -1, -1, -1])));
    y.set((await code.data()) as Float32Array, i * d);
    code.dispose();
    onProgress?.(i + b, n);
  }
  return y;
}
