// The Node half of scripts/onnx-parity-full.py: loads each exported model with the built simdcnn
// (dist/, so run `npm run build:ts` first), predicts on PyTorch's input and compares with
// PyTorch's output. Exit status 1 when a model is outside the bound.
//   node scripts/onnx-parity-full.mjs DIR MODEL...
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sc from '../dist/index.js';

const [dir, ...models] = process.argv.slice(2);
if (!dir || !models.length) {
  console.error('usage: node scripts/onnx-parity-full.mjs DIR MODEL...  (files from scripts/onnx-parity-full.py)');
  process.exit(2);
}
const f32 = (p) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
let failed = false;
for (const name of models) {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const t0 = performance.now();
  const model = await sc.loadOnnx(join(dir, `${name}.onnx`));
  const t1 = performance.now();
  const y = model.predict(sc.tensor(f32(join(dir, `${name}.in.bin`)), meta.input.shape));
  const t2 = performance.now();
  const got = y.dataSync(), want = f32(join(dir, `${name}.out.bin`));
  let diff = 0, max = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    max = Math.max(max, Math.abs(want[i]));
  }
  const bound = 1e-4 + 1e-3 * max, ok = got.length === want.length && diff <= bound;
  failed ||= !ok;
  console.log(`${name}: ${model.layers.length} layers, ${model.countParams().toLocaleString('en')} params, load ${(t1 - t0).toFixed(0)} ms, `
    + `predict [${meta.input.shape}] ${(t2 - t1).toFixed(0)} ms; max |diff| ${diff.toExponential(2)} (bound ${bound.toExponential(2)}) ${ok ? 'OK' : 'FAIL'}`);
  model.dispose();
}
sc.terminateThreads();
process.exit(failed ? 1 : 0);
