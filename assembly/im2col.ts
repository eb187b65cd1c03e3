// im2col / col2im: turn a 2-D convolution into one GEMM (the matrix product is assembly/gemm.ts).
//
//   x   : NHWC input, [n, h, w, c] floats, contiguous.
//   col : [M × K] row-major, M = n·outH·outW (rows in (image, oh, ow) order), K = kh·kw·c with
//         columns in (r, s, ch) order — the order of an HWIO filter [kh, kw, c, oc] flattened to
//         [K × oc], so conv = col · filter needs no transpose of the filter.
//   Tap (r, s) of output (oh, ow) reads x[ih = oh·strideH − padTop + r·dilH, iw = ow·strideW −
//   padLeft + s·dilW]; taps outside the input read zero (only padTop/padLeft are needed: the bottom
//   and right edges are found by bounds checks).
//
// For one output pixel and one filter row r the in-bounds taps are a contiguous range of s, and
// with dilW = 1 their channels are one contiguous run of x (adjacent pixels in NHWC), so each
// (pixel, r) is a zero prefix + one vector copy of up to kw·c floats + a zero suffix. With one
// channel the runs are too short for that, so a separate path fills col column by column instead.
// Rows are image-major: to split work by images (threads), offset x, col (or dx, dcol) by whole
// images and pass the image count as n. No alignment is required (v128 loads are unaligned-safe).

// @ts-ignore: decorator
@inline function zeroF32(dst: usize, count: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const d = dst + (<usize>i << 2);
    v128.store(d, z);
    v128.store(d, z, 16);
  }
  if (i + 4 <= count) {
    v128.store(dst + (<usize>i << 2), z);
    i += 4;
  }
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), 0);
}

// @ts-ignore: decorator
@inline function copyF32(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const o = <usize>i << 2;
    const a = v128.load(src + o);
    const b = v128.load(src + o, 16);
    v128.store(dst + o, a);
    v128.store(dst + o, b, 16);
  }
  if (i + 4 <= count) {
    const o = <usize>i << 2;
    v128.store(dst + o, v128.load(src + o));
    i += 4;
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(src + o));
  }
}

// dst[i] += src[i]: the adjoint of copyF32.
// @ts-ignore: decorator
@inline function addF32(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const o = <usize>i << 2;
    const a = f32x4.add(v128.load(dst + o), v128.load(src + o));
    const b = f32x4.add(v128.load(dst + o, 16), v128.load(src + o, 16));
    v128.store(dst + o, a);
    v128.store(dst + o, b, 16);
  }
  if (i + 4 <= count) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    i += 4;
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** First tap index t in [0, taps] with start + t·dil ≥ bound (dil ≥ 1). */
// @ts-ignore: decorator
@inline function firstTapAtLeast(start: i32, bound: i32, dil: i32, taps: i32): i32 {
  if (start >= bound) return 0;
  return min(taps, (bound - start + dil - 1) / dil);
}

// One channel (the first layer on grey images): a pixel's runs are only kw floats, too short for
// vector copies, and per-pixel bookkeeping would dominate. Instead fill one col column (r, s) at a
// time across a whole output row: a tight strided loop with the in-bounds ow range precomputed.
function im2colOneChannel(x: usize, col: usize, n: i32, h: i32, w: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const k = kh * kw;
  const step = <usize>k << 2;
  const srcStep = <usize>strideW << 2;
  for (let b = 0; b < n; b++) {
    const xb = x + (<usize>(b * h * w) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const colRow = col + (<usize>((b * outH + oh) * outW) * step);
      for (let r = 0; r < kh; r++) {
        const ih = oh * strideH - padTop + r * dilH;
        const inside = <u32>ih < <u32>h;
        for (let s = 0; s < kw; s++) {
          let dst = colRow + (<usize>(r * kw + s) << 2);
          const off = s * dilW - padLeft;
          const lo = inside ? firstTapAtLeast(off, 0, strideW, outW) : outW;
          const hi = inside ? max(lo, firstTapAtLeast(off, w, strideW, outW)) : outW;
          let ow = 0;
          for (; ow < lo; ow++) { store<f32>(dst, 0); dst += step; }
          let src = xb + (<usize>(ih * w + lo * strideW + off) << 2);
          for (; ow < hi; ow++) { store<f32>(dst, load<f32>(src)); dst += step; src += srcStep; }
          for (; ow < outW; ow++) { store<f32>(dst, 0); dst += step; }
        }
      }
    }
  }
}

// The adjoint of im2colOneChannel. Within one (r, s) column distinct ow hit distinct pixels.
function col2imOneChannel(dcol: usize, dx: usize, n: i32, h: i32, w: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const k = kh * kw;
  const step = <usize>k << 2;
  const dstStep = <usize>strideW << 2;
  for (let b = 0; b < n; b++) {
    const xb = dx + (<usize>(b * h * w) << 2);
    for (let oh = 0; oh < outH; oh++) {
      const colRow = dcol + (<usize>((b * outH + oh) * outW) * step);
      for (let r = 0; r < kh; r++) {
        const ih = oh * strideH - padTop + r * dilH;
        if (<u32>ih >= <u32>h) continue;
        for (let s = 0; s < kw; s++) {
          const off = s * dilW - padLeft;
          const lo = firstTapAtLeast(off, 0, strideW, outW);
          const hi = max(lo, firstTapAtLeast(off, w, strideW, outW));
          let src = colRow + (<usize>(r * kw + s) << 2) + <usize>lo * step;
          let dst = xb + (<usize>(ih * w + lo * strideW + off) << 2);
          for (let ow = lo; ow < hi; ow++) {
            store<f32>(dst, load<f32>(dst) + load<f32>(src));
            src += step;
            dst += dstStep;
          }
        }
      }
    }
  }
}

/**
 * Writes col[M × K] (layout in the file comment) from the NHWC input x; padded taps are zero.
 * x, col: byte addresses of f32 arrays (4-byte aligned). Every argument is validated by the caller
 * (src/ops/conv.ts conv2dGeometry): sizes, strides, dilations ≥ 1, pads ≥ 0, outH/outW ≥ 1.
 */
export function im2col(x: usize, col: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const rowFloats = kw * c;
  const rowBytes = <usize>rowFloats << 2;
  const imageBytes = <usize>(h * w * c) << 2;
  const pixelBytes = <usize>c << 2;
  let dst = col;
  if (c == 1) {
    im2colOneChannel(x, col, n, h, w, kh, kw, strideH, strideW, dilH, dilW, padTop, padLeft, outH, outW);
    return;
  }
  for (let b = 0; b < n; b++) {
    const xb = x + <usize>b * imageBytes;
    for (let oh = 0; oh < outH; oh++) {
      const ih0 = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * strideW - padLeft;
        const lo = firstTapAtLeast(iw0, 0, dilW, kw);
        const hi = max(lo, firstTapAtLeast(iw0, w, dilW, kw));
        for (let r = 0; r < kh; r++) {
          const ih = ih0 + r * dilH;
          if (<u32>ih >= <u32>h) {
            zeroF32(dst, rowFloats);
          } else {
            zeroF32(dst, lo * c);
            const src = xb + (<usize>((ih * w + iw0 + lo * dilW) * c) << 2);
            const d = dst + (<usize>(lo * c) << 2);
            if (dilW == 1) {
              copyF32(d, src, (hi - lo) * c);
            } else {
              const step = <usize>dilW * pixelBytes;
              for (let s = lo; s < hi; s++) copyF32(d + <usize>(s - lo) * pixelBytes, src + <usize>(s - lo) * step, c);
            }
            zeroF32(dst + (<usize>(hi * c) << 2), (kw - hi) * c);
          }
          dst += rowBytes;
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: dx[n, h, w, c] (+)= scatter-add of dcol[M × K] (same layouts and
 * arguments as im2col); entries of padded taps are dropped. accumulate = 0 zeroes dx first
 * (overwrite), 1 adds into the existing dx. Rows are processed in order, so overlapping windows
 * (stride < kernel) sum deterministically.
 */
export function col2im(dcol: usize, dx: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, accumulate: i32): void {
  const imageBytes = <usize>(h * w * c) << 2;
  if (!accumulate) memory.fill(dx, 0, <usize>n * imageBytes);
  if (c == 1) {
    col2imOneChannel(dcol, dx, n, h, w, kh, kw, strideH, strideW, dilH, dilW, padTop, padLeft, outH, outW);
    return;
  }
  const rowBytes = <usize>(kw * c) << 2;
  const pixelBytes = <usize>c << 2;
  let src = dcol;
  for (let b = 0; b < n; b++) {
    const xb = dx + <usize>b * imageBytes;
    for (let oh = 0; oh < outH; oh++) {
      const ih0 = oh * strideH - padTop;
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * strideW - padLeft;
        const lo = firstTapAtLeast(iw0, 0, dilW, kw);
        const hi = max(lo, firstTapAtLeast(iw0, w, dilW, kw));
        for (let r = 0; r < kh; r++) {
          const ih = ih0 + r * dilH;
          if (<u32>ih < <u32>h && hi > lo) {
            const d = xb + (<usize>((ih * w + iw0 + lo * dilW) * c) << 2);
            const s0 = src + (<usize>(lo * c) << 2);
            if (dilW == 1) {
              addF32(d, s0, (hi - lo) * c);
            } else {
              const step = <usize>dilW * pixelBytes;
              for (let s = lo; s < hi; s++) addF32(d + <usize>(s - lo) * step, s0 + <usize>(s - lo) * pixelBytes, c);
            }
          }
          src += rowBytes;
        }
      }
    }
  }
}
