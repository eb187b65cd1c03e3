// Keras' MobileNetV2 (keras.applications.mobilenet_v2: the same layer structure and names) built
// with TensorFlow.js' layers API, so tfjs can save it as a tfjs layers model with random weights.
import type * as TF from '@tensorflow/tfjs';

const makeDivisible = (v: number, divisor = 8) => {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
};

/** keras.applications' MobileNetV2(alpha, input size, include_top, classes), random weights. */
export function mobileNetV2(tf: typeof TF, { alpha = 1, size = 224, classes = 1000 } = {}): TF.LayersModel {
  const L = tf.layers;
  const bn = (name: string) => L.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });
  const relu6 = (name: string) => L.reLU({ maxValue: 6, name });
  const img = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = L.conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(img) as TF.SymbolicTensor;
  x = relu6('Conv1_relu').apply(bn('bn_Conv1').apply(x)) as TF.SymbolicTensor;
  const block = (inp: TF.SymbolicTensor, filters: number, stride: number, expansion: number, id: number) => {
    const inC = inp.shape[inp.shape.length - 1] as number;
    const out = makeDivisible(Math.floor(filters * alpha));
    let t = inp;
    let prefix = `block_${id}_`;
    if (id) {
      t = L.conv2d({ filters: expansion * inC, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }).apply(t) as TF.SymbolicTensor;
      t = relu6(`${prefix}expand_relu`).apply(bn(`${prefix}expand_BN`).apply(t)) as TF.SymbolicTensor;
    } else prefix = 'expanded_conv_';
    if (stride === 2) {
      // correct_pad for an even input: ((0, 1), (0, 1)).
      const h = t.shape[1] as number;
      const adj = 1 - (h % 2);
      t = L.zeroPadding2d({ padding: [[1 - adj, 1], [1 - adj, 1]], name: `${prefix}pad` }).apply(t) as TF.SymbolicTensor;
    }
    t = L.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }).apply(t) as TF.SymbolicTensor;
    t = relu6(`${prefix}depthwise_relu`).apply(bn(`${prefix}depthwise_BN`).apply(t)) as TF.SymbolicTensor;
    t = L.conv2d({ filters: out, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }).apply(t) as TF.SymbolicTensor;
    t = bn(`${prefix}project_BN`).apply(t) as TF.SymbolicTensor;
    if (inC === out && stride === 1) return L.add({ name: `${prefix}add` }).apply([inp, t]) as TF.SymbolicTensor;
    return t;
  };
  const cfg: [number, number, number][] = [[16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6],
    [64, 1, 6], [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6]];
  cfg.forEach(([f, s, e], id) => { x = block(x, f, s, e, id); });
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = L.conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x) as TF.SymbolicTensor;
  x = relu6('out_relu').apply(bn('Conv_1_bn').apply(x)) as TF.SymbolicTensor;
  x = L.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as TF.SymbolicTensor;
  const out = L.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x) as TF.SymbolicTensor;
  return tf.model({ inputs: img, outputs: out, name: `mobilenetv2_${alpha.toFixed(2)}_${size}` });
}

/** Random batch-norm statistics and scales (tfjs starts them at 0/1: an identity that tests nothing). */
export function randomizeBatchNorms(tf: typeof TF, m: TF.LayersModel, seed = 1): void {
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
