import { GEMM_ACCUMULATE, GEMM_KC, GEMM_PACKED_B, GEMM_RELU, GEMM_RELU6, GEMM_SWISH, type EpilogueAct } from '../backend/kernel-exports.js';
import { runtime, threadPool } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';

/**
 * Strides that make sgemm read op(A) and op(B) for row-major stored A and B (see assembly/gemm.ts).
 * Shared by matMul and the layers so the transpose convention lives in one place.
 */
export function gemmStrides(rowsA: number, colsA: number, transposeA: boolean, rowsB: number, colsB: number, transposeB: boolean) {
  return {
    rsA: transposeA ? 1 : colsA, csA: transposeA ? colsA : 1,
    rsB: transposeB ? 1 : colsB, csB: transposeB ? colsB : 1,
  };
}

/** Per-thread buffers for K-split partial products, grown on demand and kept for reuse. */
const partials: { ptrs: number[]; floats: number } = { ptrs: [], floats: 0 };
function partialBuffers(rt: ReturnType<typeof runtime>, threads: number, floats: number): number[] {
  if (floats > partials.floats || partials.ptrs.length < threads) {
    for (const p of partials.ptrs) if (p) rt.heap.free(p);
    partials.floats = Math.max(floats, partials.floats);
    partials.ptrs = Array.from({ length: threads }, (_, t) => (t === 0 ? 0 : rt.heap.alloc(partials.floats * 4)));
  }
  return partials.ptrs;
}

/** Below this many multiply-adds a GEMM runs on one thread: waking workers would cost more. */
const PARALLEL_MIN_WORK = 1 << 18;

/**
 * C = act(op(A)·op(B) (×scale) (+bias) (+res)) on heap addresses; m, n, k as in op(A)[m×k]·op(B)[k×n].
 * scale, bias: [n] (a folded batch norm's per-channel factor and shift). res: a residual laid out as
 * C (row-major, n columns), added before the activation (not with accumulate). act 'relu' (or
 * relu: true) / 'relu6' run in the epilogue. packedB: b holds op(B) as packWeights laid it out
 * ([⌈n/8⌉][k][8]; constant weights packed once), not a row-major matrix.
 * On several threads the rows (or, for few rows, the columns) of C are split in whole micro-tiles
 * (a packed B with few rows and many columns — batch-1 1×1 convolutions at 7×7 — by columns, so
 * each thread reads only its part of the weights and no thread gets a ragged extra tile):
 * each element is still computed by one thread in the same order, so results do not depend on the
 * thread count.
 */
export function gemm(m: number, n: number, k: number, a: number, transposeA: boolean, b: number, transposeB: boolean,
  c: number, opts: { bias?: number; scale?: number; accumulate?: boolean; relu?: boolean; act?: EpilogueAct; res?: number; packedB?: boolean } = {}): void {
  const rt = runtime();
  const s = gemmStrides(transposeA ? k : m, transposeA ? m : k, transposeA, transposeB ? n : k, transposeB ? k : n, transposeB);
  const act = opts.act ?? (opts.relu ? 'relu' : 'linear');
  const packed = opts.packedB === true;
  if (packed && transposeB) throw new Error('gemm: internal error: packedB with transposeB');
  const flags = (opts.accumulate ? GEMM_ACCUMULATE : 0) | (act === 'relu' || act === 'relu6' ? GEMM_RELU : 0) | (act === 'relu6' ? GEMM_RELU6 : 0)
    | (act === 'swish' ? GEMM_SWISH : 0) | (packed ? GEMM_PACKED_B : 0);
  const bias = opts.bias ?? 0, res = opts.res ?? 0, scale = opts.scale ?? 0;
  if (res && opts.accumulate) throw new Error('gemm: internal error: a residual with accumulate');
  // The first K block's partial sums go to C: a residual there would be gone by the last block.
  if (res && res === c && k > GEMM_KC) throw new Error(`gemm: internal error: an in-place residual with K = ${k} > ${GEMM_KC}`);
  const pool = m * n * k >= PARALLEL_MIN_WORK ? threadPool() : undefined;
  const T = pool?.size ?? 1;
  if (pool && !packed && !bias && !scale && act === 'linear' && !res && k >= 1024 && m * n <= (1 << 16) && k >= 8 * Math.max(m, n)) {
    // Weight gradients (colᵀ·dY: M×N small, K = batch·pixels huge): split K so no thread packs
    // another's data, then sum the partial products in thread order (deterministic per thread count).
    const chunk = Math.ceil(k / T / 8) * 8;
    const parts = partialBuffers(rt, T, m * n);
    const calls = Array.from({ length: T }, (_, t) => {
      const p0 = t * chunk, kt = Math.min(chunk, k - p0);
      if (kt <= 0) return null;
      const ap = a + p0 * s.csA * 4, bp = b + p0 * s.rsB * 4;
      return t === 0
        ? ['sgemm', m, n, kt, ap, s.rsA, s.csA, bp, s.rsB, s.csB, c, n, 0, flags, rt.threadScratch[t], 0, 0] as const
        : ['sgemm', m, n, kt, ap, s.rsA, s.csA, bp, s.rsB, s.csB, parts[t], n, 0, 0, rt.threadScratch[t], 0, 0] as const;
    });
    pool.run(calls);
    const add = rt.kernels.addInto as (n: number, x: number, y: number) => void;
    for (let t = 1; t < T; t++) if (calls[t]) add(m * n, parts[t], c);
  } else if (pool && m >= 12 * T && !(packed && m < 96 * T && n >= 64 * T)) {
    const chunk = Math.ceil(m / T / 6) * 6;
    pool.run(Array.from({ length: T }, (_, t) => {
      const i0 = t * chunk, mt = Math.min(chunk, m - i0);
      return mt <= 0 ? null : ['sgemm', mt, n, k, a + i0 * s.rsA * 4, s.rsA, s.csA, b, s.rsB, s.csB, c + i0 * n * 4, n, bias, flags, rt.threadScratch[t], res ? res + i0 * n * 4 : 0, scale] as const;
    }));
  } else if (pool && n >= 16 * T) {
    const chunk = Math.ceil(n / T / 8) * 8;
    pool.run(Array.from({ length: T }, (_, t) => {
      const j0 = t * chunk, nt = Math.min(chunk, n - j0);
      // A packed B's columns j0.. (j0 a multiple of 8) start at panel j0/8: j0·k floats in.
      return nt <= 0 ? null : ['sgemm', m, nt, k, a, s.rsA, s.csA, b + j0 * (packed ? k : s.csB) * 4, s.rsB, s.csB, c + j0 * 4, n, bias ? bias + j0 * 4 : 0, flags, rt.threadScratch[t], res ? res + j0 * 4 : 0, scale ? scale + j0 * 4 : 0] as const;
    }));
  } else {
    rt.kernels.sgemm(m, n, k, a, s.rsA, s.csA, b, s.rsB, s.csB, c, n, bias, flags, rt.gemmScratch, res, scale);
  }
}

/** tf.matMul for rank-2 tensors: op(a)·op(b). */
export function matMul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (!(a instanceof Tensor)) throw argError('matMul', 'a', a, 'a Tensor');
  if (!(b instanceof Tensor)) throw argError('matMul', 'b', b, 'a Tensor');
  a.check('matMul');
  b.check('matMul');
  if (a.rank !== 2) throw argError('matMul', 'a', a, 'a rank-2 tensor');
  if (b.rank !== 2) throw argError('matMul', 'b', b, 'a rank-2 tensor');
  const [m, ka] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (ka !== kb) {
    throw new Error(`matMul: inner dimensions must agree: op(a) is [${m}, ${ka}] and op(b) is [${kb}, ${n}] (transposeA=${transposeA}, transposeB=${transposeB})`);
  }
  const out = allocTensor([m, n]);
  if (m === 0 || n === 0) return out;
  if (ka === 0) {
    runtime().heap.f32.fill(0, out.ptr >>> 2, (out.ptr >>> 2) + m * n);
    return out;
  }
  gemm(m, n, ka, a.ptr, transposeA, b.ptr, transposeB, out.ptr);
  return out;
}
