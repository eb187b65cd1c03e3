// BatchNormalization (src/layers/batch-norm.ts) on the WebGPU backend: the same layer code the wasm
// suite (batchnorm.test.ts) runs, its kernels recorded by GpuKernels (WGSL from
// src/webgpu/kernels/batchnorm.ts), against the float64 reference, training and inference, forward,
// moving-statistics update and backward. Small shapes: SwiftShader is slow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layers, sequential, tensor, train } from '../src/index.js';
import { maxRelErr, randn } from './helpers/random.js';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import type { StepContext } from '../src/layers/layer.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import { GpuKernels } from '../src/webgpu/gpu-kernels.js';
import { AFFINE_ACTS, AFFINE_CASES, BN_CASES, affineCase, checkBnCase, type BnRun, type BnRunner } from './helpers/batchnorm-cases.js';

let ctx: GpuContext;
beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const gpuBuf = (b: unknown) => (b as { buf: GPUBuffer }).buf;

const runGpu: BnRunner = async (layer, batch, training, x, dy, weights): Promise<BnRun> => {
  const gk = new GpuKernels(ctx);
  let off = 0;
  for (const w of layer.weights) {
    w.offset = off;
    off += Math.ceil(size(w.shape) / 16) * 16;
  }
  const flat = new Float32Array(Math.max(off, 1));
  layer.weights.forEach((w, i) => flat.set(weights[i], w.offset));
  const upload = (v: Float32Array) => {
    const b = gk.alloc(v.length, 'test');
    ctx.write(gpuBuf(b), v);
    return b;
  };
  const params = upload(flat), grads = upload(new Float32Array(flat.length).fill(777));
  const bx = upload(x), bdy = upload(dy);
  const y = upload(new Float32Array(x.length).fill(NaN)), dx = upload(new Float32Array(x.length).fill(1234.5));
  const step: StepContext = { k: gk, params, grads, batch, training, logits: false, weightsVersion: 0 };
  const buf = layer.plan(gk, batch, training, { y, dx });
  const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
  gk.target = fwd;
  layer.forward(step, buf, bx);
  gk.target = bwd;
  layer.backward(step, buf, bx, bdy);
  ctx.submit(fwd);
  ctx.submit(bwd);
  const p = await ctx.read('test', gpuBuf(params), flat.length);
  const g = await ctx.read('test', gpuBuf(grads), flat.length);
  const w = (name: string, from: Float32Array) => {
    const s = layer.weights.find((v) => v.name === name);
    return s ? from.slice(s.offset, s.offset + size(s.shape)) : undefined;
  };
  const r: BnRun = {
    y: await ctx.read('test', gpuBuf(y), x.length), dx: await ctx.read('test', gpuBuf(dx), x.length),
    dgamma: w('gamma', g), dbeta: w('beta', g), movingMean: w('moving_mean', p)!, movingVar: w('moving_variance', p)!,
  };
  buf.free();
  gk.dispose();
  return r;
};

describe('batchNormalization on WebGPU vs float64 reference', () => {
  let seed = 1;
  // Every other line of the wasm table (SwiftShader is slow), both modes.
  for (const c of BN_CASES.filter((_, i) => i % 2 === 0 || isInnerAxis(BN_CASES[i][1]))) {
    for (const training of [true, false]) {
      const s = seed++;
      it(`[${c[0]}] axis ${c[1]} batch ${c[2]}${c[3] ? '' : ' no center'}${c[4] ? '' : ' no scale'} ${training ? 'training' : 'inference'}`,
        () => checkBnCase(runGpu, c, training, s, 2e-5));
    }
  }
});

function isInnerAxis(axis: number): boolean {
  return axis !== -1;
}

describe('bnAffine fused activations (WebGPU)', () => {
  for (const act of AFFINE_ACTS) {
    it(act, async () => {
      for (const [i, [outer, C, inner]] of AFFINE_CASES.entries()) {
        const { x, coef, want } = affineCase(outer, C, inner, act, 10 + i);
        const gk = new GpuKernels(ctx);
        const up = (v: Float32Array) => {
          const b = gk.alloc(v.length, 'test');
          ctx.write(gpuBuf(b), v);
          return b;
        };
        const bx = up(x), bc = up(coef), by = gk.alloc(x.length, 'y');
        const p = gk.bnPlan(outer, C, inner);
        const ds: Dispatch[] = [];
        gk.target = ds;
        gk.bnAffine(p, act, bx, bc, by);
        ctx.submit(ds);
        expect(maxRelErr(await ctx.read('test', gpuBuf(by), x.length), want), `[${outer}, ${C}, ${inner}]`).toBeLessThan(1e-6);
        p.free();
        gk.dispose();
      }
    });
  }
});

describe('a model with batchNormalization fits on WebGPU as on wasm', () => {
  const make = (frozen: boolean) => {
    const m = sequential({ seed: 3, layers: [
      // No conv bias: BN cancels it, so its gradient is rounding noise that Adam would amplify.
      layers.conv2d({ filters: 4, kernelSize: 3, inputShape: [5, 5, 2], useBias: false }),
      layers.batchNormalization({ momentum: 0.8 }),
      layers.activation({ activation: 'relu' }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    if (frozen) m.layers[1].trainable = false;
    m.compile({ optimizer: train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    return m;
  };
  for (const frozen of [false, true]) {
    it(frozen ? 'frozen BN: inference mode, moving statistics kept' : 'Adam, 3 steps: every weight (moving statistics too)', async () => {
      const n = 12;
      const x = tensor(randn(n * 50, 4, 2), [n, 5, 5, 2]), y = tensor(Array.from({ length: n }, (_, i) => i % 3), [n]);
      const out: Float32Array[][] = [];
      for (const b of ['wasm', 'webgpu'] as const) {
        await setBackend(b);
        const m = make(frozen);
        await m.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false });
        out.push(m.getWeights().map((w) => w.dataSync().slice()));
        m.dispose();
      }
      await setBackend('webgpu');
      out[0].forEach((w, i) => expect(maxRelErr(out[1][i], w), `weight ${i}`).toBeLessThan(1e-4));
      const init = make(frozen).getWeights().map((w) => w.dataSync());
      // Moving statistics (the last two): moved in training, untouched when frozen.
      for (const i of [init.length - 2, init.length - 1]) {
        if (frozen) expect(Array.from(out[1][i])).toEqual(Array.from(init[i]));
        else expect(maxRelErr(out[1][i], init[i])).toBeGreaterThan(1e-3);
      }
    });
  }
});
