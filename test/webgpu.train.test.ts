// The model on WebGPU against the same model on wasm: same seed, same batches, so every batch's
// loss, the weights after training, evaluate and predict must agree within float tolerance.
// Runs on a real device (here Dawn on SwiftShader); no adapter FAILS the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend, setBackend } from '../src/backend/backend.js';
import { layers, sequential, tensor, train, uint8Images, type Sequential } from '../src/index.js';
import { GpuTensor } from '../src/webgpu/gpu-tensor.js';
import { mnist } from './helpers/mnist.js';
import { maxRelErr, randn } from './helpers/random.js';

function referenceCnn(seed: number) {
  return sequential({
    seed,
    layers: [
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 64, activation: 'relu' }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

type CompileArgs = Parameters<Sequential['compile']>[0];

/**
 * Trains on `backend` and returns the per-batch losses, the model and the time. `compile` is a
 * factory: each model needs its own optimizer (a shared instance carries the first model's
 * iterations and Adam/momentum slots into the second, so the two runs would not start alike).
 */
async function trainOn(backendName: 'wasm' | 'webgpu', make: () => Sequential, compile: () => CompileArgs,
  x: Parameters<Sequential['fit']>[0], y: Parameters<Sequential['fit']>[1], batchSize: number, epochs = 1) {
  await setBackend(backendName);
  expect(getBackend()).toBe(backendName);
  const model = make();
  model.compile(compile());
  const losses: number[] = [];
  const t0 = performance.now();
  const h = await model.fit(x, y, { batchSize, epochs, shuffle: true, callbacks: { onBatchEnd: (_b, logs) => { losses.push(logs!.loss as number); } } });
  return { model, losses, history: h, ms: performance.now() - t0 };
}

afterAll(async () => {
  await setBackend('wasm');
});

describe('reference CNN on webgpu vs wasm', () => {
  let data: { x: ReturnType<typeof uint8Images>; y: Uint8Array };
  beforeAll(async () => {
    const { train: t } = await mnist();
    const n = 32;
    data = { x: uint8Images(t.images.subarray(0, n * 784), [28, 28, 1]), y: t.labels.subarray(0, n) };
  });

  it('4 Adam steps at batch 8 give the same losses, weights, evaluate and predict', async () => {
    const compile = (): CompileArgs => ({ optimizer: train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const cpu = await trainOn('wasm', () => referenceCnn(7), compile, data.x, data.y, 8);
    const [cpuLoss, cpuAcc] = (cpu.model.evaluate(data.x, data.y) as any[]).map((t) => t.dataSync()[0]);
    const cpuPred = cpu.model.predict(data.x).dataSync();
    const gpu = await trainOn('webgpu', () => referenceCnn(7), compile, data.x, data.y, 8);
    console.log(`reference CNN, 4 steps of batch 8: wasm ${cpu.ms.toFixed(0)} ms, webgpu ${gpu.ms.toFixed(0)} ms; losses wasm [${cpu.losses.map((l) => l.toFixed(5))}] webgpu [${gpu.losses.map((l) => l.toFixed(5))}]`);
    expect(gpu.losses).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(gpu.losses[i] - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-3);
    expect(Math.abs(gpu.history.history.acc[0] - cpu.history.history.acc[0])).toBeLessThan(1e-6);
    // fit copied the trained weights back to the heap: getWeights works synchronously.
    const wc = cpu.model.getWeights(), wg = gpu.model.getWeights();
    wc.forEach((t, i) => expect(maxRelErr(wg[i].dataSync(), t.dataSync())).toBeLessThan(1e-4));
    const ev = gpu.model.evaluate(data.x, data.y) as any[];
    expect(ev[0]).toBeInstanceOf(GpuTensor);
    expect(() => ev[0].dataSync()).toThrow(/await tensor\.data\(\)/);
    expect(Math.abs((await ev[0].data())[0] - cpuLoss) / cpuLoss).toBeLessThan(1e-3);
    expect(Math.abs((await ev[1].data())[0] - cpuAcc)).toBeLessThan(1e-6);
    const pred = gpu.model.predict(data.x, { batchSize: 16 });
    expect(pred.shape).toEqual([32, 10]);
    expect(maxRelErr(await pred.data(), cpuPred)).toBeLessThan(1e-4);
    cpu.model.dispose(); gpu.model.dispose(); pred.dispose();
  });
});

describe('other layers and losses on webgpu vs wasm', () => {
  it('avg pool, dropout, sigmoid/tanh dense, softmax activation layer, momentum; and MSE with SGD', async () => {
    const N = 12;
    const x = tensor(randn(N * 6 * 6 * 2, 5), [N, 6, 6, 2]);
    const y = Float32Array.from({ length: N }, (_, i) => i % 3);
    const make = () => sequential({
      seed: 3,
      layers: [
        layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', strides: 2, activation: 'tanh', inputShape: [6, 6, 2] }),
        layers.averagePooling2d({ poolSize: 2, strides: 1 }),
        layers.flatten(),
        layers.dropout({ rate: 0.25 }),
        layers.dense({ units: 5, activation: 'sigmoid' }),
        layers.dense({ units: 3 }),
        layers.activation({ activation: 'softmax' }),
      ],
    });
    const compile = (): CompileArgs => ({ optimizer: train.momentum(0.1, 0.9, true), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const cpu = await trainOn('wasm', make, compile, x, y, 5, 2);
    const gpu = await trainOn('webgpu', make, compile, x, y, 5, 2);
    expect(gpu.losses).toHaveLength(6);
    for (let i = 0; i < 6; i++) expect(Math.abs(gpu.losses[i] - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-3);
    const wc = cpu.model.getWeights(), wg = gpu.model.getWeights();
    wc.forEach((t, i) => expect(maxRelErr(wg[i].dataSync(), t.dataSync())).toBeLessThan(1e-4));

    const onehot = tensor(Array.from({ length: N * 3 }, (_, i) => (i % 3 === (Math.floor(i / 3) % 3) ? 1 : 0)), [N, 3]);
    const makeMse = () => sequential({ seed: 4, layers: [layers.flatten({ inputShape: [6, 6, 2] }), layers.dense({ units: 3, activation: 'relu' })] });
    const mseCompile = (): CompileArgs => ({ optimizer: train.sgd(0.05), loss: 'meanSquaredError' });
    const c2 = await trainOn('wasm', makeMse, mseCompile, x, onehot, 4, 1);
    const g2 = await trainOn('webgpu', makeMse, mseCompile, x, onehot, 4, 1);
    for (let i = 0; i < 3; i++) expect(Math.abs(g2.losses[i] - c2.losses[i]) / c2.losses[i]).toBeLessThan(1e-3);
    for (const m of [cpu.model, gpu.model, c2.model, g2.model]) m.dispose();
  });
});

describe('Sequential parity on webgpu: frozen layers, rank > 1 outputs', () => {
  it('a frozen conv layer keeps its weights bit for bit through fit (also after Adam slots built up), and the rest trains as on wasm', async () => {
    const N = 8;
    const x = tensor(randn(N * 5 * 5 * 2, 11), [N, 5, 5, 2]);
    const y = Float32Array.from({ length: N }, (_, i) => i % 3);
    const make = () => sequential({
      seed: 9,
      layers: [
        layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [5, 5, 2] }),
        layers.flatten(),
        layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const compile = (): CompileArgs => ({ optimizer: train.adam(0.05), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const runs = [];
    for (const b of ['wasm', 'webgpu'] as const) {
      await setBackend(b);
      const model = make();
      model.compile(compile());
      // One unfrozen epoch fills Adam's m and v for the conv weights; frozen, they must still not move.
      await model.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false });
      const conv = model.layers[0];
      conv.trainable = false;
      const before = model.getWeights().map((t) => t.dataSync().slice());
      const losses: number[] = [];
      await model.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false, callbacks: { onBatchEnd: (_b, logs) => { losses.push(logs!.loss as number); } } });
      const after = model.getWeights().map((t) => t.dataSync().slice());
      // conv kernel and bias: identical bits; dense: trained.
      expect(Buffer.from(after[0].buffer).equals(Buffer.from(before[0].buffer))).toBe(true);
      expect(Buffer.from(after[1].buffer).equals(Buffer.from(before[1].buffer))).toBe(true);
      expect(maxRelErr(after[2], before[2])).toBeGreaterThan(1e-3);
      runs.push({ model, losses, after });
    }
    const [cpu, gpu] = runs;
    expect(gpu.losses).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(gpu.losses[i] - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-3);
    cpu.after.forEach((w, i) => expect(maxRelErr(gpu.after[i], w)).toBeLessThan(1e-4));
    for (const r of runs) r.model.dispose();
  });

  it('dense on rank-2 samples: fit, validation and evaluate average loss/accuracy per output row as wasm does', async () => {
    const N = 10, R = 4;
    const x = tensor(randn(N * R * 5, 13), [N, R, 5]);
    const y = tensor(Array.from({ length: N * R }, (_, i) => (i * 7) % 3), [N, R]);
    const make = () => sequential({ seed: 5, layers: [layers.dense({ units: 6, activation: 'relu', inputShape: [R, 5] }), layers.dense({ units: 3, activation: 'softmax' })] });
    const compile = (): CompileArgs => ({ optimizer: train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const runs = [];
    for (const b of ['wasm', 'webgpu'] as const) {
      await setBackend(b);
      const model = make();
      model.compile(compile());
      const batches: { loss: number; acc: number }[] = [];
      const h = await model.fit(x, y, {
        batchSize: 4, epochs: 2, shuffle: false, validationData: [x, y],
        callbacks: { onBatchEnd: (_b, logs) => { batches.push({ loss: logs!.loss as number, acc: logs!.acc as number }); } },
      });
      const ev = model.evaluate(x, y) as any[];
      const evaluated = [(await ev[0].data())[0], (await ev[1].data())[0]];
      runs.push({ model, batches, h: h.history, evaluated });
    }
    const [cpu, gpu] = runs;
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-4 * Math.max(1, Math.abs(b)));
    expect(gpu.batches).toHaveLength(6);
    gpu.batches.forEach((g, i) => { close(g.loss, cpu.batches[i].loss); close(g.acc, cpu.batches[i].acc); });
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc'] as const) {
      expect(gpu.h[key]).toHaveLength(2);
      gpu.h[key].forEach((v: number, i: number) => close(v, cpu.h[key][i]));
    }
    // Accuracy is a fraction of rows (≤ 1), which dividing by examples would break.
    for (const a of [...gpu.h.acc, ...gpu.h.val_acc, gpu.evaluated[1]]) expect(a).toBeLessThanOrEqual(1);
    close(gpu.evaluated[0], cpu.evaluated[0]);
    close(gpu.evaluated[1], cpu.evaluated[1]);
    for (const r of runs) r.model.dispose();
  });
});

describe('learning-rate schedules on webgpu', () => {
  for (const [name, make] of [['sgd', () => train.sgd(0.1)], ['momentum', () => train.momentum(0.1, 0.5)], ['adam', () => train.adam(0.01)]] as const) {
    it(`${name}: optimizer.learningRate changed from onEpochBegin applies to the next step, as on wasm`, async () => {
      const x = tensor(randn(12 * 6, 8), [12, 6]), y = Float32Array.from({ length: 12 }, (_, i) => i % 3);
      const run = async (b: 'wasm' | 'webgpu') => {
        await setBackend(b);
        const m = sequential({ seed: 6, layers: [layers.dense({ units: 5, activation: 'tanh', inputShape: [6] }), layers.dense({ units: 3, activation: 'softmax' })] });
        const opt = make();
        m.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy' });
        const seen: number[][][] = [];
        await m.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, callbacks: {
          onEpochBegin: (e) => { opt.learningRate = [0.1, 0, 0.02][e]; },
          onEpochEnd: () => { seen.push(m.getWeights().map((t) => Array.from(t.dataSync()))); },
        } });
        m.dispose();
        return seen;
      };
      const cpu = await run('wasm'), gpu = await run('webgpu');
      // SGD and Adam stand still at rate 0; momentum still moves by its velocity (Keras).
      if (name !== 'momentum') expect(gpu[1]).toEqual(gpu[0]);
      cpu.forEach((epoch, e) => epoch.forEach((w, i) => expect(maxRelErr(Float32Array.from(gpu[e][i]), Float32Array.from(w))).toBeLessThan(1e-4)));
    });
  }
});
