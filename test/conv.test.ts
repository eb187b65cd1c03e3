import { afterAll, describe, expect, it } from 'vitest';
import { memory, tensor } from '../src/index.js';
import { runtime } from '../src/backend/runtime.js';
import {
  conv2d, conv2DBackpropFilter, conv2DBackpropInput, conv2dBackpropFilter, conv2dBackpropInput, conv2dForward,
  conv2dGeometry, conv2dTranspose, type Conv2DGeometry, type Padding,
} from '../src/ops/conv.js';
import { refConv2d, refConv2dBackpropFilter, refConv2dBackpropInput } from '../src/reference/conv.js';
import { maxRelErr, randn, rng } from './helpers/random.js';

type Pair = number | [number, number];
type Case = [name: string, x: number[], filter: number[], strides: Pair, pad: Padding, dilations?: Pair];

// Shapes × strides × paddings: even kernels with stride 2 (uneven 'same' splits), 1..7 non-square,
// stride larger than the kernel, 1/3/odd channel counts (vector tails), batch 1 and 3, 1×1 outputs,
// the fused no-im2col paths, dilations, and the reference CNN's two conv layers.
const cases: Case[] = [
  ['1x1 pointwise (col = x)', [1, 4, 5, 3], [1, 1, 3, 2], 1, 'valid'],
  ['1x1 stride 2', [3, 5, 5, 3], [1, 1, 3, 4], 2, 'valid'],
  ['1x1 stride [3,2] same', [1, 8, 7, 1], [1, 1, 1, 2], [3, 2], 'same'],
  ['3x3 valid 1 channel', [1, 5, 5, 1], [3, 3, 1, 1], 1, 'valid'],
  ['3x3 same batch 3', [3, 6, 7, 3], [3, 3, 3, 5], 1, 'same'],
  ['2x2 stride 2 same, odd input', [1, 5, 5, 2], [2, 2, 2, 3], 2, 'same'],
  ['2x2 stride 1 same (pad bottom/right only)', [2, 4, 5, 1], [2, 2, 1, 2], 1, 'same'],
  ['4x4 stride 2 same, odd rows even cols', [2, 7, 6, 3], [4, 4, 3, 2], 2, 'same'],
  ['1x7 same', [1, 6, 9, 2], [1, 7, 2, 3], 1, 'same'],
  ['7x1 valid', [1, 9, 4, 3], [7, 1, 3, 2], 1, 'valid'],
  ['3x2 explicit uneven, stride [2,1]', [2, 6, 5, 3], [3, 2, 3, 4], [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ['5x5 pad 2', [1, 7, 7, 3], [5, 5, 3, 2], 1, 2],
  ['7x7 stride 3 same', [1, 11, 10, 2], [7, 7, 2, 3], 3, 'same'],
  ['6x5 pad 3 (pads wider than input offsets)', [1, 4, 4, 2], [6, 5, 2, 2], 1, 3],
  ['2x2 stride 3 > kernel', [2, 9, 8, 3], [2, 2, 3, 2], 3, 'valid'],
  ['whole input, output 1x1 (col = x)', [3, 4, 5, 2], [4, 5, 2, 3], 1, 'valid'],
  ['output 1x1 by stride', [1, 5, 5, 3], [3, 3, 3, 2], 3, 'valid'],
  ['C=1 pad 1 stride 2 batch 3', [3, 7, 7, 1], [3, 3, 1, 4], 2, 1],
  ['C=1 5x3 same', [1, 6, 5, 1], [5, 3, 1, 2], 1, 'same'],
  ['C=5 same (vector tails)', [1, 5, 6, 5], [3, 3, 5, 7], 1, 'same'],
  ['C=13 same', [2, 4, 4, 13], [3, 3, 13, 9], 1, 'same'],
  ['dilation 2 same', [1, 7, 8, 3], [3, 3, 3, 2], 1, 'same', 2],
  ['dilation [2,3] stride 2 C=1', [2, 9, 10, 1], [2, 3, 1, 3], 2, 'valid', [2, 3]],
  ['dilation [1,2] pad 1 C=4', [1, 6, 7, 4], [3, 3, 4, 5], 1, 1, [1, 2]],
  ['CNN conv1 28x28x1 -> 3x3x32', [2, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['CNN conv2 13x13x32 -> 3x3x64', [2, 13, 13, 32], [3, 3, 32, 64], 1, 'valid'],
];

interface Buffers { x: number; w: number; y: number; dy: number; dx: number; dw: number; col: number }

function alloc(g: Conv2DGeometry, x: Float32Array, w: Float32Array, dy: Float32Array): Buffers {
  const { heap } = runtime();
  const b = {
    x: heap.alloc(x.length * 4), w: heap.alloc(w.length * 4), y: heap.alloc(g.M * g.outC * 4),
    dy: heap.alloc(dy.length * 4), dx: heap.alloc(x.length * 4), dw: heap.alloc(w.length * 4),
    col: heap.alloc(g.colFloats * 4),
  };
  heap.writeF32(b.x, x); heap.writeF32(b.w, w); heap.writeF32(b.dy, dy);
  // Garbage in every output and scratch buffer: the kernels must overwrite (zero padded taps,
  // zero dx before scattering), never rely on fresh memory being zero.
  for (const [p, n] of [[b.y, g.M * g.outC], [b.dx, x.length], [b.dw, w.length], [b.col, g.colFloats]]) {
    heap.f32.fill(NaN, p >>> 2, (p >>> 2) + n);
  }
  return b;
}
const freeAll = (b: Buffers) => Object.values(b).forEach((p) => runtime().heap.free(p));

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[i] * b[i];
  return s;
};
const shifted = (a: ArrayLike<number>, v: ArrayLike<number>, eps: number) => Float64Array.from(a, (ai, i) => ai + eps * v[i]);
const unit = (n: number, i: number) => { const e = new Float64Array(n); e[i] = 1; return e; };

/** Central differences of f along v: (f(+eps v) − f(−eps v)) / 2eps. */
const central = (f: (eps: number) => number, eps: number) => (f(eps) - f(-eps)) / (2 * eps);

describe('conv2d forward, dX and dW vs the reference and central differences', () => {
  for (const [name, xs, fs, strides, pad, dil = 1] of cases) {
    it(`${name}: x [${xs}] filter [${fs}] strides ${JSON.stringify(strides)} pad ${JSON.stringify(pad)} dilations ${JSON.stringify(dil)}`, () => {
      const g = conv2dGeometry('conv2d', xs, fs, strides, pad, dil);
      const seed = xs.reduce((a, b) => a * 7 + b, 0) + fs.reduce((a, b) => a * 5 + b, 0);
      const x = randn(g.batch * g.inH * g.inW * g.inC, seed), w = randn(g.K * g.outC, seed + 1);
      const r = randn(g.M * g.outC, seed + 2); // L = sum(y · r), so dL/dy = r
      const { heap } = runtime();
      const b = alloc(g, x, w, r);
      conv2dForward(g, b.x, b.w, 0, b.y, b.col, false);
      conv2dBackpropFilter(g, b.x, b.dy, b.dw, b.col, false, true);
      conv2dBackpropInput(g, b.dy, b.w, b.dx, b.col);
      const y = heap.readF32(b.y, g.M * g.outC), dx = heap.readF32(b.dx, x.length), dw = heap.readF32(b.dw, w.length);

      // Against the float64 reference; rounding grows with each reduction's length.
      expect(maxRelErr(y, refConv2d(g, x, w))).toBeLessThan(1e-6 * g.K + 1e-6);
      expect(maxRelErr(dx, refConv2dBackpropInput(g, r, w))).toBeLessThan(1e-6 * g.kh * g.kw * g.outC + 1e-6);
      expect(maxRelErr(dw, refConv2dBackpropFilter(g, x, r))).toBeLessThan(1e-6 * g.M + 1e-6);

      // Against central differences of the float64 reference forward: a random direction (checks
      // every entry at once) plus single coordinates at the corners (padding) and at random.
      const L = (xv: ArrayLike<number>, wv: ArrayLike<number>) => dot(refConv2d(g, xv, wv), r);
      const tol = (n: number, v: number) => (1e-5 * n + 1e-5) * (1 + Math.abs(v));
      const vx = randn(x.length, seed + 3), vw = randn(w.length, seed + 4);
      const fdx = central((e) => L(shifted(x, vx, e), w), 1e-3);
      const fdw = central((e) => L(x, shifted(w, vw, e)), 1e-3);
      expect(Math.abs(fdx - dot(dx, vx))).toBeLessThan(tol(g.kh * g.kw * g.outC, fdx) * Math.sqrt(x.length));
      expect(Math.abs(fdw - dot(dw, vw))).toBeLessThan(tol(g.M, fdw) * Math.sqrt(w.length));
      const pick = rng(seed + 5);
      const samples = g.K * g.outC > 10000 ? 2 : 4;
      const xi = [0, x.length - 1, ...Array.from({ length: samples }, () => Math.floor(pick() * x.length))];
      const wi = [0, w.length - 1, ...Array.from({ length: samples }, () => Math.floor(pick() * w.length))];
      for (const i of xi) {
        const fd = central((e) => L(shifted(x, unit(x.length, i), e), w), 1e-3);
        expect(Math.abs(fd - dx[i]), `dx[${i}]`).toBeLessThan(tol(g.kh * g.kw * g.outC, fd));
      }
      for (const i of wi) {
        const fd = central((e) => L(x, shifted(w, unit(w.length, i), e)), 1e-3);
        expect(Math.abs(fd - dw[i]), `dw[${i}]`).toBeLessThan(tol(g.M, fd));
      }

      // And against central differences of the wasm float32 forward itself (exact in exact
      // arithmetic because conv is linear in x, so a large step only limits rounding).
      const yp = heap.alloc(g.M * g.outC * 4), xp = heap.alloc(x.length * 4);
      const Lw = (e: number) => {
        heap.writeF32(xp, Float32Array.from(x, (v, i) => v + e * vx[i]));
        conv2dForward(g, xp, b.w, 0, yp, b.col, false);
        return dot(heap.readF32(yp, g.M * g.outC), r);
      };
      const fd32 = central(Lw, 0.5);
      expect(Math.abs(fd32 - dot(dx, vx))).toBeLessThan(1e-5 * Math.sqrt(g.M * g.outC * g.K) * (1 + Math.abs(fd32)));
      heap.free(yp); heap.free(xp);
      freeAll(b);
    });
  }
});

describe('conv2d pointer-level options', () => {
  it('fused bias + ReLU epilogue', () => {
    for (const [xs, fs, pad] of [[[2, 6, 6, 3], [3, 3, 3, 10], 'same'], [[1, 4, 4, 5], [1, 1, 5, 6], 'valid']] as const) {
      const g = conv2dGeometry('conv2d', [...xs], [...fs], 1, pad);
      const x = randn(g.batch * g.inH * g.inW * g.inC, 1), w = randn(g.K * g.outC, 2), bias = randn(g.outC, 3);
      const { heap } = runtime();
      const b = alloc(g, x, w, new Float32Array(g.M * g.outC));
      const pb = heap.alloc(g.outC * 4);
      heap.writeF32(pb, bias);
      conv2dForward(g, b.x, b.w, pb, b.y, b.col, true);
      const want = refConv2d(g, x, w, bias).map((v) => Math.max(0, v));
      expect(maxRelErr(heap.readF32(b.y, g.M * g.outC), want)).toBeLessThan(1e-5);
      heap.free(pb);
      freeAll(b);
    }
  });

  it('accumulate adds into dW and dX; colReady reuses the forward col', () => {
    for (const [xs, fs, pad] of [[[2, 5, 6, 3], [3, 2, 3, 4], 1], [[2, 3, 3, 4], [1, 1, 4, 3], 'valid']] as const) {
      const g = conv2dGeometry('conv2d', [...xs], [...fs], 1, pad);
      const x = randn(g.batch * g.inH * g.inW * g.inC, 4), w = randn(g.K * g.outC, 5), dy = randn(g.M * g.outC, 6);
      const { heap } = runtime();
      const b = alloc(g, x, w, dy);
      const dw0 = randn(w.length, 7), dx0 = randn(x.length, 8);
      heap.writeF32(b.dw, dw0); heap.writeF32(b.dx, dx0);
      conv2dBackpropFilter(g, b.x, b.dy, b.dw, b.col, true);
      conv2dBackpropInput(g, b.dy, b.w, b.dx, b.col, true);
      const refDw = refConv2dBackpropFilter(g, x, dy), refDx = refConv2dBackpropInput(g, dy, w);
      expect(maxRelErr(heap.readF32(b.dw, w.length), refDw.map((v, i) => v + dw0[i]))).toBeLessThan(1e-5);
      expect(maxRelErr(heap.readF32(b.dx, x.length), refDx.map((v, i) => v + dx0[i]))).toBeLessThan(1e-5);
      // colReady: the forward leaves im2col(x) in col; scribbling over x afterwards must not matter.
      conv2dForward(g, b.x, b.w, 0, b.y, b.col, false);
      if (!g.colIsInput) {
        heap.writeF32(b.x, new Float32Array(x.length));
        conv2dBackpropFilter(g, b.x, b.dy, b.dw, b.col, false, true);
        expect(maxRelErr(heap.readF32(b.dw, w.length), refDw)).toBeLessThan(1e-5);
      }
      freeAll(b);
    }
  });
});

describe('conv2d geometry', () => {
  it("'same' follows TensorFlow: extra padding row/column at the bottom/right", () => {
    const same = (h: number, k: number, s: number, d = 1) => {
      const g = conv2dGeometry('conv2d', [1, h, h, 1], [k, k, 1, 1], s, 'same', d);
      return [g.outH, g.padTop, g.padBottom];
    };
    expect(same(5, 2, 2)).toEqual([3, 0, 1]);
    expect(same(6, 4, 2)).toEqual([3, 1, 1]);
    expect(same(7, 4, 2)).toEqual([4, 1, 2]);
    expect(same(4, 2, 1)).toEqual([4, 0, 1]);
    expect(same(5, 3, 1)).toEqual([5, 1, 1]);
    expect(same(8, 1, 3)).toEqual([3, 0, 0]);
    expect(same(7, 3, 1, 2)).toEqual([7, 2, 2]);
    expect(same(2, 7, 1)).toEqual([2, 3, 3]);
  });
  it('sizes, M, K, colFloats and the col = x fast paths', () => {
    const g = conv2dGeometry('conv2d', [32, 13, 13, 32], [3, 3, 32, 64], 1, 'valid');
    expect([g.outH, g.outW, g.M, g.K, g.colFloats, g.colIsInput]).toEqual([11, 11, 32 * 121, 288, 32 * 121 * 288, false]);
    expect(conv2dGeometry('conv2d', [2, 5, 5, 8], [1, 1, 8, 4], 1, 'same').colIsInput).toBe(true);
    expect(conv2dGeometry('conv2d', [2, 5, 5, 8], [1, 1, 8, 4], 2, 'valid').colIsInput).toBe(false);
    expect(conv2dGeometry('conv2d', [2, 5, 5, 8], [1, 1, 8, 4], 1, 1).colIsInput).toBe(false);
    const e = conv2dGeometry('conv2d', [1, 6, 9, 1], [3, 2, 1, 1], [2, 3], [[0, 0], [1, 0], [2, 1], [0, 0]]);
    expect([e.outH, e.outW, e.padTop, e.padBottom, e.padLeft, e.padRight]).toEqual([3, 4, 1, 0, 2, 1]);
  });
  it('dimRoundingMode rounds the output size of a numeric pad (tfjs)', () => {
    const shape = (mode?: 'floor' | 'round' | 'ceil') => conv2dGeometry('conv2d', [1, 6, 6, 1], [3, 3, 1, 1], 2, 0, 1, mode).outH;
    expect([shape(), shape('floor'), shape('round'), shape('ceil')]).toEqual([2, 2, 3, 3]);
    const x = tensor(randn(36, 9), [1, 6, 6, 1]), f = tensor(randn(9, 10), [3, 3, 1, 1]);
    const y = conv2d(x, f, 2, 0, 'NHWC', 1, 'ceil');
    const g = conv2dGeometry('conv2d', [1, 6, 6, 1], [3, 3, 1, 1], 2, 0, 1, 'ceil');
    expect(y.shape).toEqual([1, 3, 3, 1]);
    expect(maxRelErr(y.dataSync(), refConv2d(g, x.dataSync(), f.dataSync()))).toBeLessThan(1e-6);
    x.dispose(); f.dispose(); y.dispose();
  });
});

describe('conv2d tensor ops', () => {
  it('rank-3 x gives a rank-3 result; no leaks', () => {
    const before = memory();
    const x = tensor(randn(5 * 6 * 2, 11), [5, 6, 2]), f = tensor(randn(3 * 3 * 2 * 4, 12), [3, 3, 2, 4]);
    const y = conv2d(x, f, 1, 'same');
    expect(y.shape).toEqual([5, 6, 4]);
    const g = conv2dGeometry('conv2d', [1, 5, 6, 2], [3, 3, 2, 4], 1, 'same');
    expect(maxRelErr(y.dataSync(), refConv2d(g, x.dataSync(), f.dataSync()))).toBeLessThan(1e-5);
    x.dispose(); f.dispose(); y.dispose();
    expect(memory().numTensors).toBe(before.numTensors);
    expect(memory().numBytesInHeap).toBe(before.numBytesInHeap);
  });
  // The tensor ops run the layers' direct passes: sweep geometries (padding, stride, 1×1 = the
  // col-is-x path, rank 3, several chunks) against the reference.
  const backpropCases: [number[], number[], number | [number, number], Padding][] = [
    [[3, 9, 8, 4], [3, 3, 4, 6], 1, 'valid'],
    [[2, 10, 7, 2], [2, 3, 2, 9], [2, 1], 'same'],
    [[1, 6, 6, 5], [1, 1, 5, 3], 1, 'valid'],
    [[2, 8, 8, 3], [3, 3, 3, 4], 1, [[0, 0], [2, 1], [0, 2], [0, 0]]],
    [[5, 40, 40, 6], [3, 3, 6, 8], 1, 'same'],
  ];
  for (const [xShape, fShape, strides, pad] of backpropCases) {
    it(`backprop tensor ops, x [${xShape}] filter [${fShape}] strides ${JSON.stringify(strides)} pad ${JSON.stringify(pad)}`, () => {
      const g = conv2dGeometry('conv2d', xShape, fShape, strides, pad);
      const xv = randn(xShape.reduce((a, b) => a * b, 1), 21), fv = randn(fShape.reduce((a, b) => a * b, 1), 22, 0.3);
      const dyv = randn(g.M * g.outC, 23);
      const x = tensor(xv, xShape), f = tensor(fv, fShape), dy = tensor(dyv, [g.batch, g.outH, g.outW, g.outC]);
      const y = conv2d(x, f, strides, pad);
      const dx = conv2DBackpropInput(xShape, dy, f, strides, pad);
      const dw = conv2DBackpropFilter(x, dy, fShape as [number, number, number, number], strides, pad);
      expect(maxRelErr(y.dataSync(), refConv2d(g, xv, fv))).toBeLessThan(1e-5 * g.K);
      expect(maxRelErr(dx.dataSync(), refConv2dBackpropInput(g, dyv, fv))).toBeLessThan(1e-5 * g.outC * g.kh * g.kw);
      expect(maxRelErr(dw.dataSync(), refConv2dBackpropFilter(g, xv, dyv))).toBeLessThan(1e-5 * g.M);
      for (const t of [x, f, dy, y, dx, dw]) t.dispose();
    });
  }
  it('conv2DBackpropInput, conv2DBackpropFilter and conv2dTranspose match the reference', () => {
    const xShape = [2, 7, 6, 3], fShape = [4, 3, 3, 5];
    const g = conv2dGeometry('conv2d', xShape, fShape, 2, 'same');
    const xv = randn(2 * 7 * 6 * 3, 13), fv = randn(4 * 3 * 3 * 5, 14), dyv = randn(g.M * g.outC, 15);
    const x = tensor(xv, xShape), f = tensor(fv, fShape), dy = tensor(dyv, [2, g.outH, g.outW, 5]);
    const dx = conv2DBackpropInput(xShape, dy, f, 2, 'same');
    const dw = conv2DBackpropFilter(x, dy, [4, 3, 3, 5], 2, 'same');
    const tx = conv2dTranspose(dy, f, xShape, 2, 'same');
    expect(dx.shape).toEqual(xShape);
    expect(dw.shape).toEqual(fShape);
    expect(maxRelErr(dx.dataSync(), refConv2dBackpropInput(g, dyv, fv))).toBeLessThan(1e-5);
    expect(maxRelErr(tx.dataSync(), refConv2dBackpropInput(g, dyv, fv))).toBeLessThan(1e-5);
    expect(maxRelErr(dw.dataSync(), refConv2dBackpropFilter(g, xv, dyv))).toBeLessThan(1e-4);
    expect(() => conv2DBackpropInput(xShape, x, f, 2, 'same')).toThrow(
      /conv2DBackpropInput: dy must be of shape \[2, 4, 3, 5\] \(the conv2d output shape\), got tensor of shape \[2, 7, 6, 3\]/);
    expect(() => conv2dTranspose(dy, f, [7, 6, 3], 2, 'same')).toThrow(/conv2dTranspose: outputShape must be a shape of rank 4 \(x's rank\), got \[7, 6, 3\]/);
    for (const t of [x, f, dy, dx, dw, tx]) t.dispose();
  });
});

describe('conv2d errors name op, argument, value and expectation', () => {
  const x = tensor(new Float32Array(75), [1, 5, 5, 3]);
  const f = tensor(new Float32Array(27 * 2), [3, 3, 3, 2]);
  afterAll(() => { x.dispose(); f.dispose(); });
  const geo = (xs: number[], fs: number[], s: Pair, p: unknown, d: Pair = 1) => () => conv2dGeometry('conv2d', xs, fs, s, p as Padding, d);
  it('channel mismatch', () => {
    const f2 = tensor(new Float32Array(3 * 3 * 2 * 4), [3, 3, 2, 4]);
    expect(() => conv2d(x, f2, 1, 'same')).toThrow(
      /conv2d: filter must be \[filterHeight, filterWidth, 3, outChannels\] \(its inChannels must equal x's 3 channels; x has shape \[1, 5, 5, 3\]\), got tensor of shape \[3, 3, 2, 4\]/);
    f2.dispose();
  });
  it('ranks and sizes', () => {
    const x2 = tensor(new Float32Array(25), [5, 5]);
    expect(() => conv2d(x2, f, 1, 'valid')).toThrow(/conv2d: x must be a rank-3 or rank-4 tensor, got tensor of shape \[5, 5\]/);
    expect(() => conv2d(x, x2, 1, 'valid')).toThrow(/conv2d: filter must be a rank-4 tensor, got tensor of shape \[5, 5\]/);
    x2.dispose();
    expect(geo([1, 0, 5, 1], [1, 1, 1, 1], 1, 'valid')).toThrow(
      /conv2d: x must be rank 4 \[batch, height, width, inChannels\] with positive integer sizes, got tensor of shape \[1, 0, 5, 1\]/);
    expect(geo([1, 5, 5, 1], [3, 2.5, 1, 1], 1, 'valid')).toThrow(
      /conv2d: filter must be rank 4 \[filterHeight, filterWidth, inChannels, outChannels\] with positive integer sizes, got tensor of shape \[3, 2.5, 1, 1\]/);
    expect(geo([1, 5, 5, 1], [3, 3, 1, -2], 1, 'valid')).toThrow(/conv2d: filter must be rank 4 .*got tensor of shape \[3, 3, 1, -2\]/);
  });
  it('strides and dilations', () => {
    for (const s of [0, -1, 1.5]) expect(geo([1, 5, 5, 1], [3, 3, 1, 1], s, 'valid')).toThrow(new RegExp(`conv2d: strides must be a positive integer, got ${s}`));
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], [1, 0], 'valid')).toThrow(/conv2d: strides must be a positive integer, got 0/);
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], [1, 1, 1] as unknown as Pair, 'valid')).toThrow(
      /conv2d: strides must be a positive integer or a pair of positive integers, got \[1, 1, 1\]/);
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, 'valid', 0)).toThrow(/conv2d: dilations must be a positive integer, got 0/);
  });
  it('padding', () => {
    const expected = "'valid', 'same', a non-negative integer or \\[\\[0, 0\\], \\[top, bottom\\], \\[left, right\\], \\[0, 0\\]\\] of non-negative integers";
    expect(() => conv2d(x, f, 1, 'full' as Padding)).toThrow(new RegExp(`conv2d: pad must be ${expected}, got 'full'`));
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, -1)).toThrow(new RegExp(`conv2d: pad must be ${expected}, got -1`));
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, 1.5)).toThrow(new RegExp(`conv2d: pad must be .*, got 1.5`));
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, [[0, 0], [1, 1], [1]])).toThrow(/conv2d: pad must be .*, got \[\[0, 0\], \[1, 1\], \[1\]\]/);
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, [[1, 0], [1, 1], [1, 1], [0, 0]])).toThrow(
      /conv2d: pad must be explicit padding with zero batch and channel padding, \[\[0, 0\], \[top, bottom\], \[left, right\], \[0, 0\]\], got \[\[1, 0\], \[1, 1\], \[1, 1\], \[0, 0\]\]/);
    expect(() => conv2d(x, f, 1, 'same', 'NHWC', 1, 'ceil')).toThrow(/conv2d: pad must be a number when dimRoundingMode is given, got 'same'/);
    expect(() => conv2d(x, f, 1, 0, 'NHWC', 1, 'trunc' as 'ceil')).toThrow(/conv2d: dimRoundingMode must be 'floor', 'round', 'ceil' or undefined, got 'trunc'/);
    expect(() => conv2d(x, f, 1, 'same', 'NCHW')).toThrow(/conv2d: dataFormat must be 'NHWC' \(NCHW is not supported\), got 'NCHW'/);
  });
  it('filter larger than the padded input', () => {
    expect(geo([1, 3, 3, 1], [4, 4, 1, 1], 1, 'valid')).toThrow(
      /conv2d: filter must be no larger than the padded input: the filter spans 4×4 but x padded with "valid" is 3×3, got tensor of shape \[4, 4, 1, 1\]/);
    expect(geo([1, 5, 5, 1], [3, 3, 1, 1], 1, 'valid', 3)).toThrow(/conv2d: filter must be no larger than the padded input: the dilated filter spans 7×7 but x padded with "valid" is 5×5/);
    expect(geo([1, 3, 3, 1], [4, 4, 1, 1], 1, 1)).not.toThrow();
    expect(geo([1, 3, 3, 1], [7, 1, 1, 1], 1, 'same')).not.toThrow();
  });
  it('disposed tensors', () => {
    const d = tensor(new Float32Array(75), [1, 5, 5, 3]);
    d.dispose();
    expect(() => conv2d(d, f, 1, 'same')).toThrow(/conv2d: the tensor of shape \[1,5,5,3\] was already disposed/);
  });
});

describe('conv2d on several threads', () => {
  it('im2col/col2im split by images gives bit-identical results to one thread', async () => {
    const { setThreads, getThreads } = await import('../src/backend/runtime.js');
    const before = getThreads();
    const g = conv2dGeometry('conv2d', [5, 12, 11, 16], [3, 3, 16, 8], 1, 'same');
    expect(g.colFloats).toBeGreaterThan(1 << 16);
    const x = randn(5 * 12 * 11 * 16, 21), w = randn(g.K * 8, 22), dy = randn(g.M * 8, 23);
    const run = () => {
      const b = alloc(g, x, w, dy);
      conv2dForward(g, b.x, b.w, 0, b.y, b.col, false);
      conv2dBackpropFilter(g, b.x, b.dy, b.dw, b.col);
      conv2dBackpropInput(g, b.dy, b.w, b.dx, b.col);
      const { heap } = runtime();
      const out = [heap.readF32(b.y, g.M * 8), heap.readF32(b.dw, w.length), heap.readF32(b.dx, x.length)];
      freeAll(b);
      return out;
    };
    try {
      setThreads(1);
      const one = run();
      setThreads(2);
      const two = run();
      for (let i = 0; i < 3; i++) expect(two[i]).toEqual(one[i]);
      expect(maxRelErr(one[2], refConv2dBackpropInput(g, dy, w))).toBeLessThan(1e-4);
    } finally {
      setThreads(before);
    }
  });
});
