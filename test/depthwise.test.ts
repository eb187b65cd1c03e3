// Depthwise convolution kernels (assembly/depthwise.ts through the wasm Kernels: src/ops/depthwise.ts)
// against the float64 reference (src/reference/depthwise.ts): forward with the fused bias and
// linear/ReLU/ReLU6 epilogue, dX, dW and db, over a table of geometries (one line per case, each at
// batch 1 and 3); the thread split must not change a bit (1 vs 2 threads); the reference itself is
// checked against central differences.
import { afterAll, describe, expect, it } from 'vitest';
import { runtime, setThreads } from '../src/backend/runtime.js';
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { depthwiseConv2d, depthwiseGeometry, type DepthwiseActivation } from '../src/ops/depthwise.js';
import { tensor } from '../src/index.js';
import { refDepthwiseBackward, refDepthwiseForward, type RefDepthwiseParams } from '../src/reference/depthwise.js';
import { maxRelErr, randn } from './helpers/random.js';

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);

// [inH, inW, C, dm, kh, kw, stride, dilation, padding, act]
type Case = [number, number, number, number, number, number, number | [number, number], number, 'valid' | 'same', Exclude<DepthwiseActivation, 'swish'>];
const CASES: Case[] = [
  [5, 5, 4, 1, 1, 1, 1, 1, 'valid', 'linear'],
  [6, 7, 3, 1, 3, 3, 1, 1, 'same', 'relu'],
  [6, 7, 4, 1, 3, 3, 1, 1, 'valid', 'relu6'],
  [9, 8, 7, 1, 5, 5, 1, 1, 'same', 'linear'],
  [8, 9, 8, 2, 3, 3, 2, 1, 'same', 'relu'],
  [7, 7, 13, 1, 3, 3, 2, 1, 'valid', 'relu6'],
  [10, 9, 13, 3, 3, 5, 1, 1, 'same', 'linear'],
  [9, 10, 8, 1, 3, 3, 1, 2, 'same', 'relu'],
  [11, 11, 7, 2, 3, 3, 1, 2, 'valid', 'linear'],
  [10, 11, 4, 1, 2, 2, 3, 1, 'valid', 'relu6'],
  [10, 11, 3, 2, 1, 1, 3, 1, 'same', 'linear'],
  [8, 8, 16, 1, 3, 3, [2, 1], 1, 'same', 'relu'],
  [7, 6, 20, 1, 3, 3, 1, 1, 'same', 'relu6'],
  [12, 5, 5, 3, 4, 2, [3, 2], 1, 'same', 'linear'],
];

interface Out { y: Float32Array; dx: Float32Array; dw: Float32Array; db: Float32Array }

function run(xShape: number[], wShape: number[], stride: number | [number, number], dil: number, pad: 'valid' | 'same',
  act: Exclude<DepthwiseActivation, 'swish'>, x: Float32Array, w: Float32Array, bias: Float32Array, dy: Float32Array): Out {
  const { heap } = runtime();
  const g = depthwiseGeometry('test', xShape, wShape, stride, pad, dil);
  const p = wasmKernels.depthwisePlan(g, true);
  const yN = g.M * g.outC, xN = x.length;
  const px = heapArray(x), pw = heapArray(w), pb = heapArray(bias), pdy = heapArray(dy);
  const py = heapArray(new Float32Array(yN).fill(NaN));
  const pdx = heapArray(new Float32Array(xN).fill(1234.5)), pdw = heapArray(new Float32Array(w.length).fill(77)), pdb = heapArray(new Float32Array(bias.length).fill(-5));
  wasmKernels.depthwiseForward(p, px, pw, pb, py, act);
  wasmKernels.depthwiseBackward(p, px, pw, py, pdy, act, pdx, pdw, pdb);
  const out = { y: read(py, yN), dx: read(pdx, xN), dw: read(pdw, w.length), db: read(pdb, bias.length) };
  p.free();
  for (const q of [px, pw, pb, pdy, py, pdx, pdw, pdb]) heap.free(q);
  return out;
}

function refParams(xShape: number[], wShape: number[], stride: number | [number, number], dil: number, pad: 'valid' | 'same'): RefDepthwiseParams {
  const g = depthwiseGeometry('ref', xShape, wShape, stride, pad, dil);
  return { batch: g.batch, inH: g.inH, inW: g.inW, inC: g.inC, dm: g.dm, kh: g.kh, kw: g.kw, strideH: g.strideH, strideW: g.strideW,
    dilH: g.dilH, dilW: g.dilW, padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW };
}

const TOL = 2e-5;

describe('depthwise convolution vs the float64 reference', () => {
  for (const [h, wd, c, dm, kh, kw, stride, dil, pad, act] of CASES) {
    for (const batch of [1, 3]) {
      it(`${h}×${wd}×${c} dm ${dm}, ${kh}×${kw} stride ${stride} dil ${dil} ${pad} ${act}, batch ${batch}`, () => {
        const xShape = [batch, h, wd, c], wShape = [kh, kw, c, dm];
        const p = refParams(xShape, wShape, stride, dil, pad);
        const x = randn(batch * h * wd * c, 1 + h), w = randn(kh * kw * c * dm, 2 + c, 0.5);
        // relu6 needs outputs above 6: scale the bias up, output channel 0's well above.
        const bias = randn(c * dm, 3, act === 'relu6' ? 6 : 0.5);
        if (act === 'relu6') bias[0] = 9;
        const dy = randn(batch * p.outH * p.outW * c * dm, 4);
        const got = run(xShape, wShape, stride, dil, pad, act, x, w, bias, dy);
        const yRef = refDepthwiseForward(p, x, w, bias, act);
        expect(maxRelErr(got.y, yRef)).toBeLessThan(TOL);
        // The mask from our own y (the same float32 values the kernel saw).
        const r = refDepthwiseBackward(p, x, w, got.y, dy, act);
        expect(maxRelErr(got.dx, r.dx)).toBeLessThan(TOL);
        expect(maxRelErr(got.dw, r.dw)).toBeLessThan(TOL);
        expect(maxRelErr(got.db, r.db)).toBeLessThan(TOL);
        if (act === 'relu6') expect(got.y.some((v) => v === 6)).toBe(true);
      });
    }
  }

  it('the reference backward matches central differences of the reference forward', () => {
    const p = refParams([2, 5, 6, 3], [3, 2, 3, 2], [2, 1], 1, 'same');
    const x = Array.from(randn(2 * 5 * 6 * 3, 11)), w = Array.from(randn(3 * 2 * 3 * 2, 12)), b = Array.from(randn(6, 13));
    const dy = Array.from(randn(2 * p.outH * p.outW * 6, 14));
    const loss = (xx: number[], ww: number[], bb: number[]) => refDepthwiseForward(p, xx, ww, bb).reduce((s, v, i) => s + v * dy[i], 0);
    const y = refDepthwiseForward(p, x, w, b);
    const r = refDepthwiseBackward(p, x, w, y, dy);
    const eps = 1e-6;
    const fd = (arr: number[], i: number, f: () => number) => {
      const v = arr[i];
      arr[i] = v + eps; const up = f();
      arr[i] = v - eps; const dn = f();
      arr[i] = v;
      return (up - dn) / (2 * eps);
    };
    for (const i of [0, 7, 50, x.length - 1]) expect(fd(x, i, () => loss(x, w, b))).toBeCloseTo(r.dx[i], 5);
    for (const i of [0, 5, w.length - 1]) expect(fd(w, i, () => loss(x, w, b))).toBeCloseTo(r.dw[i], 5);
    for (const i of [0, 5]) expect(fd(b, i, () => loss(x, w, b))).toBeCloseTo(r.db[i], 5);
  });
});

describe('depthwise thread split', () => {
  afterAll(() => setThreads(2));
  for (const [batch, h, c, dm] of [[1, 24, 16, 1], [3, 14, 13, 2], [8, 10, 8, 1]] as const) {
    it(`1 and 2 threads give bit-identical results (batch ${batch}, ${h}×${h}×${c}, dm ${dm})`, () => {
      const xShape = [batch, h, h, c], wShape = [3, 3, c, dm];
      const p = refParams(xShape, wShape, 1, 1, 'same');
      const x = randn(batch * h * h * c, 21), w = randn(9 * c * dm, 22), bias = randn(c * dm, 23);
      const dy = randn(batch * p.outH * p.outW * c * dm, 24);
      setThreads(1);
      const one = run(xShape, wShape, 1, 1, 'same', 'relu', x, w, bias, dy);
      setThreads(2);
      const two = run(xShape, wShape, 1, 1, 'same', 'relu', x, w, bias, dy);
      for (const k of ['y', 'dx', 'dw', 'db'] as const) {
        expect(Buffer.from(two[k].buffer).equals(Buffer.from(one[k].buffer)), k).toBe(true);
      }
      const r = refDepthwiseBackward(p, x, w, one.y, dy, 'relu');
      expect(maxRelErr(one.dw, r.dw)).toBeLessThan(1e-4);
    });
  }
});

describe('depthwise geometry errors', () => {
  it('names the argument', () => {
    expect(() => depthwiseGeometry('dw', [1, 4, 4, 3], [3, 3, 3, 0], 1, 'valid')).toThrow(/depthMultiplier must be a positive integer, got 0/);
    expect(() => depthwiseGeometry('dw', [1, 2, 2, 3], [3, 3, 3, 1], 1, 'valid')).toThrow(/no larger than the padded input/);
    expect(() => depthwiseGeometry('dw', [1, 4, 4, 3], [3, 3, 4, 1], 1, 'valid'))
      .toThrow(/dw: depthwise kernel must be \[kh, kw, 3, depthMultiplier\] \(its inChannels must equal x's 3 channels; x has shape \[1, 4, 4, 3\]\), got tensor of shape \[3, 3, 4, 1\]/);
  });

  it('the depthwiseConv2d tensor op (rank 3 and 4) matches the reference; bad arguments name themselves', () => {
    const x = randn(2 * 6 * 5 * 3, 41), w = randn(3 * 3 * 3 * 2, 42);
    const p = refParams([2, 6, 5, 3], [3, 3, 3, 2], [2, 1], 1, 'same');
    const y = depthwiseConv2d(tensor(x, [2, 6, 5, 3]), tensor(w, [3, 3, 3, 2]), [2, 1], 'same');
    expect(y.shape).toEqual([2, p.outH, p.outW, 6]);
    expect(maxRelErr(y.dataSync(), refDepthwiseForward(p, x, w))).toBeLessThan(TOL);
    const y3 = depthwiseConv2d(tensor(x.subarray(0, 90), [6, 5, 3]), tensor(w, [3, 3, 3, 2]), [2, 1], 'same');
    expect(y3.shape).toEqual([p.outH, p.outW, 6]);
    expect(Array.from(y3.dataSync())).toEqual(Array.from(y.dataSync().subarray(0, p.outH * p.outW * 6)));
    expect(() => depthwiseConv2d(tensor(x, [2, 6, 5, 3]), tensor(w, [3, 3, 3, 2]), 1, 'full' as never)).toThrow(/depthwiseConv2d: pad must be 'valid' or 'same', got 'full'/);
    expect(() => depthwiseConv2d(tensor(x, [2, 6, 5, 3]), tensor(w, [3, 3, 3, 2]), 1, 'same', 'NCHW')).toThrow(/dataFormat must be 'NHWC'/);
    expect(() => depthwiseConv2d(tensor(x, [2, 6, 5, 3]), tensor(w.subarray(0, 18), [18]), 1, 'same')).toThrow(/depthwiseConv2d: filter must be a rank-4 tensor/);
  });
});

// Inference fuses swish (x·sigmoid(x), EfficientNet's SiLU) into the pass: forward only (training
// runs it as a pass of its own, since its gradient needs the pre-activation). Every case above,
// against the float64 linear reference with swish applied after.
describe('depthwise forward with swish fused (inference)', () => {
  const swish = (v: number) => v / (1 + Math.exp(-v));
  for (const [h, wd, c, dm, kh, kw, stride, dil, pad] of CASES) {
    it(`${h}×${wd}×${c} dm ${dm}, ${kh}×${kw} stride ${stride} dil ${dil} ${pad}`, () => {
      const { heap } = runtime();
      const xShape = [2, h, wd, c], wShape = [kh, kw, c, dm];
      const p = refParams(xShape, wShape, stride, dil, pad);
      const x = randn(2 * h * wd * c, 5 + h, 3), w = randn(kh * kw * c * dm, 6 + c, 0.7), bias = randn(c * dm, 7);
      const g = depthwiseGeometry('test', xShape, wShape, stride, pad, dil);
      const plan = wasmKernels.depthwisePlan(g, false);
      const px = heapArray(x), pw = heapArray(w), pb = heapArray(bias), py = heapArray(new Float32Array(g.M * g.outC).fill(NaN));
      wasmKernels.depthwiseForward(plan, px, pw, pb, py, 'swish');
      const want = refDepthwiseForward(p, x, w, bias, 'linear').map(swish);
      expect(maxRelErr(read(py, want.length), want)).toBeLessThan(TOL);
      plan.free();
      for (const q of [px, pw, pb, py]) heap.free(q);
    });
  }
});
