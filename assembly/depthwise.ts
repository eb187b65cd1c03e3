// Depthwise 2-D convolution (Keras DepthwiseConv2D, the first half of SeparableConv2D), NHWC.
//
// Layouts (all pointers are byte addresses of f32 arrays, 4-byte aligned; the heap's 64 is faster):
//   x  [N, inH, inW, C]                 input, NHWC
//   w  [kh, kw, C, dm]                  depthwise kernel (tfjs/Keras layout) = [kh·kw][OC] row-major
//   y  [N, outH, outW, OC], OC = C·dm   output channel c·dm + m reads input channel c
//   bias [OC] (0: none)
// `geom` is an i32 table (4-byte aligned) of DW_GEOM_INTS entries:
//   inH, inW, C, dm, kh, kw, strideH, strideW, dilH, dilW, padTop, padLeft, outH, outW
// (pads on the top/left; bottom/right padding only shows up as taps that fall outside the input).
//
// SIMD across channels: the inner loops run f32x4 over output channels (forward, dW) or input
// channels (dX, dm = 1), in blocks of 16 (four accumulators, `x16`) then 4 (`x4`), with a scalar
// tail for channel counts that are not a multiple of 4. With dm > 1 the four lanes of an output
// channel block read input channels oc/dm, gathered lane by lane.
//
// Splitting: every call covers a range of "rows" (forward and dW: output rows n·outH + oh; dX:
// input rows n·inH + ih), and every pointer is the base of the whole tensor. Forward and dX write
// each output element from one call in a fixed order; dW writes one partial per chunk of rows
// (chunk k of `chunkRows` rows to dw0 for k = 0, else to partials + (k−1)·partialBytes), which
// TypeScript then sums in chunk order (addPartials): the same sums for any thread count.

import { fmadd, sigmoidV } from './simd';

/** Epilogue codes (src/ops/depthwise.ts mirrors them). */
const ACT_LINEAR = 0;
const ACT_RELU = 1;
const ACT_RELU6 = 2;
/** x·sigmoid(x): inference only (the backward masks from y, which swish's gradient cannot use). */
const ACT_SWISH = 3;

// @ts-ignore: decorator
@inline function g(geom: usize, i: i32): i32 {
  return load<i32>(geom + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function actV(act: i32, v: v128): v128 {
  if (act == ACT_SWISH) return f32x4.mul(v, sigmoidV(v));
  if (act == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (act == ACT_RELU6) return f32x4.min(f32x4.max(v, f32x4.splat(0)), f32x4.splat(6));
  return v;
}
// @ts-ignore: decorator
@inline function actS(act: i32, v: f32): f32 {
  if (act == ACT_SWISH) return v * f32x4.extract_lane(sigmoidV(f32x4.splat(v)), 0);
  if (act == ACT_RELU) return max(v, <f32>0);
  if (act == ACT_RELU6) return min(max(v, <f32>0), <f32>6);
  return v;
}

/** Four input values for output channels oc..oc+3 (dm > 1: lanes read channels (oc+l)/dm). */
// @ts-ignore: decorator
@inline function xLanes(one: i32, xp: usize, oc: i32, dm: i32): v128 {
  if (one) return v128.load(xp + (<usize>oc << 2));
  let v = f32x4.splat(load<f32>(xp + (<usize>(oc / dm) << 2)));
  v = f32x4.replace_lane(v, 1, load<f32>(xp + (<usize>((oc + 1) / dm) << 2)));
  v = f32x4.replace_lane(v, 2, load<f32>(xp + (<usize>((oc + 2) / dm) << 2)));
  v = f32x4.replace_lane(v, 3, load<f32>(xp + (<usize>((oc + 3) / dm) << 2)));
  return v;
}

/** Ints of the geometry table. */
export function depthwiseGeomInts(): i32 {
  return 14;
}

/**
 * y[rows rowStart..rowStart+rowCount) = act(depthwise(x, w) + bias), rows = n·outH + oh.
 * act: 0 linear, 1 ReLU, 2 ReLU6. bias = 0: none.
 */
export function depthwiseForward(geom: usize, x: usize, w: usize, bias: usize, y: usize, act: i32, rowStart: i32, rowCount: i32): void {
  // One instantiation per case, so the inner loops carry no test of dm or the epilogue.
  if (g(geom, 3) == 1) {
    if (act == ACT_RELU) forwardRows(1, ACT_RELU, geom, x, w, bias, y, rowStart, rowCount);
    else if (act == ACT_RELU6) forwardRows(1, ACT_RELU6, geom, x, w, bias, y, rowStart, rowCount);
    else if (act == ACT_SWISH) forwardRows(1, ACT_SWISH, geom, x, w, bias, y, rowStart, rowCount);
    else forwardRows(1, ACT_LINEAR, geom, x, w, bias, y, rowStart, rowCount);
  } else {
    forwardRows(0, act, geom, x, w, bias, y, rowStart, rowCount);
  }
}

// @ts-ignore: decorator
@inline function forwardRows(one: i32, act: i32, geom: usize, x: usize, w: usize, bias: usize, y: usize, rowStart: i32, rowCount: i32): void {
  const inH = g(geom, 0), inW = g(geom, 1), C = g(geom, 2), dm = g(geom, 3), kh = g(geom, 4), kw = g(geom, 5);
  const sh = g(geom, 6), sw = g(geom, 7), dh = g(geom, 8), dw = g(geom, 9), pt = g(geom, 10), pl = g(geom, 11);
  const outH = g(geom, 12), outW = g(geom, 13);
  const OC = C * dm;
  const oc16 = OC & ~15, oc4 = OC & ~3;
  const pixBytes = <usize>C << 2, wTapBytes = <usize>OC << 2;
  for (let row = rowStart; row < rowStart + rowCount; row++) {
    const n = row / outH, oh = row % outH;
    const ih0 = oh * sh - pt;
    // Taps i with 0 ≤ ih0 + i·dh < inH.
    let iLo = 0;
    while (iLo < kh && ih0 + iLo * dh < 0) iLo++;
    let iHi = kh;
    while (iHi > iLo && ih0 + (iHi - 1) * dh >= inH) iHi--;
    const xImg = x + <usize>n * <usize>inH * <usize>inW * pixBytes;
    let yp = y + <usize>row * <usize>outW * <usize>OC * 4;
    // 3×3, dm 1, all three rows inside: the pixels whose taps all lie inside run the register
    // kernel below for the vector channels (nine weight vectors held across the row).
    let fLo = outW, fHi = outW;
    if (one && kh == 3 && kw == 3 && iLo == 0 && iHi == 3 && oc4 > 0) {
      fLo = (pl + sw - 1) / sw;
      const last = inW - 1 - 2 * dw + pl;
      fHi = last < 0 ? 0 : min(outW, last / sw + 1);
      if (fLo < fHi) interior3x3(0, act, xImg + <usize>ih0 * <usize>inW * pixBytes, w, bias, yp, fLo, fHi, sw, dh, dw, pl, inW, pixBytes, oc4);
      else { fLo = outW; fHi = outW; }
    }
    for (let ow = 0; ow < outW; ow++) {
      const iw0 = ow * sw - pl;
      let jLo = 0;
      while (jLo < kw && iw0 + jLo * dw < 0) jLo++;
      let jHi = kw;
      while (jHi > jLo && iw0 + (jHi - 1) * dw >= inW) jHi--;
      let oc = ow >= fLo && ow < fHi ? oc4 : 0;
      for (; oc < oc16; oc += 16) {
        const ob = <usize>oc << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        if (bias) {
          a0 = v128.load(bias + ob); a1 = v128.load(bias + ob + 16);
          a2 = v128.load(bias + ob + 32); a3 = v128.load(bias + ob + 48);
        }
        for (let i = iLo; i < iHi; i++) {
          const xr = xImg + <usize>(ih0 + i * dh) * <usize>inW * pixBytes;
          const wr = w + <usize>(i * kw) * wTapBytes + ob;
          for (let j = jLo; j < jHi; j++) {
            const xp = xr + <usize>(iw0 + j * dw) * pixBytes;
            const wp = wr + <usize>j * wTapBytes;
            a0 = fmadd(xLanes(one, xp, oc, dm), v128.load(wp), a0);
            a1 = fmadd(xLanes(one, xp, oc + 4, dm), v128.load(wp + 16), a1);
            a2 = fmadd(xLanes(one, xp, oc + 8, dm), v128.load(wp + 32), a2);
            a3 = fmadd(xLanes(one, xp, oc + 12, dm), v128.load(wp + 48), a3);
          }
        }
        v128.store(yp + ob, actV(act, a0)); v128.store(yp + ob + 16, actV(act, a1));
        v128.store(yp + ob + 32, actV(act, a2)); v128.store(yp + ob + 48, actV(act, a3));
      }
      for (; oc < oc4; oc += 4) {
        const ob = <usize>oc << 2;
        let a0 = bias ? v128.load(bias + ob) : f32x4.splat(0);
        for (let i = iLo; i < iHi; i++) {
          const xr = xImg + <usize>(ih0 + i * dh) * <usize>inW * pixBytes;
          const wr = w + <usize>(i * kw) * wTapBytes + ob;
          for (let j = jLo; j < jHi; j++) {
            a0 = fmadd(xLanes(one, xr + <usize>(iw0 + j * dw) * pixBytes, oc, dm), v128.load(wr + <usize>j * wTapBytes), a0);
          }
        }
        v128.store(yp + ob, actV(act, a0));
      }
      for (; oc < OC; oc++) {
        const ob = <usize>oc << 2;
        let a: f32 = bias ? load<f32>(bias + ob) : 0;
        const cb = <usize>(oc / dm) << 2;
        for (let i = iLo; i < iHi; i++) {
          const xr = xImg + <usize>(ih0 + i * dh) * <usize>inW * pixBytes + cb;
          const wr = w + <usize>(i * kw) * wTapBytes + ob;
          for (let j = jLo; j < jHi; j++) a += load<f32>(xr + <usize>(iw0 + j * dw) * pixBytes) * load<f32>(wr + <usize>j * wTapBytes);
        }
        store<f32>(yp + ob, actS(act, a));
      }
      yp += <usize>OC << 2;
    }
  }
}

/**
 * y for output pixels ow ∈ [fLo, fHi) of one row and channels [0, oc4) of a 3×3 dm-1 depthwise
 * convolution whose taps all lie inside the input: xr0 is input row ih0 of the image, yp the output
 * row. Per 4-channel block the nine weight vectors (and the bias) stay in registers across the row:
 * nine loads and nine FMAs per output vector, taps in the order of the general path.
 */
// @ts-ignore: decorator
@inline function interior3x3(flip: i32, act: i32, xr0: usize, w: usize, bias: usize, yp: usize, fLo: i32, fHi: i32, sw: i32, dh: i32, dw: i32,
  pl: i32, inW: i32, pixBytes: usize, oc4: i32): void {
  // Channel blocks run outermost (their weights stay in registers), so each block walks the three
  // input rows again: in segments of pixels whose three-row span fits in L1 (~16 KB) the next
  // block finds the rest of each cache line still there, instead of refetching it from L2 (a
  // 112-pixel row of 32 channels spans 43 KB over three rows: 1.25× measured). Not below 16
  // pixels: with many channels the weight reloads per segment cost more (0.7× at 14×14×384).
  const span = <usize>3 * pixBytes * <usize>sw;
  const fit = <i32>(<usize>16384 / span) & ~1;
  const seg = fit >= 16 ? fit : fHi - fLo;
  for (let s0 = fLo; s0 < fHi; s0 += seg) {
    interior3x3Seg(flip, act, xr0, w, bias, yp, s0, min(fHi, s0 + seg), sw, dh, dw, pl, inW, pixBytes, oc4);
  }
}

// @ts-ignore: decorator
@inline function interior3x3Seg(flip: i32, act: i32, xr0: usize, w: usize, bias: usize, yp: usize, fLo: i32, fHi: i32, sw: i32, dh: i32, dw: i32,
  pl: i32, inW: i32, pixBytes: usize, oc4: i32): void {
  const rowB = <usize>dh * <usize>inW * pixBytes, colB = <usize>dw * pixBytes, step = <usize>sw * pixBytes;
  for (let oc = 0; oc < oc4; oc += 4) {
    const ob = <usize>oc << 2;
    // flip: the taps in reverse (the input gradient as a correlation of dy with the flipped kernel).
    const w0 = v128.load(w + (flip ? 8 : 0) * pixBytes + ob), w1 = v128.load(w + (flip ? 7 : 1) * pixBytes + ob);
    const w2 = v128.load(w + (flip ? 6 : 2) * pixBytes + ob), w3 = v128.load(w + (flip ? 5 : 3) * pixBytes + ob);
    const w4 = v128.load(w + 4 * pixBytes + ob), w5 = v128.load(w + (flip ? 3 : 5) * pixBytes + ob);
    const w6 = v128.load(w + (flip ? 2 : 6) * pixBytes + ob), w7 = v128.load(w + (flip ? 1 : 7) * pixBytes + ob);
    const w8 = v128.load(w + (flip ? 0 : 8) * pixBytes + ob);
    const b = bias ? v128.load(bias + ob) : f32x4.splat(0);
    let xp = xr0 + <usize>(fLo * sw - pl) * pixBytes + ob;
    let yq = yp + <usize>fLo * pixBytes + ob;
    let ow = fLo;
    if (sw == 1 && dw == 1) {
      // Two neighbouring outputs share two of their three input columns: 12 loads for 18 FMAs
      // instead of 18 (the pass is load-bound). Same taps in the same order per output.
      for (; ow + 1 < fHi; ow += 2) {
        let a = b, c = b;
        let x0 = v128.load(xp), x1 = v128.load(xp + colB), x2 = v128.load(xp + 2 * colB), x3 = v128.load(xp + 3 * colB);
        a = fmadd(x0, w0, a); c = fmadd(x1, w0, c);
        a = fmadd(x1, w1, a); c = fmadd(x2, w1, c);
        a = fmadd(x2, w2, a); c = fmadd(x3, w2, c);
        const r1 = xp + rowB;
        x0 = v128.load(r1); x1 = v128.load(r1 + colB); x2 = v128.load(r1 + 2 * colB); x3 = v128.load(r1 + 3 * colB);
        a = fmadd(x0, w3, a); c = fmadd(x1, w3, c);
        a = fmadd(x1, w4, a); c = fmadd(x2, w4, c);
        a = fmadd(x2, w5, a); c = fmadd(x3, w5, c);
        const r2 = r1 + rowB;
        x0 = v128.load(r2); x1 = v128.load(r2 + colB); x2 = v128.load(r2 + 2 * colB); x3 = v128.load(r2 + 3 * colB);
        a = fmadd(x0, w6, a); c = fmadd(x1, w6, c);
        a = fmadd(x1, w7, a); c = fmadd(x2, w7, c);
        a = fmadd(x2, w8, a); c = fmadd(x3, w8, c);
        v128.store(yq, actV(act, a));
        v128.store(yq + pixBytes, actV(act, c));
        xp += 2 * step;
        yq += 2 * pixBytes;
      }
    }
    for (; ow < fHi; ow++) {
      let a = fmadd(v128.load(xp), w0, b);
      a = fmadd(v128.load(xp + colB), w1, a);
      a = fmadd(v128.load(xp + 2 * colB), w2, a);
      const x1 = xp + rowB;
      a = fmadd(v128.load(x1), w3, a);
      a = fmadd(v128.load(x1 + colB), w4, a);
      a = fmadd(v128.load(x1 + 2 * colB), w5, a);
      const x2 = x1 + rowB;
      a = fmadd(v128.load(x2), w6, a);
      a = fmadd(v128.load(x2 + colB), w7, a);
      a = fmadd(v128.load(x2 + 2 * colB), w8, a);
      v128.store(yq, actV(act, a));
      xp += step;
      yq += pixBytes;
    }
  }
}

/**
 * dx[rows rowStart..rowStart+rowCount) (overwritten), rows = n·inH + ih: the depthwise input
 * gradient, dx[n, ih, iw, c] = Σ over the taps (oh, ow, i, j) that read it and m < dm of
 * dy[n, oh, ow, c·dm + m] · w[i, j, c, m] (a gather: one writer per dx element, taps in order).
 * dy is the gradient of the pre-activation output (the activation mask applied before).
 */
export function depthwiseBackwardInput(geom: usize, dy: usize, w: usize, dx: usize, rowStart: i32, rowCount: i32): void {
  const inH = g(geom, 0), inW = g(geom, 1), C = g(geom, 2), dm = g(geom, 3), kh = g(geom, 4), kw = g(geom, 5);
  const sh = g(geom, 6), sw = g(geom, 7), dh = g(geom, 8), dw = g(geom, 9), pt = g(geom, 10), pl = g(geom, 11);
  const outH = g(geom, 12), outW = g(geom, 13);
  const OC = C * dm;
  const c4 = dm == 1 ? C & ~3 : 0, c16 = dm == 1 ? C & ~15 : 0;
  const ocBytes = <usize>OC << 2;
  for (let row = rowStart; row < rowStart + rowCount; row++) {
    const n = row / inH, ih = row % inH;
    const dyImg = dy + <usize>n * <usize>outH * <usize>outW * ocBytes;
    let dxp = dx + <usize>row * <usize>inW * <usize>C * 4;
    // Stride 1, 3×3, dm 1, all three dy rows inside: interior pixels run the forward's register
    // kernel over dy with the kernel flipped (dy row oh0 = ih + pt − 2·dh, column shift 2·dw − pl).
    let fLo = inW, fHi = inW;
    const oh0 = ih + pt - 2 * dh;
    if (dm == 1 && kh == 3 && kw == 3 && sh == 1 && sw == 1 && oh0 >= 0 && oh0 + 2 * dh < outH && c4 > 0) {
      fLo = max(0, 2 * dw - pl);
      fHi = min(inW, outW - pl);
      if (fLo < fHi) interior3x3(1, ACT_LINEAR, dyImg + <usize>oh0 * <usize>outW * ocBytes, w, 0, dxp, fLo, fHi, 1, dh, dw, 2 * dw - pl, outW, ocBytes, c4);
      else { fLo = inW; fHi = inW; }
    }
    for (let iw = 0; iw < inW; iw++) {
      let c = iw >= fLo && iw < fHi ? c4 : 0;
      for (; c < c16; c += 16) {
        const cb = <usize>c << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (let i = 0; i < kh; i++) {
          const th = ih + pt - i * dh;
          if (th < 0 || th % sh != 0) continue;
          const oh = th / sh;
          if (oh >= outH) continue;
          for (let j = 0; j < kw; j++) {
            const tw = iw + pl - j * dw;
            if (tw < 0 || tw % sw != 0) continue;
            const ow = tw / sw;
            if (ow >= outW) continue;
            const dyp = dyImg + (<usize>oh * <usize>outW + <usize>ow) * ocBytes + cb;
            const wp = w + <usize>(i * kw + j) * ocBytes + cb;
            a0 = fmadd(v128.load(dyp), v128.load(wp), a0);
            a1 = fmadd(v128.load(dyp + 16), v128.load(wp + 16), a1);
            a2 = fmadd(v128.load(dyp + 32), v128.load(wp + 32), a2);
            a3 = fmadd(v128.load(dyp + 48), v128.load(wp + 48), a3);
          }
        }
        v128.store(dxp + cb, a0); v128.store(dxp + cb + 16, a1);
        v128.store(dxp + cb + 32, a2); v128.store(dxp + cb + 48, a3);
      }
      for (; c < c4; c += 4) {
        const cb = <usize>c << 2;
        let a = f32x4.splat(0);
        for (let i = 0; i < kh; i++) {
          const th = ih + pt - i * dh;
          if (th < 0 || th % sh != 0) continue;
          const oh = th / sh;
          if (oh >= outH) continue;
          for (let j = 0; j < kw; j++) {
            const tw = iw + pl - j * dw;
            if (tw < 0 || tw % sw != 0) continue;
            const ow = tw / sw;
            if (ow >= outW) continue;
            const dyp = dyImg + (<usize>oh * <usize>outW + <usize>ow) * ocBytes + cb;
            a = fmadd(v128.load(dyp), v128.load(w + <usize>(i * kw + j) * ocBytes + cb), a);
          }
        }
        v128.store(dxp + cb, a);
      }
      for (; c < C; c++) {
        let a: f32 = 0;
        for (let i = 0; i < kh; i++) {
          const th = ih + pt - i * dh;
          if (th < 0 || th % sh != 0) continue;
          const oh = th / sh;
          if (oh >= outH) continue;
          for (let j = 0; j < kw; j++) {
            const tw = iw + pl - j * dw;
            if (tw < 0 || tw % sw != 0) continue;
            const ow = tw / sw;
            if (ow >= outW) continue;
            const dyp = dyImg + (<usize>oh * <usize>outW + <usize>ow) * ocBytes + (<usize>(c * dm) << 2);
            const wp = w + <usize>(i * kw + j) * ocBytes + (<usize>(c * dm) << 2);
            for (let m = 0; m < dm; m++) a += load<f32>(dyp + (<usize>m << 2)) * load<f32>(wp + (<usize>m << 2));
          }
        }
        store<f32>(dxp + (<usize>c << 2), a);
      }
      dxp += <usize>C << 2;
    }
  }
}

/**
 * The depthwise filter gradient over chunks chunkStart..chunkStart+chunkCount) of chunkRows output
 * rows each (rows = n·outH + oh, totalRows in all): chunk k's Σ over its rows of
 * x[n, ih, iw, c]·dy[n, oh, ow, c·dm + m] into dw[i, j, c, m] ([kh·kw × OC] floats), written
 * (overwritten) to dw0 for chunk 0 and to partials + (k−1)·partialBytes otherwise.
 */
export function depthwiseBackwardFilter(geom: usize, x: usize, dy: usize, dw0: usize, partials: usize, partialBytes: usize,
  chunkRows: i32, totalRows: i32, chunkStart: i32, chunkCount: i32): void {
  if (g(geom, 3) == 1) filterChunks(1, geom, x, dy, dw0, partials, partialBytes, chunkRows, totalRows, chunkStart, chunkCount);
  else filterChunks(0, geom, x, dy, dw0, partials, partialBytes, chunkRows, totalRows, chunkStart, chunkCount);
}

// @ts-ignore: decorator
@inline function filterChunks(one: i32, geom: usize, x: usize, dy: usize, dw0: usize, partials: usize, partialBytes: usize,
  chunkRows: i32, totalRows: i32, chunkStart: i32, chunkCount: i32): void {
  const inH = g(geom, 0), inW = g(geom, 1), C = g(geom, 2), dm = g(geom, 3), kh = g(geom, 4), kw = g(geom, 5);
  const sh = g(geom, 6), sw = g(geom, 7), dh = g(geom, 8), dwl = g(geom, 9), pt = g(geom, 10), pl = g(geom, 11);
  const outH = g(geom, 12), outW = g(geom, 13);
  const OC = C * dm;
  const oc4 = OC & ~3;
  const pixBytes = <usize>C << 2, wTapBytes = <usize>OC << 2;
  const dwBytes = <usize>(kh * kw) * wTapBytes;
  for (let k = chunkStart; k < chunkStart + chunkCount; k++) {
    const out = k == 0 ? dw0 : partials + <usize>(k - 1) * partialBytes;
    memory.fill(out, 0, dwBytes);
    const r0 = k * chunkRows, r1 = min(totalRows, r0 + chunkRows);
    for (let row = r0; row < r1; row++) {
      const n = row / outH, oh = row % outH;
      const ih0 = oh * sh - pt;
      let iLo = 0;
      while (iLo < kh && ih0 + iLo * dh < 0) iLo++;
      let iHi = kh;
      while (iHi > iLo && ih0 + (iHi - 1) * dh >= inH) iHi--;
      const xImg = x + <usize>n * <usize>inH * <usize>inW * pixBytes;
      let dyp = dy + <usize>row * <usize>outW * wTapBytes;
      // 3×3, dm 1, all rows inside: the interior pixels' vector channels in registers (as forward).
      let fLo = outW, fHi = outW;
      if (one && kh == 3 && kw == 3 && iLo == 0 && iHi == 3 && oc4 > 0) {
        fLo = (pl + sw - 1) / sw;
        const last = inW - 1 - 2 * dwl + pl;
        fHi = last < 0 ? 0 : min(outW, last / sw + 1);
        if (fLo < fHi) interior3x3Filter(xImg + <usize>ih0 * <usize>inW * pixBytes, dyp, out, fLo, fHi, sw, dh, dwl, pl, inW, pixBytes, oc4);
        else { fLo = outW; fHi = outW; }
      }
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * sw - pl;
        let jLo = 0;
        while (jLo < kw && iw0 + jLo * dwl < 0) jLo++;
        let jHi = kw;
        while (jHi > jLo && iw0 + (jHi - 1) * dwl >= inW) jHi--;
        const ocStart = ow >= fLo && ow < fHi ? oc4 : 0;
        for (let i = iLo; i < iHi; i++) {
          const xr = xImg + <usize>(ih0 + i * dh) * <usize>inW * pixBytes;
          for (let j = jLo; j < jHi; j++) {
            const xp = xr + <usize>(iw0 + j * dwl) * pixBytes;
            const op = out + <usize>(i * kw + j) * wTapBytes;
            let oc = ocStart;
            for (; oc < oc4; oc += 4) {
              const ob = <usize>oc << 2;
              v128.store(op + ob, fmadd(xLanes(one, xp, oc, dm), v128.load(dyp + ob), v128.load(op + ob)));
            }
            for (; oc < OC; oc++) {
              const ob = <usize>oc << 2;
              store<f32>(op + ob, load<f32>(op + ob) + load<f32>(xp + (<usize>(oc / dm) << 2)) * load<f32>(dyp + ob));
            }
          }
        }
        dyp += wTapBytes;
      }
    }
  }
}

/**
 * The filter gradient's share of one output row for pixels ow ∈ [fLo, fHi) and channels [0, oc4)
 * of a 3×3 dm-1 convolution whose taps all lie inside the input (xr0: input row ih0, dyr: the dy
 * row): per 4-channel block nine accumulators sum x·dy along the row, then add into out ([9][C]).
 */
// @ts-ignore: decorator
@inline function interior3x3Filter(xr0: usize, dyr: usize, out: usize, fLo: i32, fHi: i32, sw: i32, dh: i32, dw: i32,
  pl: i32, inW: i32, pixBytes: usize, oc4: i32): void {
  const rowB = <usize>dh * <usize>inW * pixBytes, colB = <usize>dw * pixBytes, step = <usize>sw * pixBytes;
  for (let oc = 0; oc < oc4; oc += 4) {
    const ob = <usize>oc << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
    let xp = xr0 + <usize>(fLo * sw - pl) * pixBytes + ob;
    let dp = dyr + <usize>fLo * pixBytes + ob;
    for (let ow = fLo; ow < fHi; ow++) {
      const d = v128.load(dp);
      a0 = fmadd(v128.load(xp), d, a0);
      a1 = fmadd(v128.load(xp + colB), d, a1);
      a2 = fmadd(v128.load(xp + 2 * colB), d, a2);
      const x1 = xp + rowB;
      a3 = fmadd(v128.load(x1), d, a3);
      a4 = fmadd(v128.load(x1 + colB), d, a4);
      a5 = fmadd(v128.load(x1 + 2 * colB), d, a5);
      const x2 = x1 + rowB;
      a6 = fmadd(v128.load(x2), d, a6);
      a7 = fmadd(v128.load(x2 + colB), d, a7);
      a8 = fmadd(v128.load(x2 + 2 * colB), d, a8);
      xp += step;
      dp += pixBytes;
    }
    const o = out + ob;
    v128.store(o, f32x4.add(v128.load(o), a0));
    v128.store(o + pixBytes, f32x4.add(v128.load(o + pixBytes), a1));
    v128.store(o + 2 * pixBytes, f32x4.add(v128.load(o + 2 * pixBytes), a2));
    v128.store(o + 3 * pixBytes, f32x4.add(v128.load(o + 3 * pixBytes), a3));
    v128.store(o + 4 * pixBytes, f32x4.add(v128.load(o + 4 * pixBytes), a4));
    v128.store(o + 5 * pixBytes, f32x4.add(v128.load(o + 5 * pixBytes), a5));
    v128.store(o + 6 * pixBytes, f32x4.add(v128.load(o + 6 * pixBytes), a6));
    v128.store(o + 7 * pixBytes, f32x4.add(v128.load(o + 7 * pixBytes), a7));
    v128.store(o + 8 * pixBytes, f32x4.add(v128.load(o + 8 * pixBytes), a8));
  }
}

/**
 * dy ← dy · act'(y) over [start, start+count) floats, from the forward output y
 * (1 ReLU: y > 0; 2 ReLU6: 0 < y < 6; 0 linear: nothing).
 */
export function depthwiseActMask(act: i32, y: usize, dy: usize, start: i32, count: i32): void {
  if (act == ACT_LINEAR) return;
  const end = start + count;
  let i = start;
  const zero = f32x4.splat(0), six = f32x4.splat(6);
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    let m = f32x4.gt(yv, zero);
    if (act == ACT_RELU6) m = v128.and(m, f32x4.lt(yv, six));
    v128.store(dy + o, v128.and(v128.load(dy + o), m));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    const keep = act == ACT_RELU6 ? yv > 0 && yv < 6 : yv > 0;
    if (!keep) store<f32>(dy + o, 0);
  }
}
