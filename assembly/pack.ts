// Packing and tile-store helpers shared by the GEMM (gemm.ts) and the direct convolutions
// (conv-direct.ts). Not exported from the module: internal to the kernels.

import { sigmoidV } from './simd';

/** Width of a packed B panel and of every micro-kernel's tile (two f32x4 per row). */
export const NR: i32 = 8;

/** Packs op(B)[pc..pc+kc, jc..jc+nc] into NR-wide k-major panels at dst, zero-padding the last panel. */
export function packB(b: usize, rsB: i32, csB: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const panel = dst + (<usize>(j0 * kc) << 2);
    if (csB == 1 && nr == NR) {
      // Rows of B are contiguous: two vector loads per k.
      let src = b + (<usize>(pc * rsB + jc + j0) << 2);
      const step = <usize>rsB << 2;
      for (let p = 0; p < kc; p++) {
        const d = panel + (<usize>(p * NR) << 2);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += step;
      }
    } else if (rsB == 1 && nr == NR) {
      // op(B) = Bᵀ (dX = dY·Wᵀ): each column of op(B) is contiguous, so read 4 k-steps of 4
      // columns as four vectors and transpose them in registers.
      const stride = <usize>csB << 2;
      for (let jg = 0; jg < NR; jg += 4) {
        let src = b + (<usize>(pc + (jc + j0 + jg) * csB) << 2);
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const v0 = v128.load(src), v1 = v128.load(src + stride);
          const v2 = v128.load(src + 2 * stride), v3 = v128.load(src + 3 * stride);
          const t0 = v128.shuffle<i32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(v0, v1, 2, 6, 3, 7);
          const t2 = v128.shuffle<i32>(v2, v3, 0, 4, 1, 5), t3 = v128.shuffle<i32>(v2, v3, 2, 6, 3, 7);
          const d = panel + (<usize>(p * NR + jg) << 2);
          v128.store(d, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
          v128.store(d, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), NR * 4);
          v128.store(d, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), NR * 8);
          v128.store(d, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), NR * 12);
          src += 16;
        }
        for (; p < kc; p++) {
          for (let j = 0; j < 4; j++) {
            store<f32>(panel + (<usize>(p * NR + jg + j) << 2), load<f32>(src + <usize>j * stride));
          }
          src += 4;
        }
      }
    } else {
      for (let j = 0; j < NR; j++) {
        if (j < nr) {
          let src = b + (<usize>(pc * rsB + (jc + j0 + j) * csB) << 2);
          const step = <usize>rsB << 2;
          for (let p = 0; p < kc; p++) {
            store<f32>(panel + (<usize>(p * NR + j) << 2), load<f32>(src));
            src += step;
          }
        } else {
          for (let p = 0; p < kc; p++) store<f32>(panel + (<usize>(p * NR + j) << 2), 0);
        }
      }
    }
  }
}

// Writes one 8-wide row of the tile. The epilogue, in this order: + the value at dst when beta
// (accumulating into C: GEMM_ACCUMULATE, or a later K block), × scale, + bias, + the residual at
// dst + resDelta (a tensor laid out like C, resDelta bytes away: a ResNet/MobileNetV2 block's skip),
// then the activation. `mode`: bits 0–1 the activation (ACT_RELU, ACT_RELU6, ACT_SWISH), bit 2 (EPI_RES) the
// residual. Callers pass scale, bias and mode only with the last K block. scale is a folded batch
// norm's per-channel a = γ/√(σ² + ε), so the kernel itself never needs a rescaled copy.
// @ts-ignore: decorator
@inline export function storeRow(dst: usize, v0: v128, v1: v128, beta: i32, scale: usize, bias: usize, mode: i32, resDelta: usize): void {
  if (beta) {
    v0 = f32x4.add(v0, v128.load(dst));
    v1 = f32x4.add(v1, v128.load(dst, 16));
  }
  if (scale) {
    v0 = f32x4.mul(v0, v128.load(scale));
    v1 = f32x4.mul(v1, v128.load(scale, 16));
  }
  if (bias) {
    v0 = f32x4.add(v0, v128.load(bias));
    v1 = f32x4.add(v1, v128.load(bias, 16));
  }
  if (mode & EPI_RES) {
    v0 = f32x4.add(v0, v128.load(dst + resDelta));
    v1 = f32x4.add(v1, v128.load(dst + resDelta, 16));
  }
  // ACT_SWISH is applied by the caller over the finished block (swishRows): inlined here, at every
  // tile store, the exp made the module a third larger.
  const act = mode & 3;
  if (act == ACT_RELU || act == ACT_RELU6) {
    const z = f32x4.splat(0);
    v0 = f32x4.max(v0, z);
    v1 = f32x4.max(v1, z);
    if (act == ACT_RELU6) {
      const six = f32x4.splat(6);
      v0 = f32x4.min(v0, six);
      v1 = f32x4.min(v1, six);
    }
  }
  v128.store(dst, v0);
  v128.store(dst, v1, 16);
}

/** The scalar epilogue of one element (edge tiles; scale and bias point at its column): as storeRow. */
// @ts-ignore: decorator
@inline export function epilogue(dst: usize, v: f32, beta: i32, scale: usize, bias: usize, mode: i32, resDelta: usize): f32 {
  if (beta) v += load<f32>(dst);
  if (scale) v *= load<f32>(scale);
  if (bias) v += load<f32>(bias);
  if (mode & EPI_RES) v += load<f32>(dst + resDelta);
  const act = mode & 3;
  if (act == ACT_RELU || act == ACT_RELU6) {
    v = max(v, <f32>0);
    if (act == ACT_RELU6) v = min(v, <f32>6);
  }
  return v;
}

/** Activation codes of the GEMM/convolution epilogues (src/backend/kernel-exports.ts mirrors them). */
export const ACT_RELU: i32 = 1;
export const ACT_RELU6: i32 = 2;
/**
 * x·sigmoid(x) (SiLU: EfficientNet), inference only (its gradient needs x, which is not kept):
 * storeRow leaves it to the caller, which runs swishRows over each block it has finished while
 * the block is still in cache.
 */
export const ACT_SWISH: i32 = 3;

/** C[r, j] = swish(C[r, j]) for r < rows, j < cols, rows ldc floats apart (one lane path: same bits anywhere). */
export function swishRows(c: usize, rows: i32, cols: i32, ldc: i32): void {
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = c + (<usize>(r * ldc) << 2);
    for (let j = 0; j < c4; j += 4) {
      const p = row + (<usize>j << 2);
      const v = v128.load(p);
      v128.store(p, f32x4.mul(v, sigmoidV(v)));
    }
    for (let j = c4; j < cols; j++) {
      const p = row + (<usize>j << 2);
      const v = load<f32>(p);
      store<f32>(p, v * f32x4.extract_lane(sigmoidV(f32x4.splat(v)), 0));
    }
  }
}
/** Epilogue mode bit: add the residual. */
export const EPI_RES: i32 = 4;
