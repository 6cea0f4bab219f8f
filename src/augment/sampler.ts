// Differentiable affine resampling of a batch of NHWC images, one 2×3 matrix per image, on every
// backend. tfjs registers no gradient for tf.image.transform (ENGINE.md), so the warp is built here:
// the source coordinates and bilinear weights are computed on the device from the matrices (no
// gradient: they depend on the random draws only), the four neighbours are read with one gather
// (GatherNd) and blended; the backward pass is the transpose, a scatter-add of the weighted output gradient
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
    // Per axis: the two neighbours (reflected or clamped) and their weights (0 outside for zeros).
    const axis = (src: tf.Tensor, size: number): Array<{ at: tf.Tensor; wt: tf.Tensor }> => {
      const lo = tf.floor(src);
      const frac = tf.sub(src, lo);
      return [[lo, tf.sub(1, frac)], [tf.add(lo, 1), frac]].map(([i, wt]) => {
        if (border === 'reflect') return { at: reflect(i, size), wt };
        const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(i, 0), tf.lessEqual(i, size - 1)), 'float32');
        return { at: tf.clipByValue(i, 0, size - 1), wt: tf.mul(wt, inside) };
      });
    };
    const xs = axis(sx, w);
    const ys = axis(sy, h);
    const offset = tf.mul(tf.range(0, n, 1, 'float32').reshape([n, 1]), hw);
    const rows = ys.map((y) => ({ at: tf.add(tf.mul(y.at, w), offset), wt: y.wt }));
    const idx: tf.Tensor[] = [];
    const wts: tf.Tensor[] = [];
    for (const y of rows) {
      for (const x of xs) {
        idx.push(tf.add(y.at, x.at));
        wts.push(tf.mul(y.wt, x.wt));
      }
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
      // GatherNd rather than GatherV2: the torch backend's GatherV2 reads the index range back to
      // the host (a device sync per call on CUDA); GatherNd does not. tfjs has no GatherNd
      // gradient, but this function brings its own.
      const gathered = tf.gatherND(tf.reshape(input, [rows, c]), tf.reshape(idx, [4 * rows, 1])).reshape([4, rows, c]);
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
