// Activation memory of inference plans with and without liveness (the planner's slot reuse):
// a 50-layer dense chain, a deep residual CNN (16 blocks of two 3×3 convolutions and an add) and the
// reference CNN, at batch 1 and 32. "All kept" is the plan predictLayers uses (every tensor has its
// own buffer), i.e. what a runtime without liveness holds.
//   node bench/memory.mjs [--json]     (npm run build first)
import { writeFileSync } from 'node:fs';
import * as s from '../dist/index.js';
import { referenceCnn } from './cnn.mjs';

const json = process.argv.includes('--json');

function chain() {
  const x = s.input({ shape: [256] });
  let t = x;
  for (let i = 0; i < 50; i++) t = s.layers.dense({ units: 256, activation: 'relu' }).apply(t);
  return s.model({ inputs: x, outputs: t, seed: 1, name: 'dense chain ×50' });
}

function resnet() {
  const x = s.input({ shape: [32, 32, 3] });
  let t = s.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  for (let i = 0; i < 16; i++) {
    const a = s.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(t);
    const b = s.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same' }).apply(a);
    t = s.layers.activation({ activation: 'relu' }).apply(s.layers.add().apply([t, b]));
  }
  const out = s.layers.dense({ units: 10, activation: 'softmax' }).apply(s.layers.flatten().apply(s.layers.maxPooling2d({ poolSize: 4 }).apply(t)));
  return s.model({ inputs: x, outputs: out, seed: 1, name: 'residual CNN, 16 blocks (32×32×32)' });
}

const rows = [];
for (const [label, make] of [['dense chain ×50 (256 units)', chain], ['residual CNN, 16 blocks, 32×32×32', resnet], ['reference CNN (notes)', () => referenceCnn(s)]]) {
  const m = make();
  for (const batch of [1, 32]) {
    const live = m.planBytes(batch).activations;
    const all = m.planBytes(batch, { keepAll: true }).activations;
    rows.push({ model: label, batch, liveBytes: live, allKeptBytes: all, ratio: all / live });
  }
  m.dispose();
}
const mb = (b) => (b / 2 ** 20).toFixed(2);
if (json) console.log(JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
else {
  console.log('| model | batch | activations, liveness | all kept | × |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.model} | ${r.batch} | ${mb(r.liveBytes)} MB | ${mb(r.allKeptBytes)} MB | ${r.ratio.toFixed(1)}× |`);
}
writeFileSync(new URL('./results/memory.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
