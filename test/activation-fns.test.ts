// The activation registry's kernels (assembly/activations.ts actForwardP/actBackwardP and the strided
// softmax, through src/layers/activation-fns.ts): every activation name and every parametric form,
// forward and backward against the float64 references (src/reference/activations.ts) and against
// central differences of the float64 forward, on random values and on the edge values (large ±,
// ±0, NaN), in place and out of place, over sizes that exercise the f32x4 body, the scalar tail
// and the thread split. Runs once per wasm build (kernelSuites in vitest.config.ts).
import { describe, expect, it } from 'vitest';
import { runtime } from '../src/backend/runtime.js';
import {
  activationBackward, activationForward, checkActivation, needsInput, ACTIVATIONS, type KernelAct,
} from '../src/layers/activation-fns.js';
import { refAct, refActBackward, refActDeriv, refActScalar, refSoftmaxAxis, type RefAct } from '../src/reference/activations.js';
import { randn } from './helpers/random.js';

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);
const free = (...ps: number[]) => ps.forEach((p) => runtime().heap.free(p));

const CASES: [string, KernelAct & RefAct][] = [
  ...(['relu', 'sigmoid', 'tanh', 'relu6', 'elu', 'selu', 'swish', 'gelu', 'gelu_new', 'mish', 'hardSigmoid', 'softplus', 'softsign'] as const).map(
    (a) => [a, a] as [string, KernelAct & RefAct]),
  ['elu alpha 0.5', { op: 'elu', alpha: 0.5 }],
  ['elu alpha -0.7', { op: 'elu', alpha: -0.7 }],
  ['leakyRelu 0.3', { op: 'leakyRelu', alpha: 0.3 }],
  ['leakyRelu -0.5', { op: 'leakyRelu', alpha: -0.5 }],
  ['ReLU maxValue 2.5', { op: 'reluX', negativeSlope: 0, maxValue: 2.5, threshold: 0 }],
  ['ReLU slope 0.1 threshold -0.5 maxValue 3', { op: 'reluX', negativeSlope: 0.1, maxValue: 3, threshold: -0.5 }],
  ['ReLU slope 0.2 threshold 1, no max', { op: 'reluX', negativeSlope: 0.2, maxValue: Infinity, threshold: 1 }],
  ['thresholdedRelu 1', { op: 'thresholdedRelu', theta: 1 }],
  ['thresholdedRelu -0.25', { op: 'thresholdedRelu', theta: -0.25 }],
];
const SIZES = [1, 3, 4, 7, 64, 1001, (1 << 17) + 5];
const EDGE = [-1e4, -100, -20, -1e-30, -0, 0, 1e-30, 20, 100, 1e4, 6, 2.5, -2.5, 1, -0.5, 3];

const tol = (ref: number, k: number) => k * (1 + Math.abs(ref));

describe('activation kernels (registry): forward and backward vs float64 and finite differences', () => {
  for (const [label, act] of CASES) {
    for (const n of SIZES) {
      it(`${label} n=${n}`, () => {
        const x = randn(n, n * 13 + label.length, 3);
        if (n >= EDGE.length) x.set(EDGE, 0);
        const dy = randn(n, n + 5);
        const px = heapArray(x), py = heapArray(new Float32Array(n)), pdy = heapArray(dy), pdx = heapArray(new Float32Array(n));
        activationForward(act, 1, n, px, py);
        const y = read(py, n), yRef = refAct(act, x);
        for (let i = 0; i < n; i++) {
          if (Math.abs(y[i] - yRef[i]) > tol(yRef[i], 2e-6)) expect.fail(`forward at x=${x[i]}: ${y[i]} vs ${yRef[i]}`);
        }
        // Backward: from y only, unless the derivative needs x.
        activationBackward(act, 1, n, py, pdy, pdx, needsInput(act) ? px : undefined);
        const dx = read(pdx, n), dxRef = refActBackward(act, x, dy);
        for (let i = 0; i < n; i++) {
          if (Math.abs(dx[i] - dxRef[i]) > tol(dxRef[i], 1e-5)) expect.fail(`backward at x=${x[i]}: ${dx[i]} vs ${dxRef[i]}`);
        }
        // Central differences of the float64 forward, away from kinks (where f' jumps).
        const h = 1e-6;
        for (let i = 0; i < Math.min(n, 2000); i++) {
          const v = x[i];
          if (Math.abs(refActDeriv(act, v + 1e-3) - refActDeriv(act, v - 1e-3)) > 1e-2) continue;
          const fd = ((refActScalar(act, v + h) - refActScalar(act, v - h)) / (2 * h)) * dy[i];
          if (Math.abs(dx[i] - fd) > 1e-4 * (1 + Math.abs(fd))) expect.fail(`finite difference at x=${v}: ${dx[i]} vs ${fd}`);
        }
        // In place: y = x, then dx = dy (x kept aside where the backward reads it).
        const keep = heapArray(x);
        activationForward(act, 1, n, px, px);
        expect(read(px, n)).toEqual(y);
        activationBackward(act, 1, n, px, pdy, pdy, needsInput(act) ? keep : undefined);
        expect(read(pdy, n)).toEqual(dx);
        free(px, py, pdy, pdx, keep);
      });
    }
    it(`${label}: NaN propagates through the forward`, () => {
      const x = [NaN, 1, NaN, -1, NaN], px = heapArray(x), py = heapArray(new Float32Array(5));
      activationForward(act, 1, 5, px, py);
      const y = read(py, 5);
      expect([0, 2, 4].map((i) => Number.isNaN(y[i]))).toEqual([true, true, true]);
      expect(y[1]).toBeCloseTo(refActScalar(act, 1), 5);
      // Also in the f32x4 body (4 lanes, one NaN).
      const q = heapArray([0.5, NaN, -0.5, 2]), qy = heapArray(new Float32Array(4));
      activationForward(act, 1, 4, q, qy);
      expect(Number.isNaN(read(qy, 4)[1])).toBe(true);
      free(px, py, q, qy);
    });
  }

  it('a broken kernel fails this table (gelu with tanh-approximation instead of erf is caught)', () => {
    // The check has teeth: gelu_new's tanh form differs from erf-gelu by up to ~5e-4.
    const x = randn(64, 3, 3), y = Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    const yRef = refAct('gelu', x);
    expect(Array.from(y).some((v, i) => Math.abs(v - yRef[i]) > tol(yRef[i], 2e-6))).toBe(true);
  });
});

describe('strided softmax (an axis other than the last)', () => {
  const shapes: [number, number, number][] = [[1, 3, 1], [2, 5, 3], [4, 1, 7], [3, 9, 16], [1, 2, 100]];
  for (const [outer, len, inner] of shapes) {
    it(`[${outer}, ${len}, ${inner}]`, () => {
      const n = outer * len * inner;
      const x = randn(n, n, 4), dy = randn(n, n + 1);
      const px = heapArray(x), py = heapArray(new Float32Array(n)), pdy = heapArray(dy), pdx = heapArray(new Float32Array(n));
      activationForward({ op: 'softmaxAxis', inner }, outer, len, px, py);
      const y = read(py, n), ref = refSoftmaxAxis(outer, len, inner, x);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-6);
      activationBackward({ op: 'softmaxAxis', inner }, outer, len, py, pdy, pdx);
      const dx = read(pdx, n);
      // Finite differences of L = Σ dy·softmax(x) in float64.
      const h = 1e-6, xd = Float64Array.from(x);
      const L = () => refSoftmaxAxis(outer, len, inner, xd).reduce((s, v, i) => s + v * dy[i], 0);
      for (let i = 0; i < Math.min(n, 60); i++) {
        const v = xd[i];
        xd[i] = v + h; const lp = L();
        xd[i] = v - h; const lm = L();
        xd[i] = v;
        expect(Math.abs(dx[i] - (lp - lm) / (2 * h))).toBeLessThan(1e-5);
      }
      // inner = 1 is the row softmax.
      if (inner === 1) {
        const pr = heapArray(new Float32Array(n));
        activationForward('softmax', outer, len, px, pr);
        expect(read(pr, n)).toEqual(y);
        free(pr);
      }
      free(px, py, pdy, pdx);
    });
  }
});

describe('activation names', () => {
  it('accepts every name, the aliases silu and hard_sigmoid', () => {
    for (const a of ACTIVATIONS) expect(checkActivation('l', a)).toBe(a);
    expect(checkActivation('l', 'silu')).toBe('swish');
    expect(checkActivation('l', 'hard_sigmoid')).toBe('hardSigmoid');
    expect(checkActivation('l', undefined)).toBe('linear');
  });
  it('an unknown name is an Error naming the layer, the value and every valid name', () => {
    expect(() => checkActivation('dense_7', 'swishy')).toThrow(/dense_7.*activation.*swishy/);
    try {
      checkActivation('dense_7', 'swishy');
    } catch (e) {
      for (const a of ACTIVATIONS) expect((e as Error).message).toContain(`'${a}'`);
    }
    expect(() => checkActivation('conv', 7)).toThrow(/conv.*activation/);
  });
});
