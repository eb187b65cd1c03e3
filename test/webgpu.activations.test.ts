// The activation registry and the activation layers on the WebGPU backend: every activation name and
// parametric form through GpuKernels.activation / activationBackward (WGSL in
// src/webgpu/kernels/elementwise.ts), the strided softmax, and every activation layer's forward,
// input gradient and PReLU alpha gradient through the same layer code the wasm suite runs, against
// the float64 references. No adapter FAILS this file (see webgpu.kernels.test.ts). Tiny shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import type { Buf, KernelActivation } from '../src/backend/kernels.js';
import { needsInput } from '../src/layers/activation-fns.js';
import { PReLU } from '../src/layers/activation-layers.js';
import type { StepContext } from '../src/layers/layer.js';
import { refAct, refActBackward, refPreluBackward, refSoftmaxAxis, type RefAct } from '../src/reference/activations.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import { GpuKernels } from '../src/webgpu/gpu-kernels.js';
import { LAYER_CASES, refLayer } from './helpers/activation-cases.js';
import { maxRelErr, randn } from './helpers/random.js';
import { layers, sequential, tensor, train, type Tensor } from '../src/index.js';

let ctx: GpuContext;
beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const gbuf = (b: Buf) => (b as { buf: GPUBuffer }).buf;
function upload(gk: GpuKernels, v: ArrayLike<number>): Buf {
  const b = gk.alloc(v.length, 'test');
  ctx.write(gbuf(b), Float32Array.from(v));
  return b;
}

const CASES: [string, KernelActivation & RefAct][] = [
  ...(['relu', 'sigmoid', 'tanh', 'relu6', 'elu', 'selu', 'swish', 'gelu', 'gelu_new', 'mish', 'hardSigmoid', 'softplus', 'softsign'] as const).map(
    (a) => [a, a] as [string, KernelActivation & RefAct]),
  ['elu alpha 0.5', { op: 'elu', alpha: 0.5 }],
  ['leakyRelu 0.3', { op: 'leakyRelu', alpha: 0.3 }],
  ['ReLU slope 0.1 threshold -0.5 maxValue 3', { op: 'reluX', negativeSlope: 0.1, maxValue: 3, threshold: -0.5 }],
  ['ReLU maxValue 2, no slope', { op: 'reluX', negativeSlope: 0, maxValue: 2, threshold: 0 }],
  ['thresholdedRelu 1', { op: 'thresholdedRelu', theta: 1 }],
];
const EDGE = [-100, -20, -0, 0, 20, 100, 6.5, -2.7, 1.2];

describe('webgpu activation kernels vs float64', () => {
  for (const [label, act] of CASES) {
    it(label, async () => {
      const n = 41;
      const x = randn(n, label.length * 7, 3);
      x.set(EDGE, 0);
      const dy = randn(n, n + label.length);
      const gk = new GpuKernels(ctx);
      const bx = upload(gk, x), by = gk.alloc(n, 'y'), bdy = upload(gk, dy);
      const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
      gk.target = fwd;
      gk.activation(act, 1, n, bx, by);
      gk.target = bwd;
      gk.activationBackward(act, 1, n, by, bdy, needsInput(act) ? bx : undefined);
      ctx.submit(fwd);
      const y = await ctx.read('test', gbuf(by), n);
      ctx.submit(bwd);
      const dx = await ctx.read('test', gbuf(bdy), n);
      const yRef = refAct(act, x), dxRef = refActBackward(act, x, dy);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(y[i] - yRef[i]), `y at x=${x[i]}: ${y[i]} vs ${yRef[i]}`).toBeLessThan(1e-5 * (1 + Math.abs(yRef[i])));
        expect(Math.abs(dx[i] - dxRef[i]), `dx at x=${x[i]}: ${dx[i]} vs ${dxRef[i]}`).toBeLessThan(2e-5 * (1 + Math.abs(dxRef[i])));
      }
      gk.dispose();
    });
  }

  it('strided softmax forward and backward', async () => {
    const outer = 2, len = 3, inner = 5, n = outer * len * inner;
    const x = randn(n, 3, 2), dy = randn(n, 4);
    const gk = new GpuKernels(ctx);
    const bx = upload(gk, x), by = gk.alloc(n, 'y'), bdy = upload(gk, dy);
    const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
    gk.target = fwd;
    gk.activation({ op: 'softmaxAxis', inner }, outer, len, bx, by);
    gk.target = bwd;
    gk.activationBackward({ op: 'softmaxAxis', inner }, outer, len, by, bdy);
    ctx.submit(fwd);
    const y = await ctx.read('test', gbuf(by), n);
    ctx.submit(bwd);
    const dx = await ctx.read('test', gbuf(bdy), n);
    const ref = refSoftmaxAxis(outer, len, inner, x);
    for (let i = 0; i < n; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-6);
    for (let o = 0; o < outer; o++) for (let q = 0; q < inner; q++) {
      const at = (j: number) => (o * len + j) * inner + q;
      let dot = 0;
      for (let j = 0; j < len; j++) dot += dy[at(j)] * ref[at(j)];
      for (let j = 0; j < len; j++) expect(Math.abs(dx[at(j)] - ref[at(j)] * (dy[at(j)] - dot))).toBeLessThan(1e-5);
    }
    gk.dispose();
  });
});

describe('webgpu activation layers (the layer code, GPU kernels) vs float64', () => {
  for (const c of LAYER_CASES) {
    it(c.name, async () => {
      const l = c.make(), batch = 2, n = batch * size(c.shape);
      l.buildFrom([c.shape]);
      const alphaN = l.weights.length ? size(l.weights[0].shape) : 0;
      if (alphaN) l.weights[0].offset = 0;
      const alpha = randn(Math.max(1, alphaN), 9, 0.5);
      const x = randn(n, n + 1, 2), dy = randn(n, n + 2);
      const gk = new GpuKernels(ctx);
      const bx = upload(gk, x), by = gk.alloc(n, 'y'), bdy = upload(gk, dy);
      const params = upload(gk, alpha), grads = upload(gk, new Float32Array(Math.max(1, alphaN)).fill(777));
      const step: StepContext = { k: gk, params, grads, batch, training: true, logits: false, weightsVersion: 0 };
      const buf = l.plan(gk, batch, true, { y: by, dx: bdy });
      const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
      gk.target = fwd;
      l.forward(step, buf, bx);
      gk.target = bwd;
      l.backward(step, buf, bx, bdy);
      ctx.submit(fwd);
      const y = await ctx.read('test', gbuf(by), n);
      ctx.submit(bwd);
      const dx = await ctx.read('test', gbuf(bdy), n);
      const ga = alphaN ? await ctx.read('test', gbuf(grads), alphaN) : undefined;
      const yRef = refLayer(l, batch, Float64Array.from(x), alpha);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - yRef[i]), `y[${i}]`).toBeLessThan(1e-5 * (1 + Math.abs(yRef[i])));
      let dxRef: Float64Array;
      if (l instanceof PReLU) {
        const r = refPreluBackward(c.shape, l.alphaShape(), x, alpha, dy);
        dxRef = r.dx;
        for (let i = 0; i < alphaN; i++) expect(Math.abs(ga![i] - r.dalpha[i]), `dalpha[${i}]`).toBeLessThan(2e-5 * (1 + Math.abs(r.dalpha[i])));
      } else {
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
      buf.free();
      gk.dispose();
    });
  }
});

describe('models with the new activations: webgpu training agrees with wasm', () => {
  const make = () => sequential({ seed: 4, layers: [
    layers.conv2d({ filters: 3, kernelSize: 2, activation: 'gelu', inputShape: [4, 4, 2] }),
    layers.pReLU({ sharedAxes: [1, 2], alphaInitializer: 'ones' }),
    layers.conv2d({ filters: 3, kernelSize: 2, activation: 'mish' }),
    layers.softmax({ axis: 1 }),
    layers.flatten(),
    layers.dense({ units: 5, activation: 'swish' }),
    layers.activation({ activation: 'softplus' }),
    layers.leakyReLU(),
    layers.dense({ units: 5, activation: 'elu' }),
    layers.reLU({ maxValue: 1.5, negativeSlope: 0.1 }),
    layers.thresholdedReLU({ theta: 0.05 }),
    layers.dense({ units: 3, activation: 'selu' }),
  ] });
  async function runOn(name: 'wasm' | 'webgpu') {
    await setBackend(name);
    const m = make();
    m.compile({ optimizer: train.adam(0.02), loss: 'meanSquaredError' });
    const x = tensor(randn(8 * 32, 1, 1.5), [8, 4, 4, 2]), y = tensor(randn(8 * 3, 2), [8, 3]);
    const w0 = m.getWeights().map((t) => t.dataSync().slice());
    const h = await m.fit(x, y, { batchSize: 4, epochs: 2, shuffle: false });
    const p = m.predict(x) as Tensor;
    const pred = (await p.data()).slice();
    const weights = m.getWeights().map((t) => t.dataSync().slice());
    m.dispose();
    return { loss: h.history.loss as number[], pred, weights, w0 };
  }
  it('conv gelu → pReLU → conv mish → softmax(axis 1) → dense swish → softplus → leakyReLU → dense elu → reLU → thresholdedReLU → dense selu', async () => {
    const cpu = await runOn('wasm');
    const gpu = await runOn('webgpu');
    cpu.loss.forEach((l, i) => expect(Math.abs(gpu.loss[i] - l), `loss epoch ${i}`).toBeLessThan(1e-4 * (1 + Math.abs(l))));
    cpu.weights.forEach((w, i) => expect(maxRelErr(gpu.weights[i], w), `weight ${i}`).toBeLessThan(1e-3));
    expect(maxRelErr(gpu.pred, cpu.pred)).toBeLessThan(1e-3);
    // Training moved every layer's weights (PReLU's alpha included): the gradients reached them.
    cpu.weights.forEach((w, i) => expect(maxRelErr(w, cpu.w0[i]), `weight ${i} trained`).toBeGreaterThan(1e-4));
  });
});

describe('a softmax() layer output on webgpu', () => {
  it('fuses into sparse cross-entropy (trains, as on wasm)', async () => {
    const run = async (name: 'wasm' | 'webgpu') => {
      await setBackend(name);
      const m = sequential({ seed: 6, layers: [layers.dense({ units: 4, activation: 'relu6', inputShape: [3] }), layers.dense({ units: 3 }), layers.softmax()] });
      m.compile({ optimizer: train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
      const x = tensor(randn(12, 2, 2), [4, 3]), y = tensor([0, 1, 2, 1], [4]);
      const h = await m.fit(x, y, { batchSize: 4, epochs: 2 });
      const w = m.getWeights().map((t) => t.dataSync().slice());
      m.dispose();
      return { loss: h.history.loss as number[], w };
    };
    const cpu = await run('wasm'), gpu = await run('webgpu');
    cpu.loss.forEach((l, i) => expect(Math.abs(gpu.loss[i] - l)).toBeLessThan(1e-4 * (1 + l)));
    cpu.w.forEach((w, i) => expect(maxRelErr(gpu.w[i], w)).toBeLessThan(1e-4));
  });
});
