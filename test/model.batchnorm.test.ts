// BatchNormalization inside models: gradients of conv → BN → relu → dense against central
// differences of a float64 forward (batch statistics), fit against real TensorFlow.js 4.22 (moving
// statistics, weights, predictions), save/load both ways, non-trainable weights (summary,
// countParams, optimizer), a frozen BN in fit, and loading configs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { layers, loadLayersModel, sequential, tensor, train, type Sequential, type Tensor } from '../src/index.js';
import { modelArtifacts, type ModelArtifacts } from '../src/model/save-load.js';
import { refConv2d } from '../src/reference/conv.js';
import { refBnNormalize, refBnStats } from '../src/reference/batchnorm.js';
import { randn, rng } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const values = (n: number, seed: number, scale = 0.5) => randn(n, seed, scale);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const IN = [5, 5, 2];
/** conv(3×3, 3 filters) → BN → relu → flatten → dense(3, softmax), ours and tfjs', same config. */
function ours(seed: number, bn: Record<string, unknown> = {}): Sequential {
  return sequential({ seed, layers: [
    layers.conv2d({ filters: 3, kernelSize: 3, inputShape: IN }),
    layers.batchNormalization({ momentum: 0.9, ...bn }),
    layers.activation({ activation: 'relu' }),
    layers.flatten(),
    layers.dense({ units: 3, activation: 'softmax' }),
  ] });
}
function theirs(bn: Record<string, unknown> = {}): tf.Sequential {
  return tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: IN }),
    tf.layers.batchNormalization({ momentum: 0.9, ...bn }),
    tf.layers.activation({ activation: 'relu' }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
}
/** Weights in getWeights order (tfjs': trainable first): conv kernel, bias, gamma, beta, dense kernel, bias, moving_mean, moving_variance. */
function weightValues(shapes: number[][], seed: number): Float32Array[] {
  return shapes.map((s, i) => {
    const v = values(size(s), seed * 17 + i);
    if (i === 2) return v.map((x) => 1 + x); // gamma
    if (i === 7) return v.map((x) => 0.5 + Math.abs(x)); // moving variance
    return v;
  });
}
function data(n: number, seed: number) {
  const x = randn(n * size(IN), seed, 1.5).map((v) => v + 0.5);
  const r = rng(seed + 1);
  const y = Float32Array.from({ length: n }, () => Math.floor(r() * 3));
  return { x, y };
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
};

/** The float64 loss of the model with flat params p (training: batch statistics). */
function refLoss(m: Sequential, p: Float64Array, x: Float64Array, y: Float64Array, batch: number): number {
  const ws = m.weightList().map(({ spec }) => p.subarray(spec.offset, spec.offset + size(spec.shape)));
  // conv kernel, bias, gamma, beta, dense kernel, bias (then the moving statistics).
  const conv = refConv2d({ batch, inH: 5, inW: 5, inC: 2, kh: 3, kw: 3, outC: 3, strideH: 1, strideW: 1, dilH: 1, dilW: 1,
    padTop: 0, padLeft: 0, outH: 3, outW: 3 }, x, ws[0], ws[1]);
  const g = { outer: batch * 9, C: 3, inner: 1 };
  const st = refBnStats(g, conv);
  const h = refBnNormalize(g, conv, st.mean, st.variance, ws[2], ws[3], 1e-3).map((v) => Math.max(v, 0));
  let loss = 0;
  for (let b = 0; b < batch; b++) {
    const z = [0, 1, 2].map((j) => {
      let s = ws[5][j];
      for (let i = 0; i < 27; i++) s += h[b * 27 + i] * ws[4][i * 3 + j];
      return s;
    });
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0));
    loss += lse - z[y[b]];
  }
  return loss / batch;
}

describe('conv → batchNormalization → relu → dense gradients vs central differences', () => {
  it('every trainable weight; the moving statistics get no gradient', () => {
    const m = ours(3);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const shapes = m.getWeights().map((w) => w.shape);
    m.setWeights(weightValues(shapes, 3).map((v, i) => tensor(v, shapes[i])));
    const batch = 4;
    const { x, y } = data(batch, 8);
    const { loss, grads } = m.lossAndGradients(tensor(x, [batch, ...IN]), tensor(y, [batch]));
    const p = new Float64Array(grads.length);
    const list = m.weightList();
    m.weightValues().forEach((w, i) => p.set(w.data, list[i].spec.offset));
    const x64 = Float64Array.from(x), y64 = Float64Array.from(y);
    const f = () => refLoss(m, p, x64, y64, batch);
    expect(Math.abs(loss - f())).toBeLessThan(1e-5);
    const hh = 1e-6;
    let worst = 0, where = '';
    for (const { name, spec } of list) {
      for (let i = 0; i < size(spec.shape); i++) {
        const j = spec.offset + i, p0 = p[j];
        if (spec.trainable === false) {
          expect(grads[j], name).toBe(0);
          continue;
        }
        p[j] = p0 + hh; const lp = f();
        p[j] = p0 - hh; const lm = f();
        p[j] = p0;
        const fd = (lp - lm) / (2 * hh);
        const v = Math.abs(grads[j] - fd) / (2e-3 * Math.abs(fd) + 2e-5);
        if (v > worst) { worst = v; where = `${name}[${i}]: analytic ${grads[j]}, finite difference ${fd}`; }
      }
    }
    expect(worst, where).toBeLessThanOrEqual(1);
    m.dispose();
  });
});

describe('fit against TensorFlow.js 4.22', () => {
  async function both(lr: number, n: number, batchSize: number, bn: Record<string, unknown> = {}) {
    const m = ours(1, bn), t = theirs(bn);
    const shapes = t.getWeights().map((w) => w.shape);
    const w0 = weightValues(shapes, 5);
    m.setWeights(w0.map((v, i) => tensor(v, shapes[i])));
    t.setWeights(w0.map((v, i) => tf.tensor(v, shapes[i])));
    m.compile({ optimizer: train.sgd(lr), loss: 'sparseCategoricalCrossentropy' });
    t.compile({ optimizer: tf.train.sgd(lr), loss: 'sparseCategoricalCrossentropy' });
    const { x, y } = data(n, 21);
    await m.fit(tensor(x, [n, ...IN]), tensor(y, [n]), { epochs: 1, batchSize, shuffle: false });
    await t.fit(tf.tensor(x, [n, ...IN]), tf.tensor(y, [n]), { epochs: 1, batchSize, shuffle: false, verbose: 0 });
    return { m, t, x, n, w0 };
  }
  const predicts = (m: Sequential, t: tf.Sequential, x: Float32Array, n: number) => {
    const a = (m.predict(tensor(x, [n, ...IN])) as Tensor).dataSync();
    const b = (t.predict(tf.tensor(x, [n, ...IN])) as tf.Tensor).dataSync();
    return maxDiff(a, b);
  };

  it('learning rate 0: only the moving statistics move, exactly as tfjs moves them (3 batches)', async () => {
    const { m, t, x, n, w0 } = await both(0, 12, 4);
    const ours_ = m.getWeights().map((w) => w.dataSync()), theirs_ = t.getWeights().map((w) => w.dataSync());
    expect(maxDiff(ours_[6], theirs_[6]), 'moving_mean').toBeLessThanOrEqual(1e-5);
    expect(maxDiff(ours_[7], theirs_[7]), 'moving_variance').toBeLessThanOrEqual(1e-5);
    expect(maxDiff(ours_[6], w0[6])).toBeGreaterThan(1e-3);
    for (const i of [0, 1, 2, 3, 4, 5]) expect(Array.from(ours_[i])).toEqual(Array.from(w0[i]));
    expect(predicts(m, t, x, n)).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });

  it('learning rate 0.1, 2 steps: every weight and the predictions as tfjs', async () => {
    const { m, t, x, n } = await both(0.1, 10, 5);
    const ours_ = m.getWeights().map((w) => w.dataSync()), theirs_ = t.getWeights().map((w) => w.dataSync());
    ours_.forEach((w, i) => expect(maxDiff(w, theirs_[i]), `weight ${i}`).toBeLessThanOrEqual(1e-5));
    expect(predicts(m, t, x, n)).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });

  it('center: false, scale: false as tfjs', async () => {
    // tfjs reads gamma/beta in training even when absent: compare inference after loading our weights instead.
    const m = ours(2, { center: false, scale: false });
    const shapes = m.getWeights().map((w) => w.shape);
    expect(m.weightList().map((w) => w.spec.name)).toEqual(['kernel', 'bias', 'kernel', 'bias', 'moving_mean', 'moving_variance']);
    m.setWeights(shapes.map((s, i) => tensor(i === 5 ? values(size(s), i).map((v) => 1 + Math.abs(v)) : values(size(s), i), s)));
    const t = await tf.loadLayersModel(tf.io.fromMemory(modelArtifacts(m).artifacts as tf.io.ModelArtifacts));
    const { x } = data(6, 4);
    expect(predicts(m, t as tf.Sequential, x, 6)).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });
});

describe('save and load with tfjs', () => {
  it('ours (after fit) → tfjs and back: same weights by name, same predictions', async () => {
    const m = ours(4);
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const { x, y } = data(8, 2);
    await m.fit(tensor(x, [8, ...IN]), tensor(y, [8]), { epochs: 2, batchSize: 4 });
    const { artifacts } = modelArtifacts(m);
    expect(artifacts.weightSpecs!.map((w) => w.name)).toEqual(expect.arrayContaining([
      'batch_normalization' + m.layers[1].name.slice('batch_normalization'.length) + '/moving_mean',
      m.layers[1].name + '/moving_variance', m.layers[1].name + '/gamma', m.layers[1].name + '/beta']));
    const t = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const pm = (m.predict(tensor(x, [8, ...IN])) as Tensor).dataSync();
    expect(maxDiff(pm, (t.predict(tf.tensor(x, [8, ...IN])) as tf.Tensor).dataSync())).toBeLessThanOrEqual(1e-5);
    // tfjs saves it again; we load that: bit-identical weights.
    let saved: tf.io.ModelArtifacts | undefined;
    await t.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const back = await loadLayersModel({ load: async () => saved as ModelArtifacts });
    const bl = back.layers.find((l) => l.className === 'BatchNormalization')!;
    expect(bl.getConfig()).toMatchObject({ axis: -1, momentum: 0.9, epsilon: 1e-3, center: true, scale: true });
    back.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(m.getWeights()[i].dataSync())));
    expect(maxDiff((back.predict(tensor(x, [8, ...IN])) as Tensor).dataSync(), pm)).toBe(0);
    back.dispose();
    m.dispose();
  });

  it("tfjs' model with axis 1 (odd but legal) and custom initializers loads; predicts as Keras defines it", async () => {
    const t = tf.sequential({ layers: [
      tf.layers.batchNormalization({ axis: 1, momentum: 0.5, epsilon: 0.01, movingVarianceInitializer: 'zeros', gammaInitializer: 'randomNormal', inputShape: [3, 4] }),
    ] });
    const w = t.getWeights().map((v, i) => values(v.size, i).map((x) => (i === 3 ? 1 + Math.abs(x) : x)));
    t.setWeights(w.map((v) => tf.tensor(v, [3])));
    let saved: tf.io.ModelArtifacts | undefined;
    await t.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const m = await loadLayersModel({ load: async () => saved as ModelArtifacts });
    const bl = m.layers.find((l) => l.className === 'BatchNormalization')!;
    expect(bl.getConfig()).toMatchObject({ axis: 1, momentum: 0.5, epsilon: 0.01 });
    expect(bl.weights.map((v) => [v.name, v.shape[0]])).toEqual([['gamma', 3], ['beta', 3], ['moving_mean', 3], ['moving_variance', 3]]);
    const x = values(5 * 12, 9, 2);
    // tfjs' cpu batchNorm kernel indexes the statistics by flat index mod C, ignoring the
    // broadcast shape of a non-last axis, so its predictions are not the reference here.
    const want = refBnNormalize({ outer: 5, C: 3, inner: 4 }, x, w[2], w[3], w[0], w[1], 0.01);
    expect(maxDiff((m.predict(tensor(x, [5, 3, 4])) as Tensor).dataSync(), want)).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });
});

describe('non-trainable weights', () => {
  it('summary and countParams count the moving statistics as non-trainable', () => {
    const m = ours(1);
    const lines: string[] = [];
    m.summary(undefined, undefined, (s: string) => lines.push(s));
    // conv 2·9·3 + 3 = 57, BN 4·3 = 12 (6 trainable), dense 27·3 + 3 = 84.
    expect(m.countParams()).toBe(153);
    expect(lines.join('\n')).toMatch(/Total params: 153\n.*Trainable params: 147\n.*Non-trainable params: 6/);
    m.dispose();
  });

  it.each(['adam', 'momentum', 'sgd'])('%s leaves the moving statistics exactly as the forward wrote them', async (opt) => {
    // momentum 0: after a step the moving statistics are that step's batch statistics, computed by
    // its forward from the weights before the step; the optimizer (with state from earlier steps) must not touch them.
    const m = ours(6, { momentum: 0 });
    m.compile({ optimizer: opt === 'momentum' ? train.momentum(0.1, 0.9) : opt, loss: 'sparseCategoricalCrossentropy' });
    const { x, y } = data(6, 3);
    await m.fit(tensor(x, [6, ...IN]), tensor(y, [6]), { epochs: 2, batchSize: 6, shuffle: false });
    const before = m.getWeights().map((w) => w.dataSync().slice());
    await m.fit(tensor(x, [6, ...IN]), tensor(y, [6]), { epochs: 1, batchSize: 6, shuffle: false });
    const after = m.getWeights().map((w) => w.dataSync());
    const conv = refConv2d({ batch: 6, inH: 5, inW: 5, inC: 2, kh: 3, kw: 3, outC: 3, strideH: 1, strideW: 1, dilH: 1, dilW: 1,
      padTop: 0, padLeft: 0, outH: 3, outW: 3 }, x, before[0], before[1]);
    const st = refBnStats({ outer: 54, C: 3, inner: 1 }, conv);
    expect(maxDiff(after[6], st.mean)).toBeLessThan(1e-5);
    expect(maxDiff(after[7], st.variance)).toBeLessThan(1e-5);
    expect(maxDiff(after[0], before[0])).toBeGreaterThan(1e-5);
    m.dispose();
  });

  it('a frozen BN runs in inference mode in fit and keeps its moving statistics (Keras 2+)', async () => {
    const m = ours(7);
    const shapes = m.getWeights().map((w) => w.shape);
    m.setWeights(weightValues(shapes, 7).map((v, i) => tensor(v, shapes[i])));
    m.layers[1].trainable = false;
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const before = m.getWeights().map((w) => w.dataSync().slice());
    const { x, y } = data(8, 5);
    await m.fit(tensor(x, [8, ...IN]), tensor(y, [8]), { epochs: 2, batchSize: 4 });
    const after = m.getWeights().map((w) => w.dataSync());
    for (const i of [2, 3, 6, 7]) expect(Array.from(after[i]), `BN weight ${i}`).toEqual(Array.from(before[i]));
    expect(maxDiff(after[0], before[0])).toBeGreaterThan(1e-4);
    m.dispose();
  });
});

afterAll(() => undefined);

describe('loading BatchNormalization configs', () => {
  const artifacts = (config: Record<string, unknown>): ModelArtifacts => ({
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'BatchNormalization', config: { name: 'bn', batch_input_shape: [null, 2, 3], ...config } }] },
    },
    weightSpecs: [], weightData: new ArrayBuffer(0),
  } as unknown as ModelArtifacts);
  it("Keras 3's one-element axis list", async () => {
    const m = await loadLayersModel({ load: async () => artifacts({ axis: [1] }) }).catch((e) => e as Error);
    // No weights in this manifest: the error is about the missing weights, after the layer was built with axis 1.
    expect(String(m)).toMatch(/bn\/gamma \(shape \[2\]\) is missing/);
  });
  it.each([
    [{ renorm: true }, /cannot load layer bn \(BatchNormalization\): renorm: true is not supported/],
    [{ gamma_regularizer: { class_name: 'L2', config: { l2: 0.1 } } }, /gamma_regularizer is not supported/],
    [{ axis: 0 }, /bn: axis must be a non-batch axis of the input \[null,2,3\].*got 0/],
    [{ momentum: 'fast' }, /bn: momentum must be a number in \[0, 1\], got 'fast'/],
  ])('%o is an Error naming the layer', async (cfg, msg) => {
    await expect(loadLayersModel({ load: async () => artifacts(cfg) })).rejects.toThrow(msg);
  });
});
