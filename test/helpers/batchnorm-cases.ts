// Shared table and checks of the BatchNormalization layer against src/reference/batchnorm.ts, for
// any backend's kernels (test/batchnorm.test.ts on wasm, test/webgpu.batchnorm.test.ts on WebGPU).
import { BatchNormalization } from '../../src/layers/batch-norm.js';
import { refBnBackward, refBnMoving, refBnNormalize, refBnStats, type RefBnGeom } from '../../src/reference/batchnorm.js';
import { expect } from 'vitest';
import { maxRelErr, randn } from './random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** One line per case: per-example shape, axis, batch, center, scale. */
export const BN_CASES: [shape: number[], axis: number, batch: number, center: boolean, scale: boolean][] = [
  [[1], -1, 5, true, true],
  [[3], -1, 5, true, true],
  [[4], -1, 1, true, true],
  [[7], -1, 5, true, true],
  [[16], -1, 5, true, true],
  [[2, 3, 1], -1, 5, true, true],
  [[2, 3, 3], -1, 1, true, true],
  [[3, 2, 4], -1, 5, true, true],
  [[2, 2, 7], -1, 5, true, true],
  [[3, 3, 16], -1, 1, true, true],
  [[3, 3, 16], -1, 5, true, true],
  [[2, 3, 7], 3, 5, false, true],
  [[2, 3, 7], -1, 5, true, false],
  [[4, 5], -1, 5, false, false],
  [[3, 5, 2], 1, 5, true, true],
  [[3, 5, 6], 2, 5, true, true],
  [[7, 2], 1, 5, true, true],
];

/** The driver a backend provides: runs the layer, returns what it wrote. */
export interface BnRun {
  y: Float32Array;
  dx: Float32Array;
  dgamma?: Float32Array;
  dbeta?: Float32Array;
  movingMean: Float32Array;
  movingVar: Float32Array;
}
export type BnRunner = (layer: BatchNormalization, batch: number, training: boolean, x: Float32Array, dy: Float32Array,
  weights: Float32Array[]) => Promise<BnRun> | BnRun;

export interface BnCaseData {
  layer: BatchNormalization;
  g: RefBnGeom;
  x: Float32Array;
  dy: Float32Array;
  weights: Float32Array[];
  gamma?: Float32Array;
  beta?: Float32Array;
  mm: Float32Array;
  mv: Float32Array;
}

export function bnCase(shape: number[], axis: number, batch: number, center: boolean, scale: boolean, seed: number): BnCaseData {
  const layer = new BatchNormalization({ axis, center, scale, momentum: 0.9, epsilon: 1e-3 });
  layer.build(shape);
  const a = (axis < 0 ? axis + shape.length + 1 : axis) - 1;
  const g = { outer: batch * size(shape.slice(0, a)), C: shape[a], inner: size(shape.slice(a + 1)) };
  // An offset mean: the statistics must not cancel.
  const x = randn(batch * size(shape), seed, 2).map((v) => v + 3);
  const dy = randn(x.length, seed + 1);
  const C = g.C;
  const gamma = scale ? randn(C, seed + 2).map((v) => 1 + 0.5 * v) : undefined;
  const beta = center ? randn(C, seed + 3) : undefined;
  const mm = randn(C, seed + 4), mv = randn(C, seed + 5).map((v) => 0.5 + Math.abs(v));
  const weights = [...(gamma ? [gamma] : []), ...(beta ? [beta] : []), mm, mv];
  return { layer, g, x, dy, weights, gamma, beta, mm, mv };
}

/** Worst |a − b| / (1 + |b|) and the expected values for one check, for vitest messages. */
export function expectedOf(d: BnCaseData, training: boolean) {
  const eps = d.layer.epsilon;
  if (training) {
    const st = refBnStats(d.g, d.x);
    return {
      y: refBnNormalize(d.g, d.x, st.mean, st.variance, d.gamma, d.beta, eps),
      ...refBnBackward(d.g, d.x, d.dy, d.gamma, eps, true),
      movingMean: refBnMoving(d.mm, st.mean, d.layer.momentum),
      movingVar: refBnMoving(d.mv, st.variance, d.layer.momentum),
    };
  }
  return {
    y: refBnNormalize(d.g, d.x, d.mm, d.mv, d.gamma, d.beta, eps),
    ...refBnBackward(d.g, d.x, d.dy, d.gamma, eps, false, d.mm, d.mv),
    movingMean: Float64Array.from(d.mm),
    movingVar: Float64Array.from(d.mv),
  };
}

/** Runs one table case through `run` and checks everything it wrote against the reference. */
export async function checkBnCase(run: BnRunner, c: (typeof BN_CASES)[number], training: boolean, seed: number, tol = 1e-5) {
  const [shape, axis, batch, center, scale] = c;
  const d = bnCase(shape, axis, batch, center, scale, seed);
  const want = expectedOf(d, training);
  const got = await run(d.layer, batch, training, d.x, d.dy, d.weights);
  expect(maxRelErr(got.y, want.y), 'y').toBeLessThan(tol);
  expect(maxRelErr(got.movingMean, want.movingMean), 'moving_mean').toBeLessThan(tol);
  expect(maxRelErr(got.movingVar, want.movingVar), 'moving_variance').toBeLessThan(tol);
  // dx of a batch-1 dense input is ~0 (variance 0): compare against the gradient's scale.
  expect(maxRelErr(got.dx, want.dx), 'dx').toBeLessThan(tol * 10);
  if (scale) expect(maxRelErr(got.dgamma!, want.dgamma), 'dgamma').toBeLessThan(tol * 10);
  if (center) expect(maxRelErr(got.dbeta!, want.dbeta), 'dbeta').toBeLessThan(tol * 10);
}


/** bnAffine's fused activations: [outer, C, inner] cases and the float64 expectation. */
export const AFFINE_CASES: [number, number, number][] = [[6, 7, 1], [2, 16, 1], [3, 3, 5], [2, 1, 9]];
export const AFFINE_ACTS = ['linear', 'relu', 'relu6'] as const;
export function affineCase(outer: number, C: number, inner: number, act: (typeof AFFINE_ACTS)[number], seed: number) {
  const x = randn(outer * C * inner, seed, 8), coef = randn(3 * C, seed + 1, 2);
  const want = Float64Array.from(x, (v, j) => {
    const c = Math.floor(j / inner) % C;
    const y = v * coef[C + c] + coef[2 * C + c];
    return act === 'linear' ? y : act === 'relu' ? Math.max(y, 0) : Math.min(Math.max(y, 0), 6);
  });
  return { x, coef, want };
}
