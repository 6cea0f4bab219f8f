// Second-order gradients against float64 central differences of a plain-JS first-order gradient, so
// that the reference shares no formula with the code under test (gradients.test.ts compares two
// backends running the same registered formulas). For each gradient gradients.ts registers — the
// comparisons behind leakyRelu's gradient, AvgPoolGrad, Conv2DBackpropFilter — and for the fast conv
// kernels of conv-grads.ts inside a second-order gradient; then R1 of a small discriminator end to end.
//
// Each case computes, for a scalar function f and fixed random weights V,
//   tf:        ∂/∂θ Σ V ⊙ ∇f(θ)             (tfjs autodiff through the first-order gradient)
//   reference: the same by central differences of a float64 ∇f written out in plain JS.
// The reference functions are polynomials of degree ≤ 2 in each perturbed input (or smooth with no
// kink within the step), so the differences are exact up to float64 rounding; what remains is the
// float32 rounding of the tfjs side, hence the tolerances below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type BackendName } from './backend.js';
import { loadTorchAddon } from './torch/addon.js';
import { avgPoolBackpropRef, avgPoolRef, conv2dBackpropFilterRef, conv2dBackpropInputRef, conv2dRef, relativeError } from './reference.js';
import { activate, downsample2x } from '../nn/ops.js';
import { r1Penalty } from '../losses/gan.js';
import { Rng } from '../util/rng.js';

type F64 = Float64Array;
type Shape4 = [number, number, number, number];

// The backend under test besides cpu (LIA_TEST_BACKEND=webgpu on a GPU machine): wasm by default,
// where conv-grads.ts replaces the conv gradient kernels.
const BACKEND = (process.env.LIA_TEST_BACKEND ?? 'wasm') as BackendName;
const BACKENDS: BackendName[] = BACKEND === 'cpu' ? ['cpu'] : ['cpu', BACKEND];
// Relative L2 error, float32 against float64: measured ≤ 1.8e-7 for every case below on cpu, wasm and
// torch; 2e-6 leaves 10× for float32 rounding elsewhere, while a wrong formula errs by O(1).
const TOL = 2e-6;

async function useBackend(backend: BackendName): Promise<void> {
  await initEngine({ backend, threads: 1 });
}

/** Normal samples rounded to float32, so tfjs and the float64 reference see the same numbers. */
function randn(rng: Rng, n: number, scale = 1): F64 {
  return Float64Array.from(Float32Array.from({ length: n }, () => scale * rng.normal()));
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** ∂/∂inputs[k] of Σ V ⊙ g(inputs), by central differences of the float64 first-order gradient g. */
function differencesOfGradient(inputs: F64[], g: (ins: F64[]) => F64, V: F64, h: number): F64[] {
  const weighted = () => {
    const v = g(inputs);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += V[i] * v[i];
    return s;
  };
  return inputs.map((x) => {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + h;
      const plus = weighted();
      x[i] = x0 - h;
      const minus = weighted();
      x[i] = x0;
      out[i] = (plus - minus) / (2 * h);
    }
    return out;
  });
}

/** tfjs's first-order gradient g(θ) and ∂/∂θ Σ V ⊙ g(θ), on the active backend. */
async function tfSecondOrder(inputs: Array<{ data: F64; shape: number[] }>, g: (ts: tf.Tensor[]) => tf.Tensor, V: F64): Promise<{ first: Float32Array; second: Float32Array[] }> {
  const outs = tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor(Float32Array.from(i.data), i.shape));
    const first = g(ts);
    const Vt = tf.tensor(Float32Array.from(V), first.shape);
    const second = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(Vt, g(xs))))(ts);
    return [first, ...second];
  });
  const data = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose(outs);
  return { first: data[0], second: data.slice(1) };
}

function assertClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  const e = relativeError(got, ref);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

const COMPARISONS: Record<string, [(a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (a: number, b: number) => boolean]> = {
  Greater: [tf.greater, (a, b) => a > b],
  Less: [tf.less, (a, b) => a < b],
  LessEqual: [tf.lessEqual, (a, b) => a <= b],
  Equal: [tf.equal, (a, b) => a === b],
  NotEqual: [tf.notEqual, (a, b) => a !== b],
};

test('comparisons pass no gradient: second order of Σ c ⊙ ([x cmp b]·x³ + x²) matches float64 differences', async () => {
  // ∇ₓf = c ⊙ (3x²·[x cmp b] + 2x): the mask is piecewise constant, so its (registered) gradient must
  // be zero. |x − b| ≥ 0.05 keeps every mask constant within the step h = 1e-3.
  const rng = new Rng(21);
  const n = 40;
  for (const backend of BACKENDS) {
    await useBackend(backend);
    for (const [name, [op, js]] of Object.entries(COMPARISONS)) {
      const x = randn(rng, n);
      const b = Float64Array.from(Float32Array.from(x, (v) => v + (rng.next() < 0.5 ? -1 : 1) * (0.05 + Math.abs(rng.normal()))));
      const c = randn(rng, n);
      const V = randn(rng, n);
      const grad = ([xs, cs]: F64[]) => Float64Array.from(xs, (v, i) => cs[i] * (3 * v * v * (js(v, b[i]) ? 1 : 0) + 2 * v));
      const bt = tf.tensor(Float32Array.from(b));
      const f = (xs: tf.Tensor, cs: tf.Tensor) => tf.sum(tf.mul(cs, tf.add(tf.mul(tf.cast(op(xs, bt), 'float32'), tf.pow(xs, 3)), tf.square(xs))));
      const got = await tfSecondOrder([{ data: x, shape: [n] }, { data: c, shape: [n] }], ([xs, cs]) => tf.grad((xx: tf.Tensor) => f(xx, cs))(xs), V);
      bt.dispose();
      assertClose(got.first, grad([x, c]), TOL, `${backend} ${name}: first order`);
      const ref = differencesOfGradient([x, c], grad, V, 1e-3);
      assertClose(got.second[0], ref[0], TOL, `${backend} ${name}: ∂/∂x`);
      assertClose(got.second[1], ref[1], TOL, `${backend} ${name}: ∂/∂c`);
    }
  }
});

test("leakyRelu's gradient (through Greater) differentiates correctly: second order of Σ c ⊙ lrelu(x)² matches float64 differences", async () => {
  // StyleGAN's activation a(x) = lrelu(x, 0.2)·√2, as every layer uses it; ∇ₓf = 2c·a(x)·a'(x).
  const rng = new Rng(22);
  const n = 60;
  const a = (v: number) => (v > 0 ? v : 0.2 * v) * Math.SQRT2;
  const da = (v: number) => (v > 0 ? 1 : 0.2) * Math.SQRT2;
  for (const backend of BACKENDS) {
    await useBackend(backend);
    const x = Float64Array.from(Float32Array.from({ length: n }, () => {
      const v = rng.normal();
      return v + Math.sign(v) * 0.05; // no kink within the step
    }));
    const c = randn(rng, n);
    const V = randn(rng, n);
    const grad = ([xs, cs]: F64[]) => Float64Array.from(xs, (v, i) => 2 * cs[i] * a(v) * da(v));
    const got = await tfSecondOrder([{ data: x, shape: [n] }, { data: c, shape: [n] }], ([xs, cs]) => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(cs, tf.square(activate(xx, 'lrelu')))))(xs), V);
    assertClose(got.first, grad([x, c]), TOL, `${backend}: first order`);
    const ref = differencesOfGradient([x, c], grad, V, 1e-3);
    assertClose(got.second[0], ref[0], TOL, `${backend}: ∂/∂x`);
    assertClose(got.second[1], ref[1], TOL, `${backend}: ∂/∂c`);
  }
});

test('AvgPoolGrad differentiates correctly: second order of Σ c ⊙ avgPool(x)² matches float64 differences', async () => {
  // ∇ₓf = AvgPoolGrad(2c ⊙ avgPool(x)); differentiating it goes through the registered gradient of
  // AvgPoolGrad with respect to both of its inputs (dy = 2c ⊙ avgPool(x), and x itself).
  const rng = new Rng(23);
  const cases: Array<{ x: Shape4; k: number; s: number }> = [
    { x: [2, 6, 6, 3], k: 2, s: 2 },
    { x: [1, 7, 7, 2], k: 3, s: 2 },
    { x: [2, 5, 5, 2], k: 2, s: 1 },
  ];
  for (const backend of BACKENDS) {
    await useBackend(backend);
    for (const cs of cases) {
      const k: [number, number] = [cs.k, cs.k];
      const st: [number, number] = [cs.s, cs.s];
      const o = (cs.x[1] - cs.k) / cs.s + 1;
      const oShape = [cs.x[0], o, o, cs.x[3]];
      const x = randn(rng, size(cs.x));
      const c = randn(rng, size(oShape));
      const V = randn(rng, size(cs.x));
      const grad = ([xs, cv]: F64[]) => {
        const p = avgPoolRef(xs, cs.x, k, st);
        return avgPoolBackpropRef(Float64Array.from(p, (v, i) => 2 * cv[i] * v), cs.x, k, st);
      };
      const got = await tfSecondOrder([{ data: x, shape: cs.x }, { data: c, shape: oShape }], ([xs, cv]) =>
        tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(cv, tf.square(tf.avgPool(xx as tf.Tensor4D, cs.k, cs.s, 'valid')))))(xs), V);
      const what = `${backend} ${cs.x.join('×')} pool ${cs.k} stride ${cs.s}`;
      assertClose(got.first, grad([x, c]), TOL, `${what}: first order`);
      const ref = differencesOfGradient([x, c], grad, V, 1e-3);
      assertClose(got.second[0], ref[0], TOL, `${what}: ∂/∂x`);
      assertClose(got.second[1], ref[1], TOL, `${what}: ∂/∂c`);
    }
  }
});

test("a padded avgPool's second-order gradient is refused (tfjs's AvgPoolGrad does not match AvgPool at padded borders)", async () => {
  await useBackend('cpu');
  const x = tf.randomNormal([1, 4, 4, 1]);
  assert.throws(
    () => tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.grad((y: tf.Tensor) => tf.sum(tf.square(tf.avgPool(y as tf.Tensor4D, 3, 1, 'same'))))(xx))))(x),
    /second-order gradient of AvgPoolGrad: only unpadded pools/,
  );
  // 'same' that needs no padding (2×2, stride 2, even size) is an unpadded pool and works.
  const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.grad((y: tf.Tensor) => tf.sum(tf.square(tf.avgPool(y as tf.Tensor4D, 2, 2, 'same'))))(xx))))(x);
  assert.deepEqual(g.shape, [1, 4, 4, 1]);
  tf.dispose([x, g]);
});

interface ConvCase {
  x: Shape4;
  k: [number, number];
  cout: number;
  stride: number;
  pad: 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
}

test('conv2d gradients differentiate correctly (Conv2DBackpropFilter and Conv2DBackpropInput second order, the fast kernels on wasm): matches float64 differences', async () => {
  // f = Σ c ⊙ conv(x, w)²: ∇ₓf = BackpropInput(2c ⊙ o, w) and ∇_w f = BackpropFilter(x, 2c ⊙ o) with
  // o = conv(x, w). Σ Vx ⊙ ∇ₓf + Σ Vw ⊙ ∇_w f is differentiated with respect to x, w and c: through
  // the registered gradient of Conv2DBackpropFilter (both inputs) and tfjs's of Conv2DBackpropInput,
  // whose forward kernels are conv-grads.ts's on wasm. Every term is at most quadratic in each input.
  const rng = new Rng(24);
  const cases: ConvCase[] = [
    { x: [2, 5, 6, 3], k: [3, 3], cout: 4, stride: 1, pad: 'same' },
    { x: [1, 7, 7, 2], k: [3, 3], cout: 3, stride: 2, pad: 'valid' },
    { x: [1, 8, 8, 2], k: [3, 3], cout: 3, stride: 2, pad: 'same' },
    { x: [2, 6, 5, 2], k: [4, 4], cout: 2, stride: 1, pad: 'same' },
    // (wasm's forward conv mis-sizes a numeric pad with an even kernel, k 3×2 pad 1 → 5 columns instead
    // of 6, and its gradients then fail: a tfjs-backend-wasm issue, outside lia, which never pads by number.)
    { x: [1, 5, 5, 2], k: [3, 3], cout: 2, stride: 1, pad: 2 },
    { x: [1, 6, 6, 2], k: [3, 3], cout: 2, stride: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  ];
  for (const backend of BACKENDS) {
    await useBackend(backend);
    for (const cs of cases) {
      const wShape: Shape4 = [cs.k[0], cs.k[1], cs.x[3], cs.cout];
      const info = tf.backend_util.computeConv2DInfo(cs.x, wShape, cs.stride, 1, cs.pad);
      const oShape: Shape4 = [cs.x[0], info.outHeight, info.outWidth, cs.cout];
      const st: [number, number] = [cs.stride, cs.stride];
      const pad: [number, number] = [info.padInfo.top, info.padInfo.left];
      const x = randn(rng, size(cs.x));
      const w = randn(rng, size(wShape), 0.5);
      const c = randn(rng, size(oShape));
      const V = randn(rng, size(cs.x) + size(wShape));
      const grad = ([xs, ws, cv]: F64[]) => {
        const o = conv2dRef(xs, cs.x, ws, wShape, st, pad, [oShape[1], oShape[2]]);
        const dy = Float64Array.from(o, (v, i) => 2 * cv[i] * v);
        const gx = conv2dBackpropInputRef(dy, oShape, ws, wShape, st, pad, cs.x);
        const gw = conv2dBackpropFilterRef(xs, cs.x, dy, oShape, wShape, st, pad);
        const out = new Float64Array(gx.length + gw.length);
        out.set(gx);
        out.set(gw, gx.length);
        return out;
      };
      const got = await tfSecondOrder([{ data: x, shape: cs.x }, { data: w, shape: wShape }, { data: c, shape: oShape }], ([xs, ws, cv]) => {
        const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(cv, tf.square(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, cs.stride, cs.pad))));
        const [gx, gw] = tf.grads(f)([xs, ws]);
        return tf.concat([tf.reshape(gx, [-1]), tf.reshape(gw, [-1])]);
      }, V);
      const what = `${backend} x ${cs.x.join('×')} k ${cs.k.join('×')}→${cs.cout} stride ${cs.stride} pad ${JSON.stringify(cs.pad)}`;
      assertClose(got.first, grad([x, w, c]), TOL, `${what}: first order`);
      const ref = differencesOfGradient([x, w, c], grad, V, 1e-3);
      ['x', 'w', 'c'].forEach((name, i) => assertClose(got.second[i], ref[i], TOL, `${what}: ∂/∂${name}`));
    }
  }
});

// R1 of a small discriminator: conv 3×3 → lrelu → avgPool 2 → conv 3×3 → lrelu → avgPool 2 → dense,
// built from the layers' own ops (activate, downsample2x) and r1Penalty.
const N = 2;
const R1_SHAPES = { x: [N, 8, 8, 2] as Shape4, w1: [3, 3, 2, 4] as Shape4, w2: [3, 3, 4, 5] as Shape4, wd: [2 * 2 * 5, 1] };

function discTf(x: tf.Tensor4D, w1: tf.Tensor, w2: tf.Tensor, wd: tf.Tensor): tf.Tensor {
  let h = downsample2x(activate(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), 'lrelu') as tf.Tensor4D);
  h = downsample2x(activate(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), 'lrelu') as tf.Tensor4D);
  return tf.matMul(tf.reshape(h, [x.shape[0], -1]), wd as tf.Tensor2D);
}

/** Float64: ∂ΣD/∂x of the discriminator above, and the smallest |pre-activation| (the distance to a kink). */
function discInputGradient(x: F64, w1: F64, w2: F64, wd: F64): { gx: F64; minPre: number } {
  const [n, r, , cin] = R1_SHAPES.x;
  const c1 = R1_SHAPES.w1[3];
  const c2 = R1_SHAPES.w2[3];
  const act = (v: number) => (v > 0 ? v : 0.2 * v) * Math.SQRT2;
  const dact = (v: number) => (v > 0 ? 1 : 0.2) * Math.SQRT2;
  const s1: Shape4 = [n, r, r, c1];
  const p1Shape: Shape4 = [n, r / 2, r / 2, c1];
  const s2: Shape4 = [n, r / 2, r / 2, c2];
  const o1 = conv2dRef(x, [n, r, r, cin], w1, R1_SHAPES.w1, [1, 1], [1, 1], [r, r]);
  const p1 = avgPoolRef(o1.map(act), s1, [2, 2], [2, 2]);
  const o2 = conv2dRef(p1, p1Shape, w2, R1_SHAPES.w2, [1, 1], [1, 1], [r / 2, r / 2]);
  // Backward: ∂ΣD/∂p2 is wd for every image; then the pools' adjoints, the activations' slopes and the
  // convolutions' input gradients.
  const per = wd.length;
  const gp2 = Float64Array.from({ length: n * per }, (_, i) => wd[i % per]);
  const go2 = avgPoolBackpropRef(gp2, s2, [2, 2], [2, 2]).map((g, i) => g * dact(o2[i]));
  const gp1 = conv2dBackpropInputRef(go2, s2, w2, R1_SHAPES.w2, [1, 1], [1, 1], p1Shape);
  const go1 = avgPoolBackpropRef(gp1, s1, [2, 2], [2, 2]).map((g, i) => g * dact(o1[i]));
  const gx = conv2dBackpropInputRef(go1, s1, w1, R1_SHAPES.w1, [1, 1], [1, 1], R1_SHAPES.x);
  let minPre = Infinity;
  for (const v of o1) minPre = Math.min(minPre, Math.abs(v));
  for (const v of o2) minPre = Math.min(minPre, Math.abs(v));
  return { gx, minPre };
}

/** R1 = mean over images of ‖∂ΣD/∂x‖², in float64. */
function r1Reference(x: F64, w1: F64, w2: F64, wd: F64): number {
  const { gx } = discInputGradient(x, w1, w2, wd);
  let s = 0;
  for (const v of gx) s += v * v;
  return s / N;
}

// Also on torch when its addon is built: there leakyRelu is one fused kernel with its own registered
// gradients (engine/fused.ts).
const R1_BACKENDS: BackendName[] = loadTorchAddon() && !BACKENDS.includes('torch') ? [...BACKENDS, 'torch'] : BACKENDS;

test(`R1 through conv + lrelu + avgPool + dense: its weight gradient matches float64 differences of a plain-JS R1 (${R1_BACKENDS.join(', ')})`, async () => {
  const rng = new Rng(31);
  const x = randn(rng, size(R1_SHAPES.x));
  const w1 = randn(rng, size(R1_SHAPES.w1), 0.5);
  const w2 = randn(rng, size(R1_SHAPES.w2), 0.5);
  const wd = randn(rng, size(R1_SHAPES.wd), 0.5);
  // A step of 1e-7 moves a pre-activation by < 1e-5; none lies that close to the kink at 0, so the
  // differences never cross it. Float64 rounding of R1 (~1e-16 relative) over 2e-7 stays < 1e-8.
  const h = 1e-7;
  const { gx, minPre } = discInputGradient(x, w1, w2, wd);
  assert.ok(minPre > 1e-4, `a pre-activation lies ${minPre} from the kink: choose another seed`);
  const weights = [w1, w2, wd];
  const ref = weights.map((wt) => {
    const out = new Float64Array(wt.length);
    for (let i = 0; i < wt.length; i++) {
      const w0 = wt[i];
      wt[i] = w0 + h;
      const plus = r1Reference(x, w1, w2, wd);
      wt[i] = w0 - h;
      const minus = r1Reference(x, w1, w2, wd);
      wt[i] = w0;
      out[i] = (plus - minus) / (2 * h);
    }
    return out;
  });
  for (const backend of R1_BACKENDS) {
    await useBackend(backend);
    const outs = tf.tidy(() => {
      const xt = tf.tensor4d(Float32Array.from(x), R1_SHAPES.x);
      const vars = [tf.variable(tf.tensor(Float32Array.from(w1), R1_SHAPES.w1)), tf.variable(tf.tensor(Float32Array.from(w2), R1_SHAPES.w2)), tf.variable(tf.tensor(Float32Array.from(wd), R1_SHAPES.wd))];
      const gxt = tf.grad((xx: tf.Tensor) => tf.sum(discTf(xx as tf.Tensor4D, vars[0], vars[1], vars[2])))(xt);
      const { value, grads } = tf.variableGrads(() => r1Penalty((xx) => discTf(xx, vars[0], vars[1], vars[2]), xt), vars);
      const result = [gxt, value, ...vars.map((v) => grads[v.name])];
      tf.dispose(vars);
      return result;
    });
    const [gotGx, gotR1, ...gotGrads] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    tf.dispose(outs);
    assertClose(gotGx, gx, TOL, `${backend}: ∂ΣD/∂x`);
    const r1 = r1Reference(x, w1, w2, wd);
    assert.ok(Math.abs(gotR1[0] - r1) <= TOL * r1, `${backend}: R1 ${gotR1[0]} vs ${r1}`);
    ['w1', 'w2', 'wd'].forEach((name, i) => assertClose(gotGrads[i], ref[i], TOL, `${backend}: ∂R1/∂${name}`));
  }
});
