// The fused styled convolution (engine/fused.ts, one torch kernel forward and one backward) against
// the composed tfjs ops (nn/modulated-conv.ts): on torch, the same layers with withComposedOps, and
// on the cpu backend; outputs and the gradients of every parameter and input within 1e-5 relative,
// for the upsampling and plain styled convs (random, const and no noise) and toRGB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from './backend.js';
import { loadTorchAddon } from './torch/addon.js';
import { hasFusedStyledConv, withComposedOps } from './fused.js';
import { maxRelativeError } from './reference.js';
import { StyledConv, ToRGB, type NoiseMode } from '../nn/modulated-conv.js';
import { Rng } from '../util/rng.js';
import { withHostRandom } from './random.js';

const skip = loadTorchAddon() ? false : 'the torch addon is not built (npm run build:torch)';

type Case = { name: string; make: () => StyledConv | ToRGB; noise?: NoiseMode; inC: number; res: number };
const CASES: Case[] = [
  { name: 'upsampling styled conv, random noise', make: () => new StyledConv(new Rng(1), 6, 5, 8, 8, true), noise: 'random', inC: 6, res: 4 },
  { name: 'styled conv, const noise', make: () => new StyledConv(new Rng(2), 5, 7, 8, 6), noise: 'const', inC: 5, res: 6 },
  { name: 'styled conv, no noise', make: () => new StyledConv(new Rng(3), 4, 4, 8, 5), noise: 'none', inC: 4, res: 5 },
  { name: 'toRGB', make: () => new ToRGB(new Rng(4), 6, 3, 8), inC: 6, res: 4 },
];

/** Output and gradients (of Σ c ⊙ out) for every parameter, x and y. */
async function run(c: Case, composed: boolean): Promise<Float32Array[]> {
  const layer = c.make();
  // Non-zero noise strength and bias, so that their paths count.
  tf.tidy(() => {
    for (const [k, v] of layer.namedParameters()) if (/strength|bias$/.test(k) && !/affine/.test(k)) v.assign(tf.fill(v.shape, 0.3));
  });
  const rng = new Rng(9);
  const x = tf.tensor4d(Float32Array.from({ length: 3 * c.res * c.res * c.inC }, () => rng.normal()), [3, c.res, c.res, c.inC]);
  const y = tf.tensor2d(Float32Array.from({ length: 3 * 8 }, () => rng.normal()), [3, 8]);
  const f = (xx: tf.Tensor4D, yy: tf.Tensor2D) => (layer instanceof StyledConv ? layer.forward(xx, yy, c.noise!, 77) : layer.forward(xx, yy));
  const go = () =>
    tf.tidy(() => {
      const out = f(x, y);
      const weights = tf.tensor(Float32Array.from({ length: out.size }, (_, i) => Math.cos(i * 0.37)), out.shape);
      const params = [...layer.namedParameters().values()];
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x, y), weights)) as tf.Scalar, params);
      const [gx, gy] = tf.grads((xx: tf.Tensor, yy: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D, yy as tf.Tensor2D), weights)))([x, y]);
      return [out, ...params.map((p) => grads[p.name] ?? tf.zerosLike(p)), gx, gy]; // no noise: no gradient for its strength
    });
  const outs = await withHostRandom(() => (composed ? withComposedOps(go) : go()));
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...outs, x, y]);
  layer.dispose();
  return values;
}

test('the fused styled conv and toRGB on torch equal the composed ops (torch and cpu): outputs and gradients within 1e-5', { skip }, async (t) => {
  for (const c of CASES) {
    await initEngine({ backend: 'torch', threads: 1 });
    assert.ok(hasFusedStyledConv());
    const before = tf.memory().numTensors;
    const fused = await run(c, false);
    assert.equal(tf.memory().numTensors, before, `${c.name}: tensors leaked`);
    const composedTorch = await run(c, true);
    await initEngine({ backend: 'cpu' });
    assert.equal(hasFusedStyledConv(), false);
    const cpu = await run(c, false);
    let worst = 0;
    fused.forEach((v, i) => {
      for (const [ref, what] of [[composedTorch[i], 'composed on torch'], [cpu[i], 'cpu']] as const) {
        const rel = maxRelativeError(v, ref);
        worst = Math.max(worst, rel);
        assert.ok(rel <= 1e-5, `${c.name}, result ${i} (0: output, then parameters, x, y): fused vs ${what} ${rel.toExponential(2)}`);
      }
    });
    t.diagnostic(`${c.name}: worst ${worst.toExponential(1)}`);
  }
});

test('a styled conv is one kernel forward and one backward on torch', { skip }, async () => {
  await initEngine({ backend: 'torch', threads: 1 });
  const layer = new StyledConv(new Rng(1), 4, 4, 8, 4);
  const x = tf.ones([2, 4, 4, 4]) as tf.Tensor4D;
  const y = tf.ones([2, 8]) as tf.Tensor2D;
  const prof = await tf.profile(() => tf.variableGrads(() => tf.sum(layer.forward(x, y, 'const', 0)) as tf.Scalar, [layer.conv.weight]).grads[layer.conv.weight.name]);
  const names = prof.kernels.map((k) => k.name);
  assert.equal(names.filter((n) => n === 'LiaStyledConv').length, 1);
  assert.equal(names.filter((n) => n === 'LiaStyledConvGrad').length, 1);
  assert.ok(!names.includes('Conv2D') && !names.includes('Conv2DBackpropFilter'), names.join(', '));
  tf.dispose([x, y]);
  layer.dispose();
});

test('the fused dense layer (the generator\'s) on torch equals the composed ops: output and gradients within 1e-5, one kernel each way', { skip }, async () => {
  const { EqualDense } = await import('../nn/dense.js');
  const run = async (composed: boolean, act: 'linear' | 'lrelu', lrMul: number, bias: boolean) => {
    const layer = new EqualDense(new Rng(3), 12, 7, { act, lrMul, bias, biasInit: 0.5, firstOrder: true });
    const rng = new Rng(4);
    const x = tf.tensor2d(Float32Array.from({ length: 5 * 12 }, () => rng.normal()), [5, 12]);
    const w = tf.tensor2d(Float32Array.from({ length: 5 * 7 }, (_, i) => Math.sin(i)), [5, 7]);
    const go = () =>
      tf.tidy(() => {
        const params = [...layer.namedParameters().values()];
        const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.forward(xx as tf.Tensor2D), w)) as tf.Scalar;
        const { grads } = tf.variableGrads(() => f(x), params);
        return [layer.forward(x), ...params.map((p) => grads[p.name]), tf.grad(f)(x)];
      });
    const outs = composed ? withComposedOps(go) : go();
    const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([...outs, x, w]);
    layer.dispose();
    return values;
  };
  for (const [act, lrMul, bias] of [['lrelu', 0.01, true], ['linear', 1, true], ['linear', 1, false]] as const) {
    await initEngine({ backend: 'torch', threads: 1 });
    const fused = await run(false, act, lrMul, bias);
    const composed = await run(true, act, lrMul, bias);
    await initEngine({ backend: 'cpu' });
    const cpu = await run(false, act, lrMul, bias);
    fused.forEach((v, i) => {
      for (const [ref, what] of [[composed[i], 'composed on torch'], [cpu[i], 'cpu']] as const) {
        const rel = maxRelativeError(v, ref);
        assert.ok(rel <= 1e-5, `${act}, lrMul ${lrMul}, bias ${bias}: result ${i} fused vs ${what} ${rel.toExponential(2)}`);
      }
    });
  }
  await initEngine({ backend: 'torch', threads: 1 });
  const layer = new EqualDense(new Rng(3), 4, 3, { act: 'lrelu', firstOrder: true });
  const x = tf.ones([2, 4]) as tf.Tensor2D;
  const prof = await tf.profile(() => tf.variableGrads(() => tf.sum(layer.forward(x)) as tf.Scalar, [layer.weight]).grads[layer.weight.name]);
  assert.deepEqual(prof.kernels.map((k) => k.name).filter((n) => n.startsWith('Lia') || n === 'BatchMatMul'), ['LiaDense', 'LiaDenseGrad']);
  tf.dispose(x);
  layer.dispose();
});

test('the fused scaled conv (the discriminator\'s) on torch equals the composed ops up to R1\'s second order, within 1e-5', { skip }, async () => {
  const { EqualConv2d } = await import('../nn/conv.js');
  const run = async (composed: boolean, k: number, bias: boolean) => {
    const layer = new EqualConv2d(new Rng(5), 3, 4, k, { bias, act: 'lrelu' });
    if (layer.bias) tf.tidy(() => layer.bias!.assign(tf.fill([4], 0.2)));
    const rng = new Rng(6);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 5 * 3 }, () => rng.normal()), [2, 5, 5, 3]);
    const go = () =>
      tf.tidy(() => {
        const params = [...layer.namedParameters().values()];
        const d = (xx: tf.Tensor) => tf.sum(tf.mul(layer.forward(xx as tf.Tensor4D), tf.cos(tf.range(0, 4))));
        // R1-shaped: the weights' gradient of |∂D/∂x|².
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.grad(d)(x))) as tf.Scalar, params);
        return [layer.forward(x), tf.grad(d)(x), ...params.map((p) => grads[p.name] ?? tf.zerosLike(p))];
      });
    const outs = composed ? withComposedOps(go) : go();
    const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([...outs, x]);
    layer.dispose();
    return values;
  };
  for (const [k, bias] of [[3, true], [1, false]] as const) {
    await initEngine({ backend: 'torch', threads: 1 });
    const fused = await run(false, k, bias);
    const composed = await run(true, k, bias);
    await initEngine({ backend: 'cpu' });
    const cpu = await run(false, k, bias);
    fused.forEach((v, i) => {
      for (const [ref, what] of [[composed[i], 'composed on torch'], [cpu[i], 'cpu']] as const) {
        const rel = maxRelativeError(v, ref);
        assert.ok(rel <= 1e-5, `${k}×${k}, bias ${bias}: result ${i} (output, input gradient, second-order weight gradients) fused vs ${what} ${rel.toExponential(2)}`);
      }
    });
  }
});
