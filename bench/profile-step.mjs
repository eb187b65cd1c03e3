// Where a training step's time goes, layer by layer (forward and backward), for the reference CNN.
//   node bench/profile-step.mjs [batch] [threads]      (npm run build first)
import * as s from '../dist/index.js';
import { referenceCnn } from './cnn.mjs';

const batch = Number(process.argv[2] ?? 32);
if (process.argv[3]) s.setThreads(Number(process.argv[3]));
const model = referenceCnn(s);
model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const n = batch * 20;
const x = s.uint8Images(new Uint8Array(n * 784).map((_, i) => (i * 37) % 256), [28, 28, 1]);
const y = new Uint8Array(n).map((_, i) => i % 10);
await model.fit(x, y, { epochs: 1, batchSize: batch }); // warm-up

// Time each layer call by wrapping the methods.
const times = new Map();
const wrap = (obj, key, label) => {
  const f = obj[key].bind(obj);
  obj[key] = (...a) => { const t0 = performance.now(); const r = f(...a); times.set(label, (times.get(label) ?? 0) + performance.now() - t0); return r; };
};
for (const l of model.layers) { wrap(l, 'forward', `${l.name} fwd`); wrap(l, 'backward', `${l.name} bwd`); if (l.forwardPooled) { wrap(l, 'forwardPooled', `${l.name}+pool fwd`); wrap(l, 'backwardPooled', `${l.name}+pool bwd`); } }
const opt = model.optimizer;
wrap(opt, 'applyGradients', 'optimizer');
const t0 = performance.now();
await model.fit(x, y, { epochs: 1, batchSize: batch });
const total = performance.now() - t0;
const steps = n / batch;
console.log(`batch ${batch}: ${(total / steps).toFixed(2)} ms/step, ${(n / total * 1000).toFixed(0)} images/s (${s.wasmVariant()})`);
let accounted = 0;
for (const [k, v] of times) { accounted += v; console.log(`${k.padEnd(24)} ${(v / steps).toFixed(3)} ms`); }
console.log(`${'other (loss, gather…)'.padEnd(24)} ${((total - accounted) / steps).toFixed(3)} ms`);
