// Cold start and memory of one library in a fresh process (spawned by bench/models.mjs, so nothing
// is cached or JIT-compiled): import, load the saved model (simdcnn: its model.json + weights.bin;
// tfjs-wasm: the same files; ORT: simdcnn's toONNX of it), first prediction of one image; then the
// time a plain read of the weights file takes (how much of the load is I/O) and the memory in use
// after that batch-1 inference. Prints one JSON line.
//   node bench/models/cold.mjs <simdcnn|tfjs-wasm|ort> <model dir> <model key>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS, randomImages } from './data.mjs';

const [lib, dir, key] = process.argv.slice(2);
const LIBS = ['simdcnn', 'tfjs-wasm', 'ort'];
if (!LIBS.includes(lib)) throw new Error(`cold.mjs: unknown library '${lib}', expected ${LIBS.join(', ')}`);
if (!MODELS[key]) throw new Error(`cold.mjs: unknown model '${key}', expected one of ${Object.keys(MODELS).join(', ')}`);
const shape = MODELS[key].shape;
const image = randomImages(1, shape, 5);
const t0 = performance.now();
const marks = {};
const mark = (k) => { marks[k] = performance.now() - t0; };
let out;
const mem = {};

if (lib === 'simdcnn') {
  const s = await import('../../dist/index.js');
  mark('import');
  const model = await s.loadLayersModel(dir);
  mark('load');
  const x = s.tensor(image, [1, ...shape]);
  const y = model.predict(x);
  out = y.dataSync().slice();
  mark('predict');
  s.dispose([x, y]);
  // numBytesInHeap: what simdcnn's allocator has handed out and not taken back — the weights, the
  // batch-1 inference plan's buffers (kept for the next call) and live tensors; the wasm memory
  // itself is at least this (freed blocks stay in it for reuse).
  const m = s.memory();
  Object.assign(mem, { heapBytes: m.numBytesInHeap, tensorBytes: m.numBytes, tensors: m.numTensors });
  s.terminateThreads();
} else if (lib === 'tfjs-wasm') {
  const quiet = [console.log, console.warn];
  console.log = console.warn = () => {};
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  [console.log, console.warn] = quiet;
  mark('import');
  const { loadTfjsModel } = await import('./keras-models.mjs');
  const model = await loadTfjsModel(tf, dir);
  mark('load');
  out = tf.tidy(() => model.predict(tf.tensor(image, [1, ...shape])).dataSync().slice());
  mark('predict');
  const m = tf.memory();
  Object.assign(mem, { tensorBytes: m.numBytes, tensors: m.numTensors });
} else {
  const ort = await import('onnxruntime-web');
  mark('import');
  const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { executionProviders: ['wasm'] });
  mark('load');
  const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', image, [1, ...shape]) });
  out = r[session.outputNames[0]].data.slice();
  mark('predict');
}
const rss = process.memoryUsage().rss;
const file = join(dir, lib === 'ort' ? 'model.onnx' : 'weights.bin');
const r0 = performance.now();
const bytes = readFileSync(file).length;
const weightReadMs = performance.now() - r0;
process.stdout.write(JSON.stringify({
  lib, key, importMs: marks.import, loadMs: marks.load - marks.import, firstPredictMs: marks.predict - marks.load, totalMs: marks.predict,
  weightFile: file, weightBytes: bytes, weightReadMs, rss, ...mem, output: Array.from(out.slice(0, 16)),
}) + '\n');
process.exit(0);
