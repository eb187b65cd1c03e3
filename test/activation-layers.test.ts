// Activation layers (src/layers/activation-layers.ts) and the new activation names inside dense,
// conv2d and the activation layer: each layer's forward and backward run through the wasm kernel
// set against float64 references, and every model's gradient (the training path: planner, kept
// pre-activations, PReLU's alpha gradient) against central differences of a float64 forward of the
// same network. Plus config round trips (getConfig → deserialize) and the argument errors.
// Runs once per wasm build (kernelSuites).
import { describe, expect, it } from 'vitest';
import { input, layers, loadLayersModel, sequential, tensor, type Layer, type Sequential, type Tensor as sc_Tensor } from '../src/index.js';
import { runtime } from '../src/backend/runtime.js';
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { Activation, Conv2D, Dense, Flatten } from '../src/layers/index.js';
import { PReLU } from '../src/layers/activation-layers.js';
import { ACTIVATIONS, type ActivationName } from '../src/layers/activation-fns.js';
import type { StepContext } from '../src/layers/layer.js';
import { conv2dGeometry } from '../src/ops/conv.js';
import { refConv2d } from '../src/reference/conv.js';
import { refAct, refPreluBackward, refSoftmax, type RefAct } from '../src/reference/activations.js';
import { LAYER_CASES, refLayer } from './helpers/activation-cases.js';
import { randn } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function heapArray(values: ArrayLike<number>): number {
  const p = runtime().heap.alloc(Math.max(values.length, 1) * 4);
  runtime().heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);

describe('activation layers through the wasm kernels: forward, input gradient, alpha gradient', () => {
  for (const c of LAYER_CASES) {
    it(c.name, () => {
      const l = c.make(), batch = 3, n = batch * size(c.shape);
      l.buildFrom([c.shape]);
      const alphaN = l.weights.length ? size(l.weights[0].shape) : 0;
      if (alphaN) l.weights[0].offset = 0;
      const alpha = randn(Math.max(1, alphaN), 9, 0.5);
      const x = randn(n, n + 1, 2), dy = randn(n, n + 2);
      const px = heapArray(x), py = heapArray(new Float32Array(n)), pdy = heapArray(dy);
      const params = heapArray(alpha), grads = heapArray(new Float32Array(Math.max(1, alphaN)).fill(777));
      const ctx: StepContext = { k: wasmKernels, params, grads, batch, training: true, logits: false, weightsVersion: 0 };
      const buf = l.plan(wasmKernels, batch, true, { y: py, dx: pdy });
      l.forward(ctx, buf, px);
      const y = read(py, n), yRef = refLayer(l, batch, Float64Array.from(x), alpha);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - yRef[i]), `y[${i}]`).toBeLessThan(2e-6 * (1 + Math.abs(yRef[i])));
      l.backward(ctx, buf, px, pdy);
      const dx = read(pdy, n);
      // Reference input gradient: the Jacobian-vector product of the float64 forward (elementwise, or softmax's).
      let dxRef: Float64Array, dAlphaRef: Float64Array | undefined;
      if (l instanceof PReLU) ({ dx: dxRef, dalpha: dAlphaRef } = refPreluBackward(c.shape, l.alphaShape(), x, alpha, dy));
      else {
        const h = 1e-6, xd = Float64Array.from(x);
        dxRef = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const v = xd[i];
          xd[i] = v + h; const p = refLayer(l, batch, xd);
          xd[i] = v - h; const m = refLayer(l, batch, xd);
          xd[i] = v;
          for (let j = 0; j < n; j++) dxRef[i] += ((p[j] - m[j]) / (2 * h)) * dy[j];
        }
      }
      for (let i = 0; i < n; i++) expect(Math.abs(dx[i] - dxRef[i]), `dx[${i}] at x=${x[i]}`).toBeLessThan(1e-4 * (1 + Math.abs(dxRef[i])));
      if (dAlphaRef) {
        const ga = read(grads, alphaN);
        for (let i = 0; i < alphaN; i++) expect(Math.abs(ga[i] - dAlphaRef[i]), `dalpha[${i}]`).toBeLessThan(1e-5 * (1 + Math.abs(dAlphaRef[i])));
      }
      buf.free();
      for (const p of [px, py, pdy, params, grads]) runtime().heap.free(p);
    });
  }
});

// ---- whole-model gradients: float64 forward of small networks built from these layers ----

type Net = { name: string; inputShape: number[]; layers: () => Layer[] };

function refModel(model: Sequential, params: Float64Array, x: Float64Array, batch: number): Float64Array {
  const w = (l: Layer, i: number) => params.subarray(l.weights[i].offset, l.weights[i].offset + size(l.weights[i].shape));
  let a = x;
  for (const l of model.layers) {
    const inS = l.inShape, cols = inS[inS.length - 1];
    const act = (name: ActivationName, rows: number, c: number, v: Float64Array) =>
      (name === 'softmax' ? refSoftmax(rows, c, v) : refAct(name as RefAct, v));
    if (l instanceof Conv2D) {
      const g = conv2dGeometry('ref', [batch, ...inS], [...l.kernelSize, cols, l.filters], l.strides, l.padding, l.dilationRate);
      a = act(l.activation, g.M, l.filters, refConv2d(g, a, w(l, 0), l.useBias ? w(l, 1) : undefined));
    } else if (l instanceof Dense) {
      const m = a.length / cols, kernel = w(l, 0), bias = w(l, 1);
      const y = new Float64Array(m * l.units);
      for (let r = 0; r < m; r++) for (let j = 0; j < l.units; j++) {
        let s = bias[j];
        for (let k = 0; k < cols; k++) s += a[r * cols + k] * kernel[k * l.units + j];
        y[r * l.units + j] = s;
      }
      a = act(l.activation, m, l.units, y);
    } else if (l instanceof Activation) a = act(l.activation, a.length / cols, cols, a);
    else if (l instanceof PReLU) a = refLayer(l, batch, a, w(l, 0));
    else if (!(l instanceof Flatten)) a = refLayer(l, batch, a);
  }
  return a;
}

function gradCheck(net: Net, seed: number) {
  const batch = 3;
  const model = sequential({ seed, layers: net.layers() });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  model.setWeights(model.getWeights().map((t, i) => {
    const v = randn(t.size, seed * 17 + i, t.rank === 1 ? 0.3 : 0.7);
    t.dispose();
    return tensor(v, t.shape);
  }));
  const x32 = randn(batch * size(net.inputShape), seed + 1, 1.5);
  const classes = model.outputShape[model.outputShape.length - 1];
  const t32 = randn(batch * classes, seed + 2);
  const x = tensor(x32, [batch, ...net.inputShape]), t = tensor(t32, [batch, classes]);
  const { loss, grads } = model.lossAndGradients(x, t);
  const params = new Float64Array(grads.length);
  const list = model.weightList();
  model.weightValues().forEach((v, i) => params.set(v.data, list[i].spec.offset));
  const x64 = Float64Array.from(x32);
  const L = () => {
    const o = refModel(model, params, x64, batch);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += (o[i] - t32[i]) ** 2 / classes;
    return s / batch;
  };
  expect(Math.abs(loss - L()), 'loss vs the float64 forward').toBeLessThan(1e-4 * (1 + Math.abs(loss)));
  const p = model.predict(x), got = p.dataSync(), ref = refModel(model, params, x64, batch);
  for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i]), `predict[${i}]`).toBeLessThan(1e-5 * (1 + Math.abs(ref[i])));
  p.dispose();
  const h = 1e-6;
  let worst = 0, where = '';
  const fds: number[] = [];
  for (let j = 0; j < params.length; j++) {
    const v = params[j];
    params[j] = v + h; const lp = L();
    params[j] = v - h; const lm = L();
    params[j] = v;
    fds.push((lp - lm) / (2 * h));
  }
  const scale = Math.max(...fds.map(Math.abs));
  fds.forEach((fd, j) => {
    const r = Math.abs(grads[j] - fd) / (2e-4 * Math.abs(fd) + 1e-5 * scale);
    if (r > worst) { worst = r; where = `param ${j}: analytic ${grads[j]}, fd ${fd}`; }
  });
  expect(scale).toBeGreaterThan(1e-4);
  expect(worst, where).toBeLessThanOrEqual(1);
  model.dispose(); x.dispose(); t.dispose();
}

const NEW_ACTS = ACTIVATIONS.filter((a) => a !== 'linear');
const nets: Net[] = [
  ...NEW_ACTS.map((a): Net => ({ name: `dense activation '${a}'`, inputShape: [4], layers: () => [layers.dense({ units: 5, activation: a, inputShape: [4] }), layers.dense({ units: 3 })] })),
  ...NEW_ACTS.map((a): Net => ({
    name: `conv2d activation '${a}'`, inputShape: [4, 4, 2],
    layers: () => [layers.conv2d({ filters: 3, kernelSize: 2, activation: a, inputShape: [4, 4, 2] }), layers.flatten(), layers.dense({ units: 2 })],
  })),
  ...NEW_ACTS.map((a): Net => ({
    name: `activation layer '${a}'`, inputShape: [4],
    layers: () => [layers.dense({ units: 5, inputShape: [4] }), layers.activation({ activation: a }), layers.dense({ units: 3 })],
  })),
  ...LAYER_CASES.map((c): Net => ({
    name: `layer ${c.name}`, inputShape: [3, 3, 2],
    layers: () => [layers.conv2d({ filters: 3, kernelSize: 2, padding: 'same', inputShape: [3, 3, 2] }), c.make(), layers.flatten(), layers.dense({ units: 2 })],
  })),
];

describe('model gradients through every activation and activation layer vs float64 central differences', () => {
  for (const net of nets) it(net.name, () => gradCheck(net, 5));
});

describe('configs and errors', () => {
  it('getConfig writes tfjs names; a saved model loads back with the same layers and predictions', async () => {
    const m = sequential({ seed: 3, layers: [
      layers.dense({ units: 4, activation: 'hardSigmoid', inputShape: [3] }),
      layers.dense({ units: 4, activation: 'silu' as never }),
      layers.reLU({ maxValue: 2, negativeSlope: 0.1, threshold: 0.2 }),
      layers.leakyReLU({ alpha: 0.2 }), layers.elu({ alpha: 0.7 }), layers.thresholdedReLU({ theta: 0.1 }),
      layers.pReLU({ alphaInitializer: 'ones' }), layers.softmax({ axis: -1 }),
    ] });
    const cfgs = m.layers.map((l) => l.getConfig());
    expect(cfgs[0].activation).toBe('hard_sigmoid');
    expect(cfgs[1].activation).toBe('swish');
    expect(cfgs[2]).toMatchObject({ max_value: 2, negative_slope: 0.1, threshold: 0.2 });
    expect(cfgs[3]).toMatchObject({ alpha: 0.2 });
    expect(cfgs[6]).toMatchObject({ shared_axes: null, alpha_initializer: { class_name: 'Ones' } });
    expect(cfgs[7]).toMatchObject({ axis: -1 });
    let saved: unknown;
    await m.save({ save: async (a: unknown) => { saved = a; return { modelArtifactsInfo: {} }; } } as never);
    const back = await loadLayersModel({ load: async () => saved } as never);
    expect(back.layers.map((l) => l.className)).toEqual(m.layers.map((l) => l.className));
    const x = tensor(randn(6, 1), [2, 3]);
    const a = m.predict(x) as sc_Tensor, b = back.predict(x) as sc_Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    for (const t of [a, b, x]) t.dispose();
    m.dispose(); back.dispose();
  });

  it('model files: activations in camelCase, snake_case, Keras aliases and class objects; Keras 3 LeakyReLU negative_slope', async () => {
    const m = sequential({ seed: 5, layers: [
      layers.dense({ units: 3, activation: 'hardSigmoid', inputShape: [2] }), layers.dense({ units: 3, activation: 'swish' }),
      layers.dense({ units: 3, activation: 'softsign' }), layers.leakyReLU({ alpha: 0.2 }),
    ] });
    let saved: { modelTopology: Record<string, unknown> } | undefined;
    await m.save({ save: async (a: unknown) => { saved = a as never; return { modelArtifactsInfo: {} }; } } as never);
    const json = JSON.stringify(saved!.modelTopology);
    expect(json).toContain('"activation":"hard_sigmoid"');
    const variants = [
      json.replace('"hard_sigmoid"', '"hardSigmoid"').replace('"swish"', '"silu"'),
      json.replace('"hard_sigmoid"', '{"class_name":"HardSigmoid","config":{}}').replace('"softsign"', '{"module":"keras.activations","class_name":"function","config":"softsign"}')
        .replace('"alpha":0.2', '"negative_slope":0.2'),
    ];
    expect(variants[0]).toContain('"silu"');
    expect(variants[1]).toContain('"negative_slope":0.2');
    expect(variants[1]).toContain('"class_name":"HardSigmoid"');
    const x = tensor([0.5, -1.5, 2, 0.25], [2, 2]);
    const want = (m.predict(x) as sc_Tensor).dataSync();
    for (const v of variants) {
      const back = await loadLayersModel({ load: async () => ({ ...saved!, modelTopology: JSON.parse(v) }) } as never);
      expect(Array.from((back.predict(x) as sc_Tensor).dataSync())).toEqual(Array.from(want));
      back.dispose();
    }
    const bad = json.replace('"softsign"', '"soft_max_plus"');
    await expect(loadLayersModel({ load: async () => ({ ...saved!, modelTopology: JSON.parse(bad) }) } as never)).rejects.toThrow(/activation.*'mish'.*soft_max_plus/);
    x.dispose(); m.dispose();
  });

  it('a softmax() layer output fuses into cross-entropy like dense softmax: same loss and gradients', () => {
    const make = (sep: boolean) => sequential({ seed: 8, layers: sep
      ? [layers.dense({ units: 4, activation: 'gelu', inputShape: [3] }), layers.dense({ units: 3 }), layers.softmax()]
      : [layers.dense({ units: 4, activation: 'gelu', inputShape: [3] }), layers.dense({ units: 3, activation: 'softmax' })] });
    const x = tensor(randn(15, 3, 2), [5, 3]), y = tensor([0, 2, 1, 1, 0], [5]);
    const runs = [true, false].map((sep) => {
      const m = make(sep);
      m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const r = m.lossAndGradients(x, y);
      const p = m.predict(x) as sc_Tensor, pred = p.dataSync().slice();
      p.dispose(); m.dispose();
      return { ...r, pred };
    });
    expect(runs[0].loss).toBeCloseTo(runs[1].loss, 6);
    expect(Array.from(runs[0].grads)).toEqual(Array.from(runs[1].grads));
    expect(Array.from(runs[0].pred)).toEqual(Array.from(runs[1].pred));
    x.dispose(); y.dispose();
  });

  it('bad arguments are Errors naming the layer, the argument and the value', () => {
    expect(() => layers.reLU({ maxValue: -1, name: 'r1' })).toThrow(/r1.*maxValue.*-1/);
    expect(() => layers.reLU({ negativeSlope: -0.5, name: 'r2' })).toThrow(/r2.*negativeSlope.*-0\.5/);
    expect(() => layers.leakyReLU({ alpha: NaN, name: 'lk' })).toThrow(/lk.*alpha/);
    expect(() => layers.elu({ alpha: 'x' as never, name: 'e1' })).toThrow(/e1.*alpha/);
    expect(() => layers.thresholdedReLU({ theta: Infinity, name: 't1' })).toThrow(/t1.*theta/);
    expect(() => layers.pReLU({ sharedAxes: [0], name: 'p1' })).toThrow(/p1.*sharedAxes.*0/);
    expect(() => layers.pReLU({ alphaInitializer: 'nope' as never, name: 'p2' })).toThrow(/p2.*alphaInitializer.*nope/);
    expect(() => layers.softmax({ axis: 0, name: 's0' })).toThrow(/s0.*axis.*0/);
    expect(() => layers.softmax({ axis: [1, 2], name: 's1' })).toThrow(/s1.*axis/);
    expect(() => layers.dense({ units: 2, activation: 'hard_silu' as never, name: 'd9' })).toThrow(/d9.*activation.*'gelu_new'.*'mish'.*hard_silu/);
    expect(() => layers.activation({ activation: 'bogus' as never, name: 'a9' })).toThrow(/a9.*activation.*'softsign'.*bogus/);
    // Shape-dependent checks: at build.
    expect(() => layers.pReLU({ sharedAxes: [3], name: 'p3' }).buildFrom([[4, 4]])).toThrow(/p3.*sharedAxes.*\[1, 2\]/);
    expect(() => layers.softmax({ axis: 3, name: 's3' }).buildFrom([[4, 4]])).toThrow(/s3.*axis.*3/);
    expect(() => layers.softmax({ axis: 2, name: 's4' }).apply(input({ shape: [3] }))).toThrow(/s4.*axis.*2/);
  });
});
