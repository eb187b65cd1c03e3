// simdcnn runner for bench/models.mjs (hosted by bench/peers/child.mjs): loads the saved model files,
// predicts, trains with fit, exports ONNX, and measures the machine's SIMD peak in this process.
import { readFileSync } from 'node:fs';
import * as s from '../../dist/index.js';
import { timeTask } from '../peers/timing.mjs';
import { MODELS, randomImages, randomLabels } from './data.mjs';

const models = new Map();
const spec = (key) => {
  const m = MODELS[key];
  if (!m) throw new Error(`simdcnn runner: unknown model '${key}', expected one of ${Object.keys(MODELS).join(', ')}`);
  return m;
};
const get = (key, train = false) => {
  const m = models.get(`${key}${train ? '/train' : ''}`);
  if (!m) throw new Error(`simdcnn runner: model '${key}'${train ? ' (training copy)' : ''} was not loaded`);
  return m;
};

export async function setup() {
  await s.ready();
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  return { library: 'simdcnn', version, variant: s.wasmVariant(), backend: `wasm ${s.wasmVariant()} SIMD` };
}

/** Loads DIR's model.json (and, for train, a second copy compiled for fit: its weights move). */
export async function load({ key, dir, train }) {
  spec(key);
  const m = await s.loadLayersModel(dir);
  models.set(key, m);
  if (train) {
    const t = await s.loadLayersModel(dir);
    t.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    models.set(`${key}/train`, t);
  }
  return { params: m.countParams(), layers: m.layers.length };
}

/** The SIMD FMA ceiling of this build, on one thread or on `threads` at once (GFLOP/s). */
export function peak({ threads, ms = 200, repeats = 5 }) {
  s.setThreads(threads);
  return s.measurePeakGflops({ ms, repeats, allThreads: true });
}

export function predict({ key, n, seed }) {
  s.setThreads(1);
  const x = s.tensor(randomImages(n, spec(key).shape, seed), [n, ...spec(key).shape]);
  const y = get(key).predict(x, { batchSize: n });
  const out = y.dataSync().slice();
  s.dispose([x, y]);
  return out;
}

/** model.toONNX()'s bytes, or the message it throws (an export not written yet is a result here, not a failure). */
export async function onnx({ key }) {
  try {
    return { bytes: await get(key).toONNX() };
  } catch (e) {
    return { error: e.message };
  }
}

export async function infer({ key, batch, threads, time, iterations, warmup }) {
  s.setThreads(threads);
  const x = s.tensor(randomImages(batch, spec(key).shape, 7), [batch, ...spec(key).shape]);
  try {
    return await timeTask('predict', () => get(key).predict(x, { batchSize: batch }).dispose(), { time, iterations, warmup });
  } finally {
    x.dispose();
  }
}

/** One sample = one fit epoch of `steps` batches (Adam, sparse categorical cross-entropy, no shuffle). */
export async function train({ key, batch, steps, threads, iterations, warmup }) {
  s.setThreads(threads);
  const m = get(key, true);
  const n = batch * steps;
  const x = s.tensor(randomImages(n, spec(key).shape, 11), [n, ...spec(key).shape]);
  const y = randomLabels(n, spec(key).classes);
  try {
    return await timeTask('fit', async () => { await m.fit(x, y, { epochs: 1, batchSize: batch, shuffle: false }); }, { iterations, warmup });
  } finally {
    x.dispose();
  }
}

export function close() {
  for (const m of models.values()) m.dispose();
  models.clear();
  s.terminateThreads();
}
