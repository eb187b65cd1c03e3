/// <reference types="@webgpu/types" />
// Dispatch builders for the shape kernels (src/webgpu/kernels/shape.ts), the GPU twin of
// src/ops/shape.ts: the GPU kernel set (gpu-kernels.ts) records them for the shape layers.

import { stridedCopyArgs, type BilinearGeometry } from '../ops/shape.js';
import { GpuContext, type Dispatch } from './context.js';
import type { Ref } from './dispatches.js';
import type { ShapeKernelName } from './kernels/shape.js';

const grid = GpuContext.grid1d;
const prepare = (ctx: GpuContext, name: ShapeKernelName, buffers: GPUBuffer[], uniforms: number[], groups: [number, number, number]): Dispatch =>
  ctx.prepare(name, buffers, uniforms, groups);

/** y = value over n floats. */
export function shapeFill(ctx: GpuContext, n: number, value: number, y: Ref): Dispatch {
  return prepare(ctx, 'shapeFill', [y.buf], [n, y.off, value], grid(n));
}

/** dst[Σ i_k·dstStrides_k] = src[Σ i_k·srcStrides_k] over dims (≤ 6 axes; src and dst distinct buffers). */
export function stridedCopy(ctx: GpuContext, dims: number[], src: Ref, srcStrides: number[], dst: Ref, dstStrides: number[]): Dispatch {
  if (src.buf === dst.buf) throw new Error('webgpu: internal error: stridedCopy within one buffer (a buffer binds once per dispatch)');
  const [d, s, t] = stridedCopyArgs(dims, srcStrides, dstStrides);
  const n = d.reduce((a, b) => a * b, 1);
  return prepare(ctx, 'stridedCopy', [src.buf, dst.buf], [n, src.off, dst.off, ...d, ...s, ...t], grid(n));
}

export function bilinearForward(ctx: GpuContext, g: BilinearGeometry, x: Ref, y: Ref): Dispatch {
  const n = g.n * g.h * g.sh * g.w * g.sw * g.c;
  return prepare(ctx, 'bilinearForward', [x.buf, y.buf], [n, g.h, g.w, g.c, g.sh, g.sw, +g.halfPixel, x.off, y.off], grid(n));
}

export function bilinearBackward(ctx: GpuContext, g: BilinearGeometry, dy: Ref, dx: Ref): Dispatch {
  const n = g.n * g.h * g.w * g.c;
  return prepare(ctx, 'bilinearBackward', [dy.buf, dx.buf], [n, g.h, g.w, g.c, g.sh, g.sw, +g.halfPixel, dy.off, dx.off], grid(n));
}
