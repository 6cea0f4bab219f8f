// MSE/PSNR/SSIM against plain float64 JS references on random images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { mse01, psnr, ssim } from './image-quality.js';
import { Rng } from '../util/rng.js';

await initEngine({ backend: 'wasm' });

/** SSIM of one image pair, float64, straight from Wang et al. (valid 11×11 Gaussian windows). */
function ssimRef(a: Float64Array, b: Float64Array, h: number, w: number, c: number): number {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((p, q) => p + q);
  let total = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i + 11 <= h; i++)
      for (let j = 0; j + 11 <= w; j++) {
        let ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
        for (let u = 0; u < 11; u++)
          for (let v = 0; v < 11; v++) {
            const wt = (g[u] * g[v]) / (gs * gs);
            const pa = a[((i + u) * w + j + v) * c + ch];
            const pb = b[((i + u) * w + j + v) * c + ch];
            ma += wt * pa;
            mb += wt * pb;
            saa += wt * pa * pa;
            sbb += wt * pb * pb;
            sab += wt * pa * pb;
          }
        saa -= ma * ma;
        sbb -= mb * mb;
        sab -= ma * mb;
        const c1 = 1e-4, c2 = 9e-4;
        total += ((2 * ma * mb + c1) * (2 * sab + c2)) / ((ma * ma + mb * mb + c1) * (saa + sbb + c2));
        count++;
      }
  return total / count;
}

test('mse01, psnr and ssim match float64 references; identical images give SSIM 1', async () => {
  const rng = new Rng(3);
  const [n, h, w, c] = [3, 14, 13, 2];
  const a = Float32Array.from({ length: n * h * w * c }, () => rng.uniform(-1, 1));
  const b = Float32Array.from(a, (v) => Math.max(-1, Math.min(1, v + 0.8 * rng.normal())));
  const x = tf.tensor4d(a, [n, h, w, c]);
  const y = tf.tensor4d(b, [n, h, w, c]);
  const before = tf.memory().numTensors;
  const [m, p, s, s1] = [mse01(x, y), psnr(x, y), ssim(x, y), ssim(x, x)];
  const [md, pd, sd, s1d] = await Promise.all([m.data(), p.data(), s.data(), s1.data()]);
  const size = h * w * c;
  for (let k = 0; k < n; k++) {
    const ua = Float64Array.from(a.subarray(k * size, (k + 1) * size), (v) => (v + 1) / 2);
    const ub = Float64Array.from(b.subarray(k * size, (k + 1) * size), (v) => (v + 1) / 2);
    const mse = ua.reduce((acc, v, i) => acc + (v - ub[i]) ** 2, 0) / size;
    assert.ok(Math.abs(md[k] - mse) < 1e-6, `mse ${md[k]} vs ${mse}`);
    assert.ok(Math.abs(pd[k] - 10 * Math.log10(1 / mse)) < 1e-3, `psnr ${pd[k]}`);
    const ref = ssimRef(ua, ub, h, w, c);
    assert.ok(Math.abs(sd[k] - ref) < 1e-4, `ssim ${sd[k]} vs ${ref}`);
    assert.ok(ref < 0.9, 'the noisy copy is not trivially similar');
    assert.ok(Math.abs(s1d[k] - 1) < 1e-5, `ssim(x, x) = ${s1d[k]}`);
  }
  tf.dispose([m, p, s, s1]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});
