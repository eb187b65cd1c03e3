// Packed, register-blocked single-precision GEMM (the BLIS/Goto loop nest) for wasm SIMD.
//
//   C[m×n] (+)= op(A)[m×k] · op(B)[k×n]  (+ bias[n]) (+ R[m×n]) (then ReLU or ReLU6)
//
// op(A)(i,p) = A[i*rsA + p*csA] and op(B)(p,j) = B[p*rsB + j*csB] (strides in floats), so every
// transpose variant backprop needs is the same kernel with other strides:
//   A·B   : rsA = K, csA = 1, rsB = N, csB = 1
//   Aᵀ·B  : A stored [K×M] → rsA = 1, csA = M
//   A·Bᵀ  : B stored [N×K] → rsB = 1, csB = K
// C is row-major with leading dimension ldc (floats). Any m, n, k ≥ 1: edge tiles are computed on
// zero-padded packed panels and written back through a small tile buffer.
//
// Blocking: B is packed per (KC×NC) block into NR-wide column panels (k-major, 8 floats per k);
// A per (MC×KC) block into MR-high row panels (k-major, 6 floats per k). The 6×8 micro-kernel keeps
// 12 f32x4 accumulators in registers and reads A with load32_splat (one broadcast load per row).
// Scratch is caller-owned (each thread passes its own): gemmScratchBytes() bytes, 16-byte aligned.

import { fmadd } from './simd';
import { packB, storeRow, epilogue, swishRows, NR, ACT_RELU, ACT_RELU6, ACT_SWISH, EPI_RES } from './pack';

const MR: i32 = 6;
const KC: i32 = 320;
const MC: i32 = 120;
const NC: i32 = 512;

/** flags bit 0: C += (accumulate into C instead of overwriting). */
export const GEMM_ACCUMULATE: i32 = 1;
/** flags bit 1: apply ReLU to the final result (after bias and residual). */
export const GEMM_RELU: i32 = 2;
/** flags bit 2 (with bit 1): clamp to ReLU6's [0, 6] instead. */
export const GEMM_RELU6: i32 = 4;
/**
 * flags bit 3: b is already packed by packWeights (full-K panels, [⌈n/8⌉][k][8]): nothing is
 * packed per call (constant weights at inference); rsB and csB are unused.
 */
export const GEMM_PACKED_B: i32 = 8;
/** flags bit 4: apply swish (x·sigmoid(x)) to the final result instead of ReLU. */
export const GEMM_SWISH: i32 = 16;

const PACK_B_BYTES: usize = <usize>(KC * NC) * 4;
const PACK_A_BYTES: usize = <usize>(MC * KC) * 4;
const TILE_BYTES: usize = <usize>(MR * NR) * 4;

/** Bytes of scratch sgemm needs: packed B block, packed A block, one edge tile. */
export function gemmScratchBytes(): usize {
  return PACK_B_BYTES + PACK_A_BYTES + TILE_BYTES;
}

/**
 * Packs B [k × n] row-major (a layer's weights) into full-K NR-wide panels at dst:
 * panel j (columns 8j..8j+7, zero-padded past n) is [k][8] floats at dst + 32·j·k bytes, so the
 * rows pc..pc+kc of a panel are the k-major panel sgemm's KC blocks and the direct convolutions
 * read (GEMM_PACKED_B; convForwardSlice's prepacked geometry). dst: ⌈n/8⌉·8·k floats.
 */
export function packWeights(b: usize, k: i32, n: i32, dst: usize): void {
  packB(b, n, 1, 0, k, 0, n, dst);
}

/** Packs op(A)[ic..ic+mc, pc..pc+kc] into MR-high k-major panels at dst, zero-padding the last panel. */
function packA(a: usize, rsA: i32, csA: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  if (rsA == 1) {
    // op(A) = Aᵀ (backprop's colᵀ·dY): each k's six rows are contiguous in memory, so a panel
    // row is one 16-byte and one 8-byte copy instead of six strided scalar loads.
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const mr = min(MR, mc - i0);
      const panel = dst + (<usize>(i0 * kc) << 2);
      let src = a + (<usize>(pc * csA + ic + i0) << 2);
      const step = <usize>csA << 2;
      if (mr == MR) {
        for (let p = 0; p < kc; p++) {
          const d = panel + (<usize>(p * MR) << 2);
          v128.store(d, v128.load(src));
          store<u64>(d, load<u64>(src, 16), 16);
          src += step;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = panel + (<usize>(p * MR) << 2);
          for (let i = 0; i < MR; i++) store<f32>(d + (<usize>i << 2), i < mr ? load<f32>(src + (<usize>i << 2)) : 0);
          src += step;
        }
      }
    }
    return;
  }
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    const panel = dst + (<usize>(i0 * kc) << 2);
    for (let i = 0; i < MR; i++) {
      if (i < mr) {
        let src = a + (<usize>((ic + i0 + i) * rsA + pc * csA) << 2);
        const step = <usize>csA << 2;
        for (let p = 0; p < kc; p++) {
          store<f32>(panel + (<usize>(p * MR + i) << 2), load<f32>(src));
          src += step;
        }
      } else {
        for (let p = 0; p < kc; p++) store<f32>(panel + (<usize>(p * MR + i) << 2), 0);
      }
    }
  }
}

/**
 * 6×8 micro-kernel over kc steps of packed panels pa (6 floats/k) and pb (8 floats/k).
 * Full tiles go straight to C; edge tiles (mr < 6 or nr < 8) through `tile` and a scalar copy.
 */
function micro6x8(kc: i32, pa: usize, aRow: usize, aStep: usize, pb: usize, bStep: usize, c: usize, ldc: i32, mr: i32, nr: i32,
  beta: i32, scale: usize, bias: usize, relu: i32, tile: usize, resDelta: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  // A comes either packed (aRow = 0: 6 floats per k at pa) or straight from a row-major A
  // (aRow = row stride in bytes, aStep = 4): rows past mr repeat the last valid row, so every
  // load stays inside A and the extra lanes are discarded by the edge store.
  const r1 = aRow ? <usize>min(1, mr - 1) * aRow : 4;
  const r2 = aRow ? <usize>min(2, mr - 1) * aRow : 8;
  const r3 = aRow ? <usize>min(3, mr - 1) * aRow : 12;
  const r4 = aRow ? <usize>min(4, mr - 1) * aRow : 16;
  const r5 = aRow ? <usize>min(5, mr - 1) * aRow : 20;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = fmadd(a, b0, c00); c01 = fmadd(a, b1, c01);
    a = v128.load32_splat(pa + r1);
    c10 = fmadd(a, b0, c10); c11 = fmadd(a, b1, c11);
    a = v128.load32_splat(pa + r2);
    c20 = fmadd(a, b0, c20); c21 = fmadd(a, b1, c21);
    a = v128.load32_splat(pa + r3);
    c30 = fmadd(a, b0, c30); c31 = fmadd(a, b1, c31);
    a = v128.load32_splat(pa + r4);
    c40 = fmadd(a, b0, c40); c41 = fmadd(a, b1, c41);
    a = v128.load32_splat(pa + r5);
    c50 = fmadd(a, b0, c50); c51 = fmadd(a, b1, c51);
    pa += aStep;
    pb += bStep;
  }
  if (mr == MR && nr == NR) {
    const ld = <usize>ldc << 2;
    storeRow(c, c00, c01, beta, scale, bias, relu, resDelta); c += ld;
    storeRow(c, c10, c11, beta, scale, bias, relu, resDelta); c += ld;
    storeRow(c, c20, c21, beta, scale, bias, relu, resDelta); c += ld;
    storeRow(c, c30, c31, beta, scale, bias, relu, resDelta); c += ld;
    storeRow(c, c40, c41, beta, scale, bias, relu, resDelta); c += ld;
    storeRow(c, c50, c51, beta, scale, bias, relu, resDelta);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  v128.store(tile, c40, 128); v128.store(tile, c41, 144);
  v128.store(tile, c50, 160); v128.store(tile, c51, 176);
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const dst = c + (<usize>(i * ldc + j) << 2);
      store<f32>(dst, epilogue(dst, load<f32>(tile + (<usize>(i * NR + j) << 2)), beta, scale ? scale + (<usize>j << 2) : 0, bias ? bias + (<usize>j << 2) : 0, relu, resDelta));
    }
  }
}

/**
 * 1×8 micro-kernel for a single row of A (batch-1 inference, GEMV): the 6×8 kernel would compute
 * five throw-away rows. Two k-steps per iteration keep four independent FMA chains in flight.
 */
function micro1x8(kc: i32, pa: usize, aStep: usize, pb: usize, bStep: usize, c: usize, nr: i32,
  beta: i32, scale: usize, bias: usize, relu: i32, tile: usize, resDelta: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let p = 0;
  for (; p + 2 <= kc; p += 2) {
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + aStep);
    c0 = fmadd(a0, v128.load(pb), c0);
    c1 = fmadd(a0, v128.load(pb, 16), c1);
    d0 = fmadd(a1, v128.load(pb + bStep), d0);
    d1 = fmadd(a1, v128.load(pb + bStep, 16), d1);
    pa += aStep << 1;
    pb += bStep << 1;
  }
  if (p < kc) {
    const a0 = v128.load32_splat(pa);
    c0 = fmadd(a0, v128.load(pb), c0);
    c1 = fmadd(a0, v128.load(pb, 16), c1);
  }
  c0 = f32x4.add(c0, d0);
  c1 = f32x4.add(c1, d1);
  if (nr == NR) {
    storeRow(c, c0, c1, beta, scale, bias, relu, resDelta);
    return;
  }
  v128.store(tile, c0);
  v128.store(tile, c1, 16);
  for (let j = 0; j < nr; j++) {
    const dst = c + (<usize>j << 2);
    store<f32>(dst, epilogue(dst, load<f32>(tile + (<usize>j << 2)), beta, scale ? scale + (<usize>j << 2) : 0, bias ? bias + (<usize>j << 2) : 0, relu, resDelta));
  }
}

/**
 * C = act((C +) op(A)·op(B) (× scale) (+ bias) (+ R)). See the file comment for strides.
 * a, b, c, scale, bias, res: byte addresses of f32 arrays (4-byte aligned; 16 is faster), 0 for
 * none. scale, bias: [n]. res: a residual R[m×n] with C's leading dimension ldc (not C itself when
 * K spans several blocks: the first block's partial sums would overwrite it).
 * scratch: gemmScratchBytes() bytes, 16-byte aligned, owned by the calling thread.
 */
export function sgemm(m: i32, n: i32, k: i32,
  a: usize, rsA: i32, csA: i32,
  b: usize, rsB: i32, csB: i32,
  c: usize, ldc: i32, bias: usize, flags: i32, scratch: usize, res: usize, scale: usize): void {
  const packedB = scratch;
  const packedA = scratch + PACK_B_BYTES;
  const tile = packedA + PACK_A_BYTES;
  const relu = flags & GEMM_SWISH ? ACT_SWISH : flags & GEMM_RELU ? (flags & GEMM_RELU6 ? ACT_RELU6 : ACT_RELU) : 0;
  // The residual is read through C's addresses shifted by a constant (wrapping) byte distance.
  const resDelta: usize = res ? res - c : 0;
  // Split K evenly so no block is a sliver (e.g. K = 400 → 200 + 200, not 320 + 80).
  const kBlocks = (k + KC - 1) / KC;
  const kcStep = (k + kBlocks - 1) / kBlocks;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcStep) {
      const kc = min(kcStep, k - pc);
      const beta = pc > 0 ? 1 : (flags & GEMM_ACCUMULATE);
      const last = pc + kc >= k;
      // With few rows of A each B panel is used once or twice: packing it would cost more than it
      // saves (dense layers at small batch, batch-1 inference). Row-major B is then read in place.
      const prepacked = (flags & GEMM_PACKED_B) != 0;
      const directB = !prepacked && csB == 1 && m <= 2 * MR;
      if (!directB && !prepacked) packB(b, rsB, csB, pc, kc, jc, nc, packedB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        // A row-major (csA = 1) is read in place: packing it would cost as much as the
        // multiply when N is small (the CNN's N = 64), and rows are already k-contiguous.
        const direct = csA == 1;
        if (!direct) packA(a, rsA, csA, ic, mc, pc, kc, packedA);
        for (let j0 = 0; j0 < nc; j0 += NR) {
          const nr = min(NR, nc - j0);
          let pb = packedB + (<usize>(j0 * kc) << 2);
          let bStep: usize = 32;
          if (prepacked) {
            pb = b + (<usize>((jc + j0) * k + pc * NR) << 2);
          } else if (directB) {
            if (nr == NR) {
              pb = b + (<usize>(pc * rsB + jc + j0) << 2);
              bStep = <usize>rsB << 2;
            } else {
              // The ragged last panel is packed (zero-padded) so no load reads past B's end.
              packB(b, rsB, csB, pc, kc, jc + j0, nr, packedB);
              pb = packedB;
            }
          }
          const biasJ: usize = last && bias ? bias + (<usize>(jc + j0) << 2) : 0;
          const scaleJ: usize = last && scale ? scale + (<usize>(jc + j0) << 2) : 0;
          const reluJ = last ? relu | (res ? EPI_RES : 0) : 0;
          for (let i0 = 0; i0 < mc; i0 += MR) {
            const mr = min(MR, mc - i0);
            const cij = c + (<usize>((ic + i0) * ldc + jc + j0) << 2);
            if (mr == 1 && direct) {
              micro1x8(kc, a + (<usize>((ic + i0) * rsA + pc) << 2), 4, pb, bStep, cij, nr, beta, scaleJ, biasJ, reluJ, tile, resDelta);
            } else if (direct) {
              const pa = a + (<usize>((ic + i0) * rsA + pc) << 2);
              micro6x8(kc, pa, <usize>rsA << 2, 4, pb, bStep, cij, ldc, mr, nr, beta, scaleJ, biasJ, reluJ, tile, resDelta);
            } else {
              const pa = packedA + (<usize>(i0 * kc) << 2);
              micro6x8(kc, pa, 0, 24, pb, bStep, cij, ldc, mr, nr, beta, scaleJ, biasJ, reluJ, tile, resDelta);
            }
          }
        }
        // Swish over the finished block while it is in cache (storeRow does not apply it).
        if (last && relu == ACT_SWISH) swishRows(c + (<usize>(ic * ldc + jc) << 2), mc, nc, ldc);
      }
    }
  }
}
