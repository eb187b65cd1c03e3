// Real architectures built with TensorFlow.js' layers API (random weights), so every library in
// bench/models.mjs — and the tests — load the very same model files: Keras' MobileNetV2 and
// ResNet50 (keras.applications' layer structure and names), a CIFAR-style ResNet-20, and the
// notes' MNIST CNN. Plain ESM with JSDoc: bench scripts import it directly, tests through
// test/helpers/mobilenetv2-tfjs.ts (types in keras-models.d.mts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** @typedef {typeof import('@tensorflow/tfjs')} Tf */
/** @typedef {import('@tensorflow/tfjs').LayersModel} TfModel */
/** @typedef {import('@tensorflow/tfjs').SymbolicTensor} Sym */

/** keras.applications' _make_divisible: channel counts rounded to a multiple of 8, never down by more than 10%. */
const makeDivisible = (v, divisor = 8) => {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
};

function positive(fn, name, v, integer = true) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new Error(`${fn}: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
}

/**
 * keras.applications' MobileNetV2(alpha, input size, include_top, classes), random weights.
 * @param {Tf} tf
 * @param {{ alpha?: number, size?: number, classes?: number }} [opts]
 * @returns {TfModel}
 */
export function mobileNetV2(tf, { alpha = 1, size = 224, classes = 1000 } = {}) {
  positive('mobileNetV2', 'alpha', alpha, false);
  positive('mobileNetV2', 'size', size);
  positive('mobileNetV2', 'classes', classes);
  // Five stride-2 stages: below 32 the last feature map would be empty.
  if (size < 32) throw new Error(`mobileNetV2: size must be at least 32 (five stride-2 stages), got ${size}`);
  const L = tf.layers;
  const bn = (name) => L.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });
  const relu6 = (name) => L.reLU({ maxValue: 6, name });
  const img = tf.input({ shape: [size, size, 3], name: 'input_1' });
  /** @type {Sym} */
  let x = L.conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(img);
  x = relu6('Conv1_relu').apply(bn('bn_Conv1').apply(x));
  const block = (inp, filters, stride, expansion, id) => {
    const inC = inp.shape[inp.shape.length - 1];
    const out = makeDivisible(Math.floor(filters * alpha));
    let t = inp;
    let prefix = `block_${id}_`;
    if (id) {
      t = L.conv2d({ filters: expansion * inC, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }).apply(t);
      t = relu6(`${prefix}expand_relu`).apply(bn(`${prefix}expand_BN`).apply(t));
    } else prefix = 'expanded_conv_';
    if (stride === 2) {
      // Keras' correct_pad: ((0, 1), (0, 1)) for an even input, ((1, 1), (1, 1)) for an odd one.
      const adj = 1 - (t.shape[1] % 2);
      t = L.zeroPadding2d({ padding: [[1 - adj, 1], [1 - adj, 1]], name: `${prefix}pad` }).apply(t);
    }
    t = L.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }).apply(t);
    t = relu6(`${prefix}depthwise_relu`).apply(bn(`${prefix}depthwise_BN`).apply(t));
    t = L.conv2d({ filters: out, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }).apply(t);
    t = bn(`${prefix}project_BN`).apply(t);
    if (inC === out && stride === 1) return L.add({ name: `${prefix}add` }).apply([inp, t]);
    return t;
  };
  const cfg = [[16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6],
    [64, 1, 6], [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6]];
  cfg.forEach(([f, s, e], id) => { x = block(x, f, s, e, id); });
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = L.conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x);
  x = relu6('out_relu').apply(bn('Conv_1_bn').apply(x));
  x = L.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  const out = L.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x);
  return tf.model({ inputs: img, outputs: out, name: `mobilenetv2_${alpha.toFixed(2)}_${size}` });
}

/**
 * keras.applications' ResNet50 (v1: the stride on each stage's first 1×1 convolution, biases on
 * every convolution, batch-norm epsilon 1.001e-5), include_top, random weights.
 * @param {Tf} tf
 * @param {{ size?: number, classes?: number }} [opts]
 * @returns {TfModel}
 */
export function resNet50(tf, { size = 224, classes = 1000 } = {}) {
  positive('resNet50', 'size', size);
  positive('resNet50', 'classes', classes);
  if (size < 32) throw new Error(`resNet50: size must be at least 32 (a total stride of 32), got ${size}`);
  const L = tf.layers;
  const bn = (name) => L.batchNormalization({ axis: -1, epsilon: 1.001e-5, name });
  const relu = (name) => L.activation({ activation: 'relu', name });
  const block1 = (x, filters, stride, convShortcut, name) => {
    let shortcut = x;
    if (convShortcut) {
      shortcut = L.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }).apply(x);
      shortcut = bn(`${name}_0_bn`).apply(shortcut);
    }
    let t = L.conv2d({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` }).apply(x);
    t = relu(`${name}_1_relu`).apply(bn(`${name}_1_bn`).apply(t));
    t = L.conv2d({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv` }).apply(t);
    t = relu(`${name}_2_relu`).apply(bn(`${name}_2_bn`).apply(t));
    t = L.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }).apply(t);
    t = bn(`${name}_3_bn`).apply(t);
    t = L.add({ name: `${name}_add` }).apply([shortcut, t]);
    return relu(`${name}_out`).apply(t);
  };
  const stack1 = (x, filters, blocks, stride1, name) => {
    x = block1(x, filters, stride1, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) x = block1(x, filters, 1, false, `${name}_block${i}`);
    return x;
  };
  const img = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = L.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }).apply(img);
  x = L.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }).apply(x);
  x = relu('conv1_relu').apply(bn('conv1_bn').apply(x));
  x = L.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }).apply(x);
  x = L.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x);
  x = stack1(x, 64, 3, 1, 'conv2');
  x = stack1(x, 128, 4, 2, 'conv3');
  x = stack1(x, 256, 6, 2, 'conv4');
  x = stack1(x, 512, 3, 2, 'conv5');
  x = L.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  const out = L.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x);
  return tf.model({ inputs: img, outputs: out, name: 'resnet50' });
}

/**
 * ResNet-20 for CIFAR-10 (He et al. 2016, §4.2): a 3×3 convolution with 16 filters, then three
 * stages of three basic blocks (16, 32, 64 filters; the first block of stages 2 and 3 strides by 2
 * and takes a 1×1 convolution + batch norm as its shortcut), global average pooling, Dense 10
 * softmax. Convolutions have no bias (a batch norm follows each). bench/models/pytorch.py builds
 * the same network in torch.
 * @param {Tf} tf
 * @param {{ size?: number, classes?: number }} [opts]
 * @returns {TfModel}
 */
export function resNet20(tf, { size = 32, classes = 10 } = {}) {
  positive('resNet20', 'size', size);
  positive('resNet20', 'classes', classes);
  if (size < 4) throw new Error(`resNet20: size must be at least 4 (two stride-2 stages), got ${size}`);
  const L = tf.layers;
  const conv = (filters, kernelSize, strides, name) => L.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name });
  const bn = (name) => L.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name });
  const relu = (name) => L.activation({ activation: 'relu', name });
  const img = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = relu('conv1_relu').apply(bn('conv1_bn').apply(conv(16, 3, 1, 'conv1').apply(img)));
  [16, 32, 64].forEach((filters, stage) => {
    for (let b = 0; b < 3; b++) {
      const name = `stage${stage + 1}_block${b + 1}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      let t = relu(`${name}_1_relu`).apply(bn(`${name}_1_bn`).apply(conv(filters, 3, stride, `${name}_1_conv`).apply(x)));
      t = bn(`${name}_2_bn`).apply(conv(filters, 3, 1, `${name}_2_conv`).apply(t));
      const shortcut = stride === 1 ? x : bn(`${name}_0_bn`).apply(conv(filters, 1, stride, `${name}_0_conv`).apply(x));
      x = relu(`${name}_out`).apply(L.add({ name: `${name}_add` }).apply([shortcut, t]));
    }
  });
  x = L.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  const out = L.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x);
  return tf.model({ inputs: img, outputs: out, name: 'resnet20' });
}

/**
 * The notes' MNIST CNN (bench/cnn.mjs' referenceCnn), as tfjs builds it.
 * @param {Tf} tf
 * @returns {TfModel}
 */
export function notesCnn(tf) {
  return tf.sequential({
    name: 'notes_cnn',
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

/**
 * Random batch-norm statistics and scales: tfjs starts them at 0/1, an identity that would test
 * (and, in a benchmark, exercise) nothing.
 * @param {Tf} tf
 * @param {TfModel} m
 * @param {number} [seed]
 */
export function randomizeBatchNorms(tf, m, seed = 1) {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (const l of m.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights();
    l.setWeights(ws.map((w, i) => {
      const n = w.size;
      // gamma ~ [0.5, 1.5), beta ~ [-0.2, 0.2), mean ~ [-0.2, 0.2), variance ~ [0.5, 1.5)
      const v = Float32Array.from({ length: n }, () => (i === 0 || i === 3 ? 0.5 + rnd() : (rnd() - 0.5) * 0.4));
      return tf.tensor(v, w.shape);
    }));
  }
}

const weightShape = (layer, suffix) => layer.weights.find((w) => w.originalName.endsWith(suffix) || w.name.endsWith(suffix))?.shape;

/**
 * Forward FLOPs per image: 2 × the multiply-adds of the convolution, depthwise convolution and
 * dense layers (the figure papers quote; batch norm, activations, pooling and adds are left out).
 * Training is counted as 3× this (forward, input gradient, weight gradient).
 * @param {TfModel} m
 * @returns {number}
 */
export function forwardFlops(m) {
  let macs = 0;
  for (const l of m.layers) {
    const cls = l.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D' && cls !== 'Dense') continue;
    const out = /** @type {number[]} */ (l.outputShape).slice(1);
    const outElems = out.reduce((a, b) => a * b, 1);
    if (cls === 'Conv2D') {
      const [kh, kw, inC] = weightShape(l, 'kernel');
      macs += outElems * kh * kw * inC;
    } else if (cls === 'DepthwiseConv2D') {
      const [kh, kw] = weightShape(l, 'depthwise_kernel');
      macs += outElems * kh * kw;
    } else {
      macs += outElems * weightShape(l, 'kernel')[0];
    }
  }
  return 2 * macs;
}

/**
 * Saves a tfjs model as model.json + weights.bin in dir (the tfjs layers format, one weights
 * file), through tf.io.withSaveHandler: tfjs in Node has no file:// handler without tfjs-node.
 * @param {Tf} tf
 * @param {TfModel} model
 * @param {string} dir
 * @returns {Promise<{ modelJson: string, weightsBin: string, weightBytes: number }>}
 */
export async function saveTfjsModel(tf, model, dir) {
  mkdirSync(dir, { recursive: true });
  let written;
  await model.save(tf.io.withSaveHandler(async (a) => {
    const parts = a.weightData === undefined ? [] : Array.isArray(a.weightData) ? a.weightData : [a.weightData];
    const bytes = Buffer.concat(parts.map((p) => new Uint8Array(p)));
    const json = {
      format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`, convertedBy: null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
    };
    const modelJson = join(dir, 'model.json'), weightsBin = join(dir, 'weights.bin');
    writeFileSync(weightsBin, bytes);
    writeFileSync(modelJson, JSON.stringify(json));
    written = { modelJson, weightsBin, weightBytes: bytes.length };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
  }));
  return written;
}

/**
 * Loads what saveTfjsModel wrote into tfjs (fromMemory: no file:// handler without tfjs-node).
 * @param {Tf} tf
 * @param {string} dir
 * @returns {Promise<TfModel>}
 */
export async function loadTfjsModel(tf, dir) {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const groups = json.weightsManifest ?? [];
  if (groups.length !== 1 || groups[0].paths.length !== 1) {
    throw new Error(`loadTfjsModel: ${join(dir, 'model.json')} lists ${groups.map((g) => g.paths.length).join('+') || 'no'} weight files, expected one (as saveTfjsModel writes)`);
  }
  const bin = readFileSync(join(dir, groups[0].paths[0]));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: groups[0].weights, weightData }));
}
