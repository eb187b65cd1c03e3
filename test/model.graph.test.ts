// Functional models on the one graph runtime: gradients of branching graphs (residual add, concat,
// multiply, a shared layer, two inputs and two outputs, a nested model) against central
// differences of an independent float64 forward of the same graph; a graph equal to a Sequential
// trains bit for bit as it does; multi-output fit/evaluate semantics; liveness memory; bad graphs.
import { describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { Activation, Conv2D, Dense, Flatten, MaxPooling2D } from '../src/layers/index.js';
import { InputLayer } from '../src/layers/input.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from '../src/layers/merge.js';
import type { Layer, SymbolicTensor } from '../src/layers/layer.js';
import type { LayersModel } from '../src/model/layers-model.js';
import { conv2dGeometry } from '../src/ops/conv.js';
import { poolGeometry } from '../src/ops/pool.js';
import { refConv2d } from '../src/reference/conv.js';
import { refMaxPool } from '../src/reference/pool.js';
import { refSoftmax } from '../src/reference/activations.js';
import { refConcat, refMergeForward, type RefMergeOp } from '../src/reference/merge.js';
import { randn, rng } from './helpers/random.js';

const { layers, input, model, tensor } = sc;
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

/** Per-example shapes aligned as Keras' merges do (dims added after the batch), batch first. */
const aligned = (shapes: number[][], batch: number) => {
  const rank = Math.max(...shapes.map((s) => s.length));
  return shapes.map((s) => [batch, ...new Array(rank - s.length).fill(1), ...s]);
};

/** Float64 forward of the model's graph from flat params (the model's layout). Logits for fused outputs. */
function refGraph(m: LayersModel, params: Float64Array, xs: Float64Array[], batch: number, fusedOutputs: Set<number>): Float64Array[] {
  const w = (l: Layer, i: number) => params.subarray(l.weights[i].offset, l.weights[i].offset + size(l.weights[i].shape));
  const g = m.graph();
  const val = new Map<number, Float64Array>();
  g.inputs.forEach((t, i) => val.set(t.id, xs[i]));
  for (const n of g.nodes) {
    const l = n.layer, ins = n.inputs.map((t) => val.get(t.id)!);
    const inS = n.inputs[0].sampleShape, cols = inS[inS.length - 1];
    const logits = fusedOutputs.has(n.output.id);
    let a: Float64Array;
    if (l instanceof Conv2D) {
      const geo = conv2dGeometry('ref', [batch, ...inS], [...l.kernelSize, cols, l.filters], l.strides, l.padding, l.dilationRate);
      a = act(l.activation, geo.M, l.filters, refConv2d(geo, ins[0], w(l, 0), l.useBias ? w(l, 1) : undefined));
    } else if (l instanceof MaxPooling2D) {
      a = refMaxPool(poolGeometry('ref', [batch, ...inS], l.poolSize, l.strides, l.padding), ins[0]).y;
    } else if (l instanceof Dense) {
      const rows = ins[0].length / cols, k = w(l, 0), b = l.useBias ? w(l, 1) : undefined;
      const y = new Float64Array(rows * l.units);
      for (let r = 0; r < rows; r++) for (let j = 0; j < l.units; j++) {
        let s = b ? b[j] : 0;
        for (let q = 0; q < cols; q++) s += ins[0][r * cols + q] * k[q * l.units + j];
        y[r * l.units + j] = s;
      }
      a = logits && l.activation === 'softmax' ? y : act(l.activation, rows, l.units, y);
    } else if (l instanceof Activation) {
      a = logits && l.activation === 'softmax' ? ins[0] : act(l.activation, ins[0].length / cols, cols, ins[0]);
    } else if (l instanceof Flatten) {
      a = ins[0];
    } else if (l instanceof Concatenate) {
      const shapes = n.inputs.map((t) => [batch, ...t.sampleShape]);
      const axis = l.axis < 0 ? shapes[0].length + l.axis : l.axis;
      a = refConcat(shapes, axis, ins).y;
    } else {
      const op: RefMergeOp | undefined = l instanceof Add ? 'add' : l instanceof Subtract ? 'subtract' : l instanceof Multiply ? 'multiply'
        : l instanceof Average ? 'average' : l instanceof Maximum ? 'maximum' : l instanceof Minimum ? 'minimum' : undefined;
      if (!op) throw new Error(`no reference for ${l.className}`);
      a = refMergeForward(op, aligned(n.inputs.map((t) => t.sampleShape), batch), ins).y;
    }
    val.set(n.output.id, a);
  }
  return g.outputs.map((t) => val.get(t.id)!);
}

type LossName = 'sparseCategoricalCrossentropy' | 'meanSquaredError';

/** The total loss as the model defines it: Σ weight · mean over rows of each output's loss. */
function refLoss(m: LayersModel, params: Float64Array, xs: Float64Array[], ys: Float64Array[], batch: number): number {
  const outs = m.compiledLosses!;
  const fused = new Set(m.graph().outputs.filter((_, i) => outs[i].fused).map((t) => t.id));
  const ys0 = refGraph(m, params, xs, batch, fused);
  let total = 0;
  outs.forEach((o, i) => {
    const out = ys0[i], classes = o.shape[o.shape.length - 1], rows = out.length / classes;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const row = out.subarray(r * classes, (r + 1) * classes);
      if (o.loss === 'meanSquaredError') {
        for (let j = 0; j < classes; j++) sum += (row[j] - ys[i][r * classes + j]) ** 2 / classes;
      } else {
        const mx = Math.max(...row);
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx;
        sum += lse - row[ys[i][r]];
      }
    }
    total += o.weight * (sum / rows);
  });
  return total;
}

interface GraphCase {
  name: string;
  build: () => { inputs: SymbolicTensor[]; outputs: SymbolicTensor[] };
  losses: LossName[];
  lossWeights?: number[];
  batch?: number;
}

const conv = (f: number, a: 'relu' | 'tanh' | 'linear' = 'relu', k = 3) => layers.conv2d({ filters: f, kernelSize: k, padding: 'same', activation: a });
const head = (units = 3) => layers.dense({ units, activation: 'softmax' });

const cases: GraphCase[] = [
  {
    name: 'residual add block (conv → conv + skip), max pool fused, softmax head',
    losses: ['sparseCategoricalCrossentropy'],
    build: () => {
      const x = input({ shape: [6, 6, 2] });
      const a = conv(4).apply(x);
      const b = conv(4, 'linear').apply(conv(4, 'tanh').apply(a));
      const s = layers.add().apply([a, b]);
      const p = layers.maxPooling2d({ poolSize: 2 }).apply(conv(3).apply(s));
      return { inputs: [x], outputs: [head().apply(layers.flatten().apply(p))] };
    },
  },
  {
    name: 'two branches concatenated on channels, then on width',
    losses: ['sparseCategoricalCrossentropy'],
    build: () => {
      const x = input({ shape: [5, 5, 2] });
      const a = conv(3, 'tanh').apply(x), b = conv(2, 'relu', 1).apply(x);
      const c = layers.concatenate().apply([a, b]);
      const d = layers.concatenate({ axis: 2 }).apply([c, conv(5, 'tanh').apply(c)]);
      return { inputs: [x], outputs: [head().apply(layers.flatten().apply(d))] };
    },
  },
  {
    name: 'multiply, subtract, average, maximum, minimum with broadcasting ([4,4,3] with [1,1,3] and [3])',
    losses: ['meanSquaredError'],
    build: () => {
      const x = input({ shape: [4, 4, 2] });
      const a = conv(3, 'tanh').apply(x);
      const pooled = layers.maxPooling2d({ poolSize: 4 }).apply(conv(3, 'tanh').apply(x));
      const m = layers.multiply().apply([a, pooled]);
      const s = layers.subtract().apply([m, conv(3, 'tanh').apply(x)]);
      const v = layers.dense({ units: 3, activation: 'tanh' }).apply(layers.flatten().apply(x));
      const mx = layers.maximum().apply([s, v]);
      const mn = layers.minimum().apply([a, mx, m]);
      const av = layers.average().apply([mn, a]);
      return { inputs: [x], outputs: [layers.dense({ units: 2 }).apply(layers.flatten().apply(av))] };
    },
  },
  {
    name: 'a shared dense layer applied twice (weights shared, gradients summed), add([t, t])',
    losses: ['sparseCategoricalCrossentropy'],
    build: () => {
      const x = input({ shape: [6] });
      const shared = layers.dense({ units: 6, activation: 'tanh' });
      const h1 = shared.apply(x);
      const h2 = shared.apply(layers.dense({ units: 6, activation: 'sigmoid' }).apply(h1));
      const t = layers.add().apply([h2, h2]);
      return { inputs: [x], outputs: [head().apply(layers.add().apply([t, h1]))] };
    },
  },
  {
    name: 'two inputs, two outputs (one also read inside), loss weights',
    losses: ['sparseCategoricalCrossentropy', 'meanSquaredError'],
    lossWeights: [0.7, 2],
    build: () => {
      const img = input({ shape: [5, 5, 1], name: 'img' });
      const meta = input({ shape: [4], name: 'meta' });
      const f = layers.flatten().apply(layers.maxPooling2d({ poolSize: 2 }).apply(conv(2).apply(img)));
      const joined = layers.concatenate().apply([f, layers.dense({ units: 3, activation: 'tanh' }).apply(meta)]);
      const reg = layers.dense({ units: 2, activation: 'tanh', name: 'reg' }).apply(joined);
      const cls = layers.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(layers.concatenate().apply([joined, reg]));
      return { inputs: [img, meta], outputs: [cls, reg] };
    },
  },
  {
    name: 'a nested model applied inside another (weights shared with the inner model)',
    losses: ['sparseCategoricalCrossentropy'],
    build: () => {
      const ix = input({ shape: [4] });
      const inner = model({ inputs: ix, outputs: layers.dense({ units: 4, activation: 'tanh' }).apply(layers.dense({ units: 5, activation: 'relu' }).apply(ix)) });
      const x = input({ shape: [4] });
      const y = inner.apply(inner.apply(x) as SymbolicTensor) as SymbolicTensor;
      return { inputs: [x], outputs: [head().apply(layers.add().apply([y, x]))] };
    },
  },
];

function setup(c: GraphCase, seed: number) {
  const { inputs, outputs } = c.build();
  const m = model({ inputs, outputs, seed });
  m.compile({ optimizer: 'sgd', loss: c.losses, ...(c.lossWeights ? { lossWeights: c.lossWeights } : {}) });
  // Non-zero biases, so a dropped or doubled bias changes the forward.
  m.setWeights(m.getWeights().map((w, i) => {
    const v = w.dataSync();
    if (w.rank === 1) v.set(randn(v.length, seed * 31 + i, 0.3));
    w.dispose();
    return tensor(v, w.shape);
  }));
  const batch = c.batch ?? 4;
  const r = rng(seed + 5);
  const x32 = m.inputs.map((t, i) => randn(batch * size(t.sampleShape), seed + 7 + i));
  const ys = m.compiledLosses!.map((o) => {
    const classes = o.shape[o.shape.length - 1];
    return o.loss === 'sparseCategoricalCrossentropy'
      ? Float64Array.from({ length: batch }, () => Math.floor(r() * classes))
      : Float64Array.from({ length: batch * size(o.shape) }, () => r() * 2 - 1);
  });
  const xT = m.inputs.map((t, i) => tensor(x32[i], [batch, ...t.sampleShape]));
  const yT = m.compiledLosses!.map((o, i) => tensor(Float32Array.from(ys[i]), o.loss === 'sparseCategoricalCrossentropy' ? [batch] : [batch, ...o.shape]));
  return { m, batch, x32, xT, yT, ys };
}

function flatParams(m: LayersModel, n: number): Float64Array {
  const p = new Float64Array(n);
  const list = m.weightList();
  m.weightValues().forEach((w, i) => p.set(w.data, list[i].spec.offset));
  return p;
}

describe('graph gradients against finite differences of a float64 graph forward', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { m, batch, x32, xT, yT, ys } = setup(c, 11);
      const x64 = x32.map((x) => Float64Array.from(x));
      // The forward first: predict against the float64 graph (softmax applied).
      const pred = m.predict(xT.length === 1 ? xT[0] : xT);
      const preds = Array.isArray(pred) ? pred : [pred];
      const ref = refGraph(m, flatParams(m, 1 << 16), x64, batch, new Set());
      preds.forEach((p, i) => {
        const v = p.dataSync();
        let worst = 0;
        for (let j = 0; j < v.length; j++) worst = Math.max(worst, Math.abs(v[j] - ref[i][j]));
        expect(worst).toBeLessThan(1e-5);
        p.dispose();
      });
      const { loss, grads } = m.lossAndGradients(xT.length === 1 ? xT[0] : xT, yT.length === 1 ? yT[0] : yT);
      const params = flatParams(m, grads.length);
      const f = () => refLoss(m, params, x64, ys, batch);
      expect(Math.abs(loss - f())).toBeLessThan(1e-5 * (1 + Math.abs(f())));
      const h = 1e-6;
      let worst = 0, where = '';
      const fds: number[] = [];
      const checks: [string, number, number][] = [];
      for (const { name, spec } of m.weightList()) {
        for (let i = 0; i < size(spec.shape); i++) {
          const j = spec.offset + i, p0 = params[j];
          params[j] = p0 + h; const lp = f();
          params[j] = p0 - h; const lm = f();
          params[j] = p0;
          const fd = (lp - lm) / (2 * h);
          fds.push(Math.abs(fd));
          checks.push([`${name}[${i}]`, grads[j], fd]);
        }
      }
      const scale = Math.max(...fds);
      for (const [name, a, fd] of checks) {
        const v = Math.abs(a - fd) / (2e-4 * Math.abs(fd) + 1e-4 * scale);
        if (v > worst) { worst = v; where = `${name}: analytic ${a}, finite difference ${fd}`; }
      }
      expect(worst, where).toBeLessThanOrEqual(1);
      m.dispose();
    });
  }
});

describe('one runtime', () => {
  const notesLayers = () => [
    layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.flatten(),
    layers.dropout({ rate: 0.25 }),
    layers.dense({ units: 8, activation: 'relu' }),
    layers.dense({ units: 10, activation: 'softmax' }),
  ];
  const data = () => {
    const x = tensor(randn(48 * 14 * 14, 3), [48, 14, 14, 1]);
    const y = tensor(Array.from({ length: 48 }, (_, i) => (i * 7) % 10), [48]);
    return { x, y };
  };

  it('a graph equal to a Sequential trains bit for bit as it does (same seed, dropout, Adam, 2 threads)', async () => {
    sc.setThreads(2);
    const { x, y } = data();
    const seqModel = sc.sequential({ seed: 5, layers: [layers.inputLayer({ shape: [14, 14, 1] }) as never, ...notesLayers()] });
    const inp = input({ shape: [14, 14, 1] });
    let t = inp;
    for (const l of notesLayers()) t = l.apply(t);
    const graphModel = model({ inputs: inp, outputs: t, seed: 5 });
    const run = async (m: LayersModel) => {
      m.compile({ optimizer: sc.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      const h = await m.fit(x, y, { epochs: 2, batchSize: 16, validationSplit: 0.25 });
      const w = m.getWeights().map((v) => Array.from(v.dataSync()));
      return { h: h.history, w };
    };
    const a = await run(seqModel), b = await run(graphModel);
    expect(b.h).toEqual(a.h);
    expect(b.w).toEqual(a.w);
    seqModel.dispose();
    graphModel.dispose();
  });

  it('fusion is a rewrite rule: with fuseLayers off the same graph gives the same bits', () => {
    const { x } = data();
    const inp = input({ shape: [14, 14, 1] });
    let t = inp;
    for (const l of notesLayers()) t = l.apply(t);
    const m = model({ inputs: inp, outputs: t, seed: 9 });
    const fused = (m.predict(x) as sc.Tensor).dataSync().slice();
    m.fuseLayers = false;
    const apart = (m.predict(x) as sc.Tensor).dataSync().slice();
    expect(Array.from(apart)).toEqual(Array.from(fused));
    m.dispose();
  });

  it('liveness: a 50-layer chain predicts with at most three activations of memory', () => {
    const inp = input({ shape: [64] });
    let t = inp;
    for (let i = 0; i < 50; i++) t = layers.dense({ units: 64, activation: i % 2 ? 'relu' : 'tanh' }).apply(t);
    const m = model({ inputs: inp, outputs: t, seed: 1 });
    m.build();
    const batch = 256, act = batch * 64 * 4;
    const x = tensor(randn(batch * 64, 1), [batch, 64]);
    const before = sc.memory().numBytesInHeap;
    const y = m.predict(x, { batchSize: batch }) as sc.Tensor;
    const grown = sc.memory().numBytesInHeap - before;
    // The plan (input + activation slots + labels/stats) stays cached; the result tensor is one activation.
    const planned = m.planBytes(batch);
    expect(planned.activations).toBeLessThanOrEqual(2 * act);
    expect(grown - y.size * 4).toBeLessThanOrEqual(3 * act + 4096);
    // Without liveness (predictLayers keeps every tensor) the same model holds 50 activations.
    const all = m.predictLayers(x);
    expect(all.length).toBe(50);
    for (const a of all) a.dispose();
    y.dispose();
    m.dispose();
  });
});

describe('functional API', () => {
  it('several inputs and outputs: predict by array or by name, fit logs as Keras names them, evaluate', async () => {
    const a = input({ shape: [3], name: 'in_a' }), b = input({ shape: [2], name: 'in_b' });
    const h = layers.dense({ units: 4, activation: 'relu' }).apply(layers.concatenate().apply([a, b]));
    const oa = layers.dense({ units: 3, activation: 'softmax', name: 'out_a' }).apply(h);
    const ob = layers.dense({ units: 1, name: 'out_b' }).apply(h);
    const m = model({ inputs: [a, b], outputs: [oa, ob], seed: 2 });
    m.compile({ optimizer: 'adam', loss: { out_a: 'sparseCategoricalCrossentropy', out_b: 'meanSquaredError' }, metrics: { out_a: ['accuracy'] }, lossWeights: { out_b: 0.5 } });
    const xa = tensor(randn(20 * 3, 1), [20, 3]), xb = tensor(randn(20 * 2, 2), [20, 2]);
    const ya = tensor(Array.from({ length: 20 }, (_, i) => i % 3), [20]), yb = tensor(randn(20, 3), [20, 1]);
    const byArray = m.predict([xa, xb]) as sc.Tensor[];
    const byName = m.predict({ in_b: xb, in_a: xa }) as sc.Tensor[];
    expect(byArray.map((t) => t.shape)).toEqual([[20, 3], [20, 1]]);
    expect(Array.from(byName[0].dataSync())).toEqual(Array.from(byArray[0].dataSync()));
    const hist = await m.fit([xa, xb], { out_a: ya, out_b: yb }, { epochs: 2, batchSize: 8, validationData: [[xa, xb], [ya, yb]] });
    expect(Object.keys(hist.history).sort()).toEqual(['loss', 'out_a_acc', 'out_a_loss', 'out_b_loss', 'val_loss', 'val_out_a_acc', 'val_out_a_loss', 'val_out_b_loss']);
    const hh = hist.history;
    expect(hh.loss[1]).toBeCloseTo(hh.out_a_loss[1] + 0.5 * hh.out_b_loss[1], 5);
    const ev = (m.evaluate([xa, xb], [ya, yb]) as sc.Tensor[]).map((t) => t.dataSync()[0]);
    expect(ev).toHaveLength(4);
    expect(ev[0]).toBeCloseTo(hh.val_loss[1], 5);
    expect(ev[0]).toBeCloseTo(ev[1] + 0.5 * ev[2], 5);
    m.dispose();
  });

  it('summary prints the "Connected to" column for graphs', () => {
    const x = input({ shape: [4], name: 'x' });
    const d = layers.dense({ units: 4, name: 'd1' }).apply(x);
    const s = layers.add({ name: 'sum' }).apply([d, x]);
    const m = model({ inputs: x, outputs: s });
    const lines: string[] = [];
    m.summary(undefined, undefined, (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/Connected to/);
    expect(text).toMatch(/sum \(Add\).*d1\[0\]\[0\]/);
    expect(lines.find((l) => l.trim() === 'x[0][0]')).toBeDefined();
    expect(text).toMatch(/Total params: 20/);
    m.dispose();
  });

  it('apply to real tensors computes eagerly (as tfjs), leaving no graph node', () => {
    const l = layers.dense({ units: 2, useBias: false, kernelInitializer: 'ones' });
    const y = l.apply(tensor([1, 2, 3, 4, 5, 6], [2, 3])) as unknown as sc.Tensor;
    expect(Array.from(y.dataSync())).toEqual([6, 6, 15, 15]);
    expect(l.inboundNodes).toHaveLength(0);
  });

  it('a model used as a layer shares its weights: training the outer model changes the inner one', async () => {
    const ix = input({ shape: [3] });
    const inner = model({ inputs: ix, outputs: layers.dense({ units: 2 }).apply(ix), seed: 1 });
    const x = input({ shape: [3] });
    const outer = model({ inputs: x, outputs: layers.dense({ units: 1 }).apply(inner.apply(x) as SymbolicTensor), seed: 1 });
    const xs = tensor(randn(8 * 3, 4), [8, 3]);
    const before = Array.from((inner.predict(xs) as sc.Tensor).dataSync());
    outer.compile({ optimizer: sc.train.sgd(0.1), loss: 'meanSquaredError' });
    await outer.fit(xs, tensor(randn(8, 5), [8, 1]), { epochs: 1, batchSize: 8 });
    const after = Array.from((inner.predict(xs) as sc.Tensor).dataSync());
    expect(after).not.toEqual(before);
    // And the weights the inner model reports are the outer model's (one set).
    const wi = inner.getWeights()[0].dataSync(), wo = outer.getWeights()[0].dataSync();
    expect(Array.from(wi)).toEqual(Array.from(wo));
    outer.dispose();
    // The inner model keeps the trained values after the outer one is gone.
    expect(Array.from((inner.predict(xs) as sc.Tensor).dataSync())).toEqual(after);
    inner.dispose();
  });

  it('layer.output / layer.input for a layer applied once; an Error for a shared one; model.apply(tensor) predicts', () => {
    const x = input({ shape: [3] });
    const d = layers.dense({ units: 2, name: 'once' });
    const y = d.apply(x);
    expect(d.output).toBe(y);
    expect(d.input).toBe(x);
    d.apply(input({ shape: [3] }));
    expect(() => d.output).toThrow(/once\.output: the layer has 2 applications \(it is shared\)/);
    const m = model({ inputs: x, outputs: y });
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from((m.apply(t) as sc.Tensor).dataSync())).toEqual(Array.from((m.predict(t) as sc.Tensor).dataSync()));
    m.dispose();
  });

  it('model.layers lists inputs first; getLayer by name and index; inputs/outputs are symbolic', () => {
    const x = input({ shape: [2, 2, 1], name: 'pic' });
    const m = model({ inputs: x, outputs: layers.flatten({ name: 'flat' }).apply(x) });
    expect(m.layers.map((l) => l.className)).toEqual(['InputLayer', 'Flatten']);
    expect(m.getLayer(1).name).toBe('flat');
    expect(m.getLayer('pic')).toBeInstanceOf(InputLayer);
    expect(m.outputs[0].shape).toEqual([null, 4]);
    m.dispose();
  });
});

describe('bad graphs are Errors naming the layer', () => {
  const expectThrow = (f: () => unknown, re: RegExp) => expect(f).toThrow(re);

  it('an output not connected to the inputs, and a layer applied to another graph\'s tensor', () => {
    const a = input({ shape: [3], name: 'ga' }), b = input({ shape: [3], name: 'gb' });
    const fromB = layers.dense({ units: 2, name: 'from_b' }).apply(b);
    expectThrow(() => model({ inputs: a, outputs: fromB }), /from_b reads gb, an input that is not among the model's inputs \(ga\)/);
  });
  it('an input that nothing reads', () => {
    const a = input({ shape: [3], name: 'ua' }), b = input({ shape: [3], name: 'ub' });
    expectThrow(() => model({ inputs: [a, b], outputs: layers.dense({ units: 2 }).apply(a) }), /input ub is not read by any layer/);
  });
  it('duplicate layer names', () => {
    const a = input({ shape: [3] });
    const d = layers.dense({ units: 3, name: 'twin' }).apply(a);
    expectThrow(() => model({ inputs: a, outputs: layers.dense({ units: 3, name: 'twin' }).apply(d) }), /two different layers are named 'twin'/);
  });
  it('merge inputs of incompatible shapes name the layer and every shape', () => {
    const a = input({ shape: [4, 3] }), b = input({ shape: [5, 3] });
    expectThrow(() => layers.add({ name: 'bad_add' }).apply([a, b]), /bad_add.*\[null,4,3\].*\[null,5,3\]/);
    expectThrow(() => layers.concatenate({ name: 'bad_cat', axis: 1 }).apply([input({ shape: [4, 3] }), input({ shape: [4, 2] })]), /bad_cat.*\[null,4,3\].*\[null,4,2\]/);
  });
  it('a shared layer applied to another shape, a layer applied to non-tensors, a merge of one input', () => {
    const d = layers.dense({ units: 2, name: 'sh' });
    d.apply(input({ shape: [3] }));
    expectThrow(() => d.apply(input({ shape: [4] })), /sh was built for input shape \[null,3\] and is applied to \[null,4\]/);
    expectThrow(() => layers.dense({ units: 2, name: 'nt' }).apply([1, 2] as never), /nt\.apply: inputs\[0\]/);
    expectThrow(() => layers.add({ name: 'one' }).apply([input({ shape: [2] })]), /one.*at least 2 inputs/);
  });
  it('inputs/outputs that are not symbolic tensors, and inputs that are not sc.input()', () => {
    expectThrow(() => model({ inputs: [] as never, outputs: [] as never }), /inputs is empty/);
    const a = input({ shape: [2] });
    const d = layers.dense({ units: 2, name: 'mid' }).apply(a);
    expectThrow(() => model({ inputs: d, outputs: d }), /inputs\[0\] is mid \(Dense\) output \[null,2\], not an input/);
    expectThrow(() => model({ inputs: a, outputs: 'x' as never }), /outputs is string, not a symbolic tensor/);
  });
  it('compile: a loss per output by name must name outputs; wrong counts', async () => {
    const a = input({ shape: [2] });
    const m = model({ inputs: a, outputs: [layers.dense({ units: 2, name: 'o1' }).apply(a), layers.dense({ units: 2, name: 'o2' }).apply(a)] });
    expectThrow(() => m.compile({ optimizer: 'sgd', loss: ['mse'] }), /2 entries, one per output \(o1, o2\)/);
    expectThrow(() => m.compile({ optimizer: 'sgd', loss: { o1: 'mse', o3: 'mse' } }), /o3 is not an output/);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await expect(m.fit(tensor([1, 2], [1, 2]), tensor([1, 2], [1, 2]))).rejects.toThrow(/targets, one per output/);
    m.dispose();
  });
});
