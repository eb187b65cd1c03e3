// Direct convolution passes over a slice of a batch: one call per thread per layer pass.
//
// No im2col matrix. A 6×8 micro-kernel like gemm.ts's reads its six A rows through six byte offsets
// and each reduction step through a table of offsets, so it reads the input image where it lies
// (XNNPACK's indirect GEMM, with offset tables instead of an indirection buffer of pointers):
//   forward  y[q, :]   = Σ_k x[pix(q) + off(k)] · W[k, :]      rows q = output pixels, k = (ky, kx, c)
//   dW       dW[k, :] += Σ_q x[pix(q) + off(k)] · dy[q, :]     rows k, reduction over the pixels
//   dX       dx[pix(q) + off(k)] += Σ_o dy[q, o] · W[k, o]     rows q, scattered by the epilogue (col2im fused)
// where pix(q) is the byte offset of output pixel q's receptive field in the (zero-padded) input
// and off(k) the offset of tap/channel k inside it. Exact FLOPs (no work on padding); the im2col
// write + re-read (and packing of colᵀ) that dominated the old passes is gone.
//
// Geometry (`geom`, 20 i32, 4-byte aligned), written once per plan by TypeScript:
//   [0] h  [1] w  [2] c  [3] kh  [4] kw  [5] strideH  [6] strideW  [7] dilH  [8] dilW
//   [9] padTop  [10] padLeft  [11] outH  [12] outW  [13] outC  [14] chunk (images per chunk)
//   [15] padBottom  [16] padRight
//   [17..24] a max pooling fused after the convolution (0 in [17]: none): poolH poolW strideH
//   strideW padTop padLeft outH outW. Its window runs over the chunk's convolution output in
//   scratch, so the full-size activation never goes through memory (conv1's is 2.8 MB at batch 32).
//   [25] bands: 0 or 1 — a chunk is geom[14] whole images; b > 1 (forward without pooling only) —
//   a chunk is one band of ⌈outH / b⌉ output rows of one image, so a batch smaller than the thread
//   count (batch-1 inference) still spreads over every thread.
// Layouts: x NHWC [n, h, w, c]; w HWIO = [K × outC] row-major with K = kh·kw·c; y, dy NHWC
// [n, outH, outW, outC]; dw [K × outC]; db [outC]. scratch: convScratchBytes(geom) bytes, 16-byte
// aligned, owned by the calling thread.
// Work is shared out dynamically: every thread runs the same call and claims chunks (geom[14]
// images each) from the shared counter at `counter` (an i32 the caller zeroes) until the batch is
// used up. A thread slowed by a busy core does fewer chunks instead of holding the others up, and
// results stay deterministic: each chunk's output has one place. The backward claims groups of
// chunks, each group summing its weight gradient into its own partial (group g ≥ 1 into partial
// g−1, summed in group order by the caller): a bounded number of partials, whatever the batch.

import { fmadd } from './simd';
import { packB, storeRow, epilogue, swishRows, NR, EPI_RES, ACT_SWISH } from './pack';
import { biasGrad, reluBackward } from './activations';
import { maxPoolForward } from './pool';

const MR: i32 = 6;
/** Per-tile entry of the forward's row table: the first row's offset, then the six row deltas, padded. */
const TILE_ROW_BYTES: usize = 32;

// @ts-ignore: decorator
@inline function g(geom: usize, i: i32): i32 {
  return load<i32>(geom + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function at(table: usize, i: i32): usize {
  return <usize>load<i32>(table + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function align16(n: usize): usize {
  return (n + 15) & ~<usize>15;
}

/**
 * 6×8 tile: acc[i, :] = Σ_p A(i, p) · B(p, :), with A(i, p) at a + ra[i] + offs[p] (offs: kc i32 byte
 * offsets) and B's row p at pb + p·bStep. Row i is then stored at c + rc[i] (+ cols[j] for column j
 * when cols ≠ 0, else 4·j), with beta/bias/ReLU as in the GEMM. ra, rc: 6 i32 byte offsets (ra[0] = 0;
 * rows past mr repeat the last valid row so every load stays in bounds).
 * One flat loop with the offsets read from a table: a nested segment loop here made V8 spill the
 * twelve accumulators (measured: half the speed).
 */
function micro(a: usize, ra: usize, offs: usize, kc: i32, pb: usize, bStep: usize, c: usize, rc: usize,
  mr: i32, nr: i32, cols: usize, beta: i32, bias: usize, relu: i32, tile: usize, resDelta: usize = 0, scale: usize = 0): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  const r1 = at(ra, 1), r2 = at(ra, 2), r3 = at(ra, 3), r4 = at(ra, 4), r5 = at(ra, 5);
  for (let p = 0; p < kc; p++) {
    const pa = a + <usize>load<i32>(offs);
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let v = v128.load32_splat(pa);
    c00 = fmadd(v, b0, c00); c01 = fmadd(v, b1, c01);
    v = v128.load32_splat(pa + r1);
    c10 = fmadd(v, b0, c10); c11 = fmadd(v, b1, c11);
    v = v128.load32_splat(pa + r2);
    c20 = fmadd(v, b0, c20); c21 = fmadd(v, b1, c21);
    v = v128.load32_splat(pa + r3);
    c30 = fmadd(v, b0, c30); c31 = fmadd(v, b1, c31);
    v = v128.load32_splat(pa + r4);
    c40 = fmadd(v, b0, c40); c41 = fmadd(v, b1, c41);
    v = v128.load32_splat(pa + r5);
    c50 = fmadd(v, b0, c50); c51 = fmadd(v, b1, c51);
    offs += 4;
    pb += bStep;
  }
  if (mr == MR && nr == NR && cols == 0) {
    storeRow(c, c00, c01, beta, scale, bias, relu, resDelta);
    storeRow(c + at(rc, 1), c10, c11, beta, scale, bias, relu, resDelta);
    storeRow(c + at(rc, 2), c20, c21, beta, scale, bias, relu, resDelta);
    storeRow(c + at(rc, 3), c30, c31, beta, scale, bias, relu, resDelta);
    storeRow(c + at(rc, 4), c40, c41, beta, scale, bias, relu, resDelta);
    storeRow(c + at(rc, 5), c50, c51, beta, scale, bias, relu, resDelta);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  v128.store(tile, c40, 128); v128.store(tile, c41, 144);
  v128.store(tile, c50, 160); v128.store(tile, c51, 176);
  for (let i = 0; i < mr; i++) {
    const row = c + at(rc, i);
    for (let j = 0; j < nr; j++) {
      const dst = row + (cols ? at(cols, j) : <usize>j << 2);
      store<f32>(dst, epilogue(dst, load<f32>(tile + (<usize>(i * NR + j) << 2)), beta, scale ? scale + (<usize>j << 2) : 0, bias ? bias + (<usize>j << 2) : 0, relu, resDelta));
    }
  }
}

/** The geometry and the per-thread scratch regions of one pass. */
class Plan {
  h: i32; w: i32; c: i32; kh: i32; kw: i32; sh: i32; sw: i32; dh: i32; dw: i32;
  pt: i32; pl: i32; pb: i32; pr: i32; outH: i32; outW: i32; outC: i32; chunk: i32;
  hp: i32; wp: i32; padded: bool; K: i32; pixels: i32; prepacked: bool;
  ph: i32; pw: i32; psh: i32; psw: i32; ppt: i32; ppl: i32; pOutH: i32; pOutW: i32;
  convOut: usize; packed: usize; pad: usize; dyPack: usize; pix: usize; tiles: usize; offK: usize; ident: usize;
  ra: usize; rc: usize; cols: usize; tile: usize;
}

const PLAN_BYTES: usize = 256;

function readGeometry(p: Plan, geom: usize): void {
  p.h = g(geom, 0); p.w = g(geom, 1); p.c = g(geom, 2); p.kh = g(geom, 3); p.kw = g(geom, 4);
  p.sh = g(geom, 5); p.sw = g(geom, 6); p.dh = g(geom, 7); p.dw = g(geom, 8);
  p.pt = g(geom, 9); p.pl = g(geom, 10); p.outH = g(geom, 11); p.outW = g(geom, 12); p.outC = g(geom, 13);
  p.chunk = g(geom, 14); p.pb = g(geom, 15); p.pr = g(geom, 16);
  p.padded = (p.pt | p.pl | p.pb | p.pr) != 0;
  p.hp = p.pt + p.h + p.pb;
  p.wp = p.pl + p.w + p.pr;
  p.K = p.kh * p.kw * p.c;
  p.pixels = p.outH * p.outW;
  p.ph = g(geom, 17); p.pw = g(geom, 18); p.psh = g(geom, 19); p.psw = g(geom, 20);
  p.ppt = g(geom, 21); p.ppl = g(geom, 22); p.pOutH = g(geom, 23); p.pOutW = g(geom, 24);
  p.prepacked = g(geom, 26) != 0;
}

/** Lays the regions out from `o` (recording them in p); returns the end. One layout for both uses. */
function layout(p: Plan, o: usize): usize {
  const n8 = (p.outC + NR - 1) & ~(NR - 1);
  const k8 = (p.K + NR - 1) & ~(NR - 1);
  const q = p.chunk * p.pixels;
  p.convOut = o; o += p.ph ? align16(<usize>(q * p.outC) << 2) : 0;
  // Prepacked (inference): the forward reads the weights packWeights laid out once; no copy here.
  p.packed = o; o += p.prepacked ? 0 : align16(<usize>max(p.K * n8, p.outC * k8) << 2);
  p.pad = o; o += p.padded ? align16(<usize>(p.chunk * p.hp * p.wp * p.c) << 2) : 0;
  p.dyPack = o; o += align16(<usize>(q * NR) << 2);
  p.pix = o; o += align16(<usize>(q + MR) << 2);
  p.tiles = o; o += <usize>((q + MR - 1) / MR) * TILE_ROW_BYTES;
  p.offK = o; o += align16(<usize>(p.K + NR) << 2);
  p.ident = o; o += align16(<usize>p.outC << 2);
  p.ra = o; o += 32;
  p.rc = o; o += 32;
  p.cols = o; o += 32;
  p.tile = o; o += <usize>(MR * NR) << 2;
  return o;
}

/** The plan at the start of scratch (its first PLAN_BYTES), regions after it. */
function plan(geom: usize, scratch: usize): Plan {
  const p = changetype<Plan>(scratch);
  readGeometry(p, geom);
  layout(p, scratch + PLAN_BYTES);
  fillOffsets(p);
  for (let i = 0; i < p.outC; i++) store<i32>(p.ident + (<usize>i << 2), i << 2);
  return p;
}

/**
 * Bytes of per-thread scratch the passes need for this geometry. `probe`: PLAN_BYTES of writable
 * scratch to lay a plan out in (the layout is computed, not guessed, so the two never disagree).
 */
export function convScratchBytes(geom: usize, probe: usize): usize {
  const p = changetype<Plan>(probe);
  readGeometry(p, geom);
  return layout(p, PLAN_BYTES);
}

/**
 * Copies nb images into the zero-padded layout [nb, hp, wp, c] at p.pad: padded rows r0..r1 of
 * each (a band reads only its own; the rest of the layout is left as it is).
 */
function padImages(p: Plan, src: usize, nb: i32, r0: i32, r1: i32): void {
  const rowIn = <usize>(p.w * p.c) << 2, rowOut = <usize>(p.wp * p.c) << 2;
  const left = <usize>(p.pl * p.c) << 2;
  for (let n = 0; n < nb; n++) {
    const img = p.pad + <usize>(n * p.hp) * rowOut;
    memory.fill(img + <usize>r0 * rowOut, 0, <usize>(r1 - r0) * rowOut);
    const y0 = max(0, r0 - p.pt), y1 = min(p.h, r1 - p.pt);
    for (let y = y0; y < y1; y++) {
      memory.copy(img + <usize>(p.pt + y) * rowOut + left, src + <usize>(n * p.h + y) * rowIn, rowIn);
    }
  }
}

/** Copies the interior of the padded layout at p.pad back to nb unpadded images at dst. */
function unpadImages(p: Plan, dst: usize, nb: i32): void {
  const rowIn = <usize>(p.wp * p.c) << 2, rowOut = <usize>(p.w * p.c) << 2;
  const left = <usize>(p.pl * p.c) << 2;
  for (let n = 0; n < nb; n++) {
    const img = p.pad + <usize>(n * p.hp) * rowIn;
    for (let y = 0; y < p.h; y++) {
      memory.copy(dst + <usize>(n * p.h + y) * rowOut, img + <usize>(p.pt + y) * rowIn + left, rowOut);
    }
  }
}

/**
 * pix[q] = byte offset of output pixel q's receptive-field origin in the (padded) input, for nb
 * images, output rows oy0..oy1 of each.
 */
function fillPixels(p: Plan, nb: i32, oy0: i32 = 0, oy1: i32 = -1): void {
  const img = p.hp * p.wp * p.c, row = p.sh * p.wp * p.c, col = p.sw * p.c;
  if (oy1 < 0) oy1 = p.outH;
  let q = p.pix;
  for (let n = 0; n < nb; n++) {
    for (let oy = oy0; oy < oy1; oy++) {
      const base = n * img + oy * row;
      for (let ox = 0; ox < p.outW; ox++) {
        store<i32>(q, (base + ox * col) << 2);
        q += 4;
      }
    }
  }
}

/** offK[k] = byte offset of reduction index k = (ky, kx, ci) inside a receptive field. */
function fillOffsets(p: Plan): void {
  let k = p.offK;
  for (let ky = 0; ky < p.kh; ky++) {
    for (let kx = 0; kx < p.kw; kx++) {
      const base = (ky * p.dh * p.wp + kx * p.dw) * p.c;
      for (let ci = 0; ci < p.c; ci++) {
        store<i32>(k, (base + ci) << 2);
        k += 4;
      }
    }
  }
}

/** ra[i] = table[first + min(i, mr−1)] − table[first]: six row offsets, the last valid one repeated. */
function rowOffsets(dst: usize, table: usize, first: i32, mr: i32): usize {
  const base = load<i32>(table + (<usize>first << 2));
  for (let i = 0; i < MR; i++) {
    store<i32>(dst + (<usize>i << 2), load<i32>(table + (<usize>(first + min(i, mr - 1)) << 2)) - base);
  }
  return <usize>base;
}

/** ra[i] = min(i, mr−1)·stride: six rows of a row-major matrix. */
function regularRows(dst: usize, stride: i32, mr: i32): void {
  for (let i = 0; i < MR; i++) store<i32>(dst + (<usize>i << 2), min(i, mr - 1) * stride);
}

/** The next chunk index to work on (atomic in the threads build; the other build has one thread). */
// @ts-ignore: decorator
@inline function claim(counter: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.add<i32>(counter, 1);
  const c = load<i32>(counter);
  store<i32>(counter, c + 1);
  return c;
}

/**
 * dConv for nb images at dst (outImage bytes each, zeroed here) from the pooled gradient gy: each
 * pooled element adds its gradient at its argmax (an index within its image); under ReLU only where
 * the pooled output is > 0.
 */
function unpool(dst: usize, gy: usize, py: usize, argmax: usize, nb: i32, outImage: usize, pooledImage: i32, relu: i32): void {
  memory.fill(dst, 0, <usize>nb * outImage);
  for (let n = 0; n < nb; n++) {
    const img = dst + <usize>n * outImage;
    for (let e = 0; e < pooledImage; e++) {
      const o = <usize>e << 2;
      if (relu && !(load<f32>(py + o) > 0)) continue;
      const d = img + (<usize>load<i32>(argmax + o) << 2);
      store<f32>(d, load<f32>(d) + load<f32>(gy + o));
    }
    const step = <usize>pooledImage << 2;
    gy += step;
    py += step;
    argmax += step;
  }
}

/**
 * y = act(conv(x, w) (× scale) (+ bias) (+ res)) for the chunks this thread claims of `batch`
 * images; act (the `relu` code) 0 none, 1 ReLU, 2 ReLU6. scale, bias: [outC] or 0 for none; res ≠ 0:
 * a residual laid out as y (NHWC), added before the activation (not with a fused pooling).
 * With poolY ≠ 0 (and a pooling in geom) y is not written: each chunk's output is max-pooled from
 * scratch into poolY [n, pOutH, pOutW, outC], with the per-image argmax (as maxPoolForward) into
 * poolArgmax when that is ≠ 0.
 * w: HWIO ([K × outC] row-major), packed per thread here; with geom[26] ≠ 0 (inference) already
 * packed by packWeights (gemm.ts) — then the scratch has no room for a copy. geom[27] > 1: channel
 * groups (not with a fused pooling, which needs every channel of a chunk).
 */
export function convForwardSlice(geom: usize, x: usize, w: usize, bias: usize, y: usize, relu: i32,
  counter: usize, batch: i32, scratch: usize, poolY: usize, poolArgmax: usize, res: usize, scale: usize): void {
  const p = plan(geom, scratch);
  const resDelta: usize = res ? res - y : 0;
  const K = p.K, outC = p.outC;
  if (p.prepacked) p.packed = w;
  else packB(w, outC, 1, 0, K, 0, outC, p.packed);
  const inImage = <usize>(p.h * p.w * p.c) << 2;
  const outImage = <usize>(p.pixels * outC) << 2;
  regularRows(p.rc, outC << 2, MR);
  const bands = max(1, g(geom, 25));
  const bandRows = (p.outH + bands - 1) / bands;
  // Claims may also split the output channels into groups of whole panels (geom[27]; batch-1
  // layers with more channels than pixels): each thread then reads only its share of the weights.
  const groups = max(1, g(geom, 27));
  const groupCols = ((outC + groups - 1) / groups + NR - 1) & ~(NR - 1);
  for (;;) {
    const claimed = claim(counter);
    const c = claimed / groups, cg = claimed - c * groups;
    const jBegin = cg * groupCols, jEnd = min(outC, jBegin + groupCols);
    let n0: i32, nb: i32, oy0 = 0, oy1 = p.outH;
    if (bands > 1) {
      n0 = c / bands;
      if (n0 >= batch) break;
      nb = 1;
      oy0 = (c % bands) * bandRows;
      oy1 = min(p.outH, oy0 + bandRows);
      if (oy0 >= oy1) continue;
    } else {
      n0 = c * p.chunk;
      if (n0 >= batch) break;
      nb = min(p.chunk, batch - n0);
    }
    if (jBegin >= jEnd) continue;
    let src = x + <usize>n0 * inImage;
    if (p.padded) {
      // The padded input rows the band's receptive fields cover (all of them for whole images).
      padImages(p, src, nb, oy0 * p.sh, bands > 1 ? min(p.hp, (oy1 - 1) * p.sh + (p.kh - 1) * p.dh + 1) : p.hp);
      src = p.pad;
    }
    fillPixels(p, nb, oy0, oy1);
    const Q = nb * (oy1 - oy0) * p.outW;
    // Each tile's row offsets, once for all the panels that reuse them.
    for (let q0 = 0; q0 < Q; q0 += MR) {
      const t = p.tiles + <usize>(q0 / MR) * TILE_ROW_BYTES;
      store<i32>(t, <i32>rowOffsets(t + 4, p.pix, q0, min(MR, Q - q0)));
    }
    const pooled = poolY != 0 && p.ph != 0;
    const dst = pooled ? p.convOut : y + <usize>n0 * outImage + (<usize>(oy0 * p.outW * outC) << 2);
    for (let j0 = jBegin; j0 < jEnd; j0 += NR) {
      const nr = min(NR, outC - j0);
      const pb = p.packed + (<usize>(j0 * K) << 2);
      const biasJ: usize = bias ? bias + (<usize>j0 << 2) : 0;
      for (let q0 = 0; q0 < Q; q0 += MR) {
        const mr = min(MR, Q - q0);
        const t = p.tiles + <usize>(q0 / MR) * TILE_ROW_BYTES;
        micro(src + <usize>load<i32>(t), t + 4, p.offK, K, pb, NR << 2,
          dst + (<usize>(q0 * outC + j0) << 2), p.rc, mr, nr, 0, 0, biasJ, relu | (res ? EPI_RES : 0), p.tile, resDelta,
          scale ? scale + (<usize>j0 << 2) : 0);
      }
    }
    // Swish (inference; storeRow leaves it) over the claim's finished output while it is in cache.
    if (relu == ACT_SWISH && !pooled) swishRows(dst + (<usize>jBegin << 2), Q, jEnd - jBegin, outC);
    if (pooled) {
      const pooledImage = <usize>(p.pOutH * p.pOutW * outC) << 2;
      maxPoolForward(nb, p.outH, p.outW, outC, p.ph, p.pw, p.psh, p.psw, p.ppt, p.ppl, p.pOutH, p.pOutW,
        p.convOut, poolY + <usize>n0 * pooledImage, poolArgmax ? poolArgmax + <usize>n0 * pooledImage : 0);
    }
  }
}

/**
 * The backward pass over the groups of chunks this thread claims (groupChunks chunks each): with
 * relu ≠ 0, dy is first masked in place by y > 0; then the group's Σ x-patch·dy and Σ dy are
 * written (not added) to dw and db for group 0, to partial g−1 for group g ≥ 1 (partials +
 * (g−1)·partialBytes: dW [K × outC], then db [outC]);
 * and, if dx ≠ 0, dx = the scatter of dy·wᵀ for the chunk's images (overwritten). db = 0 skips the
 * bias; dw = 0 skips the weight gradient (x and partials are then unused: conv2DBackpropInput).
 * With poolY ≠ 0 (the fused pooling of convForwardSlice): dy is the gradient of the POOLED output,
 * and each chunk's convolution gradient is built in scratch by routing it to poolArgmax (masked by
 * poolY > 0 under ReLU: max commutes with ReLU, so that is y > 0 at the winning tap); y is unused.
 */
export function convBackwardSlice(geom: usize, x: usize, w: usize, y: usize, dy: usize, relu: i32,
  dx: usize, dw: usize, db: usize, partials: usize, partialBytes: usize, counter: usize, groupChunks: i32, batch: i32,
  scratch: usize, poolY: usize, poolArgmax: usize): void {
  const p = plan(geom, scratch);
  const K = p.K, outC = p.outC;
  // op(B) = wᵀ [outC × K], packed once into 8-column panels of k.
  if (dx) packB(w, 1, outC, 0, outC, 0, K, p.packed);
  const inImage = <usize>(p.h * p.w * p.c) << 2;
  const outImage = <usize>(p.pixels * outC) << 2;
  const dyRow = <usize>outC << 2;
  for (;;) {
    // A claim is a group of groupChunks consecutive chunks, summed into the group's partial in
    // chunk order: any thread may take any group, and the sums come out the same.
    const gi = claim(counter);
    const first = gi * groupChunks;
    if (first * p.chunk >= batch) break;
    const part: usize = gi > 0 ? partials + <usize>(gi - 1) * partialBytes : 0;
    const gdw: usize = gi > 0 ? part : dw;
    const gdb: usize = db == 0 ? 0 : gi > 0 ? part + (<usize>(K * outC) << 2) : db;
    for (let ci = first; ci < first + groupChunks; ci++) {
      const n0 = ci * p.chunk;
      if (n0 >= batch) break;
      const acc = ci > first ? 1 : 0;
      const nb = min(p.chunk, batch - n0);
      const Q = nb * p.pixels;
      const xb = x + <usize>n0 * inImage;
      let dyb = dy + <usize>n0 * outImage;
      if (poolY != 0 && p.ph != 0) {
        const pooledImage = p.pOutH * p.pOutW * outC;
        const at0 = <usize>(n0 * pooledImage) << 2;
        unpool(p.convOut, dy + at0, poolY + at0, poolArgmax + at0, nb, outImage, pooledImage, relu);
        dyb = p.convOut;
      } else if (relu) {
        reluBackward(Q * outC, y + <usize>n0 * outImage, dyb, dyb);
      }
      if (gdb) biasGrad(Q, outC, dyb, gdb, acc);
      let src = xb;
      if (p.padded && dw) {
        padImages(p, xb, nb, 0, p.hp);
        src = p.pad;
      }
      fillPixels(p, nb);
      // dW: rows k (six taps/channels through offK), reduction over the chunk's pixels (offsets pix).
      regularRows(p.rc, outC << 2, MR);
      if (dw) for (let j0 = 0; j0 < outC; j0 += NR) {
        const nr = min(NR, outC - j0);
        // The chunk's dy columns j0..j0+7 as one contiguous [Q × 8] panel (zero-padded when ragged):
        // the reduction then streams it from L1 instead of striding through dy. With few row tiles
        // (conv1: K = 9) the copy costs more than it saves, so a full panel is read in place.
        let pb = dyb + (<usize>j0 << 2);
        let bStep = dyRow;
        if (nr < NR || K > 4 * MR) {
          packB(dyb, outC, 1, 0, Q, j0, nr, p.dyPack);
          pb = p.dyPack;
          bStep = NR << 2;
        }
        for (let k0 = 0; k0 < K; k0 += MR) {
          const mr = min(MR, K - k0);
          const base = rowOffsets(p.ra, p.offK, k0, mr);
          micro(src + base, p.ra, p.pix, Q, pb, bStep, gdw + (<usize>(k0 * outC + j0) << 2), p.rc, mr, nr, 0, acc, 0, 0, p.tile);
        }
      }
      if (!dx) continue;
      // dX: rows = output pixels (dy rows), columns = k in panels of 8, scattered to pix(q) + offK(k).
      const target = p.padded ? p.pad : dx + <usize>n0 * inImage;
      memory.fill(target, 0, p.padded ? <usize>(nb * p.hp * p.wp * p.c) << 2 : <usize>nb * inImage);
      // Tiles outer, panels inner: the six dy rows and the dx they scatter to stay in L1 while the
      // packed wᵀ streams from L2.
      for (let q0 = 0; q0 < Q; q0 += MR) {
        const mr = min(MR, Q - q0);
        const base = rowOffsets(p.rc, p.pix, q0, mr);
        regularRows(p.ra, outC << 2, mr);
        const a = dyb + <usize>q0 * dyRow;
        for (let k0 = 0; k0 < K; k0 += NR) {
          const nr = min(NR, K - k0);
          const off0 = at(p.offK, k0);
          // Eight columns that are eight adjacent floats of dx store as two vectors; others scatter.
          let cols: usize = 0;
          if (nr < NR || at(p.offK, k0 + NR - 1) - off0 != <usize>((NR - 1) << 2)) {
            cols = p.cols;
            for (let j = 0; j < NR; j++) store<i32>(cols + (<usize>j << 2), load<i32>(p.offK + (<usize>(k0 + min(j, nr - 1)) << 2)) - <i32>off0);
          }
          micro(a, p.ra, p.ident, outC, p.packed + (<usize>(k0 * outC) << 2), NR << 2, target + base + off0, p.rc, mr, nr, cols, 1, 0, 0, p.tile);
        }
      }
      if (p.padded) unpadImages(p, dx + <usize>n0 * inImage, nb);
    }
  }
}
