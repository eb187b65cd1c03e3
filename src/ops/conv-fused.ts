// The direct convolution passes (assembly/conv.ts): each thread takes a contiguous slice of the
// batch and runs the micro-kernel straight over the input images (no im2col matrix), chunk by
// chunk with its own scratch, so a whole layer pass is one dispatch. Weight gradients are summed
// from per-thread partials in thread order: deterministic for a given thread count.

import { runtime, threadPool } from '../backend/runtime.js';
import type { Conv2DGeometry } from './conv.js';
import type { PoolGeometry } from './pool.js';

/**
 * Bytes a chunk's images may touch (input, output, and for training their gradients): well inside
 * a core's L2 (512 KB–2 MB on the x86 and ARM cores we target), so every pass over the chunk after
 * the first hits L2.
 */
const CHUNK_BUDGET_BYTES = 384 * 1024;
const GEOM_INTS = 32;

type ConvSliceKernels = {
  convScratchBytes(geom: number, probe: number): number;
  convForwardSlice(geom: number, x: number, w: number, bias: number, y: number, relu: number, n0: number, count: number, scratch: number,
    poolY: number, poolArgmax: number): void;
  convBackwardSlice(geom: number, x: number, w: number, y: number, dy: number, relu: number, dx: number, dw: number, db: number,
    accumulate: number, n0: number, count: number, scratch: number, poolY: number, poolArgmax: number): void;
  addInto(n: number, x: number, y: number): void;
};
const k = () => runtime().kernels as unknown as ConvSliceKernels;

export interface ConvSlices {
  threads: number;
  /** Images per thread slice (the last may be shorter). */
  perThread: number;
  geom: number;
  /** Per-thread scratch (convScratchBytes). */
  scratch: number[];
  /** A max pooling is fused after the convolution (planned with one). */
  pooled: boolean;
  /** Per-thread dw‖db partial sums (index 0 unused: thread 0 writes the real gradients). */
  partials: number[];
  free(): void;
}

/** The buffers of a max pooling fused after the convolution: its output and (training) argmax. */
export interface FusedPool {
  y: number;
  argmax: number;
}

/**
 * Allocates the per-thread scratch for a geometry (once per plan). `pool`: a max pooling over the
 * convolution's output to fuse into the passes (its geometry's input is [batch, outH, outW, outC]).
 */
export function planConvSlices(g: Conv2DGeometry, training: boolean, pool?: PoolGeometry): ConvSlices {
  const rt = runtime();
  const heap = rt.heap;
  const threads = Math.min(threadPool()?.size ?? 1, g.batch);
  const perThread = Math.ceil(g.batch / threads);
  const perImage = ((g.inH + g.padTop + g.padBottom) * (g.inW + g.padLeft + g.padRight) * g.inC + g.outH * g.outW * g.outC) * 4 * (training ? 2 : 1);
  const chunk = Math.max(1, Math.min(perThread, Math.floor(CHUNK_BUDGET_BYTES / perImage)));
  const geom = heap.alloc(GEOM_INTS * 4);
  heap.i32.set([g.inH, g.inW, g.inC, g.kh, g.kw, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft,
    g.outH, g.outW, g.outC, chunk, g.padBottom, g.padRight,
    ...(pool ? [pool.filterH, pool.filterW, pool.strideH, pool.strideW, pool.padTop, pool.padLeft, pool.outH, pool.outW] : [0, 0, 0, 0, 0, 0, 0, 0]),
    0, 0, 0, 0, 0, 0, 0], geom >>> 2);
  const probe = heap.alloc(256);
  const bytes = k().convScratchBytes(geom, probe);
  heap.free(probe);
  const scratch = Array.from({ length: threads }, () => heap.alloc(bytes));
  const partials = Array.from({ length: threads }, (_, t) => (t > 0 && training ? heap.alloc((g.K * g.outC + g.outC) * 4) : 0));
  return {
    threads, perThread, geom, scratch, partials, pooled: !!pool,
    free: () => { for (const p of [geom, ...scratch, ...partials]) if (p) heap.free(p); },
  };
}

function slices(s: ConvSlices, batch: number, job: (t: number, n0: number, count: number) => readonly [string, ...number[]]) {
  const pool = s.threads > 1 ? threadPool() : undefined;
  if (!pool || pool.size < s.threads) {
    const [name, ...args] = job(0, 0, batch);
    (runtime().kernels[name] as (...a: number[]) => void)(...args);
    return 1;
  }
  const calls = Array.from({ length: pool.size }, (_, t) => {
    const n0 = t * s.perThread, count = Math.min(s.perThread, batch - n0);
    return t < s.threads && count > 0 ? job(t, n0, count) : null;
  });
  pool.run(calls);
  return calls.filter(Boolean).length;
}

/**
 * y = conv(x, w) (+ bias) (ReLU) for the whole batch; with `pool` (slices planned with one) the
 * pooled output and argmax are written instead of y.
 */
export function convForwardFused(g: Conv2DGeometry, s: ConvSlices, x: number, w: number, bias: number, y: number, relu: boolean,
  pool?: FusedPool): void {
  const py = pooledOrZero(s, pool), pa = py ? pool!.argmax : 0;
  slices(s, g.batch, (t, n0, count) => ['convForwardSlice', s.geom, x, w, bias, y, relu ? 1 : 0, n0, count, s.scratch[t], py, pa]);
}

/**
 * Backward for the whole batch: (ReLU mask on dy), dw and db overwritten (db = 0: no bias), and
 * dx overwritten when dx ≠ 0.
 */
export function convBackwardFused(g: Conv2DGeometry, s: ConvSlices, x: number, w: number, y: number, dy: number, relu: boolean,
  dx: number, dw: number, db: number, pool?: FusedPool): void {
  const py = pooledOrZero(s, pool), pa = py ? pool!.argmax : 0;
  if (py && !pa) throw new Error('convBackwardFused: the fused pooling has no argmax (forward ran without training)');
  const dwFloats = g.K * g.outC;
  const used = slices(s, g.batch, (t, n0, count) => {
    const tdw = t === 0 ? dw : s.partials[t], tdb = db ? (t === 0 ? db : s.partials[t] + dwFloats * 4) : 0;
    return ['convBackwardSlice', s.geom, x, w, y, dy, relu ? 1 : 0, dx, tdw, tdb, 0, n0, count, s.scratch[t], py, pa];
  });
  for (let t = 1; t < used; t++) {
    k().addInto(dwFloats, s.partials[t], dw);
    if (db) k().addInto(g.outC, s.partials[t] + dwFloats * 4, db);
  }
}

function pooledOrZero(s: ConvSlices, pool: FusedPool | undefined): number {
  if (!pool) return 0;
  if (!s.pooled) throw new Error('conv passes: a fused pooling was passed, but the slices were planned without one');
  return pool.y;
}
