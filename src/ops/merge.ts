// Merge ops at the pointer level (the merge layers' forward/backward): numpy broadcasting
// geometry, planned once per batch size into a small i32 table in the heap, and thread-split calls
// of the kernels in assembly/merge.ts. Every call splits its output into slabs along the first
// (collapsed) axis, one contiguous range per thread, so each output element is computed by one
// thread in a fixed order and results do not depend on the thread count.

import { miscKernels } from '../backend/kernels-misc.js';
import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';

/** broadcastBinary op codes (mirror assembly/merge.ts). */
export const MERGE_OPS = { add: 0, sub: 1, mul: 2, max: 3, min: 4 } as const;
export type MergeOp = keyof typeof MERGE_OPS;

/** Memory-bound kernels: split only large calls. */
const PARALLEL_MIN_ELEMENTS = 1 << 17;

/**
 * Numpy / Keras broadcasting of shapes (aligned from the right; each dimension equal or 1, 1
 * broadcasts; a shorter shape is padded with leading 1s). undefined when they do not broadcast.
 */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let k = 0; k < s.length; k++) {
      const o = rank - s.length + k, d = s[k];
      if (d === out[o] || d === 1) continue;
      if (out[o] !== 1) return undefined;
      out[o] = d;
    }
  }
  return out;
}

/**
 * The collapsed geometry of an output shape with two operands broadcast to it (all shapes full,
 * batch included), and its i32 table in the heap: dims | aStrides | bStrides (floats; 0 where the
 * operand is broadcast). Plan once, free with freeGeom.
 */
export interface BroadcastGeom {
  rank: number;
  dims: number[];
  aStrides: number[];
  bStrides: number[];
  /** Heap address of the i32 table the kernels read. */
  ptr: number;
  /** Floats of the output. */
  size: number;
  /** Floats of operand a (what broadcastReduce writes). */
  aSize: number;
  /** Operand a is not broadcast anywhere (its map from the output is one-to-one). */
  aFull: boolean;
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
}

/** The collapsed broadcast geometry without its heap table (the WebGPU kernels upload it themselves). */
export type CollapsedGeom = Omit<BroadcastGeom, 'ptr'>;

/**
 * Collapses out ← (a, b) (full shapes; b defaults to out itself, a contiguous operand): shapes
 * padded with leading 1s, the output's size-1 axes dropped, adjacent axes merged where both
 * operands step through them as one. Throws if a or b does not broadcast to out.
 */
export function collapseBroadcast(outShape: number[], aShape: number[], bShape: number[] = outShape): CollapsedGeom {
  const R = outShape.length;
  const pad = (s: number[]) => {
    if (s.length > R || s.some((d, k) => d !== 1 && d !== outShape[R - s.length + k])) {
      throw new Error(`planBroadcast: internal error: [${s}] does not broadcast to [${outShape}]`);
    }
    return [...new Array<number>(R - s.length).fill(1), ...s];
  };
  const a = pad(aShape), b = pad(bShape);
  const as = contiguousStrides(a), bs = contiguousStrides(b);
  const dims: number[] = [], sa: number[] = [], sb: number[] = [];
  for (let k = 0; k < R; k++) {
    if (outShape[k] === 1) continue;
    const ak = a[k] === 1 ? 0 : as[k], bk = b[k] === 1 ? 0 : bs[k];
    const last = dims.length - 1;
    // Merge into the previous kept axis when both operands step through them as one axis.
    if (last >= 0 && sa[last] === ak * outShape[k] && sb[last] === bk * outShape[k]) {
      dims[last] *= outShape[k];
      sa[last] = ak;
      sb[last] = bk;
      continue;
    }
    dims.push(outShape[k]);
    sa.push(ak);
    sb.push(bk);
  }
  if (dims.length === 0) {
    dims.push(1);
    sa.push(1);
    sb.push(1);
  }
  return {
    rank: dims.length, dims, aStrides: sa, bStrides: sb, size: outShape.reduce((x, y) => x * y, 1),
    aSize: a.reduce((x, y) => x * y, 1), aFull: a.every((d, k) => d === outShape[k]),
  };
}

/** The i32 table the kernels read: dims | aStrides | bStrides. */
export const geomTable = (g: CollapsedGeom): Int32Array => Int32Array.from([...g.dims, ...g.aStrides, ...g.bStrides]);

/** Geometry of out ← (a, b) with its table in the heap (see collapseBroadcast). Free with freeGeom. */
export function planBroadcast(outShape: number[], aShape: number[], bShape: number[] = outShape): BroadcastGeom {
  const g = collapseBroadcast(outShape, aShape, bShape);
  const heap = runtime().heap;
  const ptr = heap.alloc(3 * g.rank * 4);
  heap.i32.set(geomTable(g), ptr >>> 2);
  return { ...g, ptr };
}

export function freeGeom(g: BroadcastGeom): void {
  runtime().heap.free(g.ptr);
}

/** Items a call splits over (slabs of axis 0; rank 1: elements) and the split's minimum and alignment. */
function split(g: BroadcastGeom): [items: number, minItems: number, align: number] {
  if (g.rank === 1) return [g.size, PARALLEL_MIN_ELEMENTS, 16];
  const slab = g.size / g.dims[0];
  return [g.dims[0], Math.ceil(PARALLEL_MIN_ELEMENTS / slab), 1];
}

/** y (+)= op(a, b) with broadcasting (a, b laid out as g's operands; y contiguous). y may equal a contiguous operand. */
export function broadcastBinary(op: MergeOp, g: BroadcastGeom, a: number, b: number, y: number, accumulate = false): void {
  const code = MERGE_OPS[op], acc = accumulate ? 1 : 0;
  const [items, min, align] = split(g);
  parallelSlices(items, min, align, (s, c) => ['broadcastBinary', code, acc, g.rank, g.ptr, s, c, a, b, y] as const,
    miscKernels().broadcastBinary);
}

/** dx = scale · (g summed over the axes operand a is broadcast on), g contiguous over the output. */
export function broadcastReduce(geom: BroadcastGeom, g: number, dx: number, scale = 1): void {
  const k = miscKernels();
  const overwrite = geom.aFull ? 1 : 0;
  if (!overwrite) runtime().heap.f32.fill(0, dx >>> 2, (dx >>> 2) + geom.aSize);
  const run = (s: number, c: number) => ['broadcastReduce', geom.rank, geom.ptr, s, c, g, dx, scale, overwrite] as const;
  // Slabs of axis 0 write disjoint parts of dx only where dx is not broadcast along it.
  if (geom.aStrides[0] === 0 && !overwrite) {
    k.broadcastReduce(geom.rank, geom.ptr, 0, geom.rank === 1 ? geom.size : geom.dims[0], g, dx, scale, 0);
    return;
  }
  const [items, min, align] = split(geom);
  parallelSlices(items, min, align, run, k.broadcastReduce);
}

/**
 * Maximum/Minimum gradient routing for input x (operand a of geom) of output y: where x == y (or
 * x is NaN), gOut = r and r = 0; elsewhere gOut = 0. Called for the inputs in order with r = dy, it
 * hands ties to the first input.
 */
export function routeGrad(geom: BroadcastGeom, x: number, y: number, r: number, gOut: number): void {
  const [items, min, align] = split(geom);
  parallelSlices(items, min, align, (s, c) => ['routeGrad', geom.rank, geom.ptr, s, c, x, y, r, gOut] as const,
    miscKernels().routeGrad);
}

/** For o < outer: block floats from src + o·srcStride to dst + o·dstStride (strides in floats, addresses in bytes). */
export function blockCopy(outer: number, block: number, src: number, srcStride: number, dst: number, dstStride: number): void {
  parallelSlices(outer, Math.ceil(PARALLEL_MIN_ELEMENTS / Math.max(block, 1)), 1,
    (s, c) => ['blockCopy', c, block, src + s * srcStride * 4, srcStride, dst + s * dstStride * 4, dstStride] as const,
    miscKernels().blockCopy);
}

/** y = alpha·x over n floats (y may equal x), split over threads. */
export function scaleSlices(n: number, alpha: number, x: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['scaleInto', c, alpha, x + i * 4, y + i * 4] as const,
    miscKernels().scaleInto);
}

/** Concatenation along `axis` of full shapes (batch included): per input its block and offset in the output block. */
export interface ConcatPlan {
  /** Product of the dims before the axis (batch included). */
  outer: number;
  /** Floats per outer index in the output. */
  outBlock: number;
  /** Floats per outer index in each input. */
  blocks: number[];
  /** Float offset of each input's block within the output's. */
  offsets: number[];
}

export function planConcat(shapes: number[][], axis: number): ConcatPlan {
  const prod = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const outer = prod(shapes[0].slice(0, axis));
  const blocks = shapes.map((s) => prod(s.slice(axis)));
  const offsets: number[] = [];
  let off = 0;
  for (const b of blocks) {
    offsets.push(off);
    off += b;
  }
  return { outer, outBlock: off, blocks, offsets };
}
