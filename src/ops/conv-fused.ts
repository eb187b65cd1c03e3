// The direct convolution passes (assembly/conv.ts): the micro-kernel runs straight over the input
// images (no im2col matrix), chunk by chunk, each thread with its own scratch; a whole layer pass
// is one dispatch. Threads claim chunks from a shared counter (a core slowed by a neighbour on a
// shared machine, or a little core, does fewer). The backward claims groups of chunks, each with
// its own weight-gradient partial, summed in group order: deterministic for a given thread count.

import { runtime, threadPool } from '../backend/runtime.js';
import { parallelSlices } from '../backend/parallel.js';
import type { Conv2DGeometry } from './conv.js';
import type { PoolGeometry } from './pool.js';
import { EPILOGUE_ACT, type EpilogueAct } from '../backend/kernel-exports.js';

/**
 * Bytes a chunk's images may touch (input, output, and for training their gradients): well inside
 * a core's L2 (512 KB–2 MB on the x86 and ARM cores we target), so every pass over the chunk after
 * the first hits L2.
 */
const CHUNK_BUDGET_BYTES = 384 * 1024;
const GEOM_INTS = 32;
/** Memory the backward's weight-gradient partials may take (see ConvSlices.groups). */
const PARTIALS_BUDGET_BYTES = 16 * 1024 * 1024;

type ConvSliceKernels = {
  convScratchBytes(geom: number, probe: number): number;
  convForwardSlice(geom: number, x: number, w: number, bias: number, y: number, act: number, counter: number, batch: number, scratch: number,
    poolY: number, poolArgmax: number): void;
  convBackwardSlice(geom: number, x: number, w: number, y: number, dy: number, relu: number, dx: number, dw: number, db: number,
    partials: number, partialBytes: number, counter: number, groupChunks: number, batch: number, scratch: number, poolY: number, poolArgmax: number): void;
  addPartials(n: number, x: number, stride: number, count: number, y: number): void;
};
const k = () => runtime().kernels as unknown as ConvSliceKernels;

export interface ConvSlices {
  threads: number;
  /** Images per chunk, and chunks in the batch. */
  chunk: number;
  chunks: number;
  geom: number;
  /** The shared i32 the threads claim chunk indices from (zeroed before each pass). */
  counter: number;
  /** Per-thread scratch (convScratchBytes). */
  scratch: number[];
  /** A max pooling is fused after the convolution (planned with one). */
  pooled: boolean;
  /**
   * Inference: the forward takes the weights packed once by packWeights (convForwardFused's w),
   * so no thread copies them per call and the scratch holds no copy.
   */
  prepacked: boolean;
  /**
   * Backward claims groups of groupChunks chunks; group g ≥ 1 sums its dw‖db into partial g−1
   * (group 0 writes the real gradients). 0 when not training or one group.
   */
  groups: number;
  groupChunks: number;
  partials: number;
  partialBytes: number;
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
 * `partialsBudgetBytes` bounds the backward's gradient partials (tests shrink it to force groups).
 * `prepacked` (inference only): the forward will be given packWeights' panels of the kernel.
 */
export function planConvSlices(g: Conv2DGeometry, training: boolean, pool?: PoolGeometry,
  partialsBudgetBytes = PARTIALS_BUDGET_BYTES, prepackedWeights = false): ConvSlices {
  const rt = runtime();
  const heap = rt.heap;
  const poolSize = threadPool()?.size ?? 1;
  // Inference on fewer images than twice the threads (batch-1 latency): chunks are bands of output
  // rows, two per thread and image, so every thread works (the backward keeps whole images).
  // Where an image has fewer output pixels than channels (ResNet's 14×14 and 7×7 stages) the
  // threads split the channels instead: each reads only its share of the weights (the larger
  // operand there), and the work divides evenly where 7 rows would not.
  const few = !training && !pool && g.batch < 2 * poolSize && poolSize > 1;
  const groups = few && g.outH * g.outW < g.outC && g.outC >= 16 * poolSize ? poolSize : 1;
  const bands = few && groups === 1 ? Math.min(g.outH, Math.ceil(2 * poolSize / g.batch)) : 1;
  const threads = bands > 1 || groups > 1 ? poolSize : Math.min(poolSize, g.batch);
  if (prepackedWeights && training) throw new Error('planConvSlices: internal error: prepacked weights in a training plan');
  const prepacked = prepackedWeights;
  const perImage = ((g.inH + g.padTop + g.padBottom) * (g.inW + g.padLeft + g.padRight) * g.inC + g.outH * g.outW * g.outC) * 4 * (training ? 2 : 1);
  // At least as many chunks as threads, so a small batch still spreads over them.
  const chunk = bands > 1 || groups > 1 ? 1 : Math.max(1, Math.min(Math.ceil(g.batch / threads), Math.floor(CHUNK_BUDGET_BYTES / perImage)));
  const chunks = Math.ceil(g.batch / chunk) * bands;
  const geom = heap.alloc(GEOM_INTS * 4);
  heap.i32.set([g.inH, g.inW, g.inC, g.kh, g.kw, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft,
    g.outH, g.outW, g.outC, chunk, g.padBottom, g.padRight,
    ...(pool ? [pool.filterH, pool.filterW, pool.strideH, pool.strideW, pool.padTop, pool.padLeft, pool.outH, pool.outW] : [0, 0, 0, 0, 0, 0, 0, 0]),
    bands, prepacked ? 1 : 0, groups, 0, 0, 0, 0], geom >>> 2);
  const probe = heap.alloc(256);
  const bytes = k().convScratchBytes(geom, probe);
  heap.free(probe);
  const scratch = Array.from({ length: threads }, () => heap.alloc(bytes));
  // One chunk per claim balances best; groups of chunks only where the partials would pass their
  // budget (big layers at big batches). One thread needs no partials: one group.
  const partialBytes = (g.K * g.outC + g.outC) * 4;
  let groupChunks = threads > 1 ? 1 : chunks;
  while ((Math.ceil(chunks / groupChunks) - 1) * partialBytes > partialsBudgetBytes) groupChunks++;
  const backwardGroups = Math.ceil(chunks / groupChunks);
  const partials = training && backwardGroups > 1 ? heap.alloc((backwardGroups - 1) * partialBytes) : 0;
  const counter = heap.alloc(4);
  return {
    threads, chunk, chunks, geom, counter, scratch, groups: backwardGroups, groupChunks, partials, partialBytes, pooled: !!pool, prepacked,
    free: () => { for (const p of [geom, counter, partials, ...scratch]) if (p) heap.free(p); },
  };
}

/** Runs job(t) on every thread t (the same call but for its scratch), after zeroing the chunk counter. */
function run(s: ConvSlices, job: (t: number) => readonly [string, ...number[]]): void {
  runtime().heap.i32[s.counter >>> 2] = 0;
  const pool = s.threads > 1 ? threadPool() : undefined;
  if (!pool || pool.size < s.threads) {
    const [name, ...args] = job(0);
    (runtime().kernels[name] as (...a: number[]) => void)(...args);
    return;
  }
  pool.run(Array.from({ length: pool.size }, (_, t) => (t < s.threads ? job(t) : null)));
}

/**
 * y = act(conv(x, w) (× scale) (+ bias) (+ res)) for the whole batch; with `pool` (slices planned with one)
 * the pooled output and argmax are written instead of y. res (0: none): a residual laid out as y.
 * w: HWIO, or (s.prepacked) the packWeights panels of it.
 */
export function convForwardFused(g: Conv2DGeometry, s: ConvSlices, x: number, w: number, bias: number, y: number, act: EpilogueAct,
  pool?: FusedPool, res = 0, scale = 0): void {
  const py = pooledOrZero(s, pool), pa = py ? pool!.argmax : 0;
  if (py && (res || scale || act === 'relu6')) throw new Error('convForwardFused: internal error: a fused pooling with a residual or ReLU6');
  run(s, (t) => ['convForwardSlice', s.geom, x, w, bias, y, EPILOGUE_ACT[act], s.counter, g.batch, s.scratch[t], py, pa, res, scale]);
}

/**
 * Backward for the whole batch: (ReLU mask on dy), dw and db overwritten (db = 0: no bias), and
 * dx overwritten when dx ≠ 0.
 */
export function convBackwardFused(g: Conv2DGeometry, s: ConvSlices, x: number, w: number, y: number, dy: number, relu: boolean,
  dx: number, dw: number, db: number, pool?: FusedPool): void {
  const py = pooledOrZero(s, pool), pa = py ? pool!.argmax : 0;
  if (py && !pa) throw new Error('convBackwardFused: the fused pooling has no argmax (forward ran without training)');
  if (s.groups > 1 && !s.partials) throw new Error('convBackwardFused: the slices were planned for inference (no gradient partials)');
  run(s, (t) => ['convBackwardSlice', s.geom, x, w, y, dy, relu ? 1 : 0, dx, dw, db, s.partials, s.partialBytes, s.counter,
    s.groupChunks, g.batch, s.scratch[t], py, pa]);
  // Group order, whichever thread did each group: the same sums every run. Split over the threads
  // by ranges of weights (each thread adds all partials for its range, in the same order). No dw
  // (conv2DBackpropInput): no partials were written.
  if (s.groups < 2 || !dw) return;
  const dwFloats = g.K * g.outC, count = s.groups - 1;
  parallelSlices(dwFloats, 4096, 4, (start, n) => ['addPartials', n, s.partials + start * 4, s.partialBytes, count, dw + start * 4],
    k().addPartials);
  if (db) k().addPartials(g.outC, s.partials + dwFloats * 4, s.partialBytes, count, db);
}

function pooledOrZero(s: ConvSlices, pool: FusedPool | undefined): number {
  if (!pool) return 0;
  if (!s.pooled) throw new Error('conv passes: a fused pooling was passed, but the slices were planned without one');
  return pool.y;
}
