// DepthwiseConv2D, SeparableConv2D and Conv2DTranspose (src/layers/depthwise.ts) on the WebGPU
// backend: the same layer code, its kernels recorded by the GPU kernel set (WGSL from
// src/webgpu/kernels/depthwise.ts and the conv kernels), forward and backward (y, dx, every weight
// gradient) against the float64 reference (depthwise) and the wasm kernels (which their own suites
// check against the references). Weights sit at a float offset in one flat buffer, as in a model.
// Small shapes: SwiftShader is slow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import type { Buf, Kernels } from '../src/backend/kernels.js';
import { runtime } from '../src/backend/runtime.js';
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { layers } from '../src/layers/index.js';
import type { Layer, StepContext } from '../src/layers/layer.js';
import { DepthwiseConv2D } from '../src/layers/depthwise.js';
import { depthwiseGeometry } from '../src/ops/depthwise.js';
import { refDepthwiseBackward, refDepthwiseForward } from '../src/reference/depthwise.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import { GpuKernels } from '../src/webgpu/gpu-kernels.js';
import { maxRelErr, randn } from './helpers/random.js';

let ctx: GpuContext;
beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const OFFSET = 5;

interface Run { y: Float32Array; dx: Float32Array; grads: Float32Array }

/** Builds nothing: runs an already built layer's plan/forward/backward on kernels k. */
async function runOn(k: Kernels, layer: Layer, batch: number, params: Float32Array, x: Float32Array, dy: Float32Array): Promise<Run> {
  const gpu = k instanceof GpuKernels;
  const upload = (v: Float32Array, label: string): Buf => {
    const b = k.alloc(v.length, label);
    if (gpu) ctx.write((b as { buf: GPUBuffer }).buf, v);
    else runtime().heap.writeF32(b as number, v);
    return b;
  };
  const read = async (b: Buf, n: number, off = 0) =>
    (gpu ? await ctx.read('test', (b as { buf: GPUBuffer }).buf, n, off) : runtime().heap.readF32((b as number) + off * 4, n));
  const yN = batch * size(layer.outShape);
  const pb = upload(params, 'params'), gb = upload(new Float32Array(params.length).fill(99), 'grads');
  const xb = upload(x, 'x'), dyb = upload(dy, 'dy');
  const y = upload(new Float32Array(yN).fill(NaN), 'y'), dx = upload(new Float32Array(x.length).fill(1234.5), 'dx');
  const step: StepContext = { k, params: pb, grads: gb, batch, training: true, logits: false, weightsVersion: 0 };
  const buf = layer.plan(k, batch, true, { y, dx });
  if (gpu) {
    const gk = k as GpuKernels;
    const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
    gk.target = fwd;
    layer.forward(step, buf, xb);
    gk.target = bwd;
    layer.backward(step, buf, xb, dyb);
    ctx.submit(fwd);
    ctx.submit(bwd);
  } else {
    layer.forward(step, buf, xb);
    layer.backward(step, buf, xb, dyb);
  }
  const out = { y: await read(y, yN), dx: await read(dx, x.length), grads: (await read(gb, params.length - OFFSET, OFFSET)) };
  buf.free();
  if (!gpu) for (const b of [pb, gb, xb, dyb, y, dx]) k.free(b);
  return out;
}

function setup(layer: Layer, inShape: number[], batch: number, seed: number) {
  layer.build(inShape);
  let off = OFFSET;
  for (const w of layer.weights) { w.offset = off; off += size(w.shape); }
  const params = randn(off, seed, 0.5);
  // A ReLU6 layer's bias at 7 makes the clip at 6 show.
  if (layer.getConfig().activation === 'relu6' && layer.weights[1]) params.fill(7, layer.weights[1].offset, layer.weights[1].offset + 2);
  const x = randn(batch * size(inShape), seed + 1);
  const dy = randn(batch * size(layer.outShape), seed + 2);
  return { params, x, dy };
}

// One line per case: the layer, per-example input shape, batch.
const cases: [string, () => Layer, number[], number][] = [
  ['depthwise 3×3 dm 1 same relu', () => layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu' }), [5, 6, 4], 2],
  ['depthwise 3×2 dm 2 stride 2 valid relu6-free tanh', () => layers.depthwiseConv2d({ kernelSize: [3, 2], depthMultiplier: 2, strides: 2, activation: 'tanh' }), [7, 6, 3], 1],
  ['depthwise 3×3 dm 3 dilation 2 same no bias', () => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 3, dilationRate: 2, padding: 'same', useBias: false }), [6, 6, 5], 2],
  ['depthwise 3×3 dm 2 same relu6 (fused; bias ones·7 clips)', () => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu6' }), [4, 5, 3], 2],
  ['separable dm 1 elu (backward from its input)', () => layers.separableConv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'elu' }), [4, 4, 4], 1],
  ['separable dm 2 same relu', () => layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }), [5, 5, 3], 2],
  ['separable stride 2 valid sigmoid', () => layers.separableConv2d({ filters: 3, kernelSize: 2, strides: 2, activation: 'sigmoid' }), [6, 7, 4], 1],
  ['conv2dTranspose stride 2 same relu', () => layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), [3, 4, 2], 2],
  ['conv2dTranspose stride 3 > kernel 2 valid linear', () => layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3 }), [3, 3, 3], 1],
  ['conv2dTranspose 1×1 stride 1 tanh', () => layers.conv2dTranspose({ filters: 4, kernelSize: 1, activation: 'tanh' }), [3, 3, 3], 2],
];

describe('webgpu depthwise / separable / transposed convolutions vs wasm and the float64 reference', () => {
  for (const [name, make, inShape, batch] of cases) {
    it(`${name}, [${inShape}] batch ${batch}`, async () => {
      const seed = inShape.reduce((a, b) => a * 7 + b, batch);
      const layerG = make(), layerW = make();
      const { params, x, dy } = setup(layerG, inShape, batch, seed);
      setup(layerW, inShape, batch, seed);
      const gk = new GpuKernels(ctx);
      const g = await runOn(gk, layerG, batch, params, x, dy);
      gk.dispose();
      const w = await runOn(wasmKernels, layerW, batch, params, x, dy);
      expect(maxRelErr(g.y, w.y), 'y').toBeLessThan(1e-5);
      expect(maxRelErr(g.dx, w.dx), 'dx').toBeLessThan(1e-5);
      expect(maxRelErr(g.grads, w.grads), 'grads').toBeLessThan(1e-5);
      if (layerG instanceof DepthwiseConv2D && layerG.className === 'DepthwiseConv2D' && layerG.activation !== 'tanh') {
        const geo = depthwiseGeometry('ref', [batch, ...inShape], [...layerG.kernelSize, inShape[2], layerG.depthMultiplier], layerG.strides, layerG.padding, layerG.dilationRate);
        const wOff = layerG.weights[0].offset, wN = size(layerG.weights[0].shape);
        const wt = params.subarray(wOff, wOff + wN);
        const bias = layerG.useBias ? params.subarray(layerG.weights[1].offset, layerG.weights[1].offset + geo.outC) : undefined;
        const act = layerG.activation as 'relu' | 'relu6' | 'linear';
        expect(maxRelErr(g.y, refDepthwiseForward(geo, x, wt, bias, act)), 'y vs reference').toBeLessThan(1e-5);
        if (act === 'relu6') expect(g.y.some((v) => v === 6)).toBe(true);
        const r = refDepthwiseBackward(geo, x, wt, g.y, dy, act);
        expect(maxRelErr(g.dx, r.dx), 'dx vs reference').toBeLessThan(1e-5);
        expect(maxRelErr(g.grads.subarray(wOff - OFFSET, wOff - OFFSET + wN), r.dw), 'dw vs reference').toBeLessThan(1e-5);
        if (bias) expect(maxRelErr(g.grads.subarray(layerG.weights[1].offset - OFFSET, layerG.weights[1].offset - OFFSET + geo.outC), r.db), 'db vs reference').toBeLessThan(1e-5);
      }
    });
  }
});

describe('a model of these layers trains on webgpu as on wasm', () => {
  it('depthwise (relu6) → separable (relu) → conv2dTranspose (tanh) → dense: predict, 3 Adam steps, weights', async () => {
    const { getBackend } = await import('../src/backend/backend.js');
    const sc = await import('../src/index.js');
    const N = 12;
    const x = sc.tensor(randn(N * 6 * 6 * 2, 5), [N, 6, 6, 2]);
    const y = sc.tensor(Float32Array.from({ length: N }, (_, i) => i % 3), [N]);
    const run = async (backend: 'wasm' | 'webgpu') => {
      await setBackend(backend);
      expect(getBackend()).toBe(backend);
      const inp = sc.input({ shape: [6, 6, 2] });
      const a = sc.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu6' }).apply(inp);
      const b = sc.layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(a);
      const c = sc.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, activation: 'tanh' }).apply(b);
      const out = sc.layers.dense({ units: 3, activation: 'softmax' }).apply(sc.layers.flatten().apply(c));
      const m = sc.model({ inputs: inp, outputs: out, seed: 4 });
      m.compile({ optimizer: sc.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
      const pred0 = (await (m.predict(x, { batchSize: 5 }) as Awaited<ReturnType<typeof sc.tensor>>).data()).slice();
      const losses: number[] = [];
      await m.fit(x, y, { batchSize: 4, epochs: 1, shuffle: false, callbacks: { onBatchEnd: (_b, logs) => { losses.push((logs as { loss: number }).loss); } } });
      const weights = m.getWeights().map((t) => t.dataSync().slice());
      m.dispose();
      return { pred0, losses, weights };
    };
    const cpu = await run('wasm');
    const gpu = await run('webgpu');
    expect(maxRelErr(gpu.pred0, cpu.pred0)).toBeLessThan(1e-4);
    expect(gpu.losses).toHaveLength(3);
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i])).toBeLessThan(1e-4));
    cpu.weights.forEach((w, i) => expect(maxRelErr(gpu.weights[i], w), `weight ${i}`).toBeLessThan(1e-4));
  });
});
