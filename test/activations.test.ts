import { describe, expect, it } from 'vitest';
import { memory, relu, sigmoid, softmax, tanh, tensor } from '../src/index.js';
import { runtime } from '../src/backend/runtime.js';
import {
  activationBackward, activationForward, biasGrad, type ActivationName, addInto, scaleInto, softmaxRows,
} from '../src/ops/activations.js';
import {
  refBiasGrad, refRelu, refReluBackward, refSigmoid, refSigmoidBackward, refSoftmax, refTanh, refTanhBackward,
} from '../src/reference/activations.js';
import { maxRelErr, randn } from './helpers/random.js';

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);
const free = (...ps: number[]) => ps.forEach((p) => runtime().heap.free(p));

const acts: [Exclude<ActivationName, 'linear'>, (x: ArrayLike<number>) => Float64Array, (x: ArrayLike<number>, dy: ArrayLike<number>) => Float64Array][] = [
  ['relu', refRelu, refReluBackward],
  ['sigmoid', refSigmoid, refSigmoidBackward],
  ['tanh', refTanh, refTanhBackward],
];
const sizes = [1, 3, 4, 5, 17, 64, 1001];

describe('activation kernels: forward, backward vs reference and finite differences', () => {
  for (const [name, fwd, bwd] of acts) {
    for (const n of sizes) {
      it(`${name} n=${n}`, () => {
        const x = randn(n, n * 7 + name.length, 3), dy = randn(n, n + 11);
        const px = heapArray(x), py = heapArray(new Float32Array(n)), pdy = heapArray(dy), pdx = heapArray(new Float32Array(n));
        activationForward(name, n, px, py);
        const y = read(py, n);
        expect(maxRelErr(y, fwd(x))).toBeLessThan(2e-7);
        activationBackward(name, n, py, pdy, pdx);
        const dx = read(pdx, n);
        expect(maxRelErr(dx, bwd(x, dy))).toBeLessThan(1e-6);
        // Central differences of the float64 forward, elementwise (each y_i depends on x_i only).
        const eps = 1e-6;
        for (let i = 0; i < n; i++) {
          const fd = (fwd([x[i] + eps])[0] - fwd([x[i] - eps])[0]) / (2 * eps) * dy[i];
          expect(Math.abs(dx[i] - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
        // In place: forward y = x, then backward dx = dy.
        activationForward(name, n, px, px);
        expect(Array.from(read(px, n))).toEqual(Array.from(y));
        activationBackward(name, n, px, pdy, pdy);
        expect(Array.from(read(pdy, n))).toEqual(Array.from(dx));
        free(px, py, pdy, pdx);
      });
    }
  }
  it('linear copies (and is a no-op in place)', () => {
    const x = randn(7, 1), px = heapArray(x), py = heapArray(new Float32Array(7));
    activationForward('linear', 7, px, py);
    expect(read(py, 7)).toEqual(x);
    activationBackward('linear', 7, px, px, py);
    expect(read(py, 7)).toEqual(x);
    activationForward('linear', 7, px, px);
    expect(read(px, 7)).toEqual(x);
    free(px, py);
  });
  it('saturates without NaN and keeps NaN', () => {
    const x = [-1e4, -100, -0, 0, 100, 1e4, NaN, Infinity, -Infinity];
    const t = tensor(x);
    const s = sigmoid(t), h = tanh(t), r = relu(t);
    expect(Array.from(s.dataSync())).toEqual([0, 0, 0.5, 0.5, 1, 1, NaN, 1, 0]);
    expect(Array.from(h.dataSync())).toEqual([-1, -1, -0, 0, 1, 1, NaN, 1, -1]);
    expect(Array.from(r.dataSync())).toEqual([0, 0, 0, 0, 100, 1e4, NaN, Infinity, 0]);
    for (const v of [t, s, h, r]) v.dispose();
  });
});

describe('biasGrad: column sums', () => {
  const shapes: [number, number][] = [[1, 1], [3, 5], [7, 16], [5, 17], [300, 36], [1000, 10], [513, 64], [2, 3], [70000, 3]];
  for (const [m, n] of shapes) {
    it(`${m}x${n}`, () => {
      const dy = randn(m * n, m + n), prev = randn(n, 5);
      const pdy = heapArray(dy), pdb = heapArray(prev);
      biasGrad(m, n, pdy, pdb);
      const db = read(pdb, n), want = refBiasGrad(m, n, dy);
      // Two-level f32 summation: error ~ sqrt(m)·ulp; allow m·ulp/64 + a floor.
      const tol = 1e-6 * (4 + Math.sqrt(m));
      expect(maxRelErr(db, want)).toBeLessThan(tol);
      biasGrad(m, n, pdy, pdb, true);
      expect(maxRelErr(read(pdb, n), want.map((v) => 2 * v))).toBeLessThan(2 * tol);
      // It is the gradient of y = x + b: L(b) = Σ dy·(x + b); central difference per b_j.
      if (m * n < 20000) {
        const x = randn(m * n, 3), b = new Float64Array(n);
        const L = (bb: Float64Array) => { let s = 0; for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) s += dy[i * n + j] * (x[i * n + j] + bb[j]); return s; };
        for (let j = 0; j < n; j++) {
          const bp = b.slice(), bm = b.slice();
          bp[j] += 1e-3; bm[j] -= 1e-3;
          expect(db[j]).toBeCloseTo((L(bp) - L(bm)) / 2e-3, 3);
        }
      }
      free(pdy, pdb);
    });
  }
});

describe('addInto / scaleInto', () => {
  for (const n of [1, 4, 7, 33]) {
    it(`n=${n}`, () => {
      const x = randn(n, 1), y = randn(n, 2);
      const px = heapArray(x), py = heapArray(y);
      addInto(n, px, py);
      expect(read(py, n)).toEqual(Float32Array.from(y, (v, i) => v + x[i]));
      scaleInto(n, 0.5, px, py);
      expect(read(py, n)).toEqual(Float32Array.from(x, (v) => v * 0.5));
      scaleInto(n, -2, px, px);
      expect(read(px, n)).toEqual(Float32Array.from(x, (v) => v * -2));
      free(px, py);
    });
  }
});

describe('softmax', () => {
  const shapes: [number, number][] = [[1, 1], [1, 10], [3, 10], [5, 7], [64, 10], [2, 1000]];
  for (const [rows, cols] of shapes) {
    it(`rows ${rows} x cols ${cols} (kernel, in place too)`, () => {
      const x = randn(rows * cols, rows * cols, 5);
      const px = heapArray(x), py = heapArray(new Float32Array(rows * cols));
      softmaxRows(rows, cols, px, py);
      const want = refSoftmax(rows, cols, x);
      expect(maxRelErr(read(py, rows * cols), want)).toBeLessThan(1e-6);
      softmaxRows(rows, cols, px, px);
      expect(read(px, rows * cols)).toEqual(read(py, rows * cols));
      free(px, py);
    });
  }
  it('is stable for huge, equal and single logits', () => {
    const t = tensor([[1e4, -1e4, 0], [5, 5, 5], [-1e4, -1e4, -1e4], [88, 89, 90]]);
    const s = softmax(t);
    const v = s.dataSync();
    expect(Array.from(v.slice(0, 3))).toEqual([1, 0, 0]);
    for (let j = 3; j < 9; j++) expect(v[j]).toBeCloseTo(1 / 3, 7);
    const want = refSoftmax(1, 3, [88, 89, 90]);
    for (let j = 0; j < 3; j++) expect(v[9 + j]).toBeCloseTo(want[j], 6);
    const one = tensor([[3], [-1e4]]), so = softmax(one);
    expect(Array.from(so.dataSync())).toEqual([1, 1]);
    const r3 = tensor(randn(24, 9), [2, 3, 4]), s3 = softmax(r3, 2);
    expect(s3.shape).toEqual([2, 3, 4]);
    expect(maxRelErr(s3.dataSync(), refSoftmax(6, 4, r3.dataSync()))).toBeLessThan(1e-6);
    for (const x of [t, s, one, so, r3, s3]) x.dispose();
  });
});

describe('public ops', () => {
  it('keep shape, match the reference, do not leak', () => {
    const before = memory().numTensors;
    const x = tensor(randn(24, 4, 2), [2, 3, 4]);
    for (const [f, ref] of [[relu, refRelu], [sigmoid, refSigmoid], [tanh, refTanh]] as const) {
      const y = f(x);
      expect(y.shape).toEqual([2, 3, 4]);
      expect(maxRelErr(y.dataSync(), ref(x.dataSync()))).toBeLessThan(2e-7);
      y.dispose();
    }
    x.dispose();
    expect(memory().numTensors).toBe(before);
  });
  it('errors name op, argument, value and expectation', () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(() => softmax(t, 0)).toThrow(/softmax: dim must be -1 or 1 \(the last axis.*\), got 0/);
    expect(() => softmax(tensor([5], []))).toThrow(/softmax: logits must be a tensor of rank at least 1, got tensor of shape \[\]/);
    expect(() => relu([1, 2] as never)).toThrow(/relu: x must be a Tensor, got \[1, 2\]/);
    expect(() => sigmoid(null as never)).toThrow(/sigmoid: x must be a Tensor, got null/);
    t.dispose();
    expect(() => tanh(t)).toThrow(/tanh: the tensor of shape \[2,2\] was already disposed/);
  });
});
