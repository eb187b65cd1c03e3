// Cold start of one library in a fresh process (spawned by peers.mjs, so nothing is cached or
// JIT-compiled): import, initialize (wasm instantiation, backend, model with the shared weights,
// or ORT session from the ONNX file), first prediction of one image. Prints one JSON line.
//   node bench/peers/cold.mjs <simdcnn|tfjs-wasm|tfjs-cpu|ort> <dir with weights.json + model.onnx>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [lib, dir] = process.argv.slice(2);
const image = new Float32Array(784).map((_, i) => ((i * 37) % 255) / 255);
const t0 = performance.now();
const marks = {};
const mark = (k) => { marks[k] = performance.now() - t0; };
const weights = () => JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')).map((w) => ({ shape: w.shape, data: Float32Array.from(w.data) }));
let out;

if (lib === 'simdcnn') {
  const s = await import('../../dist/index.js');
  mark('import');
  await s.ready();
  const { referenceCnn } = await import('../cnn.mjs');
  const model = referenceCnn(s, 1);
  model.setWeights(weights().map((w) => s.tensor(w.data, w.shape)));
  mark('init');
  out = model.predict(s.tensor(image, [1, 28, 28, 1])).dataSync();
  mark('predict');
  s.terminateThreads();
} else if (lib === 'tfjs-wasm' || lib === 'tfjs-cpu') {
  const quiet = console.log;
  console.log = console.warn = () => {};
  const tf = await import('@tensorflow/tfjs');
  if (lib === 'tfjs-wasm') await import('@tensorflow/tfjs-backend-wasm');
  mark('import');
  await tf.setBackend(lib === 'tfjs-wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  console.log = quiet;
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.setWeights(weights().map((w) => tf.tensor(w.data, w.shape)));
  mark('init');
  out = model.predict(tf.tensor(image, [1, 28, 28, 1])).dataSync();
  mark('predict');
} else if (lib === 'ort') {
  const ort = await import('onnxruntime-web');
  mark('import');
  const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { executionProviders: ['wasm'] });
  mark('init');
  const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', image, [1, 28, 28, 1]) });
  out = r[session.outputNames[0]].data;
  mark('predict');
} else {
  throw new Error(`cold.mjs: unknown library '${lib}' (simdcnn, tfjs-wasm, tfjs-cpu or ort)`);
}
process.stdout.write(JSON.stringify({ lib, importMs: marks.import, initMs: marks.init - marks.import, firstPredictMs: marks.predict - marks.init, totalMs: marks.predict, output: Array.from(out) }) + '\n');
process.exit(0);
