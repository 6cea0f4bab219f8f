import { createRequire } from 'node:module';
const b = createRequire(import.meta.url)('./native/torch/build/Release/lia_torch.node');
b.setThreads(2);
const s = new Int32Array(1024); b.setScratch(s);
const mk = (shape) => b.write(Float32Array.from({ length: shape.reduce((a, c) => a * c) }, () => Math.random() - 0.5), shape, 0);
const t = (name, f, n = 300) => { for (let i = 0; i < 20; i++) f(); const ts = []; for (let r = 0; r < 5; r++) { const t0 = performance.now(); for (let i = 0; i < n / 5; i++) f(); ts.push((performance.now() - t0) / (n / 5) * 1000); } ts.sort((a, c) => a - c); return ts[2].toFixed(0); };
for (const [ash, bsh, ta, tb] of [[[32,64],[64,128],0,0],[[32,128],[128,64],0,0],[[32,64],[128,64],0,1],[[32,128],[32,64],1,0],[[32,128],[128,128],0,0],[[32,128],[2048,128],0,1],[[32,2048],[2048,128],0,0],[[32,2048],[32,128],1,0]]) {
  const A = mk(ash), B = mk(bsh);
  const conv = t('', () => { b.run(b.ops.BatchMatMul, -1, [A, B], [ta, tb]); b.free(s[1]); });
  const mm = t('', () => { b.run(b.ops.MatMulPlain, -1, [A, B], [ta, tb]); b.free(s[1]); });
  console.log(JSON.stringify(ash), JSON.stringify(bsh), ta, tb, 'rule', conv, 'µs  mm', mm, 'µs');
}
