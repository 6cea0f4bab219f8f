// Plain-JS float64 reference implementations used to check the fast paths, and the comparison
// helpers the tests share. Nothing here is on a hot path.

/** NHWC conv2d in float64 with explicit padding (top, left) and stride; output size given. */
export function conv2dRef(
  x: Float64Array | Float32Array,
  xShape: [number, number, number, number],
  w: Float64Array | Float32Array,
  wShape: [number, number, number, number],
  stride: [number, number],
  padTopLeft: [number, number],
  outHW: [number, number],
): Float64Array {
  const [n, h, wd, cin] = xShape;
  const [kh, kw, , cout] = wShape;
  const [oh, ow] = outHW;
  const out = new Float64Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let co = 0; co < cout; co++) {
          let s = 0;
          for (let a = 0; a < kh; a++) {
            const y = i * stride[0] + a - padTopLeft[0];
            if (y < 0 || y >= h) continue;
            for (let c = 0; c < kw; c++) {
              const xx = j * stride[1] + c - padTopLeft[1];
              if (xx < 0 || xx >= wd) continue;
              for (let ci = 0; ci < cin; ci++) s += x[((b * h + y) * wd + xx) * cin + ci] * w[((a * kw + c) * cin + ci) * cout + co];
            }
          }
          out[((b * oh + i) * ow + j) * cout + co] = s;
        }
  return out;
}

/**
 * The input gradient of conv2dRef (its adjoint): dx[b, y, x, ci] = Σ dy[b, i, j, co] · w[a, c, ci, co]
 * over every output (i, j) whose window read (y, x) at tap (a, c).
 */
export function conv2dBackpropInputRef(
  dy: ArrayLike<number>,
  dyShape: [number, number, number, number],
  w: ArrayLike<number>,
  wShape: [number, number, number, number],
  stride: [number, number],
  padTopLeft: [number, number],
  xShape: [number, number, number, number],
): Float64Array {
  const [n, h, wd, cin] = xShape;
  const [kh, kw, , cout] = wShape;
  const [, oh, ow] = dyShape;
  const dx = new Float64Array(n * h * wd * cin);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let co = 0; co < cout; co++) {
          const g = dy[((b * oh + i) * ow + j) * cout + co];
          for (let a = 0; a < kh; a++) {
            const y = i * stride[0] + a - padTopLeft[0];
            if (y < 0 || y >= h) continue;
            for (let c = 0; c < kw; c++) {
              const xx = j * stride[1] + c - padTopLeft[1];
              if (xx < 0 || xx >= wd) continue;
              for (let ci = 0; ci < cin; ci++) dx[((b * h + y) * wd + xx) * cin + ci] += g * w[((a * kw + c) * cin + ci) * cout + co];
            }
          }
        }
  return dx;
}

/** The filter gradient of conv2dRef: dW[a, c, ci, co] = Σ x[b, i·s + a − top, j·s + c − left, ci] · dy[b, i, j, co]. */
export function conv2dBackpropFilterRef(
  x: ArrayLike<number>,
  xShape: [number, number, number, number],
  dy: ArrayLike<number>,
  dyShape: [number, number, number, number],
  wShape: [number, number, number, number],
  stride: [number, number],
  padTopLeft: [number, number],
): Float64Array {
  const [n, h, wd, cin] = xShape;
  const [kh, kw, , cout] = wShape;
  const [, oh, ow] = dyShape;
  const dw = new Float64Array(kh * kw * cin * cout);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let a = 0; a < kh; a++) {
          const y = i * stride[0] + a - padTopLeft[0];
          if (y < 0 || y >= h) continue;
          for (let c = 0; c < kw; c++) {
            const xx = j * stride[1] + c - padTopLeft[1];
            if (xx < 0 || xx >= wd) continue;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x[((b * h + y) * wd + xx) * cin + ci];
              for (let co = 0; co < cout; co++) dw[((a * kw + c) * cin + ci) * cout + co] += xv * dy[((b * oh + i) * ow + j) * cout + co];
            }
          }
        }
  return dw;
}

/** Unpadded NHWC average pooling: k×k windows every `stride` pixels, (H − k)/s + 1 outputs per side. */
export function avgPoolRef(x: ArrayLike<number>, xShape: [number, number, number, number], k: [number, number], stride: [number, number]): Float64Array {
  const [n, h, w, c] = xShape;
  const oh = Math.floor((h - k[0]) / stride[0]) + 1;
  const ow = Math.floor((w - k[1]) / stride[1]) + 1;
  const out = new Float64Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let a = 0; a < k[0]; a++) for (let e = 0; e < k[1]; e++) s += x[((b * h + i * stride[0] + a) * w + j * stride[1] + e) * c + ch];
          out[((b * oh + i) * ow + j) * c + ch] = s / (k[0] * k[1]);
        }
  return out;
}

/** The adjoint of avgPoolRef: each output's dy spread evenly over the k×k pixels it averaged. */
export function avgPoolBackpropRef(dy: ArrayLike<number>, xShape: [number, number, number, number], k: [number, number], stride: [number, number]): Float64Array {
  const [n, h, w, c] = xShape;
  const oh = Math.floor((h - k[0]) / stride[0]) + 1;
  const ow = Math.floor((w - k[1]) / stride[1]) + 1;
  const dx = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          const g = dy[((b * oh + i) * ow + j) * c + ch] / (k[0] * k[1]);
          for (let a = 0; a < k[0]; a++) for (let e = 0; e < k[1]; e++) dx[((b * h + i * stride[0] + a) * w + j * stride[1] + e) * c + ch] += g;
        }
  return dx;
}

/** max |a − b| / max |b|: the worst element against the reference's scale (|a − b| when b is all zero). */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxRelativeError: length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

/** ‖a − b‖ / ‖b‖ (or ‖a − b‖ when ‖b‖ = 0). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
