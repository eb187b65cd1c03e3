// TensorFlow.js runner for bench/models.mjs (hosted by bench/peers/child.mjs): the 'wasm' backend
// (single-threaded SIMD in Node), the same model files as every library. Training needs the
// gradient kernels tfjs-backend-wasm 4.22 lacks: tryTrain records what the package does as
// shipped, supplyGrads then registers the bench's (../peers/tfjs-conv-grad.mjs) and checks them.
import { createRequire } from 'node:module';
import { timeTask } from '../peers/timing.mjs';
import { checkAgainstCpu, checkDepthwiseAgainstCpu, registerConv2DBackpropFilter, registerDepthwiseGrads } from '../peers/tfjs-conv-grad.mjs';
import { MODELS, randomImages, randomLabels } from './data.mjs';
import { loadTfjsModel } from './keras-models.mjs';

const require = createRequire(import.meta.url);
let tf;
const models = new Map();
const dirs = new Map();
const get = (key, train = false) => {
  const m = models.get(`${key}${train ? '/train' : ''}`);
  if (!m) throw new Error(`tfjs runner: model '${key}'${train ? ' (training copy)' : ''} was not loaded`);
  return m;
};
const compileForFit = (m) => m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });

/** Runs fn with console.log/warn muted: tfjs-cpu prints an "install tfjs-node" banner at its first use. */
async function quietly(fn) {
  const warn = console.warn, log = console.log;
  console.warn = console.log = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

export async function setup() {
  await quietly(async () => {
    tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error("tfjs: backend 'wasm' failed to initialize");
    await tf.ready();
  });
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    library: 'tfjs', version: tf.version.tfjs, backend: `wasm${simd ? ' SIMD' : ''}`,
    wasmVersion: require('@tensorflow/tfjs-backend-wasm/package.json').version,
  };
}

export async function load({ key, dir, train }) {
  if (!MODELS[key]) throw new Error(`tfjs runner: unknown model '${key}', expected one of ${Object.keys(MODELS).join(', ')}`);
  models.set(key, await loadTfjsModel(tf, dir));
  dirs.set(key, dir);
  if (train) {
    const t = await loadTfjsModel(tf, dir);
    compileForFit(t);
    models.set(`${key}/train`, t);
  }
  return { params: get(key).countParams(), layers: get(key).layers.length };
}

export function predict({ key, n, seed }) {
  const shape = MODELS[key].shape;
  return tf.tidy(() => get(key).predict(tf.tensor(randomImages(n, shape, seed), [n, ...shape])).dataSync().slice());
}

/** One training step of batch 2 with whatever kernels are registered now: null, or tfjs' error message. */
export async function tryTrain({ key }) {
  const { shape, classes } = MODELS[key];
  const probe = await loadTfjsModel(tf, dirs.get(key));
  compileForFit(probe);
  const x = tf.tensor(randomImages(2, shape, 3), [2, ...shape]), y = tf.tensor(Array.from(randomLabels(2, classes)), [2]);
  try {
    await probe.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    return null;
  } catch (e) {
    return e.message;
  } finally {
    tf.dispose([x, y]);
    probe.dispose();
  }
}

/** Registers the bench's Conv2DBackpropFilter and depthwise gradients; their max rel. error against tfjs-cpu's. */
export async function supplyGrads() {
  registerConv2DBackpropFilter(tf, 'wasm');
  registerDepthwiseGrads(tf, 'wasm');
  return quietly(async () => ({ conv2DBackpropFilter: await checkAgainstCpu(tf), depthwise: await checkDepthwiseAgainstCpu(tf) }));
}

export async function infer({ key, batch, time, iterations, warmup }) {
  const shape = MODELS[key].shape;
  const x = tf.tensor(randomImages(batch, shape, 7), [batch, ...shape]);
  try {
    return await timeTask('predict', () => { const y = get(key).predict(x, { batchSize: batch }); y.dataSync(); y.dispose(); }, { time, iterations, warmup });
  } finally {
    x.dispose();
  }
}

export async function train({ key, batch, steps, iterations, warmup }) {
  const { shape, classes } = MODELS[key];
  const n = batch * steps;
  const x = tf.tensor(randomImages(n, shape, 11), [n, ...shape]), y = tf.tensor(Array.from(randomLabels(n, classes)), [n]);
  try {
    return await timeTask('fit', async () => { await get(key, true).fit(x, y, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 }); }, { iterations, warmup });
  } finally {
    tf.dispose([x, y]);
  }
}

export function close() {
  for (const m of models.values()) m.dispose();
  models.clear();
}
