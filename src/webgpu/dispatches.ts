/// <reference types="@webgpu/types" />
// Buffer-level kernels, the GPU twin of the pointer-level functions in src/ops/*: each returns
// the prepared dispatch(es) for its pass, so the model runner records a whole training step once
// per batch size and replays it, and the tensor ops run them once. Operands are `Ref`s: a buffer
// and an element offset (the model's weights are slices of one flat buffer).

import type { Conv2DGeometry } from '../ops/conv.js';
import type { PoolGeometry } from '../ops/pool.js';
import { GpuContext, type Dispatch } from './context.js';
import { GEMM_TILE } from './kernels/gemm.js';
import { ACT } from './kernels/elementwise.js';

export interface Ref { buf: GPUBuffer; off: number }
export const ref = (buf: GPUBuffer, off = 0): Ref => ({ buf, off });
export type GpuActivation = keyof typeof ACT;

const grid = GpuContext.grid1d;

/** C[m×n] (+)= op(A)·op(B) (+bias)(ReLU); A stored [m×k] or, transposed, [k×m]; B [k×n] or [n×k]. */
export function gemm(ctx: GpuContext, m: number, n: number, k: number, a: Ref, transposeA: boolean, b: Ref, transposeB: boolean,
  c: Ref, opts: { bias?: Ref; relu?: boolean; accumulate?: boolean } = {}): Dispatch {
  const flags = (opts.accumulate ? 1 : 0) | (opts.relu ? 2 : 0) | (opts.bias ? 4 : 0);
  return ctx.prepare('gemm', [a.buf, b.buf, opts.bias?.buf ?? ctx.dummy, c.buf], [
    m, n, k,
    a.off, transposeA ? 1 : k, transposeA ? m : 1,
    b.off, transposeB ? 1 : n, transposeB ? k : 1,
    c.off, opts.bias?.off ?? 0, flags,
  ], [Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE), 1]);
}

const convUniforms = (g: Conv2DGeometry) => [g.batch, g.inH, g.inW, g.inC, g.kh, g.kw, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft, g.outH, g.outW];

export function im2col(ctx: GpuContext, g: Conv2DGeometry, x: Ref, col: GPUBuffer): Dispatch {
  return ctx.prepare('im2col', [x.buf, col], [...convUniforms(g), x.off, g.M * g.K], grid(g.M * g.K));
}

export function col2im(ctx: GpuContext, g: Conv2DGeometry, dcol: GPUBuffer, dx: GPUBuffer, accumulate = false): Dispatch {
  const total = g.batch * g.inH * g.inW * g.inC;
  return ctx.prepare('col2im', [dcol, dx], [...convUniforms(g), accumulate ? 1 : 0, total], grid(total));
}

/** y = conv(x, w) (+bias)(ReLU); col: g.colFloats scratch (left holding im2col(x)). */
export function conv2dForward(ctx: GpuContext, g: Conv2DGeometry, x: Ref, w: Ref, bias: Ref | undefined, y: Ref, col: GPUBuffer | undefined, relu: boolean): Dispatch[] {
  if (g.colIsInput) return [gemm(ctx, g.M, g.outC, g.K, x, false, w, false, y, { bias, relu })];
  return [im2col(ctx, g, x, col!), gemm(ctx, g.M, g.outC, g.K, ref(col!), false, w, false, y, { bias, relu })];
}

/** dw = colᵀ·dy; colReady: col still holds im2col(x) from the forward. */
export function conv2dBackpropFilter(ctx: GpuContext, g: Conv2DGeometry, x: Ref, dy: Ref, dw: Ref, col: GPUBuffer | undefined, colReady: boolean): Dispatch[] {
  if (g.colIsInput) return [gemm(ctx, g.K, g.outC, g.M, x, true, dy, false, dw)];
  const pre = colReady ? [] : [im2col(ctx, g, x, col!)];
  return [...pre, gemm(ctx, g.K, g.outC, g.M, ref(col!), true, dy, false, dw)];
}

/** dx = col2im(dy·wᵀ); dcol: g.colFloats scratch. */
export function conv2dBackpropInput(ctx: GpuContext, g: Conv2DGeometry, dy: Ref, w: Ref, dx: GPUBuffer, dcol: GPUBuffer | undefined): Dispatch[] {
  if (g.colIsInput) return [gemm(ctx, g.M, g.K, g.outC, dy, false, w, true, ref(dx))];
  return [gemm(ctx, g.M, g.K, g.outC, dy, false, w, true, ref(dcol!)), col2im(ctx, g, dcol!, dx)];
}

const poolUniforms = (g: PoolGeometry, total: number) => [g.inH, g.inW, g.channels, g.filterH, g.filterW, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, total];

export function maxPoolForward(ctx: GpuContext, g: PoolGeometry, x: Ref, y: GPUBuffer, argmax: GPUBuffer): Dispatch {
  return ctx.prepare('maxPoolForward', [x.buf, y, argmax], [...poolUniforms(g, g.outSize), x.off], grid(g.outSize));
}
export function maxPoolBackward(ctx: GpuContext, g: PoolGeometry, dy: GPUBuffer, argmax: GPUBuffer, dx: GPUBuffer): Dispatch {
  return ctx.prepare('maxPoolBackward', [dy, argmax, dx], poolUniforms(g, g.inSize), grid(g.inSize));
}
export function avgPoolForward(ctx: GpuContext, g: PoolGeometry, x: Ref, y: GPUBuffer): Dispatch {
  return ctx.prepare('avgPoolForward', [x.buf, y], [...poolUniforms(g, g.outSize), x.off], grid(g.outSize));
}
export function avgPoolBackward(ctx: GpuContext, g: PoolGeometry, dy: GPUBuffer, dx: GPUBuffer): Dispatch {
  return ctx.prepare('avgPoolBackward', [dy, dx], poolUniforms(g, g.inSize), grid(g.inSize));
}

/** An activation by name, or as (code, a, b, c) of the parametric family (actOp in src/layers/activation-fns.ts). */
export type GpuActOp = GpuActivation | { code: number; a: number; b: number; c: number };
const actUniforms = (act: GpuActOp) => (typeof act === 'string' ? [ACT[act], 0, 0, 0] : [act.code, act.a, act.b, act.c]);
/** y = act(x) over n floats (linear copies). */
export function actForward(ctx: GpuContext, act: GpuActOp, n: number, x: Ref, y: Ref): Dispatch {
  const [code, a, b, c] = actUniforms(act);
  return ctx.prepare('actForward', [x.buf, y.buf], [n, code, x.off, y.off, a, b, c], grid(n));
}
/** g ← g·act'(x), in place, from s: y = act(x), or x itself for the ops whose derivative needs it. */
export function actBackward(ctx: GpuContext, act: GpuActOp, n: number, s: Ref, g: Ref): Dispatch {
  const [code, a, b, c] = actUniforms(act);
  return ctx.prepare('actBackward', [s.buf, g.buf], [n, code, s.off, g.off, a, b, c], grid(n));
}
/** Softmax over a middle axis of x [outer, len, inner] into y. */
export function softmaxStrided(ctx: GpuContext, outer: number, len: number, inner: number, x: Ref, y: GPUBuffer): Dispatch {
  return ctx.prepare('softmaxStrided', [x.buf, y], [outer, len, inner, x.off], grid(outer * inner));
}
export function softmaxStridedBackward(ctx: GpuContext, outer: number, len: number, inner: number, y: GPUBuffer, g: GPUBuffer): Dispatch {
  return ctx.prepare('softmaxStridedBackward', [y, g], [outer, len, inner], grid(outer * inner));
}
export function softmaxRows(ctx: GpuContext, rows: number, cols: number, x: Ref, y: GPUBuffer): Dispatch {
  return ctx.prepare('softmaxRows', [x.buf, y], [rows, cols, x.off], grid(rows));
}
export function softmaxBackward(ctx: GpuContext, rows: number, cols: number, y: GPUBuffer, g: GPUBuffer): Dispatch {
  return ctx.prepare('softmaxBackward', [y, g], [rows, cols], grid(rows));
}
export function mulMask(ctx: GpuContext, n: number, x: GPUBuffer, mask: GPUBuffer, y: GPUBuffer): Dispatch {
  return ctx.prepare('mulMask', [x, mask, y], [n], grid(n));
}
export function mulMaskInPlace(ctx: GpuContext, n: number, mask: GPUBuffer, g: GPUBuffer): Dispatch {
  return ctx.prepare('mulMaskInPlace', [mask, g], [n], grid(n));
}
/** db[n] = column sums of dy [m×n]. */
export function biasGrad(ctx: GpuContext, m: number, n: number, dy: GPUBuffer, db: Ref): Dispatch {
  return ctx.prepare('biasGrad', [dy, db.buf], [m, n, db.off], [n, 1, 1]);
}

export type LossMode = 'softmaxCrossEntropy' | 'meanSquaredError';
/** Loss sum and correct count of a batch into stats[2·slot..]; grad (optional) = scale·∂loss/∂out. */
export function batchLoss(ctx: GpuContext, mode: LossMode, sparse: boolean, rows: number, classes: number, out: GPUBuffer,
  labels: GPUBuffer, grad: GPUBuffer | undefined, stats: GPUBuffer, slot: number, accumulate: boolean, scale: number): Dispatch {
  return ctx.prepare('batchLoss', [out, labels, grad ?? ctx.dummy, stats],
    [rows, classes, mode === 'softmaxCrossEntropy' ? 0 : 1, sparse ? 1 : 0, grad ? 1 : 0, slot, accumulate ? 1 : 0, scale], [1, 1, 1]);
}
export function finishMetrics(ctx: GpuContext, stats: GPUBuffer, slots: number, count: number, result: GPUBuffer): Dispatch {
  return ctx.prepare('finishMetrics', [stats, result], [slots, count], [1, 1, 1]);
}

export function sgdStep(ctx: GpuContext, n: number, w: GPUBuffer, g: GPUBuffer, lr: number): Dispatch {
  return ctx.prepare('sgdStep', [w, g], [n, lr], grid(n));
}
export function momentumStep(ctx: GpuContext, n: number, w: GPUBuffer, g: GPUBuffer, v: GPUBuffer, lr: number, mu: number, nesterov: boolean): Dispatch {
  return ctx.prepare('momentumStep', [w, g, v], [n, lr, mu, nesterov ? 1 : 0], grid(n));
}
/** Adam with the step's bias-corrected lrT (rewrite with ctx.setUniforms each step). */
export function adamStep(ctx: GpuContext, n: number, w: GPUBuffer, g: GPUBuffer, m: GPUBuffer, v: GPUBuffer, lrT: number, beta1: number, beta2: number, epsilon: number): Dispatch {
  return ctx.prepare('adamStep', [w, g, m, v], [n, lrT, beta1, beta2, epsilon], grid(n));
}
