// The inference rewrite that folds a batch norm into the linear convolution, depthwise convolution
// or dense layer before it (src/model/fusion.ts foldBatchNorm): the same predictions as running
// the layers apart within float rounding, recomputed from the current weights (setWeights after a
// plan exists), never applied to training plans.
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
];

describe('batch norm folded into the layer before it (inference)', () => {
  for (const [name, make] of cases) {
    it(name, () => {
      const m = make();
      randomize(m, 7);
      const x = tensor(randn(3 * m.inputShape.reduce((a, b) => a * b, 1), 3), [3, ...m.inputShape]);
      // The rewrite applies to inference plans only.
      const g = m.graph(), keep = new Set(g.outputs.map((t) => t.id));
      const folded = execNodes(g, true, keep, false).filter((e) => e.nodes.some((n) => n.layer.className === 'BatchNormalization') && e.nodes.length === 2);
      expect(folded.length).toBe(g.nodes.filter((n) => n.layer.className === 'BatchNormalization').length);
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
