// DepthwiseConv2D, SeparableConv2D and Conv2DTranspose in small models: predictions against an
// independent float64 forward, every weight gradient against central differences of it (so each
// layer's input gradient is checked through the layers before it), and the layers' argument errors.
import { describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { Conv2DTranspose, DepthwiseConv2D, Dense, Flatten, SeparableConv2D } from '../src/layers/index.js';
import type { Layer } from '../src/layers/layer.js';
import type { LayersModel } from '../src/model/layers-model.js';
import { conv2dGeometry } from '../src/ops/conv.js';
import { depthwiseGeometry } from '../src/ops/depthwise.js';
import { refConv2dBackpropInput } from '../src/reference/conv.js';
import { refDepthwiseForward } from '../src/reference/depthwise.js';
import { randn, rng } from './helpers/random.js';

const { layers, tensor } = sc;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function act(name: string, x: Float64Array): Float64Array {
  switch (name) {
    case 'linear': return x;
    case 'relu': return x.map((v) => Math.max(v, 0));
    case 'sigmoid': return x.map((v) => 1 / (1 + Math.exp(-v)));
    case 'tanh': return x.map(Math.tanh);
    case 'relu6': return x.map((v) => Math.min(Math.max(v, 0), 6));
    case 'elu': return x.map((v) => (v > 0 ? v : Math.exp(v) - 1));
    case 'swish': return x.map((v) => v / (1 + Math.exp(-v)));
  }
  throw new Error(`no reference for activation ${name}`);
}

function addBias(y: Float64Array, b: ArrayLike<number> | undefined): Float64Array {
  if (b) for (let i = 0; i < y.length; i++) y[i] += b[i % b.length];
  return y;
}

/** Float64 forward of a one-path model from flat params: logits of the final dense. */
function refForward(m: LayersModel, params: Float64Array, x: Float64Array, batch: number): Float64Array {
  const w = (l: Layer, i: number) => params.subarray(l.weights[i].offset, l.weights[i].offset + size(l.weights[i].shape));
  let a = x;
  for (const l of m.layers) {
    const inS = l.inShape;
    if (l instanceof SeparableConv2D || l instanceof DepthwiseConv2D) {
      const g = depthwiseGeometry('ref', [batch, ...inS], [...l.kernelSize, inS[2], l.depthMultiplier], l.strides, l.padding, l.dilationRate);
      const p = { ...g, dm: g.dm };
      if (l instanceof SeparableConv2D) {
        const mid = refDepthwiseForward(p, a, w(l, 0));
        const cdm = g.outC, pw = w(l, 1), y = new Float64Array(g.M * l.filters);
        for (let r = 0; r < g.M; r++) for (let f = 0; f < l.filters; f++) {
          let s = 0;
          for (let q = 0; q < cdm; q++) s += mid[r * cdm + q] * pw[q * l.filters + f];
          y[r * l.filters + f] = s;
        }
        a = act(l.activation, addBias(y, l.useBias ? w(l, 2) : undefined));
      } else {
        a = act(l.activation, refDepthwiseForward(p, a, w(l, 0), l.useBias ? w(l, 1) : undefined));
      }
    } else if (l instanceof Conv2DTranspose) {
      const g = conv2dGeometry('ref', [batch, ...l.outShape], [...l.kernelSize, l.filters, inS[2]], l.strides, l.padding);
      a = act(l.activation, addBias(refConv2dBackpropInput(g, a, w(l, 0)), l.useBias ? w(l, 1) : undefined));
    } else if (l instanceof Flatten) {
      // a stays.
    } else if (l instanceof Dense) {
      const cols = inS[inS.length - 1], rows = a.length / cols, k = w(l, 0), b = w(l, 1);
      const y = new Float64Array(rows * l.units);
      for (let r = 0; r < rows; r++) for (let j = 0; j < l.units; j++) {
        let s = b[j];
        for (let q = 0; q < cols; q++) s += a[r * cols + q] * k[q * l.units + j];
        y[r * l.units + j] = s;
      }
      a = y;
    } else if (l.className !== 'InputLayer') {
      throw new Error(`no reference for ${l.className}`);
    }
  }
  return a;
}

function refLoss(m: LayersModel, params: Float64Array, x: Float64Array, labels: Float64Array, batch: number): number {
  const out = refForward(m, params, x, batch), classes = out.length / batch;
  let sum = 0;
  for (let r = 0; r < batch; r++) {
    const row = out.subarray(r * classes, (r + 1) * classes);
    const mx = Math.max(...row);
    sum += Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx - row[labels[r]];
  }
  return sum / batch;
}

interface Case { name: string; inShape: number[]; layers: () => Layer[]; batch: number }
const CASES: Case[] = [
  {
    name: 'depthwise (dm 2, tanh) → separable (stride 2, valid, relu) → conv2dTranspose (stride 2, same, tanh) → depthwise (dilation 2, linear)',
    inShape: [7, 7, 3], batch: 3,
    layers: () => [
      layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'tanh' }),
      layers.separableConv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }),
      layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }),
      layers.depthwiseConv2d({ kernelSize: 2, dilationRate: 2 }),
    ],
  },
  {
    name: 'conv2dTranspose (stride 2, valid, k 3) → separable (dm 2, same, sigmoid) → depthwise (3×1, stride [2, 1], dm 3, no bias)',
    inShape: [3, 4, 2], batch: 2,
    layers: () => [
      layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2 }),
      layers.separableConv2d({ filters: 5, kernelSize: [3, 2], depthMultiplier: 2, padding: 'same', activation: 'sigmoid' }),
      layers.depthwiseConv2d({ kernelSize: [3, 1], strides: [2, 1], depthMultiplier: 3, useBias: false, activation: 'relu' }),
    ],
  },
  {
    name: 'conv2dTranspose (stride 3 > kernel 2, valid, relu, 1 thread) → depthwise (5×5, same, stride 3)',
    inShape: [3, 3, 4], batch: 1,
    layers: () => [
      layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3, activation: 'relu' }),
      layers.depthwiseConv2d({ kernelSize: 5, strides: 3, padding: 'same', depthMultiplier: 2 }),
    ],
  },
  {
    name: 'depthwise (relu6, fused; some outputs above 6) → separable (elu: backward from its input) → conv2dTranspose (swish)',
    inShape: [5, 5, 3], batch: 2,
    layers: () => [
      layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu6', depthMultiplier: 2, biasInitializer: 'ones' }),
      layers.separableConv2d({ filters: 3, kernelSize: 2, activation: 'elu' }),
      layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, activation: 'swish' }),
    ],
  },
];

describe('depthwise / separable / transposed convolution gradients against finite differences', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const m = sc.sequential({ seed: 3, layers: [layers.inputLayer({ shape: c.inShape }) as never, ...c.layers(),
        layers.flatten(), layers.dense({ units: 3, activation: 'softmax' })] });
      m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      m.setWeights(m.getWeights().map((t, i) => {
        const v = t.dataSync();
        if (t.rank === 1) v.set(randn(v.length, 31 + i, 0.3));
        if (i === 1 && c.name.includes('relu6')) v[0] = 7; // the relu6 layer's first channel clips at 6
        t.dispose();
        return tensor(v, t.shape);
      }));
      const batch = c.batch;
      const x32 = randn(batch * size(c.inShape), 7);
      const r = rng(9);
      const labels = Float64Array.from({ length: batch }, () => Math.floor(r() * 3));
      const xT = tensor(x32, [batch, ...c.inShape]), yT = tensor(Float32Array.from(labels), [batch]);
      const { loss, grads } = m.lossAndGradients(xT, yT);
      const params = new Float64Array(grads.length);
      const list = m.weightList();
      m.weightValues().forEach((w, i) => params.set(w.data, list[i].spec.offset));
      const x64 = Float64Array.from(x32);
      const f = () => refLoss(m, params, x64, labels, batch);
      expect(Math.abs(loss - f())).toBeLessThan(1e-5 * (1 + Math.abs(f())));
      const h = 1e-6;
      const checks: [string, number, number][] = [];
      for (const { name, spec } of list) {
        for (let i = 0; i < size(spec.shape); i++) {
          const j = spec.offset + i, p0 = params[j];
          params[j] = p0 + h; const lp = f();
          params[j] = p0 - h; const lm = f();
          params[j] = p0;
          checks.push([`${name}[${i}]`, grads[j], (lp - lm) / (2 * h)]);
        }
      }
      const scale = Math.max(...checks.map((q) => Math.abs(q[2])));
      let worst = 0, where = '';
      for (const [name, a, fd] of checks) {
        const v = Math.abs(a - fd) / (2e-4 * Math.abs(fd) + 1e-4 * scale);
        if (v > worst) { worst = v; where = `${name}: analytic ${a}, finite difference ${fd}`; }
      }
      expect(worst, where).toBeLessThanOrEqual(1);
      m.dispose();
    });
  }
});

describe('argument errors', () => {
  it('depth multiplier, kernel larger than a valid input, dilated transpose', () => {
    expect(() => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 0 })).toThrow(/depthMultiplier must be a positive integer, got 0/);
    expect(() => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 1.5 })).toThrow(/depthMultiplier must be a positive integer, got 1.5/);
    expect(() => layers.separableConv2d({ kernelSize: 3, filters: 0 })).toThrow(/filters must be a positive integer, got 0/);
    expect(() => layers.conv2dTranspose({ kernelSize: 3, filters: 2, dilationRate: 2 })).toThrow(/dilationRate must be 1/);
    expect(() => layers.depthwiseConv2d({ kernelSize: 3, padding: 'full' as never })).toThrow(/padding must be 'valid' or 'same', got 'full'/);
    expect(() => layers.depthwiseConv2d({ kernelSize: 5 }).apply(sc.input({ shape: [4, 4, 2] })))
      .toThrow(/kernelSize must be at most the input's \[height, width\] = \[4, 4\] with padding 'valid', got \[5, 5\]/);
    expect(() => layers.separableConv2d({ filters: 2, kernelSize: 3 }).apply(sc.input({ shape: [4, 4] })))
      .toThrow(/input shape must be \[height, width, channels\]/);
  });
});
