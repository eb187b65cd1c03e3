// onnxruntime-web runner for bench/models.mjs (hosted by bench/peers/child.mjs): runs simdcnn's own
// model.toONNX() of each model on the wasm execution provider. numThreads is fixed when ORT's wasm
// starts, so each thread count is its own process.
import * as ort from 'onnxruntime-web';
import { timeTask } from '../peers/timing.mjs';
import { MODELS, randomImages } from './data.mjs';

const sessions = new Map();
const get = (key) => {
  const s = sessions.get(key);
  if (!s) throw new Error(`ort runner: model '${key}' was not loaded`);
  return s;
};

export async function setup({ threads }) {
  ort.env.wasm.numThreads = threads;
  return { library: 'onnxruntime-web', version: ort.env.versions.web, backend: `wasm SIMD, ${threads} thread${threads > 1 ? 's' : ''}` };
}

export async function load({ key, onnx }) {
  if (!MODELS[key]) throw new Error(`ort runner: unknown model '${key}', expected one of ${Object.keys(MODELS).join(', ')}`);
  sessions.set(key, await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] }));
  return {};
}

async function run(key, x, n) {
  const s = get(key);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [n, ...MODELS[key].shape]) });
  return out[s.outputNames[0]].data;
}

export async function predict({ key, n, seed }) {
  return (await run(key, randomImages(n, MODELS[key].shape, seed), n)).slice();
}

export async function infer({ key, batch, time, iterations, warmup }) {
  const x = randomImages(batch, MODELS[key].shape, 7);
  return timeTask('run', async () => { await run(key, x, batch); }, { time, iterations, warmup });
}

export async function close() {
  for (const s of sessions.values()) await s.release();
  sessions.clear();
}
