// onnxruntime-web runner (hosted by child.mjs): simdcnn's model exported with toONNX(), wasm
// execution provider. numThreads is fixed when ORT's wasm starts, so each thread count is a process.
import * as ort from 'onnxruntime-web';
import { timeTask, toFloat } from './timing.mjs';

let session, input;

export async function setup({ threads, onnx }) {
  ort.env.wasm.numThreads = threads;
  session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  input = session.inputNames[0];
  return { library: 'onnxruntime-web', version: ort.env.versions.web, backend: `wasm SIMD, ${threads} thread${threads > 1 ? 's' : ''}` };
}

async function run(f, n) {
  const out = await session.run({ [input]: new ort.Tensor('float32', f, [n, 28, 28, 1]) });
  return out[session.outputNames[0]].data;
}

export async function predict(images, n) {
  return (await run(toFloat(images), n)).slice();
}

export async function inferTask({ images, batch, time, warmup }) {
  const f = toFloat(images);
  return timeTask('run', async () => { await run(f, batch); }, { time, iterations: 5, warmup });
}

export async function close() {
  await session.release();
}
