// A learning-rate schedule as tfjs code writes one: optimizer.learningRate assigned from a callback.
// Setting it to 0 for the second epoch must freeze every weight through that epoch (SGD, Adam; with
// momentum the stored velocity still moves them, as in Keras); and a bad value is a named Error
// that leaves the old rate in place.
import { describe, expect, it } from 'vitest';
import { layers, sequential, tensor, train } from '../src/index.js';
import { randn } from './helpers/random.js';

const optimizers = { sgd: () => train.sgd(0.1), adam: () => train.adam(0.01) };

describe('learning-rate schedules through optimizer.learningRate', () => {
  for (const [name, make] of Object.entries(optimizers)) {
    it(`${name}: a rate of 0 from onEpochBegin freezes the weights for that epoch, and the next rate applies after`, async () => {
      const m = sequential({ seed: 2, layers: [layers.dense({ units: 4, activation: 'relu', inputShape: [6] }), layers.dense({ units: 3, activation: 'softmax' })] });
      const opt = make();
      m.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy' });
      const x = tensor(randn(16 * 6, 3), [16, 6]), y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16]);
      const after: number[][][] = [];
      await m.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, callbacks: {
        onEpochBegin: (e) => { opt.learningRate = [0.1, 0, 0.05][e]; },
        onEpochEnd: () => { after.push(m.getWeights().map((t) => Array.from(t.dataSync()))); },
      } });
      expect(after[1]).toEqual(after[0]);
      expect(after[2]).not.toEqual(after[1]);
      expect(opt.learningRate).toBe(0.05);
      m.dispose();
    });
  }
  it('a bad rate is a named Error and the old one stays', () => {
    const opt = train.adam(0.002);
    expect(() => { opt.learningRate = -1; }).toThrow(/^Adam optimizer: learningRate must be a finite number ≥ 0, got -1$/);
    expect(() => { opt.learningRate = NaN; }).toThrow(/learningRate must be a finite number ≥ 0, got NaN/);
    expect(opt.learningRate).toBe(0.002);
    expect(opt.getConfig()).toMatchObject({ learningRate: 0.002 });
  });
});
