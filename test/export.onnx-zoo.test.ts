// toONNX of the layer zoo: one line per layer configuration, each a small model with random weights
// (batch-norm moving statistics, gamma and beta too: the defaults 0/1 would hide a wrong formula),
// exported, run by onnxruntime-web (wasm, one thread) and compared with model.predict. Cases put the
// layer where the exporter has the tensor in NCHW (after a convolution) and where it has it in NHWC
// (the model input), since per-axis constants, pads, slices, scales and axes are permuted between
// the two; the ops a case must use are checked so the intended path is the one tested. Then Keras'
// MobileNetV2 from tfjs, and the errors for what has no export.
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { input, layers, model, tensor, type Layer, type LayersModel } from '../src/index.js';
import * as layerClasses from '../src/layers/index.js';
import { ACTIVATIONS } from '../src/layers/activation-fns.js';
import { Conv2D } from '../src/layers/conv2d.js';
import { diffVsOrt, ops, type OnnxGraph } from './helpers/onnx-check.js';
import { mobileNetV2, randomizeBatchNorms } from './helpers/mobilenetv2-tfjs.js';
import { rng } from './helpers/random.js';

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

/** A model applying `ls` in a chain to one input of per-example shape `shape`. */
function chain(shape: number[], ls: Layer[]): LayersModel {
  const x = input({ shape });
  let t = x;
  for (const l of ls) t = l.apply(t);
  return model({ inputs: x, outputs: t, seed: 3 });
}

/** Every weight random: variances and gammas in [0.5, 1.5), everything else (kernels, biases, means, betas, alphas) in [−0.5, 0.5). */
function randomizeWeights(m: LayersModel, seed: number): void {
  const r = rng(seed);
  const ws = m.weightValues().map(({ name, shape, data }) => {
    const positive = /(moving_variance|gamma)$/.test(name);
    return tensor(Float32Array.from(data, () => (positive ? 0.5 + r() : r() - 0.5)), shape);
  });
  m.setWeights(ws);
  for (const w of ws) w.dispose();
}

interface Case {
  name: string;
  make: () => LayersModel;
  /** ONNX ops the export must contain (the path the case is about). */
  ops?: string[];
  /** Exact number of Transposes (layout bookkeeping). */
  transposes?: number;
  check?: (g: OnnxGraph) => void;
  /** Input values in [−scale, scale] (default 1). */
  scale?: number;
}

const conv = (filters: number, args: Partial<Parameters<typeof layers.conv2d>[0]> = {}) => layers.conv2d({ filters, kernelSize: 1, ...args });
const attr = (g: OnnxGraph, op: string, name: string) => ops(g, op).map((n) => n.attrs[name]);

const CASES: Case[] = [
  // BatchNormalization: the ONNX op where the axis lands on axis 1, per-axis Mul/Add elsewhere.
  { name: 'batchNormalization after conv (NCHW: BatchNormalization op)', make: () => chain([5, 4, 3], [conv(5), layers.batchNormalization()]), ops: ['BatchNormalization'], transposes: 2 },
  { name: 'batchNormalization on the NHWC input (Mul/Add per channel), epsilon 0.01', make: () => chain([4, 5, 3], [layers.batchNormalization({ epsilon: 0.01 })]), ops: ['Mul', 'Add'], transposes: 0 },
  { name: 'batchNormalization center false, scale false, after conv', make: () => chain([4, 4, 2], [conv(7), layers.batchNormalization({ center: false, scale: false })]), ops: ['BatchNormalization'] },
  { name: 'batchNormalization center false (scale only), NHWC', make: () => chain([3, 3, 5], [layers.batchNormalization({ center: false })]) },
  { name: 'batchNormalization scale false (center only), after conv', make: () => chain([3, 3, 2], [conv(3), layers.batchNormalization({ scale: false, epsilon: 1e-5 })]) },
  { name: 'batchNormalization on [N, C] after dense (BatchNormalization op)', make: () => chain([6], [layers.dense({ units: 7 }), layers.batchNormalization()]), ops: ['BatchNormalization'] },
  { name: 'batchNormalization axis 1 (height) after conv (Mul/Add over NCHW axis 2)', make: () => chain([5, 4, 2], [conv(3), layers.batchNormalization({ axis: 1 })]), ops: ['Mul'] },
  { name: 'batchNormalization axis 2 (width) on the NHWC input', make: () => chain([3, 5, 2], [layers.batchNormalization({ axis: 2 })]), ops: ['Mul'] },
  { name: 'batchNormalization axis 1 of a rank-3 input [N, 5, 6] (BatchNormalization op)', make: () => chain([5, 6], [layers.batchNormalization({ axis: 1 })]), ops: ['BatchNormalization'] },
  { name: 'batchNormalization axis −1 of a rank-3 input [N, 5, 6] (Mul/Add)', make: () => chain([5, 6], [layers.batchNormalization()]), ops: ['Mul'] },
  // DepthwiseConv2D: grouped Conv, group = C, output channel c·dm + m.
  { name: 'depthwiseConv2d 3×3 same, bias, relu, C 3', make: () => chain([6, 5, 3], [layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu' })]),
    check: (g) => expect(attr(g, 'Conv', 'group')).toEqual([3]) },
  { name: 'depthwiseConv2d 3×3 stride 2 valid, depthMultiplier 2, no bias, C 5, 9×7', make: () => chain([9, 7, 5], [layers.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, useBias: false })]),
    check: (g) => expect(attr(g, 'Conv', 'group')).toEqual([5]) },
  { name: 'depthwiseConv2d [3, 2] dilation 2 same, depthMultiplier 3, relu6, after conv', make: () => chain([8, 7, 2], [conv(3), layers.depthwiseConv2d({ kernelSize: [3, 2], dilationRate: 2, padding: 'same', depthMultiplier: 3, activation: 'relu6' })]), ops: ['Clip'] },
  { name: 'depthwiseConv2d 2×2 stride 2 same (uneven split), elu, 7×6', make: () => chain([7, 6, 4], [layers.depthwiseConv2d({ kernelSize: 2, strides: 2, padding: 'same', activation: 'elu' })]) },
  { name: 'depthwiseConv2d [1, 3] strides [1, 2] same, dm 2', make: () => chain([5, 8, 3], [layers.depthwiseConv2d({ kernelSize: [1, 3], strides: [1, 2], padding: 'same', depthMultiplier: 2 })]) },
  { name: 'zeroPadding2d [[0, 1], [0, 1]] → depthwiseConv2d 3×3 stride 2 valid (MobileNetV2 downsampling)', make: () => chain([8, 8, 3], [conv(4), layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }), layers.depthwiseConv2d({ kernelSize: 3, strides: 2, useBias: false })]), ops: ['Pad'], transposes: 2 },
  // SeparableConv2D: grouped depthwise Conv, then a 1×1 Conv with the bias.
  { name: 'separableConv2d 3×3 same, filters 4, relu', make: () => chain([6, 6, 3], [layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })]),
    check: (g) => expect(ops(g, 'Conv').map((n) => n.inputs.length)).toEqual([2, 3]) },
  { name: 'separableConv2d 3×3 stride 2 valid, depthMultiplier 2, filters 6, no bias, tanh', make: () => chain([9, 8, 3], [layers.separableConv2d({ filters: 6, kernelSize: 3, strides: 2, depthMultiplier: 2, useBias: false, activation: 'tanh' })]) },
  { name: 'separableConv2d dilation 2 same, filters 3, swish', make: () => chain([7, 7, 2], [layers.separableConv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'swish' })]) },
  // Conv2DTranspose: ConvTranspose with the forward conv's pads and the output_padding that gives our size.
  { name: 'conv2dTranspose 3×3 stride 1 same', make: () => chain([4, 5, 3], [layers.conv2dTranspose({ filters: 2, kernelSize: 3, padding: 'same' })]), ops: ['ConvTranspose'] },
  { name: 'conv2dTranspose 3×3 stride 2 same (kernel > stride)', make: () => chain([4, 3, 2], [layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' })]) },
  { name: 'conv2dTranspose 2×2 stride 3 same (kernel < stride: output_padding 1)', make: () => chain([3, 4, 2], [layers.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 3, padding: 'same' })]),
    check: (g) => expect(attr(g, 'ConvTranspose', 'output_padding')).toEqual([[1, 1]]) },
  { name: 'conv2dTranspose 3×3 stride 2 valid', make: () => chain([3, 4, 3], [layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2 })]) },
  { name: 'conv2dTranspose 2×2 stride 3 valid (kernel < stride)', make: () => chain([3, 2, 2], [layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3 })]) },
  { name: 'conv2dTranspose [3, 2] strides [2, 1] valid, no bias, sigmoid, after conv', make: () => chain([4, 4, 2], [conv(3), layers.conv2dTranspose({ filters: 4, kernelSize: [3, 2], strides: [2, 1], useBias: false, activation: 'sigmoid' })]) },
  { name: 'conv2dTranspose 4×4 stride 2 same, odd input 5×3', make: () => chain([5, 3, 3], [layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' })]) },
  // Global pooling: GlobalAveragePool/GlobalMaxPool from NCHW, ReduceMean/ReduceMax from NHWC.
  { name: 'globalAveragePooling2d after conv (NCHW)', make: () => chain([5, 4, 3], [conv(5), layers.globalAveragePooling2d()]), ops: ['GlobalAveragePool'], transposes: 1 },
  { name: 'globalAveragePooling2d keepDims after conv', make: () => chain([5, 4, 3], [conv(5), layers.globalAveragePooling2d({ keepDims: true })]), ops: ['GlobalAveragePool'] },
  { name: 'globalAveragePooling2d on the NHWC input (ReduceMean)', make: () => chain([4, 3, 5], [layers.globalAveragePooling2d()]), ops: ['ReduceMean'], transposes: 0 },
  { name: 'globalAveragePooling2d keepDims on the NHWC input', make: () => chain([4, 3, 5], [layers.globalAveragePooling2d({ keepDims: true })]), ops: ['ReduceMean'] },
  { name: 'globalMaxPooling2d after conv', make: () => chain([3, 5, 2], [conv(3), layers.globalMaxPooling2d()]), ops: ['GlobalMaxPool'] },
  { name: 'globalMaxPooling2d keepDims on the NHWC input (ReduceMax)', make: () => chain([3, 5, 7], [layers.globalMaxPooling2d({ keepDims: true })]), ops: ['ReduceMax'] },
  // ZeroPadding2D (Pad) and Cropping2D (Slice), in both layouts.
  { name: 'zeroPadding2d 1 on the NHWC input', make: () => chain([3, 4, 2], [layers.zeroPadding2d()]), ops: ['Pad'], transposes: 0 },
  { name: 'zeroPadding2d [[2, 0], [1, 3]] after conv', make: () => chain([3, 3, 3], [conv(5), layers.zeroPadding2d({ padding: [[2, 0], [1, 3]] })]), ops: ['Pad'] },
  { name: 'cropping2D [[1, 2], [0, 3]] on the NHWC input', make: () => chain([5, 7, 3], [layers.cropping2D({ cropping: [[1, 2], [0, 3]] })]), ops: ['Slice'], transposes: 0 },
  { name: 'cropping2D [1, 2] after conv', make: () => chain([5, 6, 2], [conv(3), layers.cropping2D({ cropping: [1, 2] })]), ops: ['Slice'] },
  // UpSampling2D: Resize, source = output index / factor ('asymmetric'), as our kernels.
  { name: 'upSampling2d nearest 2×2 on the NHWC input', make: () => chain([3, 4, 2], [layers.upSampling2d()]), ops: ['Resize'], transposes: 0 },
  { name: 'upSampling2d nearest [3, 1] after conv', make: () => chain([3, 3, 2], [conv(3), layers.upSampling2d({ size: [3, 1] })]), ops: ['Resize'] },
  { name: 'upSampling2d bilinear 2×2 after conv', make: () => chain([3, 5, 2], [conv(3), layers.upSampling2d({ interpolation: 'bilinear' })]), ops: ['Resize'] },
  { name: 'upSampling2d bilinear [3, 2] on the NHWC input', make: () => chain([4, 3, 5], [layers.upSampling2d({ size: [3, 2], interpolation: 'bilinear' })]), transposes: 0 },
  { name: 'upSampling2d bilinear 3×3 after conv, 2×2 input', make: () => chain([2, 2, 3], [conv(4), layers.upSampling2d({ size: 3, interpolation: 'bilinear' })]) },
  { name: 'upSampling2d bilinear halfPixelCenters 2×2 after conv', make: () => chain([3, 5, 2], [conv(3), layers.upSampling2d({ interpolation: 'bilinear', halfPixelCenters: true })]), ops: ['Resize'] },
  { name: 'upSampling2d bilinear halfPixelCenters [3, 1] on the NHWC input', make: () => chain([4, 1, 5], [layers.upSampling2d({ size: [3, 1], interpolation: 'bilinear', halfPixelCenters: true })]), transposes: 0 },
  // Reshape (NHWC view) and Permute (one Transpose from the layout the input has).
  { name: 'reshape a conv map to [-1, C] → dense', make: () => chain([3, 4, 2], [conv(5), layers.reshape({ targetShape: [-1, 5] }), layers.dense({ units: 3 })]), ops: ['Reshape', 'MatMul'] },
  { name: 'reshape [12] → [2, 3, 2] → conv', make: () => chain([12], [layers.reshape({ targetShape: [2, 3, 2] }), conv(3, { kernelSize: 2 })]) },
  { name: 'permute [2, 1, 3] of a conv map → conv (one Transpose NCHW → NCHW)', make: () => chain([4, 3, 2], [conv(3), layers.permute({ dims: [2, 1, 3] }), conv(2)]), transposes: 3 },
  { name: 'permute [3, 1, 2] of a conv map → flatten → dense', make: () => chain([3, 4, 2], [conv(5), layers.permute({ dims: [3, 1, 2] }), layers.flatten(), layers.dense({ units: 4 })]), transposes: 2 },
  { name: 'permute [2, 1] of a rank-3 input', make: () => chain([4, 5], [layers.permute({ dims: [2, 1] })]), transposes: 1 },
  { name: 'permute [1, 3, 2] of the NHWC input', make: () => chain([2, 3, 4], [layers.permute({ dims: [1, 3, 2] })]) },
  // Activation layers.
  { name: 'reLU()', make: () => chain([3, 3, 4], [conv(3), layers.reLU()]), ops: ['Relu'] },
  { name: 'reLU({maxValue: 6}) (Clip 0..6)', make: () => chain([3, 3, 4], [conv(3), layers.reLU({ maxValue: 6 })]), ops: ['Clip'], scale: 8 },
  { name: 'reLU({maxValue: 1.5})', make: () => chain([7], [layers.reLU({ maxValue: 1.5 })]), ops: ['Clip'], scale: 3 },
  { name: 'reLU({negativeSlope: 0.1}) (LeakyRelu)', make: () => chain([3, 2, 5], [layers.reLU({ negativeSlope: 0.1 })]), ops: ['LeakyRelu'] },
  { name: 'reLU({negativeSlope: 0.2, maxValue: 2})', make: () => chain([9], [layers.reLU({ negativeSlope: 0.2, maxValue: 2 })]), ops: ['LeakyRelu', 'Min'], scale: 3 },
  { name: 'reLU({threshold: 0.5}) (Where)', make: () => chain([3, 3, 2], [conv(3), layers.reLU({ threshold: 0.5 })]), ops: ['Where'] },
  { name: 'reLU({negativeSlope: 0.1, threshold: -0.3, maxValue: 2})', make: () => chain([11], [layers.reLU({ negativeSlope: 0.1, threshold: -0.3, maxValue: 2 })]), scale: 3 },
  { name: 'leakyReLU() (alpha 0.3)', make: () => chain([3, 3, 2], [conv(3), layers.leakyReLU()]), ops: ['LeakyRelu'] },
  { name: 'leakyReLU({alpha: 0.05})', make: () => chain([6], [layers.leakyReLU({ alpha: 0.05 })]) },
  { name: 'pReLU() on a conv map (slope [C, H, W] in NCHW)', make: () => chain([3, 4, 2], [conv(5), layers.pReLU()]), ops: ['PRelu'], transposes: 2 },
  { name: 'pReLU({sharedAxes: [1, 2]}) after conv (per channel)', make: () => chain([4, 3, 2], [conv(5), layers.pReLU({ sharedAxes: [1, 2] })]) },
  { name: 'pReLU({sharedAxes: 3}) on the NHWC input', make: () => chain([3, 4, 5], [layers.pReLU({ sharedAxes: 3 })]), transposes: 0 },
  { name: 'pReLU on [N, 7] after dense', make: () => chain([4], [layers.dense({ units: 7 }), layers.prelu()]) },
  { name: 'elu() (alpha 1)', make: () => chain([3, 3, 2], [conv(3), layers.elu()]), ops: ['Elu'] },
  { name: 'elu({alpha: 0.4})', make: () => chain([8], [layers.elu({ alpha: 0.4 })]), scale: 3 },
  { name: 'thresholdedReLU() (theta 1)', make: () => chain([3, 3, 2], [conv(3), layers.thresholdedReLU()]), ops: ['ThresholdedRelu'], scale: 2 },
  { name: 'thresholdedReLU({theta: -0.3})', make: () => chain([9], [layers.thresholdedReLU({ theta: -0.3 })]) },
  { name: 'softmax() over channels of a conv map (axis 1 in NCHW)', make: () => chain([3, 2, 4], [conv(5), layers.softmax()]), check: (g) => expect(attr(g, 'Softmax', 'axis')).toEqual([1]), scale: 3 },
  { name: 'softmax({axis: 1}) (height) after conv', make: () => chain([3, 2, 4], [conv(3), layers.softmax({ axis: 1 })]), check: (g) => expect(attr(g, 'Softmax', 'axis')).toEqual([2]), scale: 3 },
  { name: 'softmax({axis: 2}) (width) on the NHWC input', make: () => chain([2, 3, 4], [layers.softmax({ axis: 2 })]), check: (g) => expect(attr(g, 'Softmax', 'axis')).toEqual([2]), scale: 3 },
  { name: 'softmax({axis: 1}) of a rank-3 input', make: () => chain([4, 3], [layers.softmax({ axis: 1 })]), scale: 3 },
  // Preprocessing and dropouts.
  { name: 'rescaling 1/255 on the input → conv', make: () => chain([4, 4, 3], [layers.rescaling({ scale: 1 / 255 }), conv(2)]), ops: ['Mul'], scale: 255 },
  { name: 'rescaling ×2 − 1 after conv', make: () => chain([3, 3, 2], [conv(3), layers.rescaling({ scale: 2, offset: -1 })]), ops: ['Mul', 'Add'] },
  { name: 'spatialDropout2d and dropout (identity)', make: () => chain([4, 4, 3], [conv(3), layers.spatialDropout2d({ rate: 0.5 }), layers.dropout({ rate: 0.3 }), layers.flatten()]), transposes: 2 },
  // The zoo layers between the older ones: pools, merges and concatenation in the layouts the new layers leave.
  {
    name: 'U-Net-style: conv, BN, maxPooling2d, averagePooling2d, upSampling2d, concatenate skip, conv2dTranspose',
    make: () => {
      const x = input({ shape: [8, 8, 3] });
      const c1 = layers.batchNormalization().apply(layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x));
      const down = layers.maxPooling2d({ poolSize: 2 }).apply(c1);
      const c2 = layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same' }).apply(down));
      const up = layers.upSampling2d({ interpolation: 'bilinear' }).apply(c2);
      const cat = layers.concatenate().apply([c1, up, layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2 }).apply(down)]);
      return model({ inputs: x, outputs: layers.conv2d({ filters: 2, kernelSize: 1, activation: 'sigmoid' }).apply(cat), seed: 5 });
    },
    ops: ['MaxPool', 'AveragePool', 'Resize', 'Concat', 'ConvTranspose'], transposes: 2,
  },
  {
    name: 'subtract, multiply, average, maximum, minimum of BN, pReLU, rescaling and global-pool branches',
    make: () => {
      const x = input({ shape: [4, 5, 3] });
      const c = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
      const bn = layers.batchNormalization().apply(c);
      const pr = layers.pReLU({ sharedAxes: [1, 2] }).apply(c);
      const rs = layers.rescaling({ scale: 0.5, offset: 0.25 }).apply(x);
      const gate = layers.globalAveragePooling2d({ keepDims: true }).apply(bn);
      const sub = layers.subtract().apply([bn, pr]);
      const mul = layers.multiply().apply([sub, gate]);
      const avg = layers.average().apply([mul, rs, pr]);
      const out = layers.minimum().apply([layers.maximum().apply([avg, bn]), layers.leakyReLU().apply(rs)]);
      return model({ inputs: x, outputs: out, seed: 6 });
    },
    ops: ['Sub', 'Mul', 'Sum', 'Max', 'Min'],
  },
  // A residual inverted-bottleneck block: every tensor stays in NCHW between the input and output transposes.
  {
    name: 'MobileNetV2-style block: expand, BN, ReLU6, depthwise, BN, ReLU6, project, BN, add',
    make: () => {
      const x = input({ shape: [6, 6, 4] });
      let t = layers.conv2d({ filters: 12, kernelSize: 1, useBias: false }).apply(x);
      t = layers.reLU({ maxValue: 6 }).apply(layers.batchNormalization().apply(t));
      t = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(t);
      t = layers.reLU({ maxValue: 6 }).apply(layers.batchNormalization().apply(t));
      t = layers.batchNormalization().apply(layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }).apply(t));
      const out = layers.globalAveragePooling2d().apply(layers.add().apply([x, t]));
      return model({ inputs: x, outputs: out, seed: 4 });
    },
    ops: ['BatchNormalization', 'Clip', 'Add', 'GlobalAveragePool'], transposes: 1, scale: 3,
  },
];

// Every activation name, in a conv and a depthwise conv (NCHW), an activation layer and a dense (on the flattened features).
for (const a of ACTIVATIONS) {
  CASES.push({
    name: `activation '${a}' in conv2d, depthwiseConv2d, dense and activation()`,
    make: () => chain([4, 4, 2], [
      layers.conv2d({ filters: 3, kernelSize: 2, activation: a }), layers.depthwiseConv2d({ kernelSize: 2, activation: a }), layers.flatten(),
      layers.activation({ activation: a }), layers.dense({ units: 5, activation: a }),
    ]),
    scale: 2,
  });
}

describe('toONNX of the layer zoo: onnxruntime-web predicts as predict() (≤ 1e-5)', () => {
  let worst = 0, worstName = '';
  for (const [i, c] of CASES.entries()) {
    it(c.name, async () => {
      const m = c.make();
      randomizeWeights(m, 100 + i);
      for (const opset of [13, 18, 21]) {
        const { diff, graph } = await diffVsOrt(m, { seed: 10 + i, scale: c.scale, opset });
        expect(diff, `opset ${opset}`).toBeLessThanOrEqual(1e-5);
        if (diff > worst) [worst, worstName] = [diff, c.name];
        for (const op of c.ops ?? []) expect(ops(graph, op).length, `${op} in opset ${opset}`).toBeGreaterThan(0);
        if (c.transposes !== undefined) expect(ops(graph, 'Transpose').length).toBe(c.transposes);
        if (opset === 13) c.check?.(graph);
        // ReduceMean/ReduceMax take their axes as an attribute until opset 18, as an input from it.
        for (const n of [...ops(graph, 'ReduceMean'), ...ops(graph, 'ReduceMax')]) {
          expect(n.inputs.length).toBe(opset >= 18 ? 2 : 1);
          expect('axes' in n.attrs).toBe(opset < 18);
        }
      }
      m.dispose();
    });
  }
  afterAll(() => console.log(`layer zoo: worst |ORT − predict| = ${worst.toExponential(2)} (${worstName})`));
  it('covers every layer class simdcnn has', () => {
    const covered = new Set<string>();
    for (const c of CASES) {
      const m = c.make();
      for (const l of m.layers) covered.add(l.className);
      m.dispose();
    }
    const all = Object.values(layerClasses).filter((v): v is new (...a: never[]) => Layer =>
      typeof v === 'function' && v.prototype instanceof layerClasses.Layer && v !== layerClasses.InputLayer);
    expect(all.length).toBeGreaterThan(30);
    expect(all.map((c) => c.name).filter((n) => !covered.has(n))).toEqual([]);
  });
});

/** A tfjs model saved by tfjs and loaded into simdcnn, as a user would. */
async function viaTfjs(t: tf.LayersModel): Promise<LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await t.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return sc.loadLayersModel({ load: async () => artifacts as never });
}

describe("toONNX of Keras' MobileNetV2 (tfjs-built, alpha 0.35, 96×96)", () => {
  it('exports, and onnxruntime-web predicts the probabilities (and the trunk\'s features) simdcnn does (≤ 1e-5)', async () => {
    await tf.setBackend('cpu');
    const t = mobileNetV2(tf, { alpha: 0.35, size: 96 });
    randomizeBatchNorms(tf, t, 11);
    // The trunk up to out_relu (3×3×1280 ReLU6 features): differences there are not squashed by the softmax.
    const trunk = tf.model({ inputs: t.inputs, outputs: t.getLayer('out_relu').output as tf.SymbolicTensor });
    const [m, mt] = [await viaTfjs(t), await viaTfjs(trunk)];
    t.dispose();
    const { diff, rel, graph } = await diffVsOrt(m, { seed: 5, batch: 2 });
    const features = await diffVsOrt(mt, { seed: 5, batch: 2, opset: 17 });
    console.log(`MobileNetV2 0.35/96: ${graph.nodes.length} ONNX nodes, max |ORT − simdcnn| = ${diff.toExponential(2)} `
      + `(relative ${rel.toExponential(2)}) over 2×1000 probabilities, ${features.diff.toExponential(2)} over the trunk's features`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    // The probabilities are ~1e-3 each: their relative error is what shows the logits agree.
    expect(rel).toBeLessThanOrEqual(1e-4);
    expect(features.diff).toBeLessThanOrEqual(1e-5);
    // One Transpose (the input to NCHW): the whole network then stays channel-first.
    expect(ops(graph, 'Transpose').length).toBe(1);
    expect(ops(graph, 'Conv').filter((n) => (n.attrs.group ?? 1) !== 1).length).toBe(17);
    expect(ops(graph, 'BatchNormalization').length).toBe(52);
    m.dispose();
    mt.dispose();
  }, 120_000);
});

describe('toONNX errors', () => {
  it('a subclass of an exported layer is a named Error (it may compute differently)', async () => {
    class ScaledConv extends Conv2D {
      override readonly className = 'ScaledConv' as 'Conv2D';
    }
    const m = chain([4, 4, 2], [new ScaledConv({ filters: 2, kernelSize: 1, name: 'scaled' })]);
    await expect(m.toONNX()).rejects.toThrow(/toONNX: layer 'scaled' \(ScaledConv\) is a subclass of Conv2D, which exports; a subclass may compute differently, so it has no ONNX export \(supported layers: Conv2D, Dense,.*Softmax\)/);
    m.dispose();
  });
});
