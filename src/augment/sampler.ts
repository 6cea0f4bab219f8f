// Differentiable affine resampling of a batch of NHWC images, one 2×3 matrix per image, on every
// backend. tfjs registers no gradient for tf.image.transform (ENGINE.md), so the warp is built here:
// the source coordinates and bilinear weights are computed on the device from the matrices (no
// gradient: they depend on the random draws only), the four neighbours are read with one GatherV2
// and blended; the backward pass is the transpose, a scatter-add of the weighted output gradient
// (UnsortedSegmentSum where the backend has it — cpu, torch, webgpu — else ScatterNd, as on wasm).
// Second-order gradients do not flow through the warp (R1 is taken w.r.t. the augmented reals).
import * as tf from '@tensorflow/tfjs';

/** What a sample that falls outside the image reads: the mirror image (reflect) or 0 (zeros). */
export type Border = 'reflect' | 'zeros';

/** Centred pixel coordinates of an h×w grid, x and y, row-major (x = j − (w−1)/2, y = i − (h−1)/2). */
function centredGrid(h: number, w: number): { xs: Float32Array; ys: Float32Array } {
  const xs = new Float32Array(h * w);
  const ys = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      xs[i * w + j] = j - (w - 1) / 2;
      ys[i * w + j] = i - (h - 1) / 2;
    }
  }
  return { xs, ys };
}

/** Reflection of integer-valued coordinates into [0, size−1] (…2 1 | 0 1 2 … size−1 | size−2 …). */
function reflect(i: tf.Tensor, size: number): tf.Tensor {
  if (size === 1) return tf.zerosLike(i);
  const period = 2 * (size - 1);
  const m = tf.sub(i, tf.mul(tf.floor(tf.div(i, period)), period)); // floor-mod, exact on integers
  return tf.minimum(m, tf.sub(period, m));
}

/**
 * Flat source indices [4·n·h·w] (int32) and bilinear weights [4, n·h·w, 1] of the warp: output
 * pixel (i, j) of image b reads the input at A_b · (x, y, 1) in centred pixel coordinates.
 */
export function warpIndices(mats: ArrayLike<number>, n: number, h: number, w: number, border: Border): { idx: tf.Tensor1D; wts: tf.Tensor3D } {
  if (mats.length !== n * 6) throw new Error(`affine warp: expected ${n * 6} matrix entries (n = ${n} 2×3 matrices), got ${mats.length}`);
  return tf.tidy(() => {
    const hw = h * w;
    const grid = centredGrid(h, w);
    const bx = tf.tensor2d(grid.xs, [1, hw]);
    const by = tf.tensor2d(grid.ys, [1, hw]);
    const a = tf.tensor2d(Float32Array.from(mats), [n, 6]);
    const col = (k: number) => tf.slice(a, [0, k], [n, 1]);
    const sx = tf.add(tf.add(tf.add(tf.mul(col(0), bx), tf.mul(col(1), by)), col(2)), (w - 1) / 2);
    const sy = tf.add(tf.add(tf.add(tf.mul(col(3), bx), tf.mul(col(4), by)), col(5)), (h - 1) / 2);
    const x0 = tf.floor(sx);
    const y0 = tf.floor(sy);
    const fx = tf.sub(sx, x0);
    const fy = tf.sub(sy, y0);
    const offset = tf.mul(tf.range(0, n, 1, 'float32').reshape([n, 1]), hw);
    const idx: tf.Tensor[] = [];
    const wts: tf.Tensor[] = [];
    for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      let xi = dx ? tf.add(x0, 1) : x0;
      let yi = dy ? tf.add(y0, 1) : y0;
      let wt = tf.mul(dx ? fx : tf.sub(1, fx), dy ? fy : tf.sub(1, fy));
      if (border === 'reflect') {
        xi = reflect(xi, w);
        yi = reflect(yi, h);
      } else {
        const inside = tf.logicalAnd(
          tf.logicalAnd(tf.greaterEqual(xi, 0), tf.lessEqual(xi, w - 1)),
          tf.logicalAnd(tf.greaterEqual(yi, 0), tf.lessEqual(yi, h - 1)),
        );
        wt = tf.mul(wt, tf.cast(inside, 'float32'));
        xi = tf.clipByValue(xi, 0, w - 1);
        yi = tf.clipByValue(yi, 0, h - 1);
      }
      idx.push(tf.add(tf.add(tf.mul(yi, w), xi), offset));
      wts.push(wt);
    }
    return {
      idx: tf.cast(tf.concat(idx, 0).reshape([4 * n * hw]), 'int32') as tf.Tensor1D,
      wts: tf.concat(wts, 0).reshape([4, n * hw, 1]) as tf.Tensor3D,
    };
  });
}

/** Sum of `values` rows into `rows` rows by index (the transpose of a gather). */
function scatterAdd(values: tf.Tensor2D, idx: tf.Tensor1D, rows: number): tf.Tensor2D {
  if (tf.getKernel('UnsortedSegmentSum', tf.getBackend())) return tf.unsortedSegmentSum(values, idx, rows);
  return tf.scatterND(idx.reshape([idx.size, 1]), values, [rows, values.shape[1]]) as tf.Tensor2D;
}

/**
 * Warps each image of x [n, h, w, c] by its own affine map. `mats`: n × 6 numbers, the first two rows
 * of the 3×3 matrix that takes an output pixel's centred coordinates (x right, y down, origin at the
 * image centre) to the input's. Bilinear interpolation; outside the image, `border` decides.
 * Differentiable w.r.t. x (first order).
 */
export function affineWarp(x: tf.Tensor4D, mats: ArrayLike<number>, border: Border = 'reflect'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rows = n * h * w;
  return tf.tidy(() => {
    const { idx, wts } = warpIndices(mats, n, h, w, border);
    const warp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([idx, wts]);
      const gathered = tf.gather(tf.reshape(input, [rows, c]), idx).reshape([4, rows, c]);
      const value = tf.sum(tf.mul(gathered, wts), 0).reshape([n, h, w, c]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sIdx, sWts] = saved as [tf.Tensor1D, tf.Tensor3D];
          const spread = tf.mul(tf.reshape(dy, [1, rows, c]), sWts).reshape([4 * rows, c]) as tf.Tensor2D;
          return scatterAdd(spread, sIdx, rows).reshape([n, h, w, c]);
        },
      };
    });
    return warp(x) as tf.Tensor4D;
  });
}
