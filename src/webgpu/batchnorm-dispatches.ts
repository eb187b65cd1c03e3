/// <reference types="@webgpu/types" />
// Dispatch builders for the batch-normalization kernels (src/webgpu/kernels/batchnorm.ts), the GPU
// twin of src/ops/batchnorm.ts; GpuKernels (gpu-kernels.ts) records them for the layer.

import { GpuContext, type Dispatch } from './context.js';
import type { Ref } from './dispatches.js';

const grid = GpuContext.grid1d;

/** A geometry [outer, C, inner] and its backward scratch bw (3C floats). */
export interface GpuBnGeom {
  outer: number;
  C: number;
  inner: number;
  bw: GPUBuffer;
}

function channelGroups(C: number): [number, number, number] {
  if (C > 65535) throw new Error(`webgpu: batch normalization over ${C} channels (at most 65535)`);
  return [C, 1, 1];
}

/** stats = [mean | variance] (2C floats at stats.off). */
export function bnStats(ctx: GpuContext, g: GpuBnGeom, x: Ref, stats: Ref): Dispatch {
  return ctx.prepare('bnStats', [x.buf, stats.buf], [g.outer, g.C, g.inner, x.off, stats.off], channelGroups(g.C));
}

/** coef = [invStd | a | b]; gamma / beta undefined: 1 / 0. */
export function bnCoeffs(ctx: GpuContext, C: number, mean: Ref, variance: Ref, gamma: Ref | undefined, beta: Ref | undefined, eps: number, coef: Ref): Dispatch {
  return ctx.prepare('bnCoeffs', [mean.buf, variance.buf, gamma?.buf ?? ctx.dummy, beta?.buf ?? ctx.dummy, coef.buf],
    [C, mean.off, variance.off, gamma?.off ?? 0, beta?.off ?? 0, gamma ? 1 : 0, beta ? 1 : 0, eps, coef.off], grid(C));
}

export function bnMoving(ctx: GpuContext, C: number, batch: Ref, momentum: number, moving: Ref): Dispatch {
  return ctx.prepare('bnMoving', [batch.buf, moving.buf], [C, batch.off, moving.off, momentum], grid(C));
}

export function bnAffine(ctx: GpuContext, g: GpuBnGeom, act: 'linear' | 'relu' | 'relu6', x: Ref, coef: Ref, y: Ref): Dispatch {
  const n = g.outer * g.C * g.inner;
  return ctx.prepare('bnAffine', [x.buf, coef.buf, y.buf], [n, g.C, g.inner, act === 'relu' ? 1 : act === 'relu6' ? 2 : 0, x.off, coef.off, y.off], grid(n));
}

/** The backward: sums (dgamma, dbeta into one gradient buffer) then dx when given. */
export function bnBackward(ctx: GpuContext, g: GpuBnGeom, training: boolean, x: Ref, dy: Ref, mean: Ref, coef: Ref, gamma: Ref | undefined,
  dx: Ref | undefined, dgamma: Ref | undefined, dbeta: Ref | undefined, spare: () => GPUBuffer): Dispatch[] {
  if (dgamma && dbeta && dgamma.buf !== dbeta.buf) throw new Error('webgpu: internal error: dgamma and dbeta in different buffers');
  const gb = dgamma?.buf ?? dbeta?.buf ?? spare();
  const sums = ctx.prepare('bnGradSums', [x.buf, dy.buf, mean.buf, coef.buf, gamma?.buf ?? ctx.dummy, gb, g.bw], [
    g.outer, g.C, g.inner, training ? 1 : 0, x.off, dy.off, mean.off, coef.off, gamma?.off ?? 0, gamma ? 1 : 0,
    dgamma?.off ?? 0, dbeta?.off ?? 0, dgamma ? 1 : 0, dbeta ? 1 : 0,
  ], channelGroups(g.C));
  if (!dx) return [sums];
  const n = g.outer * g.C * g.inner;
  return [sums, ctx.prepare('bnDx', [x.buf, dy.buf, mean.buf, coef.buf, g.bw, dx.buf],
    [n, g.C, g.inner, x.off, dy.off, mean.off, coef.off, dx.off], grid(n))];
}
