import { describe, expect, it } from 'vitest';
import { runtime } from '../src/backend/runtime.js';
import {
  adamConfig, adamLearningRate, adamStep, allocSlot, freeSlot, momentumStep, sgdConfig, sgdStep,
} from '../src/ops/optim.js';
import { refAdam, refMomentum, refSgd } from '../src/reference/optim.js';
import { maxRelErr, randn } from './helpers/random.js';

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);
const free = (...ps: number[]) => ps.forEach((p) => runtime().heap.free(p));

const sizes = [1, 3, 4, 5, 17, 1000];
const STEPS = 5;

/** Runs `steps` updates with fresh gradients each step, kernel vs float64 reference. */
function sweep(n: number, seed: number, kernelStep: (t: number, pw: number, pg: number) => void,
  refStep: (t: number, w: Float64Array, g: Float32Array) => void) {
  const w0 = randn(n, seed);
  const pw = heapArray(w0), pg = heapArray(new Float32Array(n));
  const w = Float64Array.from(w0);
  for (let t = 1; t <= STEPS; t++) {
    const g = randn(n, seed * 31 + t, 2);
    runtime().heap.writeF32(pg, g);
    kernelStep(t, pw, pg);
    refStep(t, w, g);
  }
  const got = read(pw, n);
  free(pw, pg);
  return { got, want: w };
}

describe('optimizer kernels vs the float64 reference over 5 steps', () => {
  for (const n of sizes) {
    it(`sgd n=${n}`, () => {
      const { got, want } = sweep(n, n, (_, pw, pg) => sgdStep(n, pw, pg, 0.05), (_, w, g) => refSgd(w, g, 0.05));
      expect(maxRelErr(got, want)).toBeLessThan(1e-6);
    });
    for (const nesterov of [false, true]) {
      it(`momentum n=${n} nesterov=${nesterov}`, () => {
        const pv = allocSlot(n), v = new Float64Array(n);
        const { got, want } = sweep(n, n + 1, (_, pw, pg) => momentumStep(n, pw, pg, pv, 0.05, 0.9, nesterov),
          (_, w, g) => refMomentum(w, g, v, 0.05, 0.9, nesterov));
        expect(maxRelErr(got, want)).toBeLessThan(2e-6);
        expect(maxRelErr(read(pv, n), v)).toBeLessThan(2e-6);
        freeSlot(pv);
      });
    }
    it(`adam n=${n}`, () => {
      const c = adamConfig('test', { learningRate: 0.01 });
      const pm = allocSlot(n), pv = allocSlot(n), m = new Float64Array(n), v = new Float64Array(n);
      const { got, want } = sweep(n, n + 2, (t, pw, pg) => adamStep(n, pw, pg, pm, pv, t, c.learningRate, c.beta1, c.beta2, c.epsilon),
        (t, w, g) => refAdam(w, g, m, v, t, c.learningRate, c.beta1, c.beta2, c.epsilon));
      expect(maxRelErr(got, want)).toBeLessThan(2e-6);
      expect(maxRelErr(read(pm, n), m)).toBeLessThan(2e-6);
      expect(maxRelErr(read(pv, n), v)).toBeLessThan(2e-6);
      freeSlot(pm); freeSlot(pv);
    });
  }
});

describe('hand-computed values (what TF/Keras give)', () => {
  it('SGD and Keras momentum / Nesterov with a constant gradient 1, lr 0.1, momentum 0.9', () => {
    const pw = heapArray([1, 1, 1]), pg = heapArray([1, 1, 1]), pv = allocSlot(1), pvn = allocSlot(1);
    const plain: number[] = [], mom: number[] = [], nes: number[] = [];
    for (let t = 0; t < 3; t++) {
      sgdStep(1, pw, pg, 0.1);
      momentumStep(1, pw + 4, pg, pv, 0.1, 0.9);
      momentumStep(1, pw + 8, pg, pvn, 0.1, 0.9, true);
      const w = read(pw, 3);
      plain.push(w[0]); mom.push(w[1]); nes.push(w[2]);
    }
    // momentum: v = −0.1, −0.19, −0.271 → w = 0.9, 0.71, 0.439.
    // Nesterov: w += 0.9·v − 0.1 → −0.19, −0.271, −0.3439 → w = 0.81, 0.539, 0.1951.
    const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
    close(plain, [0.9, 0.8, 0.7]);
    close(mom, [0.9, 0.71, 0.439]);
    close(nes, [0.81, 0.539, 0.1951]);
    free(pw, pg); freeSlot(pv); freeSlot(pvn);
  });
  it('Adam with a constant gradient follows the closed form with TF epsilon placement', () => {
    // With g constant, m_t = (1−β1^t)g and v_t = (1−β2^t)g², so the step is lr·s_t/(s_t + ε/|g|) with
    // s_t = √(1−β2^t). lr 0.1, g 0.5, ε 0.1: s_1 = √0.001 = 0.0316228, step 0.1·0.0316228/0.2316228 =
    // 0.0136527 → w_1 = 0.9863473. (tfjs' ε-on-v̂ placement would step 0.1·0.5/0.6 = 0.0833 every time.)
    const want = [0.9863472940504185, 0.9680766286404472, 0.9465865505492307, 0.9225749315512727, 0.8964738370840395];
    const pw = heapArray([1, 1, 1, 1, 1]), pg = heapArray([0.5, 0.5, 0.5, 0.5, 0.5]);
    const pm = allocSlot(5), pv = allocSlot(5);
    for (let t = 1; t <= 5; t++) {
      adamStep(5, pw, pg, pm, pv, t, 0.1, 0.9, 0.999, 0.1);
      for (const x of read(pw, 5)) expect(x).toBeCloseTo(want[t - 1], 6);
    }
    // Keras defaults (ε = 1e-7): the first step moves each weight by almost exactly lr.
    const pw2 = heapArray([2]), pg2 = heapArray([-3]), pm2 = allocSlot(1), pv2 = allocSlot(1);
    adamStep(1, pw2, pg2, pm2, pv2, 1, 0.001, 0.9, 0.999, 1e-7);
    expect(read(pw2, 1)[0]).toBeCloseTo(2.001, 6);
    free(pw, pg, pm, pv, pw2, pg2, pm2, pv2);
  });
  it('adamLearningRate', () => {
    expect(adamLearningRate(0.001, 0.9, 0.999, 1)).toBeCloseTo(0.001 * Math.sqrt(0.001) / 0.1, 12);
    expect(adamLearningRate(0.001, 0.9, 0.999, 1e6)).toBeCloseTo(0.001, 12);
  });
});

describe('optimizer argument errors', () => {
  it('name op, argument, value and expectation', () => {
    expect(() => adamStep(1, 64, 64, 64, 64, 0, 0.1, 0.9, 0.999, 1e-7)).toThrow(/^adamStep: t must be the 1-based step number \(a positive integer\), got 0$/);
    expect(() => adamConfig('Adam', { learningRate: -1 })).toThrow(/^Adam: learningRate must be a finite number > 0, got -1$/);
    expect(() => adamConfig('Adam', { beta2: 1 })).toThrow(/^Adam: beta2 must be a number in \[0, 1\), got 1$/);
    expect(() => adamConfig('Adam', { epsilon: NaN })).toThrow(/^Adam: epsilon must be a finite number > 0, got NaN$/);
    expect(() => sgdConfig('SGD', { momentum: 1.5 })).toThrow(/^SGD: momentum must be a number in \[0, 1\), got 1.5$/);
    expect(() => sgdConfig('SGD', { nesterov: 'yes' as never })).toThrow(/^SGD: nesterov must be a boolean, got 'yes'$/);
    expect(sgdConfig('SGD')).toEqual({ learningRate: 0.01, momentum: 0, nesterov: false });
    expect(adamConfig('Adam')).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  });
});
