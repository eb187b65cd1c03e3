/// <reference types="@webgpu/types" />
// Dispatch builders for the merge kernels (src/webgpu/kernels/merge.ts), the GPU twin of
// src/ops/merge.ts: the GPU kernel set (gpu-kernels.ts) records them for the merge layers.

import { collapseBroadcast, geomTable, type CollapsedGeom, type MergeOp } from '../ops/merge.js';
import { GpuContext, type Dispatch } from './context.js';
import type { Ref } from './dispatches.js';
import { MERGE_OP_CODES, type MergeKernelName } from './kernels/merge.js';

const grid = GpuContext.grid1d;

/** The merge kernels are in KERNELS (compiled with the others when the device is acquired). */
function prepare(ctx: GpuContext, name: MergeKernelName, buffers: GPUBuffer[], uniforms: number[], groups: [number, number, number]): Dispatch {
  return ctx.prepare(name, buffers, uniforms, groups);
}

/** A collapsed broadcast geometry with its table in a GPU storage buffer (destroy with destroyGpuGeom). */
export interface GpuGeom extends CollapsedGeom {
  buf: GPUBuffer;
}

/** Geometry of out ← (a, b) (full shapes, batch included; b defaults to out: a contiguous operand). */
export function gpuGeom(ctx: GpuContext, outShape: number[], aShape: number[], bShape?: number[]): GpuGeom {
  const g = collapseBroadcast(outShape, aShape, bShape);
  const table = geomTable(g);
  const buf = ctx.buffer(table.length, 'merge geometry');
  ctx.write(buf, table);
  return { ...g, buf };
}

export const destroyGpuGeom = (g: GpuGeom): void => g.buf.destroy();

/**
 * y = scale · (op(a, b) (+ y when accumulating)) with broadcasting; a = 'y' computes y = op(y, b)
 * in place (g's operand a then contiguous).
 */
export function mergeBinary(ctx: GpuContext, op: MergeOp, g: GpuGeom, a: Ref | 'y', b: Ref, y: Ref, accumulate = false, scale = 1): Dispatch {
  const fromY = a === 'y';
  return prepare(ctx, 'mergeBinary', [fromY ? ctx.dummy : a.buf, b.buf, y.buf, g.buf],
    [g.size, g.rank, MERGE_OP_CODES[op], accumulate ? 1 : 0, fromY ? 1 : 0, fromY ? 0 : a.off, b.off, y.off, scale], grid(g.size));
}

/** dx = scale · (grad summed over the axes g's operand a is broadcast on); overwrites dx. */
export function mergeReduce(ctx: GpuContext, g: GpuGeom, grad: Ref, dx: Ref, scale = 1): Dispatch {
  return prepare(ctx, 'mergeReduce', [grad.buf, dx.buf, g.buf], [g.aSize, g.rank, scale, grad.off, dx.off], grid(g.aSize));
}

/** Max/min routing for input x (g's operand a) of output y: gOut = r where x == y (then r = 0), else 0. */
export function mergeRoute(ctx: GpuContext, g: GpuGeom, x: Ref, y: Ref, r: Ref, gOut: Ref): Dispatch {
  return prepare(ctx, 'mergeRoute', [x.buf, y.buf, r.buf, gOut.buf, g.buf], [g.size, g.rank, x.off, y.off, r.off, gOut.off], grid(g.size));
}

/** For o < outer: block floats from src + o·srcStride to dst + o·dstStride (all in floats). */
export function blockCopy(ctx: GpuContext, outer: number, block: number, src: Ref, srcStride: number, dst: Ref, dstStride: number): Dispatch {
  const n = outer * block;
  return prepare(ctx, 'blockCopy', [src.buf, dst.buf], [n, block, src.off, srcStride, dst.off, dstStride], grid(n));
}
