// TensorFlow.js runner (hosted by child.mjs, one backend per process): the same tf.sequential
// layer configs, given simdcnn's weights with setWeights (HWIO kernels are tfjs' layout already).
import { createRequire } from 'node:module';
import { timeTask, toFloat } from './timing.mjs';
import { checkAgainstCpu, registerConv2DBackpropFilter } from './tfjs-conv-grad.mjs';

const require = createRequire(import.meta.url);
let tf, infer, trainer, backend;

function referenceCnn() {
  return tf.sequential({
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
}

export async function setup({ backend: b, weights }) {
  backend = b;
  // The "install tfjs-node" banner (printed at the cpu backend's first use) is noise here.
  const warn = console.warn, log = console.log;
  console.warn = console.log = () => {};
  const quietWarn = (...a) => { if (!String(a[0]).includes('tfjs-node')) warn(...a); };
  tf = await import('@tensorflow/tfjs');
  if (b === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend(b);
  await tf.ready();
  console.warn = quietWarn; console.log = log;
  if (!ok) throw new Error(`tfjs: backend '${b}' failed to initialize`);
  const ws = () => weights.map((w) => tf.tensor(w.data, w.shape));
  infer = referenceCnn();
  infer.setWeights(ws());
  trainer = referenceCnn();
  trainer.setWeights(ws());
  trainer.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  let simd;
  if (b === 'wasm') simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    library: 'tfjs', version: tf.version.tfjs, backend: b === 'wasm' ? `wasm${simd ? ' SIMD' : ''}` : 'cpu',
    wasmVersion: b === 'wasm' ? require('@tensorflow/tfjs-backend-wasm/package.json').version : undefined,
  };
}

export function predict(images, n) {
  return tf.tidy(() => infer.predict(tf.tensor(toFloat(images), [n, 28, 28, 1])).dataSync().slice());
}

/** One training batch as the package ships: the error tfjs raises, or null if it trains. */
export async function tryTrain({ images, labels }) {
  const x = tf.tensor(toFloat(images), [labels.length, 28, 28, 1]), y = tf.tensor(Array.from(labels), [labels.length]);
  const probe = referenceCnn();
  probe.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  try {
    await probe.fit(x, y, { epochs: 1, batchSize: labels.length, verbose: 0 });
    return null;
  } catch (e) {
    return e.message;
  } finally {
    tf.dispose([x, y]);
    probe.dispose();
  }
}

/** Supplies the wasm filter gradient (tfjs-conv-grad.mjs) and returns its max rel. error vs tfjs-cpu. */
export async function supplyConvGrad() {
  registerConv2DBackpropFilter(tf, 'wasm');
  return checkAgainstCpu(tf);
}

export async function train({ images, labels, batch, iterations, warmup }) {
  const x = tf.tensor(toFloat(images), [labels.length, 28, 28, 1]), y = tf.tensor(Array.from(labels), [labels.length]);
  try {
    return await timeTask('fit', async () => { await trainer.fit(x, y, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 }); }, { iterations, warmup });
  } finally {
    tf.dispose([x, y]);
  }
}

export async function inferTask({ images, batch, time, warmup }) {
  const x = tf.tensor(toFloat(images), [batch, 28, 28, 1]);
  try {
    return await timeTask('predict', () => { const y = infer.predict(x, { batchSize: batch }); y.dataSync(); y.dispose(); }, { time, iterations: 5, warmup });
  } finally {
    x.dispose();
  }
}

export function close() {
  infer.dispose();
  trainer.dispose();
}
