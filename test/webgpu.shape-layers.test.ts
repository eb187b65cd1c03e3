// The shape layers (src/layers/global-pooling.ts, padding.ts, upsampling.ts, reshape.ts,
// preprocessing.ts) on the WebGPU backend: the same layer code the wasm suite
// (shape-layers.test.ts) runs, its kernels recorded by the GPU kernel set (WGSL from
// src/webgpu/kernels/shape.ts and merge.ts, pool.ts), against the float64 references of
// src/reference/shape.ts. A few cases per layer: SwiftShader is slow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import { createRng } from '../src/data/batches.js';
import type { Layer, StepContext } from '../src/layers/layer.js';
import { SpatialDropout2D } from '../src/layers/preprocessing.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import { GpuKernels } from '../src/webgpu/gpu-kernels.js';
import { SHAPE_CASES } from './helpers/shape-cases.js';
import { maxRelErr, randn } from './helpers/random.js';
import * as sc from '../src/index.js';

let ctx: GpuContext;
beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function runGpu(layer: Layer, inShape: number[], batch: number, x: Float32Array, dy: Float32Array) {
  layer.buildFrom([inShape]);
  const gk = new GpuKernels(ctx);
  const outN = batch * size(layer.outShape), inN = batch * size(inShape);
  const upload = (v: Float32Array) => {
    const b = gk.alloc(v.length, 'test input');
    ctx.write((b as { buf: GPUBuffer }).buf, v);
    return b;
  };
  const bx = upload(x), by = upload(new Float32Array(outN).fill(NaN)), bdx = upload(new Float32Array(inN).fill(1234.5)), bdy = upload(dy);
  const step: StepContext = { k: gk, params: by, grads: by, batch, training: true, logits: false, weightsVersion: 0 };
  const buf = layer.plan(gk, batch, true, { y: by, dx: bdx });
  const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
  gk.target = fwd;
  layer.forward(step, buf, bx);
  gk.target = bwd;
  layer.backward(step, buf, bx, bdy);
  gk.runHostActions();
  ctx.submit(fwd);
  const y = await ctx.read('test', (by as { buf: GPUBuffer }).buf, outN);
  ctx.submit(bwd);
  const dx = await ctx.read('test', (bdx as { buf: GPUBuffer }).buf, inN);
  buf.free();
  gk.dispose();
  return { y, dx };
}

// A few cases per layer: the first two of each kind, and every bilinear one.
const seen = new Map<string, number>();
const picked = SHAPE_CASES.filter((c) => {
  const kind = c.name.split(' ').slice(0, 2).join(' ');
  const n = seen.get(kind) ?? 0;
  seen.set(kind, n + 1);
  return n < 2 || c.name.includes('bilinear');
});

describe('webgpu shape layers vs float64 reference', () => {
  for (const c of picked) {
    it(c.name, async () => {
      const inN = c.batch * size(c.inShape);
      const x = randn(inN, inN * 7 + c.name.length, 2);
      const yRef = c.ref(x);
      const dy = randn(yRef.length, inN + 13);
      const run = await runGpu(c.make(), c.inShape, c.batch, x, dy);
      // WGSL's f32 arithmetic may contract or reorder slightly: 1e-6 everywhere.
      expect(maxRelErr(run.y, yRef)).toBeLessThanOrEqual(Math.max(c.tol, 1e-6));
      expect(maxRelErr(run.dx, c.refBack(x, dy))).toBeLessThanOrEqual(Math.max(c.tol, 1e-6));
    });
  }
  it('spatialDropout2d: whole channels, the same mask forward and backward', async () => {
    const l = new SpatialDropout2D({ rate: 0.5 });
    l.rng = createRng(3);
    const inShape = [2, 3, 4], batch = 3;
    const x = randn(batch * 24, 1, 2), dy = randn(batch * 24, 2);
    const { y, dx } = await runGpu(l, inShape, batch, x, dy);
    let kept = 0, dropped = 0;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < 4; c++) {
        const f = new Set<string>();
        for (let p = 0; p < 6; p++) {
          const i = (b * 6 + p) * 4 + c;
          f.add((y[i] / x[i]).toFixed(5));
          expect(dx[i]).toBeCloseTo(dy[i] * (y[i] / x[i]), 5);
        }
        expect(f.size).toBe(1);
        if (f.has('0.00000')) dropped++; else kept++;
      }
    }
    expect(kept * dropped).toBeGreaterThan(0);
  });
});

// A whole model through the planner and the WebGPU runner: same seed on both backends, so
// predictions, losses and the trained weights agree (the spatial dropout masks too: same RNG).
describe('a model of shape layers trains the same on webgpu and wasm', () => {
  const N = 8;
  const build = () => {
    const L = sc.layers;
    const x = sc.input({ shape: [5, 4, 2] });
    const r = L.rescaling({ scale: 0.5, offset: -0.25 }).apply(x) as sc.SymbolicTensor;
    const p = L.zeroPadding2d({ padding: [[1, 0], [0, 2]] }).apply(r) as sc.SymbolicTensor;
    const c = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(p) as sc.SymbolicTensor;
    const d = L.spatialDropout2d({ rate: 0.3 }).apply(c) as sc.SymbolicTensor;
    const cr = L.cropping2D({ cropping: [[1, 0], [1, 2]] }).apply(d) as sc.SymbolicTensor;
    const u = L.upSampling2d({ size: [2, 1], interpolation: 'bilinear' }).apply(cr) as sc.SymbolicTensor;
    const pm = L.permute({ dims: [2, 1, 3] }).apply(L.upSampling2d({ size: [1, 2] }).apply(u) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const ga = L.globalAveragePooling2d().apply(pm) as sc.SymbolicTensor;
    const gm = L.reshape({ targetShape: [3] }).apply(L.globalMaxPooling2d({ keepDims: true }).apply(pm) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const out = L.dense({ units: 3, activation: 'softmax' }).apply(L.concatenate().apply([ga, gm]) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const m = sc.model({ inputs: x, outputs: out, seed: 11 });
    m.compile({ optimizer: sc.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    return m;
  };
  const run = async (backend: 'wasm' | 'webgpu') => {
    await setBackend(backend);
    const m = build();
    const xs = sc.tensor(randn(N * 40, 21, 2), [N, 5, 4, 2]), ys = sc.tensor(Float32Array.from({ length: N }, (_, i) => i % 3), [N]);
    const pred0 = (await (m.predict(xs) as sc.Tensor).data()).slice();
    const losses: number[] = [];
    await m.fit(xs, ys, { batchSize: 4, epochs: 2, shuffle: false, callbacks: { onBatchEnd: (_b, logs) => { losses.push((logs as { loss: number }).loss); } } });
    const pred = (await (m.predict(xs) as sc.Tensor).data()).slice();
    const weights = m.getWeights().map((w) => w.dataSync().slice());
    m.dispose();
    return { pred0, losses, pred, weights };
  };
  it('predict, per-batch losses, weights', async () => {
    const cpu = await run('wasm');
    const gpu = await run('webgpu');
    expect(maxRelErr(gpu.pred0, cpu.pred0)).toBeLessThan(1e-4);
    expect(gpu.losses).toHaveLength(4);
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i])).toBeLessThan(1e-4 * Math.max(1, cpu.losses[i])));
    cpu.weights.forEach((w, i) => expect(maxRelErr(gpu.weights[i], w), `weight ${i}`).toBeLessThan(1e-4));
    expect(maxRelErr(gpu.pred, cpu.pred)).toBeLessThan(1e-4);
    await setBackend('webgpu');
  });
});
