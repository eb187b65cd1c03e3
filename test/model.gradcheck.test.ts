// Whole-model gradient checks: the analytic gradient the model trains with (forward, loss, backward
// through every layer, no optimizer step) against central differences of the loss computed by an
// independent float64 forward of the same network (src/reference/*). In float64 a tiny step (1e-6)
// makes the finite difference accurate to ~1e-9 and almost never crosses a ReLU kink or a max-pool
// tie, so the tolerance can be tight: a sign, transpose, bias or pooling-offset bug fails loudly.
// The reference forward is also compared with predict(), so a forward bug mirrored in its own
// backward cannot hide either.
import { describe, expect, it } from 'vitest';
import { layers, sequential, tensor, train, type Layer, type Sequential, type Tensor } from '../src/index.js';
import { Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D } from '../src/layers/index.js';
import { conv2dGeometry } from '../src/ops/conv.js';
import { poolGeometry } from '../src/ops/pool.js';
import { refConv2d } from '../src/reference/conv.js';
import { refAvgPool, refMaxPool } from '../src/reference/pool.js';
import { refSoftmax } from '../src/reference/activations.js';
import { randn, rng } from './helpers/random.js';

type LossName = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function act(name: string, rows: number, cols: number, x: Float64Array): Float64Array {
  switch (name) {
    case 'linear': return x;
    case 'relu': return x.map((v) => Math.max(v, 0));
    case 'sigmoid': return x.map((v) => 1 / (1 + Math.exp(-v)));
    case 'tanh': return x.map(Math.tanh);
    case 'softmax': return refSoftmax(rows, cols, x);
  }
  throw new Error(`no reference for activation ${name}`);
}

/** The model's output for x [batch, ...inputShape] in float64, from flat params (the model's layout). */
function refForward(model: Sequential, params: Float64Array, x: Float64Array, batch: number, logits = false): Float64Array {
  const w = (l: Layer, i: number) => params.subarray(l.weights[i].offset, l.weights[i].offset + size(l.weights[i].shape));
  let a = x;
  model.layers.forEach((l, li) => {
    const last = li === model.layers.length - 1;
    const inS = l.inShape, cols = inS[inS.length - 1];
    if (l instanceof Conv2D) {
      const g = conv2dGeometry('ref', [batch, ...inS], [...l.kernelSize, cols, l.filters], l.strides, l.padding, l.dilationRate);
      a = refConv2d(g, a, w(l, 0), l.useBias ? w(l, 1) : undefined);
      a = act(l.activation, g.M, l.filters, a);
    } else if (l instanceof MaxPooling2D || l instanceof AveragePooling2D) {
      const g = poolGeometry('ref', [batch, ...inS], l.poolSize, l.strides, l.padding);
      a = l instanceof MaxPooling2D ? refMaxPool(g, a).y : refAvgPool(g, a);
    } else if (l instanceof Dense) {
      const m = a.length / cols, kernel = w(l, 0), bias = l.useBias ? w(l, 1) : undefined;
      const y = new Float64Array(m * l.units);
      for (let r = 0; r < m; r++)
        for (let j = 0; j < l.units; j++) {
          let s = bias ? bias[j] : 0;
          for (let k = 0; k < cols; k++) s += a[r * cols + k] * kernel[k * l.units + j];
          y[r * l.units + j] = s;
        }
      a = logits && last && l.activation === 'softmax' ? y : act(l.activation, m, l.units, y);
    } else if (l instanceof Activation) {
      a = logits && last && l.activation === 'softmax' ? a : act(l.activation, a.length / cols, cols, a);
    } else if (l instanceof Dropout) {
      if (l.rate !== 0) throw new Error('the reference forward has no dropout');
    } else if (!(l instanceof Flatten)) {
      throw new Error(`no reference for ${l.className}`);
    }
  });
  return a;
}

/** Mean loss over rows, as the model defines it (softmax + cross-entropy fused on the logits). */
function refLoss(model: Sequential, loss: LossName, params: Float64Array, x: Float64Array, y: Float64Array, batch: number): number {
  const lastLayer = model.layers[model.layers.length - 1] as Layer & { activation?: string };
  const fused = loss !== 'meanSquaredError' && (lastLayer instanceof Dense || lastLayer instanceof Activation) && lastLayer.activation === 'softmax';
  const out = refForward(model, params, x, batch, fused);
  const classes = model.outputShape[model.outputShape.length - 1], rows = out.length / classes;
  const t = (r: number, j: number) => (loss === 'sparseCategoricalCrossentropy' ? (y[r] === j ? 1 : 0) : y[r * classes + j]);
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const o = out.subarray(r * classes, (r + 1) * classes);
    if (loss === 'meanSquaredError') {
      for (let j = 0; j < classes; j++) sum += (o[j] - t(r, j)) ** 2 / classes;
    } else if (fused) {
      const mx = Math.max(...o), lse = mx + Math.log(o.reduce((s, v) => s + Math.exp(v - mx), 0));
      for (let j = 0; j < classes; j++) sum -= t(r, j) * (o[j] - lse);
    } else {
      // tfjs' categorical cross-entropy on probabilities: normalise the row, clip, −Σ t log p.
      const s = o.reduce((a, b) => a + b, 0);
      for (let j = 0; j < classes; j++) sum -= t(r, j) * Math.log(Math.min(1 - 1e-7, Math.max(1e-7, o[j] / s)));
    }
  }
  return sum / rows;
}

interface Case {
  name: string;
  inputShape: number[];
  layers: () => Layer[];
  loss: LossName;
  batch?: number;
  /** Label rows of random values in [0, 1) instead of one-hot (label smoothing; rows not summing to 1). */
  soft?: boolean;
}

// The brief's stack: conv(same, relu) → max pool → conv(valid, stride 2, tanh) → avg pool → flatten →
// dense(sigmoid) → dense(softmax); 12×12×2 input so every layer keeps a non-trivial spatial extent.
const base = (head: () => Layer[] = () => [layers.dense({ units: 3, activation: 'softmax' })], mid: () => Layer[] = () => []) => () => [
  layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same', inputShape: [12, 12, 2] }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 3, kernelSize: 2, activation: 'tanh', padding: 'valid', strides: 2 }),
  layers.averagePooling2d({ poolSize: 2, strides: 1 }),
  layers.flatten(),
  ...mid(),
  layers.dense({ units: 5, activation: 'sigmoid' }),
  ...head(),
];

const cases: Case[] = [
  { name: 'reference stack, sparse CE (fused dense softmax)', inputShape: [12, 12, 2], loss: 'sparseCategoricalCrossentropy', layers: base() },
  { name: 'reference stack, categorical CE with one-hot labels', inputShape: [12, 12, 2], loss: 'categoricalCrossentropy', layers: base() },
  { name: 'reference stack, categorical CE with soft labels (rows not summing to 1)', inputShape: [12, 12, 2], loss: 'categoricalCrossentropy', soft: true, layers: base() },
  { name: 'reference stack, MSE with a linear output', inputShape: [12, 12, 2], loss: 'meanSquaredError', layers: base(() => [layers.dense({ units: 3 })]) },
  { name: 'Activation(softmax) layer as the output, sparse CE', inputShape: [12, 12, 2], loss: 'sparseCategoricalCrossentropy', layers: base(() => [layers.dense({ units: 3 }), layers.activation({ activation: 'softmax' })]) },
  { name: 'dropout rate 0 inside the stack', inputShape: [12, 12, 2], loss: 'sparseCategoricalCrossentropy', layers: base(() => [layers.dropout({ rate: 0 }), layers.dense({ units: 3, activation: 'softmax' })], () => [layers.dropout({ rate: 0 })]) },
  { name: 'MSE through a softmax output (unfused softmax Jacobian)', inputShape: [12, 12, 2], loss: 'meanSquaredError', layers: base() },
  { name: 'categorical CE on a sigmoid output (unfused, normalised)', inputShape: [12, 12, 2], loss: 'categoricalCrossentropy', layers: base(() => [layers.dense({ units: 3, activation: 'sigmoid' })]) },
  { name: 'softmax Activation mid-network, relu dense', inputShape: [12, 12, 2], loss: 'sparseCategoricalCrossentropy', layers: base(() => [layers.activation({ activation: 'softmax' }), layers.dense({ units: 4, activation: 'relu' }), layers.dense({ units: 3, activation: 'softmax' })]) },
  {
    name: 'dilated conv, same 3/2 max pool on odd sizes, dense on rank 3, no biases', inputShape: [9, 7, 3], loss: 'sparseCategoricalCrossentropy', batch: 3,
    layers: () => [
      layers.conv2d({ filters: 5, kernelSize: [3, 2], dilationRate: 2, padding: 'same', activation: 'relu', useBias: false, inputShape: [9, 7, 3] }),
      layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      layers.dense({ units: 4, activation: 'tanh' }),
      layers.averagePooling2d({ poolSize: [2, 3], strides: [2, 1], padding: 'same' }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax', useBias: false }),
    ],
  },
  {
    name: 'conv sigmoid and softmax activations, stride > kernel, 1×1 conv', inputShape: [8, 8, 1], loss: 'categoricalCrossentropy',
    layers: () => [
      layers.conv2d({ filters: 3, kernelSize: 2, strides: 3, activation: 'sigmoid', inputShape: [8, 8, 1] }),
      layers.conv2d({ filters: 4, kernelSize: 1, activation: 'softmax' }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ],
  },
];

function flatParams(model: Sequential, n: number): Float64Array {
  const p = new Float64Array(n);
  const list = model.weightList();
  model.weightValues().forEach((w, i) => p.set(w.data, list[i].spec.offset));
  return p;
}

function labels(loss: LossName, batch: number, classes: number, seed: number, soft = false): { t: Tensor; values: Float64Array } {
  const r = rng(seed);
  const ids = Array.from({ length: batch }, () => Math.floor(r() * classes));
  if (loss === 'sparseCategoricalCrossentropy') return { t: tensor(ids, [batch]), values: Float64Array.from(ids) };
  const values = new Float64Array(batch * classes);
  if (loss === 'categoricalCrossentropy' && !soft) ids.forEach((c, i) => { values[i * classes + c] = 1; });
  else for (let i = 0; i < values.length; i++) values[i] = r();
  return { t: tensor(Float32Array.from(values), [batch, classes]), values };
}

function build(c: Case, seed: number) {
  const model = sequential({ seed, layers: c.layers() });
  model.compile({ optimizer: 'sgd', loss: c.loss });
  // Non-zero biases, so a bias that is dropped or added twice changes the forward.
  model.setWeights(model.getWeights().map((w, i) => {
    const v = w.dataSync();
    if (w.rank === 1) v.set(randn(v.length, seed * 31 + i, 0.3));
    w.dispose();
    return tensor(v, w.shape);
  }));
  const batch = c.batch ?? 5;
  const x32 = randn(batch * size(c.inputShape), seed + 7);
  const classes = model.outputShape[model.outputShape.length - 1];
  return { model, batch, x32, x: tensor(x32, [batch, ...c.inputShape]), y: labels(c.loss, batch, classes, seed + 3, c.soft) };
}

/**
 * Worst violation of |analytic − fd| ≤ 2e-4·|fd| + 1e-5·max|fd| over every parameter (≤ 1 means pass),
 * with the parameter's name for the message.
 */
function gradCheck(c: Case, seed: number, mutate?: (m: Sequential, g: Float32Array) => void) {
  const { model, batch, x32, x, y } = build(c, seed);
  const { grads } = model.lossAndGradients(x, y.t);
  mutate?.(model, grads);
  const params = flatParams(model, grads.length);
  const x64 = Float64Array.from(x32);
  const f = () => refLoss(model, c.loss, params, x64, y.values, batch);
  const h = 1e-6;
  const checks: { name: string; a: number; fd: number }[] = [];
  for (const { name, spec } of model.weightList()) {
    for (let i = 0; i < size(spec.shape); i++) {
      const j = spec.offset + i, p0 = params[j];
      params[j] = p0 + h; const lp = f();
      params[j] = p0 - h; const lm = f();
      params[j] = p0;
      checks.push({ name: `${name}[${i}]`, a: grads[j], fd: (lp - lm) / (2 * h) });
    }
  }
  const scale = Math.max(...checks.map((k) => Math.abs(k.fd)));
  let worst = { ratio: 0, name: '', a: 0, fd: 0 };
  for (const k of checks) {
    const ratio = Math.abs(k.a - k.fd) / (2e-4 * Math.abs(k.fd) + 1e-5 * scale);
    if (ratio > worst.ratio) worst = { ratio, ...k };
  }
  return { worst, count: checks.length, scale, model, x, y, x64, params, batch };
}

function release(r: { model: Sequential; x: Tensor; y: { t: Tensor } }) {
  r.model.dispose();
  r.x.dispose();
  r.y.t.dispose();
}

describe('whole-model gradients vs float64 central differences', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = gradCheck(c, 11);
      // The reference forward is the same network: predict() must agree with it first.
      const p = r.model.predict(r.x);
      const ref = refForward(r.model, r.params, r.x64, r.batch);
      const got = p.dataSync();
      p.dispose();
      let fwdErr = 0;
      for (let i = 0; i < ref.length; i++) fwdErr = Math.max(fwdErr, Math.abs(got[i] - ref[i]) / (1e-3 + Math.abs(ref[i])));
      expect(fwdErr, 'predict vs float64 forward (relative)').toBeLessThan(1e-4);
      expect(r.scale, 'the loss must depend on the parameters').toBeGreaterThan(1e-4);
      expect(r.worst.ratio, `worst parameter ${r.worst.name}: analytic ${r.worst.a}, finite difference ${r.worst.fd} (of ${r.count})`).toBeLessThanOrEqual(1);
      release(r);
    });
  }
});

describe('the check has teeth', () => {
  // What a broken backward looks like from here: each mutation must be caught.
  const c = cases[0];
  const mutations: [string, (m: Sequential, g: Float32Array) => void][] = [
    ['negated dense bias gradient', (m, g) => { const s = m.weightList().find((w) => w.name.endsWith('/bias') && w.layer instanceof Dense)!.spec; for (let i = 0; i < s.shape[0]; i++) g[s.offset + i] = -g[s.offset + i]; }],
    ['conv kernel gradient off by one position', (m, g) => { const s = m.weightList()[0].spec; const n = size(s.shape); const v = g.slice(s.offset, s.offset + n); for (let i = 0; i < n; i++) g[s.offset + i] = v[(i + 4) % n]; }],
    ['dense kernel gradient transposed', (m, g) => { const s = m.weightList().find((w) => w.name.endsWith('/kernel') && w.layer instanceof Dense)!.spec; const [k, u] = s.shape; const v = g.slice(s.offset, s.offset + k * u); for (let i = 0; i < k; i++) for (let j = 0; j < u; j++) g[s.offset + i * u + j] = v[(j * k + i) % (k * u)]; }],
    ['gradients scaled by 1.002', (_m, g) => { for (let i = 0; i < g.length; i++) g[i] *= 1.002; }],
    ['single conv bias gradient off by 0.1% of the largest', (m, g) => { g[m.weightList()[1].spec.offset + 1] += 1e-3 * Math.max(...g.map(Math.abs)); }],
  ];
  for (const [name, mutate] of mutations) {
    it(`fails for a ${name}`, () => {
      const r = gradCheck(c, 11, mutate);
      release(r);
      expect(r.worst.ratio).toBeGreaterThan(1);
    });
  }
});

describe('fit applies exactly these gradients', () => {
  it('one SGD step of fit (one batch, no shuffle) moves every weight by −lr·gradient', async () => {
    const c = cases[0];
    const { model, x, y } = build(c, 5);
    const { grads } = model.lossAndGradients(x, y.t);
    const w0 = flatParams(model, grads.length);
    const lr = 0.05;
    model.compile({ optimizer: train.sgd(lr), loss: c.loss });
    await model.fit(x, y.t, { epochs: 1, batchSize: 1000, shuffle: false });
    const w1 = flatParams(model, grads.length);
    let worst = 0;
    for (const { spec } of model.weightList()) {
      for (let i = 0; i < size(spec.shape); i++) {
        const j = spec.offset + i;
        worst = Math.max(worst, Math.abs(w1[j] - (w0[j] - lr * grads[j])) / (1e-3 + Math.abs(w0[j])));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    release({ model, x, y });
  });
});
