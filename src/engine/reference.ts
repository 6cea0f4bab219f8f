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

/** ‖a − b‖ / ‖b‖ (or ‖a − b‖ when ‖b‖ = 0). */
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
