import { describe, expect, it } from 'vitest';
import { memory, softmaxCrossEntropy, sparseSoftmaxCrossEntropy, tensor } from '../src/index.js';
import { runtime } from '../src/backend/runtime.js';
import {
  firstNonFinite, type LabelKind, nonFiniteError, softmaxCrossEntropyLoss, softmaxCrossEntropyStep, type XentResult,
} from '../src/ops/loss.js';
import { refSoftmaxXent } from '../src/reference/loss.js';
import { maxRelErr, randn, rng } from './helpers/random.js';

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);
const free = (...ps: number[]) => ps.forEach((p) => runtime().heap.free(p));

function makeLabels(rows: number, classes: number, kind: LabelKind | 'unnormalised', seed: number): Float32Array {
  const r = rng(seed);
  if (kind === 'sparse') return Float32Array.from({ length: rows }, () => Math.floor(r() * classes));
  const t = new Float32Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < classes; j++) s += (t[i * classes + j] = r() ** 3);
    if (kind === 'dense') for (let j = 0; j < classes; j++) t[i * classes + j] /= s;
  }
  return t;
}

/** Runs the step kernel; returns everything it wrote. */
function step(rows: number, classes: number, logits: ArrayLike<number>, labels: ArrayLike<number>, kind: LabelKind, scale: number) {
  const pz = heapArray(logits), pt = heapArray(labels);
  const pp = heapArray(new Float32Array(rows * classes).fill(NaN)), pg = heapArray(new Float32Array(rows * classes).fill(NaN));
  const res: XentResult = { lossSum: NaN, correct: NaN };
  softmaxCrossEntropyStep('test', rows, classes, pz, pt, kind, pg, scale, pp, res);
  const out = { ...res, probs: read(pp, rows * classes), dlogits: read(pg, rows * classes) };
  const lossOnly: XentResult = { lossSum: NaN, correct: NaN };
  softmaxCrossEntropyLoss('test', rows, classes, pz, pt, kind, lossOnly);
  free(pz, pt, pp, pg);
  return { ...out, lossOnly };
}

const shapes: [number, number][] = [[1, 1], [1, 10], [3, 10], [5, 3], [2, 7], [64, 10], [3, 1000]];
const kinds: (LabelKind | 'unnormalised')[] = ['sparse', 'dense', 'unnormalised'];

describe('softmax cross-entropy kernel vs reference and finite differences', () => {
  for (const [rows, classes] of shapes) {
    for (const kind of kinds) {
      it(`${rows} rows x ${classes} classes, ${kind} labels`, () => {
        const z = randn(rows * classes, rows * 13 + classes, 4);
        const t = makeLabels(rows, classes, kind, rows + classes);
        const lk: LabelKind = kind === 'sparse' ? 'sparse' : 'dense';
        const scale = 1 / rows;
        const got = step(rows, classes, z, t, lk, scale);
        const want = refSoftmaxXent(rows, classes, z, t, lk === 'sparse', scale);
        expect(Math.abs(got.lossSum - want.lossSum)).toBeLessThan(1e-6 * rows * (1 + Math.log(classes)) + 1e-6 * Math.abs(want.lossSum));
        expect(got.correct).toBe(want.correct);
        expect(got.lossOnly).toEqual({ lossSum: got.lossSum, correct: got.correct });
        expect(maxRelErr(got.probs, want.probs)).toBeLessThan(1e-6);
        expect(maxRelErr(got.dlogits, want.dlogits)).toBeLessThan(1e-6);
        // dlogits = ∂(scale · Σ loss)/∂z: central differences of the float64 reference.
        const r = rng(classes);
        const idx = rows * classes <= 64 ? [...Array(rows * classes).keys()] : Array.from({ length: 40 }, () => Math.floor(r() * rows * classes));
        const eps = 1e-5;
        for (const i of idx) {
          const zp = Float64Array.from(z), zm = Float64Array.from(z);
          zp[i] += eps; zm[i] -= eps;
          const fd = scale * (refSoftmaxXent(rows, classes, zp, t, lk === 'sparse').lossSum - refSoftmaxXent(rows, classes, zm, t, lk === 'sparse').lossSum) / (2 * eps);
          expect(Math.abs(got.dlogits[i] - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
        }
      });
    }
  }
});

describe('stability and edge cases', () => {
  it('huge logits (±1e4): exact loss, no NaN, one-hot gradient', () => {
    const z = [1e4, -1e4, 0, 1e4, -1e4, 0, 1e4, 1e4, 1e4, -1e4, -1e4, -1e4];
    const t = [0, 1, 2, 1];
    const got = step(4, 3, z, t, 'sparse', 1);
    // Rows: 0 + log(1) ; 2e4 ; log 3 ; log 3.
    expect(got.lossSum).toBeCloseTo(2e4 + 2 * Math.log(3), 3);
    expect(got.correct).toBe(1); // only row 0: tied rows 2 and 3 pick class 0 (the first max)
    expect(Array.from(got.dlogits.slice(0, 6))).toEqual([0, 0, 0, 1, -1, 0]);
    for (const v of got.dlogits) expect(Number.isFinite(v)).toBe(true);
  });
  it('equal logits give log(classes) and uniform probabilities', () => {
    const got = step(2, 4, new Float32Array(8).fill(7), [3, 0], 'sparse', 0.5);
    expect(got.lossSum).toBeCloseTo(2 * Math.log(4), 6);
    expect(Array.from(got.probs)).toEqual(new Array(8).fill(0.25));
    expect(got.dlogits[3]).toBeCloseTo(-0.375, 7);
    expect(got.correct).toBe(1); // ties resolve to class 0
  });
  it('one class: zero loss, zero gradient, always correct', () => {
    const got = step(3, 1, [5, -1e4, 0], [0, 0, 0], 'sparse', 1 / 3);
    expect(got.lossSum).toBe(0);
    expect(Array.from(got.dlogits)).toEqual([0, 0, 0]);
    expect(got.correct).toBe(3);
  });
  it('empty batch', () => {
    const res = { lossSum: NaN, correct: NaN };
    softmaxCrossEntropyLoss('test', 0, 10, 64, 64, 'sparse', res);
    expect(res).toEqual({ lossSum: 0, correct: 0 });
  });
  it('sparse gradient rows sum to zero', () => {
    const got = step(64, 10, randn(640, 3, 10), makeLabels(64, 10, 'sparse', 4), 'sparse', 1 / 64);
    for (let r = 0; r < 64; r++) {
      let s = 0;
      for (let j = 0; j < 10; j++) s += got.dlogits[r * 10 + j];
      expect(Math.abs(s)).toBeLessThan(1e-8);
    }
  });
});

describe('bad labels and non-finite logits', () => {
  for (const [bad, shown] of [[10, '10'], [-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity']] as const) {
    it(`sparse label ${shown} is named with its row`, () => {
      const pz = heapArray(randn(40, 1)), pt = heapArray([1, 2, bad, 0]), pg = heapArray(new Float32Array(40));
      const res = { lossSum: 0, correct: 0 };
      expect(() => softmaxCrossEntropyStep('fit', 4, 10, pz, pt, 'sparse', pg, 0.25, 0, res))
        .toThrow(new RegExp(`^fit: labels\\[2\\] must be an integer class index in \\[0, 10\\), got ${shown}$`));
      free(pz, pt, pg);
    });
  }
  it('NaN / Inf logits: pointer level returns a non-finite loss; nonFiniteError locates the value', () => {
    const z = randn(30, 2);
    z[17] = NaN;
    const pz = heapArray(z), pt = heapArray([1, 2, 3]);
    const res = { lossSum: 0, correct: 0 };
    softmaxCrossEntropyLoss('evaluate', 3, 10, pz, pt, 'sparse', res);
    expect(res.lossSum).toBeNaN();
    expect(firstNonFinite(30, pz)).toBe(17);
    expect(nonFiniteError('evaluate', 3, 10, pz, pt, 'sparse')?.message).toMatch(/^evaluate: logits must be finite, got NaN at row 1, class 7 \(the model diverged/);
    runtime().heap.f32[(pz >>> 2) + 17] = 0;
    expect(nonFiniteError('evaluate', 3, 10, pz, pt, 'sparse')).toBeUndefined();
    runtime().heap.f32[(pz >>> 2) + 29] = -Infinity;
    expect(firstNonFinite(30, pz)).toBe(29);
    free(pz, pt);
  });
  it('firstNonFinite over sizes and positions', () => {
    for (const n of [1, 3, 4, 5, 9, 100]) {
      const x = randn(n, n);
      const p = heapArray(x);
      expect(firstNonFinite(n, p)).toBe(-1);
      for (const pos of [0, n - 1, n >> 1]) {
        for (const v of [NaN, Infinity, -Infinity]) {
          runtime().heap.f32[(p >>> 2) + pos] = v;
          expect(firstNonFinite(n, p)).toBe(pos);
          runtime().heap.f32[(p >>> 2) + pos] = x[pos];
        }
      }
      free(p);
    }
  });
});

describe('public loss ops', () => {
  it('match tfjs on a hand-computed case', () => {
    const before = memory().numTensors;
    const logits = tensor([[1, 2, 3], [1, 2, 3]]);
    const onehot = tensor([[0, 1, 0], [0, 0, 1]]);
    const l = softmaxCrossEntropy(onehot, logits);
    // log(e + e² + e³) − 2 = 1.4076059644, − 3 = 0.4076059644; mean 0.9076059644.
    expect(l.shape).toEqual([]);
    expect(l.dataSync()[0]).toBeCloseTo(0.9076059644, 6);
    const sparse = tensor([1, 2]);
    const ls = sparseSoftmaxCrossEntropy(sparse, logits);
    expect(ls.dataSync()[0]).toBeCloseTo(0.9076059644, 6);
    for (const t of [logits, onehot, l, sparse, ls]) t.dispose();
    expect(memory().numTensors).toBe(before);
  });
  it('errors name op, argument, value and expectation', () => {
    const logits = tensor([[1, 2, 3], [1, NaN, 3]]);
    expect(() => softmaxCrossEntropy(tensor([[0, 1, 0]]), logits)).toThrow(/^softmaxCrossEntropy: onehotLabels must be the shape of logits \[2, 3\], got tensor of shape \[1, 3\]$/);
    expect(() => sparseSoftmaxCrossEntropy(tensor([[0], [1]]), logits)).toThrow(/^sparseSoftmaxCrossEntropy: labels must be of shape \[2\] .*, got tensor of shape \[2, 1\]$/);
    expect(() => sparseSoftmaxCrossEntropy(tensor([0, 3]), logits)).toThrow(/^sparseSoftmaxCrossEntropy: labels\[1\] must be an integer class index in \[0, 3\), got 3$/);
    expect(() => sparseSoftmaxCrossEntropy(tensor([0, 1]), logits)).toThrow(/^sparseSoftmaxCrossEntropy: logits must be finite, got NaN at row 1, class 1/);
    expect(() => softmaxCrossEntropy(tensor([[1, 0, 0], [0, 1, 0]]), logits)).toThrow(/logits must be finite, got NaN at row 1, class 1/);
    const ok = tensor([[1, 2, 3], [1, 2, 3]]);
    expect(() => softmaxCrossEntropy(tensor([[1, 0, 0], [Infinity, 0, 0]]), ok)).toThrow(/^softmaxCrossEntropy: labels must be finite, got Infinity at row 1, class 0$/);
    expect(() => softmaxCrossEntropy('x' as never, ok)).toThrow(/^softmaxCrossEntropy: onehotLabels must be a Tensor, got 'x'$/);
    const res = { lossSum: 0, correct: 0 };
    expect(() => softmaxCrossEntropyLoss('fit', 2, 0, 64, 64, 'sparse', res)).toThrow(/^fit: classes must be a positive integer, got 0$/);
    expect(() => softmaxCrossEntropyLoss('fit', 2, 3, 64, 64, 'onehot' as LabelKind, res)).toThrow(/^fit: labelKind must be 'sparse' or 'dense', got 'onehot'$/);
  });
});
