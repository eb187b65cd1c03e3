// Shape-layer ops at the pointer level (ZeroPadding2D, Cropping2D, Permute, UpSampling2D): thread-
// split calls of the kernels in assembly/shape.ts. Every call splits its output into contiguous
// ranges of independent rows, one per thread, so each output element is computed by one thread in
// a fixed order and results do not depend on the thread count.

import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';

interface ShapeExports {
  fillF32(n: number, value: number, y: number): void;
  stridedCopy(...args: number[]): void;
  bilinearForward(h: number, w: number, c: number, sh: number, sw: number, half: number, start: number, count: number, x: number, y: number): void;
  bilinearBackward(h: number, w: number, c: number, sh: number, sw: number, half: number, start: number, count: number, dy: number, dx: number): void;
}
const kernels = (): ShapeExports => runtime().kernels as unknown as ShapeExports;

/** Memory-bound kernels: split only large calls. */
const PARALLEL_MIN_ELEMENTS = 1 << 17;

/** Most axes stridedCopy takes. */
export const STRIDED_COPY_RANK = 6;

/**
 * Bilinear upsampling of NHWC [n, h, w, c] by integer factors [sh, sw] (output [n, h·sh, w·sw, c]);
 * halfPixel: source row (r + ½)/sh − ½ (Keras 3, PyTorch align_corners=False) instead of r/sh (tfjs).
 */
export interface BilinearGeometry {
  n: number; h: number; w: number; c: number; sh: number; sw: number; halfPixel: boolean;
}

/** y = value over n floats. */
export function fill(n: number, value: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['fillF32', c, value, y + i * 4] as const, kernels().fillF32);
}

/**
 * dims, srcStrides and dstStrides padded at the front to six axes (dims with 1, strides with 0);
 * throws on a larger rank (an internal error: the layers build at most six).
 */
export function stridedCopyArgs(dims: number[], srcStrides: number[], dstStrides: number[]): [number[], number[], number[]] {
  if (dims.length > STRIDED_COPY_RANK || srcStrides.length !== dims.length || dstStrides.length !== dims.length) {
    throw new Error(`stridedCopy: internal error: dims [${dims}], strides [${srcStrides}] / [${dstStrides}] (at most ${STRIDED_COPY_RANK} axes, one stride per axis)`);
  }
  const pad = STRIDED_COPY_RANK - dims.length;
  const z = new Array<number>(pad).fill(0);
  return [[...new Array<number>(pad).fill(1), ...dims], [...z, ...srcStrides], [...z, ...dstStrides]];
}

/**
 * The same copy with its axes reordered so the kernel's inner axis (the last) is a long one with
 * unit stride on one side: each row costs the kernel five integer divisions, so a permutation
 * whose last axis is short (NCHW → NHWC: 3 channels) would spend its time there (0.7 ms for one
 * 224×224 image where a 224-long inner axis takes a fraction). Every element is still copied
 * once to its own destination, so the order does not change the result.
 */
function longInnerAxis(dims: number[], src: number[], dst: number[]): [number[], number[], number[]] {
  const last = dims.length - 1;
  if (last < 1 || (src[last] === 1 && dst[last] === 1) || dims[last] >= 64) return [dims, src, dst];
  let best = last;
  for (let i = 0; i < last; i++) if ((src[i] === 1 || dst[i] === 1) && dims[i] > dims[best]) best = i;
  if (best === last) return [dims, src, dst];
  const order = [...dims.keys()].filter((i) => i !== best).concat(best);
  return [order.map((i) => dims[i]), order.map((i) => src[i]), order.map((i) => dst[i])];
}

/**
 * For every index i over dims: dst[Σ i_k·dstStrides_k] = src[Σ i_k·srcStrides_k] (floats; distinct destinations).
 * Its job has 22 arguments: exactly what a thread-pool job slot holds (JOB_SLOTS − 2).
 */
export function stridedCopy(dims: number[], src: number, srcStrides: number[], dst: number, dstStrides: number[]): void {
  [dims, srcStrides, dstStrides] = longInnerAxis(dims, srcStrides, dstStrides);
  const [d, s, t] = stridedCopyArgs(dims, srcStrides, dstStrides);
  if (d.some((x) => x === 0)) return;
  const rows = d[0] * d[1] * d[2] * d[3] * d[4];
  parallelSlices(rows, Math.ceil(PARALLEL_MIN_ELEMENTS / Math.max(d[5], 1)), 1,
    (start, count) => ['stridedCopy', ...d, ...s, ...t, start, count, src, dst] as const, kernels().stridedCopy);
}

/** y = bilinear upsampling of x (tfjs resizeBilinear, alignCorners = false, halfPixelCenters = g.halfPixel). */
export function bilinearForward(g: BilinearGeometry, x: number, y: number): void {
  const rows = g.n * g.h * g.sh, per = g.w * g.sw * g.c;
  parallelSlices(rows, Math.ceil(PARALLEL_MIN_ELEMENTS / Math.max(per, 1)), 1,
    (start, count) => ['bilinearForward', g.h, g.w, g.c, g.sh, g.sw, +g.halfPixel, start, count, x, y] as const, kernels().bilinearForward);
}

/** dx (overwritten) = the bilinear upsampling's input gradient from dy. */
export function bilinearBackward(g: BilinearGeometry, dy: number, dx: number): void {
  const rows = g.n * g.h, per = g.w * g.c * 4 * g.sh * g.sw;
  parallelSlices(rows, Math.ceil(PARALLEL_MIN_ELEMENTS / Math.max(per, 1)), 1,
    (start, count) => ['bilinearBackward', g.h, g.w, g.c, g.sh, g.sw, +g.halfPixel, start, count, dy, dx] as const, kernels().bilinearBackward);
}
