// The rewrite that takes a zero padding into the 'valid' convolution or depthwise convolution
// after it (src/model/fusion.ts foldZeroPadding): the same predictions and gradients as running the
// layers apart, in inference and training.
import { describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { execNodes } from '../src/model/planner.js';
import type { LayersModel } from '../src/model/layers-model.js';
import { maxRelErr, randn } from './helpers/random.js';

const { layers, input, model, tensor } = sc;

function make(): LayersModel {
  const x = input({ shape: [9, 9, 3] });
  let t = layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }).apply(x);
  t = layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'tanh' }).apply(t);
  t = layers.zeroPadding2d({ padding: 1 }).apply(t);
  t = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu6' }).apply(t);
  t = layers.dense({ units: 3, activation: 'softmax' }).apply(layers.flatten().apply(t));
  const m = model({ inputs: x, outputs: t, seed: 4 });
  m.compile({ optimizer: sc.train.sgd(0.05), loss: 'sparseCategoricalCrossentropy' });
  m.setWeights(m.getWeights().map((w, i) => tensor(randn(w.size, 20 + i, 0.7), w.shape)));
  return m;
}

describe('zero padding taken into the convolution after it', () => {
  it('is planned in inference and training, and predicts, differentiates and trains as the layers apart', async () => {
    const m = make(), apart = make();
    apart.fuseLayers = false;
    const g = m.graph(), keep = new Set(g.outputs.map((t) => t.id));
    for (const training of [false, true]) {
      const steps = execNodes(g, true, keep, training);
      expect(steps.filter((e) => e.nodes[0].layer.className === 'ZeroPadding2D' && e.nodes.length === 2)).toHaveLength(2);
    }
    const x = tensor(randn(4 * 243, 3), [4, 9, 9, 3]), y = tensor([0, 1, 2, 1], [4]);
    expect(maxRelErr((m.predict(x) as sc.Tensor).dataSync(), (apart.predict(x) as sc.Tensor).dataSync())).toBeLessThan(1e-6);
    const a = m.lossAndGradients(x, y), b = apart.lossAndGradients(x, y);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    expect(maxRelErr(a.grads, b.grads)).toBeLessThan(1e-5);
    await m.fit(x, y, { epochs: 2, batchSize: 2 });
    await apart.fit(x, y, { epochs: 2, batchSize: 2 });
    m.getWeights().forEach((w, i) => expect(maxRelErr(w.dataSync(), apart.getWeights()[i].dataSync())).toBeLessThan(1e-5));
    m.dispose();
    apart.dispose();
  });
});

// PyTorch's ResNet stem arrives from ONNX as conv → ReLU → ZeroPadding2D(1) → MaxPooling2D(3, 2,
// 'valid'): in inference the padding becomes the pooling's own (src/model/fusion.ts
// foldZeroPaddingMaxPool), exact because the ReLU'd values are ≥ 0; not where the input may be
// negative, not for unequal pads, not in training.
describe('zero padding taken into the max pooling after a ReLU', () => {
  const build = (act: 'relu' | 'tanh', padding: number | [[number, number], [number, number]], relu6Layer = false) => {
    const x = input({ shape: [13, 11, 4] });
    let t = layers.conv2d({ filters: 8, kernelSize: 3, activation: relu6Layer ? 'linear' : act }).apply(x);
    if (relu6Layer) t = layers.reLU({ maxValue: 6 }).apply(t);
    t = layers.zeroPadding2d({ padding }).apply(t);
    t = layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(t);
    const m = model({ inputs: x, outputs: t, seed: 2 });
    m.setWeights(m.getWeights().map((w, i) => tensor(randn(w.size, 40 + i, 0.8), w.shape)));
    return m;
  };
  it.each([
    ['conv relu, pad 1', 'relu', 1, false, true],
    ['conv + ReLU(6) layer, pad 2', 'relu', 2, true, true],
    ['conv tanh (negative values): not folded', 'tanh', 1, false, false],
    ['unequal pads: not folded', 'relu', [[1, 0], [1, 1]], false, false],
  ] as const)('%s', (_name, act, padding, relu6Layer, folds) => {
    const m = build(act, padding as never, relu6Layer), apart = build(act, padding as never, relu6Layer);
    apart.fuseLayers = false;
    const g = m.graph(), keep = new Set(g.outputs.map((t) => t.id));
    const fused = (training: boolean) => execNodes(g, true, keep, training).some((e) => e.nodes.map((n) => n.layer.className).join() === 'ZeroPadding2D,MaxPooling2D');
    expect(fused(false)).toBe(folds);
    expect(fused(true)).toBe(false);
    // Batch 1 (the pooling split into row bands) and batch 3.
    for (const n of [1, 3]) {
      const x = tensor(randn(n * 13 * 11 * 4, 9 + n), [n, 13, 11, 4]);
      const got = (m.predict(x) as sc.Tensor).dataSync(), want = (apart.predict(x) as sc.Tensor).dataSync();
      expect(Array.from(got)).toEqual(Array.from(want));
    }
    m.dispose();
    apart.dispose();
  });
});
