// Batch normalization at the pointer level (assembly/batchnorm.ts): x viewed as [outer, C, inner].
// Reductions run over fixed chunks of outer indices (a function of the shape only), each chunk's
// f64 partials merged in chunk order on the calling thread: results do not depend on the thread
// count. Elementwise passes split outer into one contiguous range per thread.

import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';

export interface BnKernels {
  bnStatsPartials(C: number, inner: number, outer: number, rows: number, c0: number, count: number, x: number, partials: number): void;
  bnStatsMerge(C: number, inner: number, chunks: number, n: number, x: number, partials: number, mean: number, variance: number): void;
  bnCoeffs(C: number, mean: number, variance: number, gamma: number, beta: number, eps: number, invStd: number, a: number, b: number): void;
  bnMovingUpdate(C: number, batch: number, momentum: number, moving: number): void;
  bnAffine(act: number, C: number, inner: number, o0: number, count: number, x: number, a: number, b: number, y: number): void;
  bnGradPartials(C: number, inner: number, outer: number, rows: number, c0: number, count: number, x: number, dy: number,
    mean: number, invStd: number, partials: number): void;
  bnGradMerge(C: number, chunks: number, n: number, training: number, partials: number, invStd: number, gamma: number,
    dgamma: number, dbeta: number, coef: number): void;
  bnBackwardDx(C: number, inner: number, o0: number, count: number, x: number, dy: number, mean: number, invStd: number,
    coef: number, dx: number): void;
}
const bk = (): BnKernels => runtime().kernels as unknown as BnKernels;

/** Activations the affine pass fuses (codes of assembly/batchnorm.ts bnAffine). */
export const BN_ACT = { linear: 0, relu: 1, relu6: 2 } as const;
export type BnActivation = keyof typeof BN_ACT;

/** Floats a chunk of a reduction covers (at least one outer index). */
const CHUNK_FLOATS = 1024;
/** Memory-bound passes: split only large calls. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

/** [outer, C, inner] and its fixed reduction chunks. */
export interface BnGeometry {
  outer: number;
  C: number;
  inner: number;
  /** Outer indices per reduction chunk. */
  rows: number;
  chunks: number;
}

export function bnGeometry(outer: number, C: number, inner: number): BnGeometry {
  const rows = Math.max(1, Math.floor(CHUNK_FLOATS / (C * inner)));
  return { outer, C, inner, rows, chunks: Math.ceil(outer / rows) };
}

const chunkSplit = (g: BnGeometry): [number, number] => [g.chunks, Math.ceil(PARALLEL_MIN_ELEMENTS / (g.rows * g.C * g.inner))];
const rowSplit = (g: BnGeometry) => Math.ceil(PARALLEL_MIN_ELEMENTS / (g.C * g.inner));

/** Partials scratch bytes for g (2C f64 per chunk). */
export const bnPartialBytes = (g: BnGeometry): number => g.chunks * 2 * g.C * 8;

/** mean, biased variance (C floats each) of x over outer × inner per channel. partials: bnPartialBytes(g). */
export function bnStats(g: BnGeometry, x: number, partials: number, mean: number, variance: number): void {
  const [items, min] = chunkSplit(g);
  parallelSlices(items, min, 1, (s, c) => ['bnStatsPartials', g.C, g.inner, g.outer, g.rows, s, c, x, partials] as const,
    bk().bnStatsPartials);
  bk().bnStatsMerge(g.C, g.inner, g.chunks, g.outer * g.inner, x, partials, mean, variance);
}

export function bnCoeffs(C: number, mean: number, variance: number, gamma: number, beta: number, eps: number,
  invStd: number, a: number, b: number): void {
  bk().bnCoeffs(C, mean, variance, gamma, beta, eps, invStd, a, b);
}

/** moving ← moving − (moving − batch)·(1 − momentum) over C floats. */
export function bnMovingUpdate(C: number, batch: number, momentum: number, moving: number): void {
  bk().bnMovingUpdate(C, batch, momentum, moving);
}

/** y = act(x·a[c] + b[c]). */
export function bnAffine(g: BnGeometry, act: BnActivation, x: number, a: number, b: number, y: number): void {
  parallelSlices(g.outer, rowSplit(g), 1, (s, c) => ['bnAffine', BN_ACT[act], g.C, g.inner, s, c, x, a, b, y] as const,
    bk().bnAffine);
}

/**
 * dx (when not 0), dgamma, dbeta (when not 0) from dy and the saved mean / invStd; training: the
 * statistics were the batch's (full backward), else constants (dx = dy·gamma·invStd).
 * partials: bnPartialBytes(g); coef: 3C floats of scratch.
 */
export function bnBackward(g: BnGeometry, training: boolean, x: number, dy: number, mean: number, invStd: number, gamma: number,
  partials: number, coef: number, dx: number, dgamma: number, dbeta: number): void {
  const [items, min] = chunkSplit(g);
  parallelSlices(items, min, 1, (s, c) => ['bnGradPartials', g.C, g.inner, g.outer, g.rows, s, c, x, dy, mean, invStd, partials] as const,
    bk().bnGradPartials);
  bk().bnGradMerge(g.C, g.chunks, g.outer * g.inner, training ? 1 : 0, partials, invStd, gamma, dgamma, dbeta, coef);
  if (!dx) return;
  parallelSlices(g.outer, rowSplit(g), 1, (s, c) => ['bnBackwardDx', g.C, g.inner, s, c, x, dy, mean, invStd, coef, dx] as const,
    bk().bnBackwardDx);
}
