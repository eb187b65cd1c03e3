// The inference rewrite of a CNN block into one pass (src/model/fusion.ts inferenceChain):
// [zero padding] → conv | depthwise | dense → [batch norm folded into its kernel] → [residual add]
// → [ReLU | ReLU6] in the epilogue. The same predictions as running the layers apart within float
// rounding, refolded from the current weights (setWeights or training after a plan exists), never
// applied to training plans.
import { describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { execNodes } from '../src/model/planner.js';
import type { LayersModel } from '../src/model/layers-model.js';
import { maxRelErr, randn } from './helpers/random.js';

const { layers, input, model, tensor } = sc;

/** Random weights, batch-norm variances positive (gamma ∈ [0.5, 1.5), variance ∈ [0.5, 1.5)). */
function randomize(m: LayersModel, seed: number) {
  const list = m.weightList();
  m.setWeights(m.getWeights().map((w, i) => {
    const name = list[i].spec.name;
    const v = randn(w.size, seed + i, 0.5);
    if (name === 'moving_variance' || name === 'gamma') for (let j = 0; j < v.length; j++) v[j] = 1 + v[j];
    return tensor(v, w.shape);
  }));
}

const cases: [string, () => LayersModel][] = [
  ['conv (bias) → BN → relu, dense → BN → softmax', () => {
    const x = input({ shape: [8, 8, 3] });
    let t = layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same' }).apply(x);
    t = layers.activation({ activation: 'relu' }).apply(layers.batchNormalization({}).apply(t));
    t = layers.dense({ units: 6 }).apply(layers.flatten().apply(t));
    t = layers.activation({ activation: 'softmax' }).apply(layers.batchNormalization({ epsilon: 0.01 }).apply(t));
    return model({ inputs: x, outputs: t, seed: 1 });
  }],
  ['depthwise (no bias, dm 2, stride 2) → BN (no center) → reLU(6); conv (no bias) → BN (no scale)', () => {
    const x = input({ shape: [9, 9, 4] });
    let t = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, useBias: false }).apply(x);
    t = layers.reLU({ maxValue: 6 }).apply(layers.batchNormalization({ center: false }).apply(t));
    t = layers.conv2d({ filters: 7, kernelSize: 1, useBias: false }).apply(t);
    t = layers.batchNormalization({ scale: false }).apply(t);
    return model({ inputs: x, outputs: layers.flatten().apply(t), seed: 2 });
  }],
  ['residual blocks: conv → BN → add(skip) → relu; padding → depthwise → BN → relu6 → 1×1 conv → BN → add', () => {
    const x = input({ shape: [10, 10, 6] });
    let s = layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same' }).apply(x);
    s = layers.reLU().apply(layers.batchNormalization({}).apply(s));
    let t = layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(s);
    t = layers.activation({ activation: 'relu' }).apply(layers.add().apply([s, layers.batchNormalization({}).apply(t)]));
    let u = layers.zeroPadding2d({ padding: [[1, 1], [1, 1]] }).apply(t);
    u = layers.reLU({ maxValue: 6 }).apply(layers.batchNormalization({}).apply(layers.depthwiseConv2d({ kernelSize: 3, useBias: false }).apply(u)));
    u = layers.batchNormalization({}).apply(layers.conv2d({ filters: 6, kernelSize: 1, useBias: false }).apply(u));
    return model({ inputs: x, outputs: layers.add().apply([u, t]), seed: 3 });
  }],
  // EfficientNet's pattern (PyTorch SiLU → Activation('swish')): swish in the conv, depthwise and
  // dense epilogues, and a conv whose own activation is swish (inference only).
  ['EfficientNet-style: conv → BN → swish, depthwise → BN → swish, conv(activation swish), conv → BN, dense → BN → swish', () => {
    const x = input({ shape: [9, 9, 4] });
    let t = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x);
    t = layers.activation({ activation: 'swish' }).apply(layers.batchNormalization({}).apply(t));
    t = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(t);
    t = layers.activation({ activation: 'swish' }).apply(layers.batchNormalization({}).apply(t));
    t = layers.conv2d({ filters: 6, kernelSize: 1, activation: 'swish' }).apply(t);
    t = layers.batchNormalization({}).apply(layers.conv2d({ filters: 6, kernelSize: 1 }).apply(t));
    t = layers.dense({ units: 5 }).apply(layers.flatten().apply(t));
    t = layers.activation({ activation: 'swish' }).apply(layers.batchNormalization({}).apply(t));
    return model({ inputs: x, outputs: t, seed: 4 });
  }],
];

/** Exec steps of the inference plan that contain a batch norm fused with other layers. */
const foldedSteps = (m: LayersModel) => {
  const g = m.graph(), keep = new Set(g.outputs.map((t) => t.id));
  return execNodes(g, true, keep, false).filter((e) => e.nodes.length > 1 && e.nodes.some((n) => n.layer.className === 'BatchNormalization'));
};

describe('batch norm folded into the layer before it (inference)', () => {
  for (const [name, make] of cases) {
    it(name, () => {
      const m = make();
      randomize(m, 7);
      const x = tensor(randn(3 * m.inputShape.reduce((a, b) => a * b, 1), 3), [3, ...m.inputShape]);
      // The rewrite applies to inference plans only.
      const g = m.graph(), keep = new Set(g.outputs.map((t) => t.id));
      expect(foldedSteps(m).length).toBe(g.nodes.filter((n) => n.layer.className === 'BatchNormalization').length);
      expect(execNodes(g, true, keep, true).some((e) => e.nodes.some((n) => n.layer.className === 'BatchNormalization') && e.nodes.length > 1)).toBe(false);
      const fused = (m.predict(x) as sc.Tensor).dataSync().slice();
      m.fuseLayers = false;
      const apart = (m.predict(x) as sc.Tensor).dataSync().slice();
      expect(maxRelErr(fused, apart)).toBeLessThan(1e-5);
      // New weights after the plan exists: the folded kernel is recomputed, not stale.
      m.fuseLayers = true;
      randomize(m, 99);
      const fused2 = (m.predict(x) as sc.Tensor).dataSync().slice();
      m.fuseLayers = false;
      const apart2 = (m.predict(x) as sc.Tensor).dataSync().slice();
      expect(maxRelErr(fused2, apart2)).toBeLessThan(1e-5);
      expect(maxRelErr(fused2, fused)).toBeGreaterThan(1e-3);
      m.dispose();
    });
  }

  it('takes the whole block into one step: the padding, the batch norm, the residual add and the activation', () => {
    const m = cases[2][1]();
    const steps = foldedSteps(m).map((e) => e.nodes.map((n) => n.layer.className).join('+'));
    expect(steps).toEqual([
      'Conv2D+BatchNormalization+ReLU',
      'Conv2D+BatchNormalization+Add+Activation',
      'ZeroPadding2D+DepthwiseConv2D+BatchNormalization+ReLU',
      'Conv2D+BatchNormalization+Add',
    ]);
    m.dispose();
  });

  it('leaves an add alone whose other input is computed after the chain starts', () => {
    // b's branch is placed after a's conv (depth-first from the add's inputs, a first), so folding
    // the add into a's pass would read b before it exists.
    const x = input({ shape: [6, 6, 4] });
    const a = layers.batchNormalization({}).apply(layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x));
    const b = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
    const m = model({ inputs: x, outputs: layers.add().apply([a, b]), seed: 4 });
    randomize(m, 5);
    const order = m.graph().nodes.map((n) => n.layer.className);
    expect(order.indexOf('BatchNormalization')).toBeLessThan(order.lastIndexOf('Conv2D'));
    expect(foldedSteps(m).map((e) => e.nodes.length)).toEqual([2]);
    const xt = tensor(randn(2 * 144, 6), [2, 6, 6, 4]);
    const fused = (m.predict(xt) as sc.Tensor).dataSync().slice();
    m.fuseLayers = false;
    expect(maxRelErr(fused, (m.predict(xt) as sc.Tensor).dataSync())).toBeLessThan(1e-5);
    m.dispose();
  });

  it('refolds after training: predict, fit a step (weights and moving statistics change), predict again', async () => {
    const m = cases[2][1]();
    randomize(m, 8);
    m.compile({ optimizer: sc.train.sgd(0.05), loss: 'meanSquaredError' });
    const x = tensor(randn(4 * 600, 9), [4, 10, 10, 6]), y = tensor(randn(4 * 600, 10), [4, 10, 10, 6]);
    const before = (m.predict(x) as sc.Tensor).dataSync().slice();
    await m.fit(x, y, { epochs: 1, batchSize: 4 });
    const after = (m.predict(x) as sc.Tensor).dataSync().slice();
    m.fuseLayers = false;
    const apart = (m.predict(x) as sc.Tensor).dataSync().slice();
    expect(maxRelErr(after, apart)).toBeLessThan(1e-5);
    expect(maxRelErr(after, before)).toBeGreaterThan(1e-4);
    m.dispose();
  });

  it('training is unchanged: fit with and without the rewrite gives the same weights bit for bit', async () => {
    const run = async (fuse: boolean) => {
      const m = cases[0][1]();
      m.fuseLayers = fuse;
      m.compile({ optimizer: sc.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
      await m.fit(tensor(randn(16 * 192, 4), [16, 8, 8, 3]), tensor(Array.from({ length: 16 }, (_, i) => i % 6), [16]), { epochs: 2, batchSize: 8 });
      const w = m.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    expect(await run(true)).toEqual(await run(false));
  });
});
