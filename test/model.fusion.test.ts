// A convolution followed by a max pooling runs as one fused pass (the pooling works on each chunk's
// output in scratch). It must give exactly what the two layers give apart: the same outputs, loss
// and gradients, bit for bit, on one and two threads, for ReLU and linear convolutions, overlapping
// and 'same'-padded pooling windows. Gradient correctness itself is model.gradcheck's job; this
// pins the fused path to the unfused one.
import { afterAll, describe, expect, it } from 'vitest';
import { layers, sequential, setThreads, tensor, type Sequential } from '../src/index.js';
import { randn } from './helpers/random.js';

type Case = [name: string, build: () => Sequential, inShape: [number, number, number]];
const cases: Case[] = [
  ['reference CNN shape (relu, pool 2)', () => sequential({ seed: 1, layers: [
    layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [14, 14, 1] }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.flatten(),
    layers.dense({ units: 10, activation: 'softmax' }),
  ] }), [14, 14, 1]],
  ['linear conv, overlapping windows (3, stride 2), same padding', () => sequential({ seed: 2, layers: [
    layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', inputShape: [9, 8, 3] }),
    layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    layers.flatten(),
    layers.dense({ units: 4, activation: 'softmax' }),
  ] }), [9, 8, 3]],
  ['strided conv, pool [2, 3] stride 1, no bias', () => sequential({ seed: 3, layers: [
    layers.conv2d({ filters: 5, kernelSize: [2, 3], strides: 2, useBias: false, activation: 'relu', inputShape: [11, 12, 2] }),
    layers.maxPooling2d({ poolSize: [2, 3], strides: 1 }),
    layers.flatten(),
    layers.dense({ units: 3, activation: 'softmax' }),
  ] }), [11, 12, 2]],
];

function run(model: Sequential, x: Float32Array, labels: number[], batch: number, fuse: boolean) {
  model.fuseLayers = fuse;
  const xs = tensor(x, [batch, ...model.inputShape]);
  const y = model.predict(xs, { batchSize: batch });
  const out = Array.from(y.dataSync());
  y.dispose();
  const g = model.lossAndGradients(xs, labels);
  xs.dispose();
  return { out, loss: g.loss, grads: Array.from(g.grads) };
}

describe.each([1, 2])('conv + max pooling fused vs apart, %i thread(s)', (threads) => {
  afterAll(() => setThreads(2));
  for (const [name, build, inShape] of cases) {
    it(name, () => {
      setThreads(threads);
      const model = build();
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const batch = 7;
      const x = randn(batch * inShape[0] * inShape[1] * inShape[2], 11);
      const classes = model.outputShape[model.outputShape.length - 1];
      const labels = Array.from({ length: batch }, (_, i) => i % classes);
      const fused = run(model, x, labels, batch, true);
      const apart = run(model, x, labels, batch, false);
      expect(fused.out).toEqual(apart.out);
      expect(fused.loss).toBe(apart.loss);
      expect(fused.grads).toEqual(apart.grads);
      // And the fused path is the one predict takes by default.
      model.fuseLayers = true;
      const last = model.predictLayers(tensor(x, [batch, ...inShape]));
      expect(Array.from(last[last.length - 1].dataSync())).toEqual(fused.out);
      for (const t of last) t.dispose();
      model.dispose();
    });
  }
});
