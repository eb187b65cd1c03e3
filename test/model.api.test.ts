// The Sequential API as a tfjs user sees it: summary, weights, predict/evaluate/fit and their
// callbacks and logs, validation, optimizers, activations, dropout, memory, partial batches and
// the two kinds of x input.
import { describe, expect, it } from 'vitest';
import {
  conv2d, layers, memory, sequential, tensor, train, uint8Images, type Logs, type Sequential, type Tensor,
} from '../src/index.js';
import { maxRelErr, randn, rng } from './helpers/random.js';
import { LayersModel } from '../src/model/layers-model.js';
import { referenceCnn } from './helpers/cnn.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);


/** A small CNN on 8×8×1 inputs with 3 classes. */
function smallCnn(seed: number, extra: { dropout?: number } = {}) {
  return sequential({
    seed,
    layers: [
      layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same', inputShape: [8, 8, 1] }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      ...(extra.dropout !== undefined ? [layers.dropout({ rate: extra.dropout })] : []),
      layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

/** Learnable data: the class is the brightest of three bands of the image. */
function bands(n: number, seed: number): { x: Float32Array; y: number[] } {
  const r = rng(seed);
  const x = new Float32Array(n * 64), y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 3);
    y.push(c);
    for (let p = 0; p < 64; p++) x[i * 64 + p] = 0.3 * r() + (Math.floor((p % 8) / 3) === c ? 0.6 : 0);
  }
  return { x, y };
}

const compileCe = (m: Sequential, optimizer: Parameters<Sequential['compile']>[0]['optimizer'] = 'adam') =>
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

const values = (t: Tensor | Tensor[]) => (Array.isArray(t) ? t : [t]).map((x) => { const v = x.dataSync(); x.dispose(); return Array.from(v); });

describe('summary', () => {
  it("prints tfjs' table for the reference CNN: output shapes, params, 121,930 total", () => {
    const model = referenceCnn(1);
    const lines: string[] = [];
    model.summary(undefined, undefined, (l) => lines.push(l));
    const names = model.layers.map((l) => l.name);
    // tfjs' default columns end at 29, 55, 65 (lineLength 65, positions 0.45, 0.85, 1).
    // A cell too long for its column is cut to leave one space, as tfjs does.
    const cell = (s: string, w: number) => (s.length >= w ? `${s.slice(0, w - 1)} ` : s.padEnd(w));
    const row = (a: string, b: string, c: string) => `${cell(a, 29)}${cell(b, 26)}${c}`;
    const body = lines.map((l) => l.trimEnd());
    const start = body.indexOf(row('Layer (type)', 'Output shape', 'Param #'));
    expect(start, lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(body[start - 1]).toBe('_'.repeat(65));
    expect(body[start + 1]).toBe('='.repeat(65));
    const expected = [
      ['Conv2D', '[null,26,26,32]', '320'],
      ['MaxPooling2D', '[null,13,13,32]', '0'],
      ['Conv2D', '[null,11,11,64]', '18496'],
      ['MaxPooling2D', '[null,5,5,64]', '0'],
      ['Flatten', '[null,1600]', '0'],
      ['Dense', '[null,64]', '102464'],
      ['Dense', '[null,10]', '650'],
    ];
    expected.forEach(([cls, shape, params], i) => {
      expect(body[start + 2 + 2 * i]).toBe(row(`${names[i]} (${cls})`, shape, params));
      expect(body[start + 3 + 2 * i]).toBe(i === expected.length - 1 ? '='.repeat(65) : '_'.repeat(65));
    });
    const tail = body.slice(start + 2 + 2 * expected.length);
    expect(tail[0]).toMatch(/^Total params: 121,?930$/);
    expect(tail[1]).toMatch(/^Trainable params: 121,?930$/);
    expect(tail[2]).toBe('Non-trainable params: 0');
    expect(tail[3]).toBe('_'.repeat(65));
    expect(model.countParams()).toBe(121930);
    expect(model.outputShape).toEqual([10]);
    model.dispose();
  });

  it('honours lineLength and positions like tfjs', () => {
    const model = sequential({ layers: [layers.dense({ units: 3, inputShape: [10], name: 'd_summary' })] });
    const lines: string[] = [];
    model.summary(70, [0.5, 0.8, 1], (l) => lines.push(l));
    expect(lines).toContain('_'.repeat(70));
    expect(lines.map((l) => l.trimEnd())).toContain(`${'d_summary (Dense)'.padEnd(35)}${'[null,3]'.padEnd(21)}33`);
    model.dispose();
  });
});

describe('weights, predict, evaluate', () => {
  it('getWeights/setWeights round trip (shapes, names, values) and setWeights changes predict', () => {
    const a = smallCnn(1), b = smallCnn(2);
    const wa = a.getWeights();
    expect(wa.map((w) => w.shape)).toEqual([[3, 3, 1, 4], [4], [64, 3], [3]]);
    expect(a.weightList().map((w) => w.name.split('/')[1])).toEqual(['kernel', 'bias', 'kernel', 'bias']);
    const x = tensor(bands(5, 3).x, [5, 8, 8, 1]);
    const pa = values(a.predict(x))[0];
    expect(values(b.predict(x))[0]).not.toEqual(pa);
    b.setWeights(wa);
    expect(values(b.predict(x))[0]).toEqual(pa);
    const wb = b.getWeights();
    wa.forEach((w, i) => expect(Array.from(wb[i].dataSync())).toEqual(Array.from(w.dataSync())));
    // The model copies: changing or disposing the given tensors leaves it alone.
    for (const w of [...wa, ...wb]) w.dispose();
    expect(values(b.predict(x))[0]).toEqual(pa);
    x.dispose(); a.dispose(); b.dispose();
  });

  it('predict: [N, 10] rows summing to 1, independent of batchSize (incl. a partial last batch)', () => {
    const model = referenceCnn(3);
    const x = tensor(randn(37 * 784, 5, 0.5).map(Math.abs), [37, 28, 28, 1]);
    const p = model.predict(x, { batchSize: 8 });
    expect(p.shape).toEqual([37, 10]);
    const v = p.dataSync();
    for (let i = 0; i < 37; i++) {
      let s = 0;
      for (let j = 0; j < 10; j++) { expect(v[i * 10 + j]).toBeGreaterThan(0); s += v[i * 10 + j]; }
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
    const whole = values(model.predict(x, { batchSize: 37 }))[0];
    for (let i = 0; i < v.length; i++) expect(Math.abs(v[i] - whole[i])).toBeLessThan(1e-6);
    p.dispose(); x.dispose(); model.dispose();
  });

  it('evaluate returns [loss, acc] scalars equal to the mean CE and accuracy of predict', () => {
    const model = smallCnn(4);
    compileCe(model);
    const { x: xv, y } = bands(50, 6);
    const x = tensor(xv, [50, 8, 8, 1]);
    const p = values(model.predict(x))[0];
    let ce = 0, hits = 0;
    for (let i = 0; i < 50; i++) {
      const row = p.slice(i * 3, i * 3 + 3);
      ce -= Math.log(row[y[i]]);
      if (row.indexOf(Math.max(...row)) === y[i]) hits++;
    }
    const r = model.evaluate(x, y, { batchSize: 16 }) as Tensor[];
    expect(r).toHaveLength(2);
    expect(r.map((t) => t.shape)).toEqual([[], []]);
    const [loss, acc] = values(r).map((v) => v[0]);
    expect(Math.abs(loss - ce / 50)).toBeLessThan(1e-5 * (1 + ce / 50));
    expect(acc).toBeCloseTo(hits / 50, 6);
    // Without metrics, a single scalar.
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const only = model.evaluate(x, y) as Tensor;
    expect(only.shape).toEqual([]);
    expect(Math.abs(values(only)[0][0] - loss)).toBeLessThan(1e-6);
    x.dispose(); model.dispose();
  });

  it('dense on rank-2 samples: loss and accuracy average over positions, as Keras', async () => {
    const model = sequential({ seed: 3, layers: [layers.dense({ units: 3, activation: 'softmax', inputShape: [4, 6] })] });
    compileCe(model);
    const n = 10, x = tensor(randn(n * 24, 9), [n, 4, 6]);
    const y = tensor(Array.from({ length: n * 4 }, (_, i) => i % 3), [n, 4]);
    const p = values(model.predict(x))[0], yv = y.dataSync();
    let ce = 0, hits = 0;
    for (let r = 0; r < n * 4; r++) {
      const row = p.slice(r * 3, r * 3 + 3);
      ce -= Math.log(row[yv[r]]);
      if (row.indexOf(Math.max(...row)) === yv[r]) hits++;
    }
    const [loss, acc] = values(model.evaluate(x, y)).map((v) => v[0]);
    expect(loss).toBeCloseTo(ce / (n * 4), 5);
    expect(acc).toBeCloseTo(hits / (n * 4), 6);
    const batchLogs: Logs[] = [];
    const h = await model.fit(x, y, { epochs: 1, batchSize: n, shuffle: false, callbacks: { onBatchEnd: (_b, l) => { batchLogs.push(l); } } });
    expect(h.history.loss[0]).toBeCloseTo(ce / (n * 4), 5);
    expect(h.history.acc[0]).toBeCloseTo(hits / (n * 4), 6);
    expect(batchLogs[0].loss).toBeCloseTo(ce / (n * 4), 5);
    x.dispose(); y.dispose(); model.dispose();
  });
});

describe('fit', () => {
  it('calls the callbacks in order with tfjs logs; epoch loss is the size-weighted mean of batch losses', async () => {
    const model = smallCnn(5);
    compileCe(model);
    const { x: xv, y } = bands(37, 7);
    const x = tensor(xv, [37, 8, 8, 1]);
    const val = bands(12, 8);
    const xVal = tensor(val.x, [12, 8, 8, 1]);
    const events: string[] = [];
    const batchLogs: Logs[] = [];
    const epochLogs: Logs[] = [];
    const h = await model.fit(x, y, {
      epochs: 2, batchSize: 10, validationData: [xVal, val.y],
      callbacks: {
        onTrainBegin: () => { events.push('trainBegin'); },
        onEpochBegin: (e) => { events.push(`epochBegin ${e}`); },
        onBatchBegin: (b, l) => { events.push(`batchBegin ${b} ${l.size}`); },
        onBatchEnd: (b, l) => { events.push(`batchEnd ${b}`); batchLogs.push(l); },
        onEpochEnd: async (e, l) => { await new Promise((r) => setTimeout(r, 1)); events.push(`epochEnd ${e}`); epochLogs.push(l); },
        onTrainEnd: () => { events.push('trainEnd'); },
      },
    });
    const epoch = (e: number) => [`epochBegin ${e}`, 'batchBegin 0 10', 'batchEnd 0', 'batchBegin 1 10', 'batchEnd 1', 'batchBegin 2 10', 'batchEnd 2', 'batchBegin 3 7', 'batchEnd 3', `epochEnd ${e}`];
    expect(events).toEqual(['trainBegin', ...epoch(0), ...epoch(1), 'trainEnd']);
    expect(batchLogs.map((l) => l.size)).toEqual([10, 10, 10, 7, 10, 10, 10, 7]);
    for (const l of batchLogs) {
      expect(Object.keys(l).sort()).toEqual(['acc', 'batch', 'loss', 'size']);
      expect(l.loss).toBeGreaterThan(0);
      expect(l.acc).toBeGreaterThanOrEqual(0);
      expect(l.acc).toBeLessThanOrEqual(1);
    }
    for (let e = 0; e < 2; e++) {
      const b = batchLogs.slice(e * 4, e * 4 + 4);
      const weighted = b.reduce((s, l) => s + l.loss * l.size, 0) / 37;
      const acc = b.reduce((s, l) => s + l.acc * l.size, 0) / 37;
      expect(Object.keys(epochLogs[e]).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
      expect(epochLogs[e].loss).toBeCloseTo(weighted, 10);
      expect(epochLogs[e].acc).toBeCloseTo(acc, 10);
    }
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history.loss).toEqual(epochLogs.map((l) => l.loss));
    expect(h.history.val_acc).toEqual(epochLogs.map((l) => l.val_acc));
    // val_* are the end-of-epoch weights' evaluation of validationData.
    const [vl, va] = values(model.evaluate(xVal, val.y)).map((v) => v[0]);
    expect(epochLogs[1].val_loss).toBeCloseTo(vl, 5);
    expect(epochLogs[1].val_acc).toBeCloseTo(va, 6);
    x.dispose(); xVal.dispose(); model.dispose();
  });

  it('validationSplit validates on the last fraction (before shuffling) and trains on the rest', async () => {
    const model = smallCnn(6);
    compileCe(model);
    const { x: xv, y } = bands(40, 9);
    const x = tensor(xv, [40, 8, 8, 1]);
    const sizes: number[] = [];
    const h = await model.fit(x, y, { epochs: 1, batchSize: 8, validationSplit: 0.25, callbacks: { onBatchEnd: (_b, l) => { sizes.push(l.size); } } });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
    expect(h.params.samples).toBe(30);
    const last = tensor(xv.subarray(30 * 64), [10, 8, 8, 1]), first = tensor(xv.subarray(0, 10 * 64), [10, 8, 8, 1]);
    const [vl, va] = values(model.evaluate(last, y.slice(30))).map((v) => v[0]);
    const [fl] = values(model.evaluate(first, y.slice(0, 10))).map((v) => v[0]);
    expect(h.history.val_loss[0]).toBeCloseTo(vl, 5);
    expect(h.history.val_acc[0]).toBeCloseTo(va, 6);
    expect(Math.abs(h.history.val_loss[0] - fl)).toBeGreaterThan(1e-4);
    x.dispose(); last.dispose(); first.dispose(); model.dispose();
  });

  const optimizers: [string, () => Parameters<Sequential['compile']>[0]['optimizer']][] = [
    ['sgd', () => train.sgd(0.2)],
    ['momentum', () => train.momentum(0.05, 0.9)],
    ['nesterov', () => train.momentum(0.05, 0.9, true)],
    ['adam', () => train.adam(0.01)],
  ];
  const { x: ox, y: oy } = bands(96, 10);
  for (const [name, make] of optimizers) {
    it(`${name} reduces the loss`, async () => {
      const model = smallCnn(7);
      compileCe(model, make());
      const x = tensor(ox, [96, 8, 8, 1]);
      const [before] = values(model.evaluate(x, oy)).map((v) => v[0]);
      await model.fit(x, oy, { epochs: 8, batchSize: 16 });
      const [after, acc] = values(model.evaluate(x, oy)).map((v) => v[0]);
      expect(after).toBeLessThan(0.6 * before);
      expect(acc).toBeGreaterThan(0.8);
      x.dispose(); model.dispose();
    });
  }

  it('a layer with trainable: false keeps its weights through fit (also after it trained unfrozen)', async () => {
    for (const opt of [() => train.adam(0.05), () => train.momentum(0.1, 0.9)]) {
      const model = sequential({
        seed: 4,
        layers: [
          layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1], name: 'frozen_conv' }),
          layers.flatten(),
          layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      compileCe(model, opt());
      const { x: xv, y } = bands(24, 5);
      const x = tensor(xv, [24, 8, 8, 1]);
      // Train unfrozen first so the optimizer has velocity/moments for the layer, then freeze it.
      await model.fit(x, y, { epochs: 1, batchSize: 8 });
      const conv = model.getLayer('frozen_conv');
      conv.trainable = false;
      const w0 = model.weightValues();
      await model.fit(x, y, { epochs: 2, batchSize: 8 });
      const w1 = model.weightValues();
      expect(w1[0].data).toEqual(w0[0].data);
      expect(w1[1].data).toEqual(w0[1].data);
      expect(w1[2].data).not.toEqual(w0[2].data);
      const lines: string[] = [];
      model.summary(undefined, undefined, (l) => lines.push(l));
      expect(lines).toContain('Non-trainable params: 40');
      x.dispose(); model.dispose();
    }
  });

  it('one-hot labels as nested arrays train exactly as a one-hot tensor', async () => {
    const { x: xv, y } = bands(20, 15);
    const oneHot = y.map((c) => [0, 1, 2].map((j) => (j === c ? 1 : 0)));
    const run = async (labels: Parameters<Sequential['fit']>[1]) => {
      const model = smallCnn(12);
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const x = tensor(xv, [20, 8, 8, 1]);
      const h = await model.fit(x, labels, { epochs: 2, batchSize: 6 });
      const w = model.weightValues().map((v) => Array.from(v.data));
      x.dispose(); model.dispose();
      return { w, h: h.history };
    };
    const yt = tensor(oneHot);
    const a = await run(oneHot as never), b = await run(yt);
    expect(a.h).toEqual(b.h);
    expect(a.w).toEqual(b.w);
    yt.dispose();
  });

  it('Tensor input and uint8Images input train to bit-identical weights', async () => {
    const r = rng(12);
    const n = 40, bytes = Uint8Array.from({ length: n * 64 }, () => Math.floor(r() * 256));
    const y = Array.from({ length: n }, (_, i) => i % 3);
    const run = async (x: Parameters<Sequential['fit']>[0]) => {
      const model = smallCnn(8, { dropout: 0.3 });
      compileCe(model);
      const h = await model.fit(x, y, { epochs: 2, batchSize: 7 });
      const w = model.weightValues().map((v) => Array.from(v.data));
      model.dispose();
      return { w, loss: h.history.loss };
    };
    const xt = tensor(Float32Array.from(bytes, (b) => b / 255), [n, 8, 8, 1]);
    const a = await run(xt), b = await run(uint8Images(bytes, [8, 8, 1]));
    expect(b.loss).toEqual(a.loss);
    expect(b.w).toEqual(a.w);
    xt.dispose();
  });
});

describe('layers', () => {
  const act = (name: string, rows: number, cols: number, v: number[]) => {
    if (name === 'softmax') {
      const out: number[] = [];
      for (let r = 0; r < rows; r++) {
        const row = v.slice(r * cols, (r + 1) * cols), mx = Math.max(...row), e = row.map((z) => Math.exp(z - mx)), s = e.reduce((a, b) => a + b);
        out.push(...e.map((z) => z / s));
      }
      return out;
    }
    const f = { relu: (z: number) => Math.max(z, 0), linear: (z: number) => z, sigmoid: (z: number) => 1 / (1 + Math.exp(-z)), tanh: Math.tanh }[name]!;
    return v.map(f);
  };
  const activations = ['relu', 'softmax', 'linear', 'sigmoid', 'tanh'] as const;
  for (const kind of ['dense', 'conv2d'] as const) {
    for (const a of activations) {
      it(`${kind} with activation '${a}': forward matches x·W + b then ${a}; training lowers the loss`, async () => {
        const first = kind === 'dense'
          ? layers.dense({ units: 4, activation: a, inputShape: [5] })
          : layers.conv2d({ filters: 4, kernelSize: 2, activation: a, inputShape: [3, 3, 2] });
        const model = sequential({ seed: 5, layers: [first, layers.flatten(), layers.dense({ units: 2 })] });
        model.compile({ optimizer: train.sgd(0.1), loss: 'meanSquaredError' });
        const inShape = kind === 'dense' ? [5] : [3, 3, 2];
        const x = tensor(randn(6 * size(inShape), 13), [6, ...inShape]);
        const [w, b] = model.getWeights();
        let pre: number[];
        if (kind === 'dense') {
          const xv = x.dataSync(), wv = w.dataSync(), bv = b.dataSync();
          pre = [];
          for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) {
            let s = bv[j];
            for (let k = 0; k < 5; k++) s += xv[i * 5 + k] * wv[k * 4 + j];
            pre.push(s);
          }
        } else {
          const c = conv2d(x, w, 1, 'valid');
          const bv = b.dataSync();
          pre = Array.from(c.dataSync(), (v, i) => v + bv[i % 4]);
          c.dispose();
        }
        const want = act(a, pre.length / 4, 4, pre);
        const outs = model.predictLayers(x);
        const got = outs[0].dataSync();
        for (const t of [...outs, w, b]) t.dispose();
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
        const y = tensor(randn(12, 14), [6, 2]);
        const [before] = values(model.evaluate(x, y));
        await model.fit(x, y, { epochs: 10, batchSize: 6 });
        const [after] = values(model.evaluate(x, y));
        expect(after[0]).toBeLessThan(before[0]);
        x.dispose(); y.dispose(); model.dispose();
      });
    }
  }

  it('dropout is inactive at inference and active in training', () => {
    const withDrop = smallCnn(9, { dropout: 0.5 }), without = smallCnn(9);
    compileCe(withDrop);
    const ws = withDrop.getWeights();
    without.setWeights(ws);
    for (const w of ws) w.dispose();
    const { x: xv, y } = bands(20, 11);
    const x = tensor(xv, [20, 8, 8, 1]);
    const p = values(withDrop.predict(x))[0];
    expect(values(withDrop.predict(x))[0]).toEqual(p);
    expect(values(without.predict(x))[0]).toEqual(p);
    const [e1, e2] = [values(withDrop.evaluate(x, y))[0], values(withDrop.evaluate(x, y))[0]];
    expect(e1).toEqual(e2);
    const g1 = withDrop.lossAndGradients(x, y), g2 = withDrop.lossAndGradients(x, y);
    expect(g1.loss).not.toBe(g2.loss);
    x.dispose(); withDrop.dispose(); without.dispose();
  });
});

describe('memory', () => {
  async function cycle(keep?: (m: Sequential) => void) {
    const model = smallCnn(10, { dropout: 0.2 });
    compileCe(model);
    const { x: xv, y } = bands(30, 12);
    const x = tensor(xv, [30, 8, 8, 1]);
    await model.fit(x, y, { epochs: 1, batchSize: 8, validationSplit: 0.2 });
    values(model.evaluate(x, y));
    values(model.predict(x, { batchSize: 7 }));
    for (const t of model.predictLayers(x)) t.dispose();
    for (const t of model.getWeights()) t.dispose();
    keep?.(model);
    x.dispose();
    model.dispose();
  }

  it('fit/evaluate/predict leak no tensors; dispose() returns the heap to where it was', async () => {
    await cycle(); // allocates the process-wide scratch (loss block, thread buffers) once
    const before = memory();
    await cycle((model) => {
      expect(memory().numTensors).toBe(before.numTensors + 1); // x only
      expect(memory().numBytesInHeap).toBeGreaterThan(before.numBytesInHeap);
    });
    const after = memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytesInHeap).toBe(before.numBytesInHeap);
  });

  it('a disposed model throws a clear error from every entry point', async () => {
    const model = smallCnn(11);
    compileCe(model);
    const x = tensor(bands(2, 1).x, [2, 8, 8, 1]);
    expect(model.dispose().numDisposedVariables).toBe(4);
    expect(model.dispose().numDisposedVariables).toBe(0);
    const msg = (op: string) => new RegExp(`${op}: the model '${model.name}' was disposed`);
    expect(() => model.predict(x)).toThrow(msg('predict'));
    expect(() => model.evaluate(x, [0, 1])).toThrow(msg('evaluate'));
    await expect(model.fit(x, [0, 1])).rejects.toThrow(msg('fit'));
    expect(() => model.getWeights()).toThrow(msg('getWeights'));
    expect(() => model.setWeights([])).toThrow(msg('setWeights'));
    expect(() => compileCe(model)).toThrow(msg('compile'));
    expect(() => model.summary(undefined, undefined, () => {})).toThrow(msg('summary'));
    expect(() => model.predictLayers(x)).toThrow(msg('predictLayers'));
    x.dispose();
  });
});

describe('buffer plans', () => {
  it('predict on many different batch sizes keeps a bounded number of plans (heap stops growing)', () => {
    const model = sequential({ seed: 3, layers: [
      layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
      layers.flatten(), layers.dense({ units: 3, activation: 'softmax' })] });
    const x = tensor(new Float32Array(40 * 144).fill(0.5), [40, 12, 12, 1]);
    const heapAfter = (sizes: number[]) => {
      for (const b of sizes) model.predict(x, { batchSize: b }).dispose();
      return memory().numBytesInHeap;
    };
    const warm = heapAfter([33, 34, 35, 36, 37, 38, 39]);
    // Smaller batch sizes than any seen: with the old plans evicted, nothing new stays allocated.
    expect(heapAfter([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])).toBeLessThanOrEqual(warm);
    x.dispose();
    model.dispose();
  });

  it('the cached plans besides the newest hold at most planCacheBytes (big networks keep one or two)', () => {
    const saved = LayersModel.planCacheBytes;
    try {
      const model = sequential({ seed: 3, layers: [
        layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 16, 2] }),
        layers.flatten(), layers.dense({ units: 3, activation: 'softmax' })] });
      const x = tensor(randn(8 * 512, 4), [8, 16, 16, 2]);
      const want = model.predict(x, { batchSize: 8 }).dataSync().slice();
      // Room for no other plan: each new batch size evicts the ones before it.
      LayersModel.planCacheBytes = 0;
      const plans = (model as unknown as { plans: Map<string, unknown> }).plans;
      const run = (b: number) => { const y = model.predict(x, { batchSize: b }); const v = y.dataSync().slice(); y.dispose(); return { v, plans: plans.size }; };
      const runs = [run(7), run(6), run(5), run(8)];
      expect(runs.map((r) => r.plans)).toEqual([1, 1, 1, 1]);
      // Evicted plans are rebuilt on demand: the same predictions (within rounding: a batch of one
      // takes the GEMM's one-row kernel, whose two accumulator chains sum in another order).
      for (const r of runs) expect(maxRelErr(r.v, want)).toBeLessThan(1e-6);
      // With room again, the plans stay cached (up to MAX_PLANS).
      LayersModel.planCacheBytes = saved;
      run(7); run(6);
      expect(plans.size).toBeGreaterThan(2);
      x.dispose();
      model.dispose();
    } finally {
      LayersModel.planCacheBytes = saved;
    }
  });
});
