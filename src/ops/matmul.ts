import { runtime } from '../backend/runtime.js';
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

/** C = op(A)·op(B) (+bias)(relu) on heap addresses; m, n, k as in op(A)[m×k]·op(B)[k×n]. */
export function gemm(m: number, n: number, k: number, a: number, transposeA: boolean, b: number, transposeB: boolean,
  c: number, opts: { bias?: number; accumulate?: boolean; relu?: boolean } = {}): void {
  const rt = runtime();
  const s = gemmStrides(transposeA ? k : m, transposeA ? m : k, transposeA, transposeB ? n : k, transposeB ? k : n, transposeB);
  const flags = (opts.accumulate ? 1 : 0) | (opts.relu ? 2 : 0);
  rt.kernels.sgemm(m, n, k, a, s.rsA, s.csA, b, s.rsB, s.csB, c, n, opts.bias ?? 0, flags, rt.gemmScratch);
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
