import { describe, expect, it } from 'vitest';
import { avgPool, maxPool, memory, tensor } from '../src/index.js';
import { runtime } from '../src/backend/runtime.js';
import {
  avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, poolGeometry, type DimRoundingMode, type PoolPadding,
} from '../src/ops/pool.js';
import { refAvgPool, refAvgPoolBackward, refMaxPool, refMaxPoolBackward } from '../src/reference/pool.js';
import { maxRelErr, randn, rng } from './helpers/random.js';

// [N, H, W, C, fh, fw, sh, sw, pad, rounding?]: 1×1, C = 1, 3, 5, 32, batch 1 and 3, odd and even
// windows, stride larger than the window, window larger than the input ('same'), explicit padding.
type Case = [number, number, number, number, number, number, number, number, PoolPadding, DimRoundingMode?];
const cases: Case[] = [
  [1, 1, 1, 1, 1, 1, 1, 1, 'valid'],
  [1, 1, 1, 3, 2, 2, 2, 2, 'same'],
  [1, 4, 4, 1, 2, 2, 2, 2, 'valid'],
  [3, 7, 7, 3, 2, 2, 2, 2, 'same'],
  [2, 7, 5, 5, 3, 3, 2, 2, 'same'],
  [1, 6, 6, 32, 2, 2, 2, 2, 'valid'],
  [3, 5, 6, 5, 2, 3, 3, 4, 'valid'],
  [1, 5, 5, 3, 1, 1, 3, 3, 'same'],
  [2, 8, 7, 4, 3, 2, 1, 1, 'same'],
  [1, 5, 5, 5, 4, 4, 1, 2, 'same'],
  [1, 3, 3, 1, 5, 5, 1, 1, 'same'],
  [3, 4, 4, 7, 2, 2, 1, 1, 'valid'],
  [2, 6, 5, 3, 3, 3, 2, 2, 1],
  [1, 7, 7, 5, 3, 3, 2, 2, 1, 'ceil'],
  [1, 6, 6, 6, 3, 3, 2, 2, 1, 'round'],
  [1, 9, 9, 32, 3, 3, 2, 2, 'same'],
  [3, 12, 12, 36, 2, 2, 2, 2, 'valid'],
  // 2×2 with C % 4 = 0: the unrolled path; odd sizes under 'same' pad the bottom/right (not it).
  [2, 7, 7, 8, 2, 2, 2, 2, 'same'],
  [2, 7, 9, 8, 2, 2, 2, 2, 'valid'],
  [1, 6, 6, 4, 2, 2, 1, 1, 'valid'],
  // One big image: inference (no argmax) splits it into bands of output rows over the threads —
  // ResNet's stem pool (explicit pad 1), the unrolled 2×2 path, 'same' with bottom/right padding.
  [1, 112, 112, 64, 3, 3, 2, 2, 1],
  [1, 60, 50, 24, 2, 2, 2, 2, 'valid'],
  [1, 41, 37, 48, 3, 3, 2, 2, 'same'],
  [1, 33, 40, 52, 5, 3, 1, 2, 'same'],
];

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(values.length * 4);
  heap.writeF32(p, values);
  return p;
}

/** Indices to probe with finite differences: all of a small input, a seeded sample of a big one. */
function probes(n: number, seed: number, max = 48): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  return Array.from({ length: max }, () => Math.floor(r() * n));
}

/** Central difference of L(x) = Σ dy·f(x) at x[i], in float64 (pooling is piecewise linear). */
function fdGrad(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>, i: number): number {
  const eps = 1e-6;
  const xp = Float64Array.from(x), xm = Float64Array.from(x);
  xp[i] += eps;
  xm[i] -= eps;
  const yp = f(xp), ym = f(xm);
  let s = 0;
  for (let o = 0; o < dy.length; o++) s += dy[o] * (yp[o] - ym[o]);
  return s / (2 * eps);
}

describe('pooling kernels match the reference and finite differences', () => {
  cases.forEach(([N, H, W, C, fh, fw, sh, sw, pad, mode], ci) => {
    const name = `x [${N},${H},${W},${C}] window ${fh}x${fw} stride ${sh}x${sw} pad ${pad}${mode ? ` ${mode}` : ''}`;
    it(name, () => {
      const { heap } = runtime();
      const g = poolGeometry('test', [N, H, W, C], [fh, fw], [sh, sw], pad, mode);
      const x = randn(g.inSize, 100 + ci), dy = randn(g.outSize, 200 + ci);
      const px = heapArray(x), pdy = heapArray(dy);
      const py = heap.alloc(g.outSize * 4), parg = heap.alloc(g.outSize * 4), pdx = heap.alloc(g.inSize * 4);
      // Poison outputs so a missed element shows.
      heap.f32.fill(NaN, pdx >>> 2, (pdx >>> 2) + g.inSize);

      maxPoolForward(g, px, py, parg);
      const ref = refMaxPool(g, x);
      expect(Array.from(heap.readF32(py, g.outSize))).toEqual(Array.from(ref.y));
      expect(Array.from(heap.i32.slice(parg >>> 2, (parg >>> 2) + g.outSize))).toEqual(Array.from(ref.argmax));
      // Without argmax (inference) the kernel takes another path (f32x4.max per tap when C % 4 = 0).
      heap.f32.fill(NaN, py >>> 2, (py >>> 2) + g.outSize);
      maxPoolForward(g, px, py, 0);
      expect(Array.from(heap.readF32(py, g.outSize))).toEqual(Array.from(ref.y));
      maxPoolBackward(g, pdy, parg, pdx);
      const dxMax = heap.readF32(pdx, g.inSize);
      expect(maxRelErr(dxMax, refMaxPoolBackward(g, x, dy))).toBeLessThan(1e-6 * fh * fw);
      for (const i of probes(g.inSize, ci)) {
        expect(dxMax[i]).toBeCloseTo(fdGrad((v) => refMaxPool(g, v).y, x, dy, i), 4);
      }

      avgPoolForward(g, px, py);
      expect(maxRelErr(heap.readF32(py, g.outSize), refAvgPool(g, x))).toBeLessThan(1e-6 * fh * fw);
      heap.f32.fill(NaN, pdx >>> 2, (pdx >>> 2) + g.inSize);
      avgPoolBackward(g, pdy, pdx);
      const dxAvg = heap.readF32(pdx, g.inSize);
      expect(maxRelErr(dxAvg, refAvgPoolBackward(g, dy))).toBeLessThan(1e-6 * fh * fw);
      for (const i of probes(g.inSize, ci + 7)) {
        expect(dxAvg[i]).toBeCloseTo(fdGrad((v) => refAvgPool(g, v), x, dy, i), 4);
      }
      for (const p of [px, pdy, py, parg, pdx]) heap.free(p);
    });
  });
});

describe('pool geometry follows TensorFlow', () => {
  it('same: out = ceil(in/stride), smaller padding half first', () => {
    const g = poolGeometry('t', [1, 7, 8, 1], [3, 2], [2, 3], 'same');
    expect([g.outH, g.outW, g.padTop, g.padBottom, g.padLeft, g.padRight]).toEqual([4, 3, 1, 1, 0, 0]);
    const h = poolGeometry('t', [1, 6, 6, 1], 4, 2, 'same');
    expect([h.outH, h.padTop, h.padBottom]).toEqual([3, 1, 1]);
    const k = poolGeometry('t', [1, 5, 5, 1], 4, 1, 'same');
    expect([k.outH, k.padTop, k.padBottom]).toEqual([5, 1, 2]);
  });
  it('valid: out = floor((in − window)/stride) + 1', () => {
    const g = poolGeometry('t', [2, 7, 6, 3], [3, 2], [2, 3], 'valid');
    expect([g.outH, g.outW, g.padTop, g.padLeft, g.inSize, g.outSize]).toEqual([3, 2, 0, 0, 252, 36]);
  });
  it('numeric pad with rounding modes', () => {
    expect(poolGeometry('t', [1, 6, 6, 1], 3, 2, 1).outH).toBe(3); // trunc(3.5)
    expect(poolGeometry('t', [1, 6, 6, 1], 3, 2, 1, 'ceil').outH).toBe(4);
    expect(poolGeometry('t', [1, 6, 6, 1], 3, 2, 1, 'round').outH).toBe(4);
    expect(poolGeometry('t', [1, 6, 6, 1], 3, 2, 1, 'floor').outH).toBe(3);
  });
});

describe('maxPool / avgPool ops', () => {
  it('hand-computed 4x4 example, rank 4 and rank 3', () => {
    const before = memory().numTensors;
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    const x4 = tensor(v, [1, 4, 4, 1]);
    const m = maxPool(x4, 2, 2, 'valid');
    expect(m.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(m.dataSync())).toEqual([6, 8, 14, 16]);
    const a = avgPool(x4, 2, 2, 'valid');
    expect(Array.from(a.dataSync())).toEqual([3.5, 5.5, 11.5, 13.5]);
    // 'same' 3x3 stride 1 at the corner averages only the 4 valid taps: (1+2+5+6)/4.
    const s = avgPool(x4, 3, 1, 'same');
    expect(s.dataSync()[0]).toBeCloseTo(3.5, 6);
    const x3 = tensor(v, [4, 4, 1]);
    const m3 = maxPool(x3, [2, 4], [2, 1], 'valid');
    expect(m3.shape).toEqual([2, 1, 1]);
    expect(Array.from(m3.dataSync())).toEqual([8, 16]);
    for (const t of [x4, m, a, s, x3, m3]) t.dispose();
    expect(memory().numTensors).toBe(before);
  });
  it('padded taps never win a max (all-negative input)', () => {
    const x = tensor([-5, -4, -3, -2, -1, -6, -7, -8, -9], [1, 3, 3, 1]);
    const m = maxPool(x, 3, 2, 'same');
    // Zero padding would give 0 everywhere; TF's max ignores padding.
    expect(Array.from(m.dataSync())).toEqual([-1, -1, -1, -1]);
    x.dispose(); m.dispose();
  });
  it('NaN propagates through max pool with 4 channels (the vector inference path)', () => {
    const x = tensor([1, 2, 3, 4, NaN, 0, 0, 0, 0, 0, NaN, 0, 5, 6, 7, 8], [1, 2, 2, 4]);
    const m = Array.from(maxPool(x, 2, 2, 'valid').dataSync());
    expect(Number.isNaN(m[0])).toBe(true);
    expect(Number.isNaN(m[2])).toBe(true);
    expect([m[1], m[3]]).toEqual([6, 8]);
    x.dispose();
  });
  it('NaN propagates through max pool', () => {
    const x = tensor([1, NaN, 3, 4], [1, 2, 2, 1]);
    const m = maxPool(x, 2, 2, 'valid');
    expect(Number.isNaN(m.dataSync()[0])).toBe(true);
    x.dispose(); m.dispose();
  });
});

describe('pooling errors name op, argument, value and expectation', () => {
  const x = tensor(new Float32Array(9), [1, 3, 3, 1]);
  const bad: [() => unknown, RegExp][] = [
    [() => poolGeometry('maxPool', [1, 3, 3], 2, 2, 'valid'), /maxPool: x must be of rank 4 \[batch, height, width, channels\] with positive sizes, got \[1, 3, 3\]/],
    [() => maxPool(tensor([1, 2]), 2, 2, 'valid'), /maxPool: x must be a rank-3 .* or rank-4 .* tensor, got tensor of shape \[2\]/],
    [() => maxPool(x, 2, 1.5, 'valid'), /maxPool: strides must be a positive integer, got 1\.5/],
    [() => avgPool(x, [2, 0], 1, 'valid'), /avgPool: filterSize must be a positive integer, got 0/],
    [() => maxPool(x, 2, 1, 'full' as PoolPadding), /maxPool: pad must be 'valid', 'same' or a non-negative integer, got 'full'/],
    [() => maxPool(x, 2, 1, -1), /maxPool: pad must be 'valid', 'same' or a non-negative integer, got -1/],
    [() => maxPool(x, 4, 1, 'valid'), /maxPool: filterSize must be at most the input's \[height, width\] = \[3, 3\] with pad 'valid', got 4/],
    [() => avgPool(x, [6, 2], 1, 1), /avgPool: filterSize must be at most the padded input's \[height, width\] = \[5, 5\], got \[6, 2\]/],
    [() => avgPool(x, 2, 1, 2), /avgPool: pad must be smaller than the window \[2, 2\].*got 2/],
    [() => maxPool(x, 2, 2, 'same', 'ceil'), /maxPool: dimRoundingMode must be unset when pad is 'same'.*got 'ceil'/],
    [() => maxPool(x, 2, 2, 1, 'up' as DimRoundingMode), /maxPool: dimRoundingMode must be 'floor', 'round' or 'ceil', got 'up'/],
    [() => poolGeometry('avgPool', [1, 5, 5, 1], 2, 4, 1, 'ceil'), /avgPool: dimRoundingMode must be a rounding whose last window still overlaps the input/],
    [() => maxPool([1, 2] as never, 2, 2, 'valid'), /maxPool: x must be a Tensor, got \[1, 2\]/],
  ];
  bad.forEach(([f, re], i) => it(`case ${i}: ${re.source.slice(0, 50)}`, () => expect(f).toThrow(re)));
  it('rejects a disposed tensor', () => {
    const y = tensor([1], [1, 1, 1, 1]);
    y.dispose();
    expect(() => avgPool(y, 1, 1, 'valid')).toThrow(/avgPool: the tensor of shape \[1,1,1,1\] was already disposed/);
  });
});
