// Mean and max absolute pixel difference of two images of one size (as fractions of the range):
// node scripts/grid-diff.mjs a.png b.png
import sharp from 'sharp';
const [a, b] = process.argv.slice(2);
const ra = await sharp(a).raw().toBuffer({ resolveWithObject: true });
const rb = await sharp(b).raw().toBuffer({ resolveWithObject: true });
let s = 0, m = 0;
for (let i = 0; i < ra.data.length; i++) { const d = Math.abs(ra.data[i] - rb.data[i]); s += d; m = Math.max(m, d); }
console.log(JSON.stringify({ a, b, mean_abs_diff: +(s / ra.data.length / 255).toFixed(5), max_abs_diff: +(m / 255).toFixed(4) }));
