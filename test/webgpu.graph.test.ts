// Functional (graph) models on WebGPU against the same models on wasm: residual adds, concatenation
// along several axes, multiply/subtract, a shared layer, several inputs and outputs with loss
// weights, broadcasting maximum/minimum, nested models. Same seed and batches on both backends, so
// predict, evaluate, every batch's logs and the trained weights must agree within float tolerance.
// Runs on a real device (here Dawn on SwiftShader); no adapter FAILS the file.
import { afterAll, describe, expect, it } from 'vitest';
import { getBackend, setBackend } from '../src/backend/backend.js';
import { input, layers, model, regularizers, tensor, train, type LayersModel, type Tensor } from '../src/index.js';
import { GpuTensor } from '../src/webgpu/gpu-tensor.js';
import { maxRelErr, randn } from './helpers/random.js';

type CompileArgs = Parameters<LayersModel['compile']>[0];
type X = Parameters<LayersModel['fit']>[0];
type Y = Parameters<LayersModel['fit']>[1];

const N = 12;
const read = async (t: Tensor | Tensor[]) => Promise.all((Array.isArray(t) ? t : [t]).map(async (v) => (await v.data()).slice()));
const close = (a: number, b: number, what: string) => {
  expect(Math.abs(a - b), `${what}: webgpu ${a} vs wasm ${b}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(b)));
};

interface Run {
  pred0: Float32Array[];
  batches: Record<string, number>[];
  epochs: Record<string, number[]>;
  evaluated: Float32Array[];
  evalTensors: Tensor[];
  pred: Float32Array[];
  weights: Float32Array[];
  model: LayersModel;
}

async function runOn(backendName: 'wasm' | 'webgpu', make: () => LayersModel, compile: () => CompileArgs, x: X, y: Y, validation: boolean): Promise<Run> {
  await setBackend(backendName);
  expect(getBackend()).toBe(backendName);
  const m = make();
  m.compile(compile());
  const pred0 = await read(m.predict(x, { batchSize: 5 }));
  const batches: Record<string, number>[] = [];
  const h = await m.fit(x, y, {
    batchSize: 4, epochs: 1, shuffle: true, validationData: validation ? [x, y] : undefined,
    callbacks: { onBatchEnd: (_b, logs) => { batches.push({ ...(logs as Record<string, number>) }); } },
  });
  const ev = m.evaluate(x, y, { batchSize: 5 });
  const evalTensors = Array.isArray(ev) ? ev : [ev];
  const evaluated = await read(ev);
  const pred = await read(m.predict(x, { batchSize: 4 }));
  const weights = m.getWeights().map((t) => t.dataSync().slice());
  return { pred0, batches, epochs: h.history as Record<string, number[]>, evaluated, evalTensors, pred, weights, model: m };
}

/** Builds the model on both backends (make() must build the same model with a fixed seed each call) and compares everything. */
async function compareBackends(make: () => LayersModel, compile: () => CompileArgs, x: X, y: Y, opts: { validation?: boolean; steps?: number } = {}) {
  const cpu = await runOn('wasm', make, compile, x, y, !!opts.validation);
  const gpu = await runOn('webgpu', make, compile, x, y, !!opts.validation);
  expect(gpu.pred0).toHaveLength(cpu.pred0.length);
  cpu.pred0.forEach((p, i) => expect(maxRelErr(gpu.pred0[i], p), `initial predict, output ${i}`).toBeLessThan(1e-4));
  expect(gpu.batches).toHaveLength(opts.steps ?? 3);
  expect(cpu.batches).toHaveLength(opts.steps ?? 3);
  gpu.batches.forEach((g, b) => {
    expect(Object.keys(g).sort()).toEqual(Object.keys(cpu.batches[b]).sort());
    for (const key of Object.keys(g)) close(g[key], cpu.batches[b][key], `batch ${b} ${key}`);
  });
  expect(Object.keys(gpu.epochs).sort()).toEqual(Object.keys(cpu.epochs).sort());
  for (const key of Object.keys(cpu.epochs)) close(gpu.epochs[key][0], cpu.epochs[key][0], `epoch ${key}`);
  expect(gpu.weights).toHaveLength(cpu.weights.length);
  cpu.weights.forEach((w, i) => expect(maxRelErr(gpu.weights[i], w), `weight ${i}`).toBeLessThan(1e-4));
  expect(gpu.evalTensors.every((t) => t instanceof GpuTensor)).toBe(true);
  expect(gpu.evaluated).toHaveLength(cpu.evaluated.length);
  cpu.evaluated.forEach((v, i) => close(gpu.evaluated[i][0], v[0], `evaluate[${i}]`));
  cpu.pred.forEach((p, i) => expect(maxRelErr(gpu.pred[i], p), `predict after fit, output ${i}`).toBeLessThan(1e-4));
  cpu.model.dispose();
  gpu.model.dispose();
  return { cpu, gpu };
}

const adam = (lr = 0.01) => (): CompileArgs => ({ optimizer: train.adam(lr), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const images = (seed: number, shape = [6, 6, 2]) => tensor(randn(N * shape.reduce((a, b) => a * b, 1), seed), [N, ...shape]);
const classes = (k: number, mul = 1) => Float32Array.from({ length: N }, (_, i) => (i * mul) % k);

afterAll(async () => {
  await setBackend('wasm');
});

describe('functional models on webgpu vs wasm', () => {
  it('residual add block with conv layers', async () => {
    const make = () => {
      const x = input({ shape: [6, 6, 2] });
      const c1 = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as any;
      const c2 = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(c1) as any;
      const shortcut = layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x) as any;
      // c1 is read by c2 and by the second add: its gradient is a sum.
      const sum = layers.add().apply([c2, shortcut, c1]) as any;
      const r = layers.activation({ activation: 'relu' }).apply(sum) as any;
      const p = layers.maxPooling2d({ poolSize: 2 }).apply(r) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(layers.flatten().apply(p)) as any;
      return model({ inputs: x, outputs: out, seed: 21 });
    };
    await compareBackends(make, adam(), images(1), classes(3));
  });

  it('concatenate of two branches (last axis and axis 1), one branch read twice', async () => {
    const make = () => {
      const x = input({ shape: [6, 6, 2] });
      const a = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x) as any;
      const b = layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu' }).apply(x) as any;
      const c = layers.conv2d({ filters: 2, kernelSize: 1 }).apply(x) as any;
      const rows = layers.concatenate({ axis: 1 }).apply([a, b]) as any; // [12, 6, 3]
      const chans = layers.concatenate().apply([a, c]) as any; // [6, 6, 5]
      const pooled = layers.averagePooling2d({ poolSize: 2 }).apply(rows) as any;
      const flat = layers.concatenate().apply([layers.flatten().apply(pooled), layers.flatten().apply(chans)]) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(flat) as any;
      return model({ inputs: x, outputs: out, seed: 22 });
    };
    await compareBackends(make, adam(), images(2), classes(3, 2));
  });

  it('multiply + subtract on dense branches, categorical cross-entropy on one-hot labels', async () => {
    const make = () => {
      const x = input({ shape: [8] });
      const d1 = layers.dense({ units: 5, activation: 'tanh' }).apply(x) as any;
      const d2 = layers.dense({ units: 5, activation: 'sigmoid' }).apply(x) as any;
      const m = layers.multiply().apply([d1, d2]) as any;
      const s = layers.subtract().apply([m, d1]) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(s) as any;
      return model({ inputs: x, outputs: out, seed: 23 });
    };
    const x = tensor(randn(N * 8, 3), [N, 8]);
    const y = tensor(Array.from({ length: N * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), [N, 3]);
    await compareBackends(make, () => ({ optimizer: train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] }), x, y);
  });

  it('a shared dense layer applied twice (gradients summed over applications), with dropout', async () => {
    const make = () => {
      const x = input({ shape: [8] });
      const shared = layers.dense({ units: 6, activation: 'relu' });
      const h0 = layers.dense({ units: 8, activation: 'tanh' }).apply(x) as any;
      const a = shared.apply(x) as any;
      const b = shared.apply(layers.dropout({ rate: 0.3 }).apply(h0)) as any;
      const sum = layers.add().apply([layers.dropout({ rate: 0.2 }).apply(a), b]) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(sum) as any;
      return model({ inputs: x, outputs: out, seed: 24 });
    };
    await compareBackends(make, adam(0.02), tensor(randn(N * 8, 4), [N, 8]), classes(3));
  });

  it('two inputs, two outputs with lossWeights (softmax + MSE), per-output metrics and validation', async () => {
    const make = () => {
      const img = input({ shape: [6, 6, 2], name: 'img' });
      const vec = input({ shape: [4], name: 'vec' });
      const f = layers.flatten().apply(layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu' }).apply(img)) as any;
      const v = layers.dense({ units: 6, activation: 'relu' }).apply(vec) as any;
      const h = layers.dense({ units: 8, activation: 'relu' }).apply(layers.concatenate().apply([f, v])) as any;
      const cls = layers.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(h) as any;
      const reg = layers.dense({ units: 2, name: 'reg' }).apply(layers.concatenate().apply([h, v])) as any;
      return model({ inputs: [img, vec], outputs: [cls, reg], seed: 25 });
    };
    const x = [images(5), tensor(randn(N * 4, 6), [N, 4])];
    const y = [classes(3), tensor(randn(N * 2, 7), [N, 2])];
    const compile = (): CompileArgs => ({
      optimizer: train.adam(0.01), loss: ['sparseCategoricalCrossentropy', 'meanSquaredError'],
      lossWeights: { cls: 1, reg: 0.5 }, metrics: { cls: ['accuracy'] },
    });
    const { gpu } = await compareBackends(make, compile, x, y, { validation: true });
    // [total, cls_loss, reg_loss, cls_acc]
    expect(gpu.evaluated).toHaveLength(4);
    expect(Object.keys(gpu.epochs).sort()).toEqual(['cls_acc', 'cls_loss', 'loss', 'reg_loss', 'val_cls_acc', 'val_cls_loss', 'val_loss', 'val_reg_loss']);
    close(gpu.evaluated[0][0], gpu.evaluated[1][0] + 0.5 * gpu.evaluated[2][0], 'total = cls + 0.5·reg');
  });

  it('an output read by another layer (its gradient: loss + consumer), loss weights, a frozen layer', async () => {
    const make = () => {
      const x = input({ shape: [8] });
      const d1 = layers.dense({ units: 4, activation: 'tanh', trainable: false }).apply(x) as any;
      const aux = layers.dense({ units: 2, name: 'aux' }).apply(d1) as any;
      const main = layers.dense({ units: 3, activation: 'softmax', name: 'main' }).apply(layers.concatenate().apply([aux, d1])) as any;
      return model({ inputs: x, outputs: [aux, main], seed: 29 });
    };
    const x = tensor(randn(N * 8, 11), [N, 8]);
    const y = { aux: tensor(randn(N * 2, 12), [N, 2]), main: classes(3) };
    const compile = (): CompileArgs => ({ optimizer: train.adam(0.02), loss: { aux: 'meanSquaredError', main: 'sparseCategoricalCrossentropy' }, lossWeights: [2, 1], metrics: ['accuracy'] });
    const { gpu } = await compareBackends(make, compile, x, y);
    await setBackend('wasm');
    const fresh = make();
    const initial = fresh.getWeights().map((t) => t.dataSync().slice());
    fresh.dispose();
    // The frozen layer's kernel and bias: the same bits as initialized; the others trained.
    expect(Buffer.from(gpu.weights[0].buffer).equals(Buffer.from(initial[0].buffer))).toBe(true);
    expect(Buffer.from(gpu.weights[1].buffer).equals(Buffer.from(initial[1].buffer))).toBe(true);
    expect(maxRelErr(gpu.weights[2], initial[2])).toBeGreaterThan(1e-3);
    expect(gpu.evaluated).toHaveLength(5); // total, aux_loss, main_loss, aux_acc, main_acc
  });

  it('maximum and minimum with broadcasting (size-1 axis and lower rank)', async () => {
    const make = () => {
      const x = input({ shape: [4, 3] });
      const a = layers.dense({ units: 3 }).apply(x) as any; // [4, 3]
      const b = layers.dense({ units: 1, activation: 'tanh' }).apply(x) as any; // [4, 1]
      const c = layers.dense({ units: 3, activation: 'sigmoid' }).apply(layers.flatten().apply(x)) as any; // [3]
      const mx = layers.maximum().apply([a, b]) as any;
      const mn = layers.minimum().apply([mx, c, a]) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(layers.flatten().apply(mn)) as any;
      return model({ inputs: x, outputs: out, seed: 26 });
    };
    await compareBackends(make, adam(0.02), tensor(randn(N * 12, 8), [N, 4, 3]), classes(3));
  });

  it('a nested model applied twice inside another (shared conv weights), averaged', async () => {
    const make = () => {
      const i = input({ shape: [6, 6, 2] });
      const conv = layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu' }).apply(i) as any;
      const inner = model({ inputs: i, outputs: layers.dense({ units: 4, activation: 'relu' }).apply(layers.flatten().apply(conv)) as any, seed: 27 });
      const xa = input({ shape: [6, 6, 2] }), xb = input({ shape: [6, 6, 2] });
      const avg = layers.average().apply([inner.apply(xa) as any, inner.apply(xb) as any]) as any;
      const out = layers.dense({ units: 3, activation: 'softmax' }).apply(avg) as any;
      return model({ inputs: [xa, xb], outputs: out, seed: 28 });
    };
    await compareBackends(make, adam(), [images(9), images(10)], classes(3));
  });

  it('weight and activity regularizers: the penalty in every loss and its gradient, as on wasm', async () => {
    const make = () => {
      const i = input({ shape: [6, 6, 2] });
      const c = layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', kernelRegularizer: regularizers.l2({ l2: 0.02 }), activityRegularizer: regularizers.l1({ l1: 0.01 }) }).apply(i) as any;
      const d = layers.dense({ units: 4, activation: 'tanh', biasRegularizer: regularizers.l1l2({ l1: 0.01, l2: 0.03 }), biasInitializer: 'ones' }).apply(layers.flatten().apply(c)) as any;
      return model({ inputs: i, outputs: layers.dense({ units: 3, activation: 'softmax' }).apply(d) as any, seed: 31 });
    };
    await compareBackends(make, adam(), images(12), classes(3), { validation: true });
  });

  it('cross-entropy on a softmax output that another layer also reads (not fusable) is a clear Error on webgpu', async () => {
    await setBackend('webgpu');
    const x = input({ shape: [4] });
    const p = layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as any;
    const q = layers.dense({ units: 1, name: 'score' }).apply(p) as any;
    const m = model({ inputs: x, outputs: [p, q], seed: 30 });
    m.compile({ optimizer: 'adam', loss: ['sparseCategoricalCrossentropy', 'meanSquaredError'] });
    const xs = tensor(randn(4 * 4, 13), [4, 4]);
    await expect(m.fit(xs, [Float32Array.from([0, 1, 2, 0]), tensor([0, 1, 0, 1], [4, 1])])).rejects.toThrow(/output probs.*not implemented on WebGPU/);
    m.dispose();
  });
});
