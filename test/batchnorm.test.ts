// BatchNormalization driven directly through the layer contract on the wasm kernels: training
// forward (batch statistics), moving-statistics update, backward (dx, dgamma, dbeta), and inference
// (moving statistics) against the float64 reference (src/reference/batchnorm.ts), which is itself
// checked against central finite differences. 1 and 2 threads give identical bits.
import { afterAll, describe, expect, it } from 'vitest';
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { runtime, setThreads } from '../src/backend/runtime.js';
import type { StepContext } from '../src/layers/layer.js';
import { BatchNormalization, batchNormalization } from '../src/layers/batch-norm.js';
import { refBnBackward, refBnNormalize, refBnStats } from '../src/reference/batchnorm.js';
import { AFFINE_ACTS, AFFINE_CASES, BN_CASES, affineCase, bnCase, checkBnCase, expectedOf, type BnRun, type BnRunner } from './helpers/batchnorm-cases.js';
import { maxRelErr, randn } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);

/** Runs forward then backward of `layer` (built) on wasm with its weights laid out in one flat buffer. */
export const runWasm = (...[layer, batch, training, x, dy, weights]: Parameters<BnRunner>): BnRun => {
  const { heap } = runtime();
  let off = 0;
  for (const w of layer.weights) {
    w.offset = off;
    off += Math.ceil(size(w.shape) / 16) * 16;
  }
  const flat = new Float32Array(off);
  layer.weights.forEach((w, i) => flat.set(weights[i], w.offset));
  const params = heapArray(flat), grads = heapArray(new Float32Array(off).fill(777));
  const px = heapArray(x), pdy = heapArray(dy);
  const n = x.length;
  const y = heapArray(new Float32Array(n).fill(NaN)), dx = heapArray(new Float32Array(n).fill(1234.5));
  const ctx: StepContext = { k: wasmKernels, params, grads, batch, training, logits: false, weightsVersion: 0 };
  const buf = layer.plan(wasmKernels, batch, training, { y, dx });
  layer.forward(ctx, buf, px);
  layer.backward(ctx, buf, px, pdy);
  const idx = (name: string) => layer.weights.find((w) => w.name === name);
  const wOut = (name: string, from: number) => {
    const w = idx(name);
    return w ? read(from + w.offset * 4, size(w.shape)) : undefined;
  };
  const r: BnRun = {
    y: read(y, n), dx: read(dx, n), dgamma: wOut('gamma', grads), dbeta: wOut('beta', grads),
    movingMean: wOut('moving_mean', params)!, movingVar: wOut('moving_variance', params)!,
  };
  buf.free();
  for (const p of [params, grads, px, pdy, y, dx]) heap.free(p);
  return r;
};

describe('batchNormalization vs float64 reference (wasm)', () => {
  let seed = 1;
  for (const c of BN_CASES) {
    for (const training of [true, false]) {
      const s = seed++;
      it(`[${c[0]}] axis ${c[1]} batch ${c[2]}${c[3] ? '' : ' no center'}${c[4] ? '' : ' no scale'} ${training ? 'training' : 'inference'}`,
        () => checkBnCase(runWasm, c, training, s));
    }
  }

  it('batch 1 of a dense input: variance 0, epsilon alone scales (y = beta)', () => {
    const d = bnCase([5], -1, 1, true, true, 99);
    const got = runWasm(d.layer, 1, true, d.x, d.dy, d.weights);
    expect(maxRelErr(got.y, d.beta!)).toBeLessThan(1e-5);
    // The moving variance moves towards 0.
    expect(maxRelErr(got.movingVar, d.mv.map((v) => v * 0.9))).toBeLessThan(1e-6);
  });

  it('a large mean does not cancel the variance (shifted sums)', () => {
    const d = bnCase([4, 4, 3], -1, 5, true, true, 5);
    const x = d.x.map((v) => v + 1e4);
    const got = runWasm(d.layer, 5, true, x, d.dy, d.weights);
    const st = refBnStats(d.g, x);
    expect(maxRelErr(got.y, refBnNormalize(d.g, x, st.mean, st.variance, d.gamma, d.beta, 1e-3))).toBeLessThan(2e-3);
  });

  describe('threads', () => {
    afterAll(() => setThreads(2));
    it('1 and 2 threads give identical bits (large enough to split)', () => {
      const runs: BnRun[] = [];
      for (const t of [1, 2]) {
        setThreads(t);
        const d = bnCase([16, 16, 16], -1, 8, true, true, 42);
        runs.push(runWasm(d.layer, 8, true, d.x, d.dy, d.weights));
        const e = bnCase([16, 16, 16], 1, 8, true, true, 43);
        runs.push(runWasm(e.layer, 8, true, e.x, e.dy, e.weights));
      }
      for (const k of ['y', 'dx', 'dgamma', 'dbeta', 'movingMean', 'movingVar'] as const) {
        expect(Array.from(runs[2][k]!), k).toEqual(Array.from(runs[0][k]!));
        expect(Array.from(runs[3][k]!), k).toEqual(Array.from(runs[1][k]!));
      }
      // And they match the reference.
      const d = bnCase([16, 16, 16], -1, 8, true, true, 42);
      expect(maxRelErr(runs[0].dx, expectedOf(d, true).dx)).toBeLessThan(1e-4);
    });
  });
});

describe('bnAffine fused activations (wasm)', () => {
  for (const act of AFFINE_ACTS) {
    it(act, () => {
      AFFINE_CASES.forEach(([outer, C, inner], i) => {
        const { x, coef, want } = affineCase(outer, C, inner, act, 10 + i);
        const px = heapArray(x), pc = heapArray(coef), py = heapArray(new Float32Array(x.length).fill(NaN));
        const p = wasmKernels.bnPlan(outer, C, inner);
        wasmKernels.bnAffine(p, act, px, pc, py);
        expect(maxRelErr(read(py, x.length), want), `[${outer}, ${C}, ${inner}]`).toBeLessThan(1e-6);
        p.free();
        for (const q of [px, pc, py]) runtime().heap.free(q);
      });
    });
  }
});

describe('float64 reference backward vs central differences', () => {
  for (const training of [true, false]) {
    it(training ? 'training (batch statistics)' : 'inference (constant statistics)', () => {
      const g = { outer: 3, C: 2, inner: 2 };
      const x = Float64Array.from(randn(12, 3, 2));
      const dy = Float64Array.from(randn(12, 4));
      const gamma = [1.5, -0.7], beta = [0.2, 0.1], mean = [0.3, -0.2], variance = [1.2, 0.6];
      const loss = (xx: Float64Array, gm = gamma, bt = beta) => {
        const st = training ? refBnStats(g, xx) : { mean, variance };
        const y = refBnNormalize(g, xx, st.mean, st.variance, gm, bt, 1e-3);
        return y.reduce((s, v, i) => s + v * dy[i], 0);
      };
      const r = refBnBackward(g, x, dy, gamma, 1e-3, training, mean, variance);
      const h = 1e-6;
      for (let i = 0; i < x.length; i++) {
        const p = x.slice(), m = x.slice();
        p[i] += h; m[i] -= h;
        expect(r.dx[i]).toBeCloseTo((loss(p) - loss(m)) / (2 * h), 6);
      }
      for (let c = 0; c < 2; c++) {
        const gp = gamma.slice(), gm = gamma.slice(), bp = beta.slice(), bm = beta.slice();
        gp[c] += h; gm[c] -= h; bp[c] += h; bm[c] -= h;
        expect(r.dgamma[c]).toBeCloseTo((loss(x, gp) - loss(x, gm)) / (2 * h), 6);
        expect(r.dbeta[c]).toBeCloseTo((loss(x, gamma, bp) - loss(x, gamma, bm)) / (2 * h), 6);
      }
    });
  }
});

describe('batchNormalization arguments', () => {
  const build = (args: object, shape = [4, 4, 3]) => batchNormalization(args).build(shape);
  it.each([
    [{ axis: 4 }, /axis must be an axis in \[-3, 3\].*got 4/],
    [{ axis: -5 }, /axis must be an axis/],
    [{ axis: 0 }, /axis must be a non-batch axis.*got 0/],
    [{ axis: -4 }, /axis must be a non-batch axis.*got -4/],
    [{ axis: 1.5 }, /axis must be an integer.*got 1.5/],
    [{ momentum: 'x' }, /momentum must be a number in \[0, 1\], got 'x'/],
    [{ momentum: 1.5 }, /momentum must be a number in \[0, 1\], got 1.5/],
    [{ momentum: NaN }, /momentum must be/],
    [{ epsilon: 0 }, /epsilon must be a positive number, got 0/],
    [{ center: 1 }, /center must be a boolean, got 1/],
    [{ gammaInitializer: 'twos' }, /gammaInitializer must be one of .*got 'twos'/],
  ])('%o is an Error naming the argument', (args, msg) => {
    expect(() => build(args)).toThrow(msg);
    expect(() => build(args)).toThrow(/batch_normalization/);
  });
  it('defaults as tfjs and Keras weight order', () => {
    const l = new BatchNormalization();
    l.build([2, 2, 5]);
    expect([l.axis, l.momentum, l.epsilon, l.center, l.scale]).toEqual([-1, 0.99, 1e-3, true, true]);
    expect(l.weights.map((w) => [w.name, w.shape[0], w.init, w.trainable ?? true])).toEqual([
      ['gamma', 5, 'ones', true], ['beta', 5, 'zeros', true], ['moving_mean', 5, 'zeros', false], ['moving_variance', 5, 'ones', false]]);
    expect([l.paramCount, l.trainableParamCount]).toEqual([20, 10]);
  });
});
