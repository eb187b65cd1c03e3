// simdcnn runner (hosted by child.mjs): the reference CNN, trained with fit and run with predict,
// on 1 thread or all cores (setThreads per task: the pool stays up between tasks).
import { readFileSync } from 'node:fs';
import * as s from '../../dist/index.js';
import { referenceCnn } from '../cnn.mjs';
import { timeTask, toFloat } from './timing.mjs';

let infer, trainer;

export async function setup() {
  await s.ready();
  infer = referenceCnn(s, 1);
  trainer = referenceCnn(s, 1);
  trainer.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  return { library: 'simdcnn', version, backend: `wasm ${s.wasmVariant()} SIMD` };
}

/** The weights every library runs: getWeights() (HWIO kernels, tfjs order) and the ONNX export. */
export async function exportModel() {
  const weights = infer.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync().slice() }));
  return { weights, onnx: await infer.toONNX() };
}

export function predict(images, n) {
  s.setThreads(1);
  const x = s.tensor(toFloat(images), [n, 28, 28, 1]);
  const y = infer.predict(x, { batchSize: n });
  const out = y.dataSync().slice();
  s.dispose([x, y]);
  return out;
}

export async function train({ images, labels, batch, threads, iterations, warmup }) {
  s.setThreads(threads);
  const x = s.uint8Images(images, [28, 28, 1]);
  return timeTask('fit', async () => { await trainer.fit(x, labels, { epochs: 1, batchSize: batch, shuffle: false }); }, { iterations, warmup });
}

// Inference takes the float tensor every library is given (training reads the uint8 images, as fit is meant to).
export async function inferTask({ images, batch, threads, time, warmup }) {
  s.setThreads(threads);
  const x = s.tensor(toFloat(images), [batch, 28, 28, 1]);
  try {
    return await timeTask('predict', () => infer.predict(x, { batchSize: batch }).dispose(), { time, iterations: 5, warmup });
  } finally {
    x.dispose();
  }
}

export function close() {
  infer.dispose();
  trainer.dispose();
  s.terminateThreads();
}
