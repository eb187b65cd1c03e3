// The WGSL kernels against the float64 references (src/reference/*), on a real WebGPU device:
// Dawn for Node on whatever adapter the machine has (here Chromium's SwiftShader; see the
// 'webgpu' project in vitest.config.ts for the environment it needs). No adapter FAILS this file:
// the GPU path must be tested, not skipped. Shapes stay small (software adapters run ~1 GFLOP/s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, backend, getBackend, setBackend } from '../src/backend/backend.js';
import { conv2dGeometry, type Padding } from '../src/ops/conv.js';
import { poolGeometry, type PoolPadding } from '../src/ops/pool.js';
import { matMul as wasmMatMul } from '../src/ops/matmul.js';
import { tensor, Tensor } from '../src/tensor.js';
import { refGemm } from '../src/reference/gemm.js';
import { refConv2d, refConv2dBackpropFilter, refConv2dBackpropInput } from '../src/reference/conv.js';
import { refAvgPool, refAvgPoolBackward, refMaxPool, refMaxPoolBackward } from '../src/reference/pool.js';
import { refBiasGrad, refRelu, refReluBackward, refSigmoid, refSigmoidBackward, refSoftmax, refTanh, refTanhBackward } from '../src/reference/activations.js';
import { refSoftmaxXent } from '../src/reference/loss.js';
import { refAdam, refMomentum, refSgd } from '../src/reference/optim.js';
import type { GpuContext } from '../src/webgpu/context.js';
import * as k from '../src/webgpu/dispatches.js';
import { GpuTensor } from '../src/webgpu/gpu-tensor.js';
import { maxRelErr, randn } from './helpers/random.js';

let ctx: GpuContext;

beforeAll(async () => {
  // Throws (failing every test) when there is no adapter: no silent skip.
  await setBackend('webgpu');
  ctx = activeGpu()!;
  console.log(`WebGPU adapter: ${ctx.description} (fallback: ${ctx.isFallbackAdapter}, from ${ctx.source})`);
});
afterAll(async () => {
  await setBackend('wasm');
});

function upload(values: Float32Array | number[], fill?: number, n?: number): GPUBuffer {
  const b = ctx.buffer(n ?? values.length);
  ctx.write(b, fill === undefined ? Float32Array.from(values) : new Float32Array(n ?? values.length).fill(fill));
  return b;
}
const read = (b: GPUBuffer, n: number) => ctx.read('test', b, n);
async function run(ds: ReturnType<typeof k.gemm>[]) {
  ctx.submit(ds);
  for (const d of ds) d.uniform.destroy();
}
const tolFor = (reduction: number) => 2e-6 * Math.max(16, reduction);

describe('webgpu backend', () => {
  it('is active on a real adapter and says which', () => {
    expect(getBackend()).toBe('webgpu');
    expect(backend().description).toBe(ctx.description);
    expect(ctx.description.length).toBeGreaterThan(0);
  });

  it('GPU tensors read asynchronously; dataSync and wasm ops give an Error pointing to await data()', async () => {
    const t = backend().relu(tensor([-1, 2, -3, 4], [2, 2]));
    expect(t).toBeInstanceOf(GpuTensor);
    expect(Array.from(await t.data())).toEqual([0, 2, 0, 4]);
    expect(await t.array()).toEqual([[0, 2], [0, 4]]);
    expect(() => t.dataSync()).toThrow(/dataSync: the tensor of shape \[2,2\] is on the GPU.*await tensor\.data\(\)/);
    expect(() => wasmMatMul(t, t)).toThrow(/matMul: the tensor of shape \[2,2\] is on the GPU.*await tensor\.data\(\)/);
    t.dispose();
    await expect(t.data()).rejects.toThrow(/data: the tensor of shape \[2,2\] was already disposed/);
  });

  it('bad inputs name the op, the argument, the value and the expectation', () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => backend().matMul(a, a)).toThrow(/matMul: inner dimensions must agree: op\(a\) is \[2, 3\] and op\(b\) is \[2, 3\]/);
    expect(() => backend().conv2d(a, a, 1, 'valid')).toThrow(/conv2d: x must be a rank-3 or rank-4 tensor, got tensor of shape \[2, 3\]/);
    expect(() => backend().maxPool(tensor(new Float32Array(16), [1, 4, 4, 1]), 2, 1, 'full' as PoolPadding)).toThrow(/maxPool: pad must be 'valid', 'same' or a non-negative integer, got 'full'/);
    a.dispose();
  });
});

describe('webgpu gemm (tiled, all transpose combinations)', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 7, 3], [33, 17, 40], [64, 65, 31], [3, 100, 1], [40, 2, 70]];
  for (const [m, n, kk] of shapes) {
    for (const ta of [false, true]) for (const tb of [false, true]) {
      it(`m=${m} n=${n} k=${kk} transposeA=${ta} transposeB=${tb}`, async () => {
        const a = randn(m * kk, m * 31 + kk), b = randn(kk * n, n * 17 + kk);
        const A = tensor(a, ta ? [kk, m] : [m, kk]), B = tensor(b, tb ? [n, kk] : [kk, n]);
        const c = backend().matMul(A, B, ta, tb);
        expect(c.shape).toEqual([m, n]);
        expect(maxRelErr(await c.data(), refGemm(m, n, kk, a, ta, b, tb))).toBeLessThan(tolFor(kk));
        A.dispose(); B.dispose(); c.dispose();
      });
    }
  }
  it('epilogue: bias, ReLU and accumulate at buffer offsets', async () => {
    const m = 37, n = 19, kk = 23;
    const a = randn(m * kk, 1), b = randn(kk * n, 2), bias = randn(n, 3), c0 = randn(m * n, 4);
    // Operands at element offsets inside larger buffers, as the model's weight slices are.
    const A = upload([...new Float32Array(5), ...a]), B = upload([...new Float32Array(16), ...b, ...bias]);
    const C = upload([...new Float32Array(3), ...c0]);
    await run([k.gemm(ctx, m, n, kk, k.ref(A, 5), false, k.ref(B, 16), false, k.ref(C, 3), { bias: k.ref(B, 16 + kk * n), relu: true, accumulate: true })]);
    const got = (await read(C, 3 + m * n)).subarray(3);
    expect(maxRelErr(got, refGemm(m, n, kk, a, false, b, false, { bias, relu: true, c: c0 }))).toBeLessThan(tolFor(kk));
  });
});

type ConvCase = [string, number[], number[], number | [number, number], Padding, (number | [number, number])?];
const convCases: ConvCase[] = [
  ['1x1 pointwise (col = x)', [1, 4, 5, 3], [1, 1, 3, 2], 1, 'valid'],
  ['3x3 valid 1 channel', [1, 5, 5, 1], [3, 3, 1, 1], 1, 'valid'],
  ['3x3 same batch 3', [3, 6, 7, 3], [3, 3, 3, 5], 1, 'same'],
  ['2x2 stride 2 same, odd input', [1, 5, 5, 2], [2, 2, 2, 3], 2, 'same'],
  ['3x2 explicit uneven, stride [2,1]', [2, 6, 5, 3], [3, 2, 3, 4], [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ['2x2 stride 3 > kernel', [2, 9, 8, 3], [2, 2, 3, 2], 3, 'valid'],
  ['whole input, output 1x1 (col = x)', [3, 4, 5, 2], [4, 5, 2, 3], 1, 'valid'],
  ['dilation [2,3] stride 2 C=1', [2, 9, 10, 1], [2, 3, 1, 3], 2, 'valid', [2, 3]],
  ['CNN conv2 13x13x32 -> 3x3x64', [1, 13, 13, 32], [3, 3, 32, 64], 1, 'valid'],
];

describe('webgpu conv2d: forward, input and filter gradients (im2col + GEMM, col2im gather)', () => {
  for (const [name, xs, fs, strides, pad, dil] of convCases) {
    it(name, async () => {
      const g = conv2dGeometry('conv2d', xs, fs, strides, pad, dil ?? 1);
      const x = randn(g.batch * g.inH * g.inW * g.inC, 11), w = randn(g.K * g.outC, 12), dy = randn(g.M * g.outC, 13);
      const X = upload(x), W = upload(w), DY = upload(dy);
      // NaN in every output and scratch: the kernels must overwrite, never rely on zeroed memory.
      const Y = upload([], NaN, g.M * g.outC), DX = upload([], NaN, x.length), DW = upload([], NaN, w.length);
      const col = g.colIsInput ? undefined : upload([], NaN, g.colFloats);
      await run([
        ...k.conv2dForward(ctx, g, k.ref(X), k.ref(W), undefined, k.ref(Y), col, false),
        ...k.conv2dBackpropFilter(ctx, g, k.ref(X), k.ref(DY), k.ref(DW), col, true),
        ...k.conv2dBackpropInput(ctx, g, k.ref(DY), k.ref(W), DX, col),
      ]);
      expect(maxRelErr(await read(Y, g.M * g.outC), refConv2d(g, x, w))).toBeLessThan(tolFor(g.K));
      expect(maxRelErr(await read(DW, w.length), refConv2dBackpropFilter(g, x, dy))).toBeLessThan(tolFor(g.M));
      expect(maxRelErr(await read(DX, x.length), refConv2dBackpropInput(g, dy, w))).toBeLessThan(tolFor(g.kh * g.kw * g.outC));
      for (const b of [X, W, DY, Y, DX, DW, ...(col ? [col] : [])]) b.destroy();
    });
  }

  it('gradients match central finite differences of the GPU forward (L = Σ dy·conv(x, w))', async () => {
    const [xs, fs] = [[1, 5, 6, 2], [3, 2, 2, 3]];
    const x = randn(60, 21), w = randn(36, 22), dy = randn(1 * 5 * 3 * 3, 23);
    const X = tensor(x, xs), W = tensor(w, fs), DY = tensor(dy, [1, 5, 3, 3]);
    const loss = async (xv: Float32Array, wv: Float32Array) => {
      const a = tensor(xv, xs), b = tensor(wv, fs);
      const y = backend().conv2d(a, b, [1, 2], 'same');
      const d = await y.data();
      a.dispose(); b.dispose(); y.dispose();
      return d.reduce((s, v, i) => s + v * dy[i], 0);
    };
    const dx = await backend().conv2DBackpropInput(xs, DY, W, [1, 2], 'same').data();
    const dw = await backend().conv2DBackpropFilter(X, DY, fs as [number, number, number, number], [1, 2], 'same').data();
    const eps = 1e-2;
    for (const i of [0, 7, 31, 59]) {
      const p = Float32Array.from(x), q = Float32Array.from(x);
      p[i] += eps; q[i] -= eps;
      expect(Math.abs(((await loss(p, w)) - (await loss(q, w))) / (2 * eps) - dx[i])).toBeLessThan(2e-2 * (1 + Math.abs(dx[i])));
    }
    for (const i of [0, 13, 35]) {
      const p = Float32Array.from(w), q = Float32Array.from(w);
      p[i] += eps; q[i] -= eps;
      expect(Math.abs(((await loss(x, p)) - (await loss(x, q))) / (2 * eps) - dw[i])).toBeLessThan(2e-2 * (1 + Math.abs(dw[i])));
    }
    X.dispose(); W.dispose(); DY.dispose();
  });
});

type PoolCase = [string, number[], number | [number, number], number | [number, number], PoolPadding];
const poolCases: PoolCase[] = [
  ['2x2 stride 2 valid (the CNN)', [2, 6, 6, 3], 2, 2, 'valid'],
  ['3x3 stride 2 same, odd', [1, 7, 5, 2], 3, 2, 'same'],
  ['2x2 stride 3 > window', [1, 8, 7, 1], 2, 3, 'valid'],
  ['3x3 stride 1 pad 1', [2, 4, 5, 2], 3, 1, 1],
  ['1x1', [1, 3, 3, 5], 1, 1, 'valid'],
  ['whole input', [3, 4, 4, 2], 4, 1, 'valid'],
];

describe('webgpu pooling: max/avg forward (ops) and backward (gather)', () => {
  for (const [name, xs, f, s, pad] of poolCases) {
    it(name, async () => {
      const g = poolGeometry('maxPool', xs, f, s, pad);
      const x = randn(g.inSize, 31), dy = randn(g.outSize, 32);
      const X = tensor(x, xs);
      const ym = backend().maxPool(X, f, s, pad), ya = backend().avgPool(X, f, s, pad);
      expect(ym.shape).toEqual([g.batch, g.outH, g.outW, g.channels]);
      expect(maxRelErr(await ym.data(), refMaxPool(g, x).y)).toBe(0);
      expect(maxRelErr(await ya.data(), refAvgPool(g, x))).toBeLessThan(1e-6);
      const XB = upload(x), DY = upload(dy), Y = upload([], NaN, g.outSize), AM = upload([], NaN, g.outSize);
      const DXM = upload([], NaN, g.inSize), DXA = upload([], NaN, g.inSize);
      await run([
        k.maxPoolForward(ctx, g, k.ref(XB), Y, AM),
        k.maxPoolBackward(ctx, g, DY, AM, DXM),
        k.avgPoolBackward(ctx, g, DY, DXA),
      ]);
      expect(maxRelErr(await read(DXM, g.inSize), refMaxPoolBackward(g, x, dy))).toBeLessThan(1e-6);
      expect(maxRelErr(await read(DXA, g.inSize), refAvgPoolBackward(g, dy))).toBeLessThan(1e-6);
      X.dispose(); ym.dispose(); ya.dispose();
      for (const b of [XB, DY, Y, AM, DXM, DXA]) b.destroy();
    });
  }
});

describe('webgpu activations, softmax, bias gradient', () => {
  const n = 203;
  const x = randn(n, 41, 3), dy = randn(n, 42);
  const table = [
    ['relu', refRelu, refReluBackward],
    ['sigmoid', refSigmoid, refSigmoidBackward],
    ['tanh', refTanh, refTanhBackward],
  ] as const;
  for (const [act, fwd, bwd] of table) {
    it(`${act} forward (op) and backward (in place, from y)`, async () => {
      const y = backend()[act](tensor(x, [n]));
      const yv = await y.data();
      expect(maxRelErr(yv, fwd(x))).toBeLessThan(2e-6);
      const Y = upload(yv), G = upload(dy);
      await run([k.actBackward(ctx, act, n, k.ref(Y), k.ref(G))]);
      expect(maxRelErr(await read(G, n), bwd(x, dy))).toBeLessThan(2e-6);
      y.dispose(); Y.destroy(); G.destroy();
    });
  }
  for (const [rows, cols] of [[1, 1], [7, 10], [3, 33]]) {
    it(`softmax rows=${rows} cols=${cols}, and its backward`, async () => {
      const v = randn(rows * cols, rows + cols, 5), g = randn(rows * cols, 7);
      const y = backend().softmax(tensor(v, [rows, cols]));
      const yv = await y.data();
      const ref = refSoftmax(rows, cols, v);
      expect(maxRelErr(yv, ref)).toBeLessThan(2e-6);
      const Y = upload(yv), G = upload(g);
      await run([k.softmaxBackward(ctx, rows, cols, Y, G)]);
      const want = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += g[r * cols + j] * ref[r * cols + j];
        for (let j = 0; j < cols; j++) want[r * cols + j] = ref[r * cols + j] * (g[r * cols + j] - dot);
      }
      expect(maxRelErr(await read(G, rows * cols), want)).toBeLessThan(1e-5);
      y.dispose(); Y.destroy(); G.destroy();
    });
  }
  for (const [m, nn] of [[1, 1], [130, 7], [5, 64]]) {
    it(`biasGrad m=${m} n=${nn} (at an offset)`, async () => {
      const d = randn(m * nn, m + nn);
      const DY = upload(d), DB = upload([], NaN, nn + 9);
      await run([k.biasGrad(ctx, m, nn, DY, k.ref(DB, 9))]);
      expect(maxRelErr((await read(DB, nn + 9)).subarray(9), refBiasGrad(m, nn, d))).toBeLessThan(tolFor(m));
      DY.destroy(); DB.destroy();
    });
  }
});

describe('webgpu softmax cross-entropy (loss sum, correct count, gradient)', () => {
  for (const [rows, classes, sparse] of [[1, 1, true], [8, 10, true], [70, 10, true], [9, 4, false], [3, 17, false]] as const) {
    it(`rows=${rows} classes=${classes} ${sparse ? 'sparse' : 'dense'}`, async () => {
      const logits = randn(rows * classes, rows * 3 + classes, 4);
      const labels = sparse
        ? Float32Array.from({ length: rows }, (_, r) => (r * 7) % classes)
        : Float32Array.from(randn(rows * classes, 99), (v) => Math.abs(v));
      const ref = refSoftmaxXent(rows, classes, logits, labels, sparse, 1 / rows);
      const L = upload(logits), T = upload(labels), G = upload([], NaN, rows * classes), S = upload([], NaN, 4);
      await run([k.batchLoss(ctx, 'softmaxCrossEntropy', sparse, rows, classes, L, T, G, S, 1, false, 1 / rows)]);
      const s = await read(S, 4);
      expect(Math.abs(s[2] - ref.lossSum)).toBeLessThan(1e-5 * (1 + Math.abs(ref.lossSum)) * rows);
      expect(s[3]).toBe(ref.correct);
      expect(maxRelErr(await read(G, rows * classes), ref.dlogits)).toBeLessThan(1e-6);
      for (const b of [L, T, G, S]) b.destroy();
    });
  }
});

describe('webgpu optimizers (two steps each)', () => {
  const n = 300;
  const w0 = randn(n, 51), g1 = randn(n, 52), g2 = randn(n, 53);
  it('sgd', async () => {
    const W = upload(w0), G = upload(g1);
    await run([k.sgdStep(ctx, n, W, G, 0.1)]);
    ctx.write(G, g2);
    await run([k.sgdStep(ctx, n, W, G, 0.1)]);
    const ref = Float64Array.from(w0);
    refSgd(ref, g1, 0.1); refSgd(ref, g2, 0.1);
    expect(maxRelErr(await read(W, n), ref)).toBeLessThan(1e-6);
  });
  for (const nesterov of [false, true]) {
    it(`momentum nesterov=${nesterov}`, async () => {
      const W = upload(w0), G = upload(g1), V = upload([], 0, n);
      await run([k.momentumStep(ctx, n, W, G, V, 0.05, 0.9, nesterov)]);
      ctx.write(G, g2);
      await run([k.momentumStep(ctx, n, W, G, V, 0.05, 0.9, nesterov)]);
      const ref = Float64Array.from(w0), v = new Float64Array(n);
      refMomentum(ref, g1, v, 0.05, 0.9, nesterov); refMomentum(ref, g2, v, 0.05, 0.9, nesterov);
      expect(maxRelErr(await read(W, n), ref)).toBeLessThan(1e-6);
    });
  }
  it('adam (Keras epsilon placement, bias-corrected step size per step)', async () => {
    const W = upload(w0), G = upload(g1), M = upload([], 0, n), V = upload([], 0, n);
    const lrT = (t: number) => (1e-2 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    const d = k.adamStep(ctx, n, W, G, M, V, lrT(1), 0.9, 0.999, 1e-7);
    ctx.submit([d]);
    ctx.write(G, g2);
    ctx.setUniforms(d, [n, lrT(2), 0.9, 0.999, 1e-7]);
    ctx.submit([d]);
    const ref = Float64Array.from(w0), m = new Float64Array(n), v = new Float64Array(n);
    refAdam(ref, g1, m, v, 1, 1e-2, 0.9, 0.999, 1e-7); refAdam(ref, g2, m, v, 2, 1e-2, 0.9, 0.999, 1e-7);
    expect(maxRelErr(await read(W, n), ref)).toBeLessThan(1e-6);
    d.uniform.destroy();
  });
});

describe('tensor inputs', () => {
  it('ops take CPU tensors and GPU tensors alike', async () => {
    const a = tensor(randn(12, 1), [3, 4]), b = backend().upload(tensor(randn(8, 2), [4, 2]));
    expect(b).toBeInstanceOf(GpuTensor);
    const c = backend().matMul(a, b);
    expect(maxRelErr(await c.data(), refGemm(3, 2, 4, a.dataSync(), false, await b.data(), false))).toBeLessThan(1e-5);
    expect(a).toBeInstanceOf(Tensor);
    a.dispose(); b.dispose(); c.dispose();
  });
});
