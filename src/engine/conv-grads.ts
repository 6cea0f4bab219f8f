// Fast convolution gradients built from the backend's own forward Conv2D kernel.
//
// wasm has no Conv2DBackpropFilter and its Conv2DBackpropInput is ~12× slower than the forward
// convolution (ENGINE.md); webgpu's Conv2DBackpropFilter is 5–7× slower than the formulation below.
// Both gradients are correlations, so they can be computed by XNNPACK's (or WebGPU's) forward conv:
//
//   backprop-input, stride 1:  dx = conv_valid(pad(dy, k−1−pad), flip_hw(W) with in/out swapped)
//   backprop-filter, any stride: dW[kh,kw,ci,co] = Σ_{n,i,j} xpad[n, i·s+kh, j·s+kw, ci] · dy[n,i,j,co]
//       = conv(x as [Cin, H, W, N], dy as [Ho, Wo, N, Cout], dilation = stride) → [Cin, kh, kw, Cout]
//
// Cases outside these (strided backprop-input, NCHW, dilated forward convs) go to the original kernel
// when the backend has one, and to the cpu backend's reference formula otherwise.
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, Info>; backend: tf.KernelBackend; attrs: Record<string, unknown> }) => Info | Info[];
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const registered = new Set<string>();

interface KernelParams {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** tfjs types a kernel's backend as `{}` and its inputs as optional; narrow them once here. */
function unpack(p: KernelParams): { inputs: Record<string, Info>; backend: tf.KernelBackend; attrs: Record<string, unknown> } {
  return { inputs: p.inputs as Record<string, Info>, backend: p.backend as tf.KernelBackend, attrs: (p.attrs ?? {}) as Record<string, unknown> };
}

function kernelFn(name: string, backendName: string): KernelFn {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`kernel ${name} is not registered for backend ${backendName}`);
  return k.kernelFunc as unknown as KernelFn;
}

function one(out: Info | Info[]): Info {
  return Array.isArray(out) ? out[0] : out;
}

/** Runs backend kernels in sequence, freeing every intermediate except the returned one. */
class KernelChain {
  private readonly temps: Info[] = [];
  constructor(
    private readonly backend: tf.KernelBackend,
    private readonly backendName: string,
  ) {}
  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
    const out = one(kernelFn(name, this.backendName)({ inputs, backend: this.backend, attrs }));
    this.temps.push(out);
    return out;
  }
  /** Writes a new float32 tensor through the backend and tracks it as an intermediate. */
  write(values: Float32Array, shape: number[]): Info {
    const info: Info = { dataId: this.backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
    this.temps.push(info);
    return info;
  }
  /** Disposes every intermediate but `keep`. */
  finish(keep: Info): Info {
    for (const t of this.temps) if (t !== keep) this.backend.disposeData(t.dataId);
    return keep;
  }
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * W[kh, kw, ci, co] → W'[a, b, co, ci] = W[kh−1−a, kw−1−b, ci, co]: the spatially flipped filter with
 * in/out channels swapped. A plain loop: wasm's Reverse kernel takes ~10 ms for a 3×3×128×128 filter,
 * as long as the convolution itself; this takes well under 1 ms.
 */
function flipSwap(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++) {
      const src = ((kh - 1 - a) * kw + (kw - 1 - b)) * cin * cout;
      const dst = (a * kw + b) * cout * cin;
      for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) out[dst + co * cin + ci] = w[src + ci * cout + co];
    }
  return out;
}

/** dx of a stride-1 NHWC conv via a forward conv; null when the case is not covered. */
function fastBackpropInput(backendName: string, backend: tf.KernelBackend, dy: Info, filter: Info, attrs: ConvAttrs & { inputShape: number[] }): Info | null {
  const [sh, sw] = pair(attrs.strides);
  if (attrs.dataFormat !== 'NHWC' || sh !== 1 || sw !== 1) return null;
  const [kh, kw, cin, cout] = filter.shape;
  const inShape = attrs.inputShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inShape, [kh, kw, cin, cout], 1, 1, attrs.pad, attrs.dimRoundingMode);
  const [, inH, inW] = inShape;
  const [, outH, outW] = dy.shape;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inH - outH - top + kh - 1;
  const right = inW - outW - left + kw - 1;
  if (Math.min(top, left, bottom, right) < 0) return null;
  const chain = new KernelChain(backend, backendName);
  const swapped = chain.write(flipSwap(backend.readSync(filter.dataId) as Float32Array, kh, kw, cin, cout), [kh, kw, cout, cin]);
  const dx = chain.run(
    'Conv2D',
    { x: dy, filter: swapped },
    { strides: 1, pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined },
  );
  return chain.finish(dx);
}

/** dW of an NHWC conv (any stride, dilation 1) via a forward conv with dilation = stride. */
function fastBackpropFilter(backendName: string, backend: tf.KernelBackend, x: Info, dy: Info, attrs: ConvAttrs & { filterShape: number[] }): Info | null {
  if (attrs.dataFormat !== 'NHWC') return null;
  const [kh, kw, cin, cout] = attrs.filterShape;
  const [sh, sw] = pair(attrs.strides);
  const xShape = x.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape, [kh, kw, cin, cout], [sh, sw], 1, attrs.pad, attrs.dimRoundingMode);
  const [, h, w] = xShape;
  const [, outH, outW] = dy.shape;
  const { top, left } = info.padInfo;
  // Pad the bottom/right just enough for kh×kw outputs; a negative amount means rows of x the
  // forward conv never read, which we cut off by slicing the result instead.
  const bottom = kh + (outH - 1) * sh - h - top;
  const right = kw + (outW - 1) * sw - w - left;
  const chain = new KernelChain(backend, backendName);
  const xT = chain.run('Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Cin, H, W, N]
  const dyT = chain.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Cout]
  let r = chain.run(
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: 1,
      pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    },
  ); // [Cin, kh', kw', Cout]
  if (r.shape[1] !== kh || r.shape[2] !== kw) {
    r = chain.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
  }
  const dW = chain.run('Transpose', { x: r }, { perm: [1, 2, 0, 3] }); // [kh, kw, Cin, Cout]
  return chain.finish(dW);
}

/**
 * dW of a stride-1 NHWC conv with the roles swapped: dy becomes the input [Cout, Ho, Wo, N] and x the
 * filter [H, W, N, Cin], so the expensive batch-to-channels transpose falls on dy rather than x (wasm's
 * Transpose with perm [3,1,2,0] costs ~10 ns an element, about a quarter of the whole gradient).
 *   out[co, a, b, ci] = Σ_{n,u,v} dy[n, a+u−P, b+v−P', co] · x[n, u, v, ci],  a = P + pad_top − kh
 * so dW[kh, kw, ci, co] = out[co, kh'−1−kh, kw'−1−kw, ci] once P = k−1−pad_top (the flip and the
 * channel move are done in one small JS loop). wasm only: it reads the result synchronously.
 */
function fastBackpropFilterSwapped(backendName: string, backend: tf.KernelBackend, x: Info, dy: Info, attrs: ConvAttrs & { filterShape: number[] }): Info | null {
  const [sh, sw] = pair(attrs.strides);
  if (attrs.dataFormat !== 'NHWC' || sh !== 1 || sw !== 1) return null;
  const [kh, kw, cin, cout] = attrs.filterShape;
  const xShape = x.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape, [kh, kw, cin, cout], 1, 1, attrs.pad, attrs.dimRoundingMode);
  const [, h, w] = xShape;
  const [, outH, outW] = dy.shape;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = kh - 1 - outH + h - top;
  const right = kw - 1 - outW + w - left;
  if (Math.min(top, left, bottom, right) < 0) return null;
  const chain = new KernelChain(backend, backendName);
  const dyT = chain.run('Transpose', { x: dy }, { perm: [3, 1, 2, 0] }); // [Cout, Ho, Wo, N]
  const xT = chain.run('Transpose', { x }, { perm: [1, 2, 0, 3] }); // [H, W, N, Cin]
  const out = chain.run(
    'Conv2D',
    { x: dyT, filter: xT },
    { strides: 1, pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined },
  ); // [Cout, kh, kw, Cin], spatially flipped
  const o = backend.readSync(out.dataId) as Float32Array;
  const dW = new Float32Array(kh * kw * cin * cout);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let co = 0; co < cout; co++) {
        const src = ((co * kh + (kh - 1 - a)) * kw + (kw - 1 - b)) * cin;
        const dst = (a * kw + b) * cin * cout + co;
        for (let ci = 0; ci < cin; ci++) dW[dst + ci * cout] = o[src + ci];
      }
  return chain.finish(chain.write(dW, [kh, kw, cin, cout]));
}

/**
 * Reference dW in plain JS (float64 accumulation), used where a backend has no kernel and the fast
 * path does not apply (e.g. NCHW on wasm). Slow, but correct.
 */
function referenceBackpropFilter(backend: tf.KernelBackend, x: Info, dy: Info, attrs: ConvAttrs & { filterShape: number[] }): Info {
  const xs = backend.readSync(x.dataId) as Float32Array;
  const dys = backend.readSync(dy.dataId) as Float32Array;
  const nchw = attrs.dataFormat === 'NCHW';
  const [n, h, w, cin] = nchw ? [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] : x.shape;
  const [, oh, ow, cout] = nchw ? [dy.shape[0], dy.shape[2], dy.shape[3], dy.shape[1]] : dy.shape;
  const [kh, kw] = attrs.filterShape;
  const [sh, sw] = pair(attrs.strides);
  const info = tf.backend_util.computeConv2DInfo([n, h, w, cin], attrs.filterShape as [number, number, number, number], [sh, sw], 1, attrs.pad, attrs.dimRoundingMode);
  const xAt = (b: number, y: number, xx: number, c: number) => (nchw ? ((b * cin + c) * h + y) * w + xx : ((b * h + y) * w + xx) * cin + c);
  const dyAt = (b: number, y: number, xx: number, c: number) => (nchw ? ((b * cout + c) * oh + y) * ow + xx : ((b * oh + y) * ow + xx) * cout + c);
  const out = new Float32Array(kh * kw * cin * cout);
  for (let a = 0; a < kh; a++)
    for (let bb = 0; bb < kw; bb++)
      for (let ci = 0; ci < cin; ci++)
        for (let co = 0; co < cout; co++) {
          let s = 0;
          for (let b = 0; b < n; b++)
            for (let i = 0; i < oh; i++) {
              const y = i * sh + a - info.padInfo.top;
              if (y < 0 || y >= h) continue;
              for (let j = 0; j < ow; j++) {
                const xx = j * sw + bb - info.padInfo.left;
                if (xx < 0 || xx >= w) continue;
                s += xs[xAt(b, y, xx, ci)] * dys[dyAt(b, i, j, co)];
              }
            }
          out[((a * kw + bb) * cin + ci) * cout + co] = s;
        }
  return { dataId: backend.write(out, attrs.filterShape, 'float32'), shape: attrs.filterShape, dtype: 'float32' };
}

function replaceKernel(config: tf.KernelConfig): tf.KernelConfig | undefined {
  const previous = tf.getKernel(config.kernelName, config.backendName);
  if (previous) tf.unregisterKernel(config.kernelName, config.backendName);
  // Keep the original setup (wasm binds its C function there) so the fallback still works.
  tf.registerKernel({ ...config, setupFunc: previous?.setupFunc, disposeFunc: previous?.disposeFunc });
  return previous;
}

/** Registers the fast Conv2DBackpropInput/Filter kernels for `backendName` (idempotent). */
export function registerFastConvGradients(backendName: 'wasm' | 'webgpu'): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);

  // webgpu's own backprop-input is faster than its forward conv already (ENGINE.md); keep it.
  if (backendName === 'wasm') {
    let original: tf.KernelConfig | undefined;
    original = replaceKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName,
      kernelFunc: ((params: KernelParams) => {
        const { inputs, backend, attrs } = unpack(params);
        const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
        const fast = fastBackpropInput(backendName, backend, inputs.dy, inputs.filter, a);
        if (fast) return fast;
        if (!original) throw new Error(`Conv2DBackpropInput on ${backendName}: case not covered (strides ${String(a.strides)}, ${a.dataFormat})`);
        return (original.kernelFunc as unknown as KernelFn)({ inputs, backend, attrs });
      }) as unknown as tf.KernelFunc,
    });
  }

  let originalFilter: tf.KernelConfig | undefined;
  originalFilter = replaceKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ((params: KernelParams) => {
      const { inputs, backend, attrs } = unpack(params);
      const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
      const fast =
        (backendName === 'wasm' ? fastBackpropFilterSwapped(backendName, backend, inputs.x, inputs.dy, a) : null) ??
        fastBackpropFilter(backendName, backend, inputs.x, inputs.dy, a);
      if (fast) return fast;
      if (originalFilter) return (originalFilter.kernelFunc as unknown as KernelFn)({ inputs, backend, attrs });
      return referenceBackpropFilter(backend, inputs.x, inputs.dy, a);
    }) as unknown as tf.KernelFunc,
  });
}
