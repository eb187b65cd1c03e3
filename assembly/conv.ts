// Convolution passes over a slice of a batch, chunk by chunk, in one call per thread.
//
// The plain passes build im2col for the whole batch (35 MB for the CNN's conv2 at batch 256: more
// than the L3) and then multiply; these fuse the two per chunk of images sized so the chunk's col
// stays in the core's L2, and one call covers a thread's whole slice (no dispatch per step).
//
// Geometry (`geom`, 16 i32, 4-byte aligned), written once per plan by TypeScript:
//   [0] h  [1] w  [2] c  [3] kh  [4] kw  [5] strideH  [6] strideW  [7] dilH  [8] dilW
//   [9] padTop  [10] padLeft  [11] outH  [12] outW  [13] outC  [14] chunk (images per chunk)
// Layouts: x NHWC [n, h, w, c]; w HWIO = [K × outC] row-major with K = kh·kw·c; y, dy NHWC
// [n, outH, outW, outC]; dw [K × outC]; db [outC]. `n0` is the slice's first image and `count` its
// images. col: chunk·outH·outW·K floats of this thread's scratch; gemmScratch: gemmScratchBytes().

import { im2col, col2im } from './im2col';
import { sgemm, GEMM_ACCUMULATE, GEMM_RELU } from './gemm';
import { biasGrad, reluBackward } from './activations';

// @ts-ignore: decorator
@inline function g(geom: usize, i: i32): i32 {
  return load<i32>(geom + (<usize>i << 2));
}

/** y[n0 .. n0+count) = conv(x, w) (+ bias) (ReLU if relu ≠ 0). bias = 0 for none. */
export function convForwardSlice(geom: usize, x: usize, w: usize, bias: usize, y: usize, relu: i32,
  n0: i32, count: i32, col: usize, gemmScratch: usize): void {
  const h = g(geom, 0), wd = g(geom, 1), c = g(geom, 2), kh = g(geom, 3), kw = g(geom, 4);
  const outH = g(geom, 11), outW = g(geom, 12), outC = g(geom, 13), chunk = g(geom, 14);
  const K = kh * kw * c;
  const pixels = outH * outW;
  const inImage = <usize>(h * wd * c) << 2;
  const outImage = <usize>(pixels * outC) << 2;
  for (let b = 0; b < count; b += chunk) {
    const nb = min(chunk, count - b);
    const xb = x + <usize>(n0 + b) * inImage;
    im2col(xb, col, nb, h, wd, c, kh, kw, g(geom, 5), g(geom, 6), g(geom, 7), g(geom, 8), g(geom, 9), g(geom, 10), outH, outW);
    sgemm(nb * pixels, outC, K, col, K, 1, w, outC, 1, y + <usize>(n0 + b) * outImage, outC, bias,
      relu ? GEMM_RELU : 0, gemmScratch);
  }
}

/**
 * The backward pass over images [n0, n0+count): with relu ≠ 0, dy is first masked in place by
 * y > 0; then dw (+)= colᵀ·dy and db (+)= Σ dy (accumulate = 0 overwrites them on the first chunk),
 * and, if dx ≠ 0, dx = col2im(dy·wᵀ) for these images (overwritten). db = 0 skips the bias.
 */
export function convBackwardSlice(geom: usize, x: usize, w: usize, y: usize, dy: usize, relu: i32,
  dx: usize, dw: usize, db: usize, accumulate: i32, n0: i32, count: i32, col: usize, gemmScratch: usize): void {
  const h = g(geom, 0), wd = g(geom, 1), c = g(geom, 2), kh = g(geom, 3), kw = g(geom, 4);
  const outH = g(geom, 11), outW = g(geom, 12), outC = g(geom, 13), chunk = g(geom, 14);
  const K = kh * kw * c;
  const pixels = outH * outW;
  const inImage = <usize>(h * wd * c) << 2;
  const outImage = <usize>(pixels * outC) << 2;
  for (let b = 0; b < count; b += chunk) {
    const nb = min(chunk, count - b);
    const m = nb * pixels;
    const xb = x + <usize>(n0 + b) * inImage;
    const dyb = dy + <usize>(n0 + b) * outImage;
    const acc = b > 0 ? 1 : accumulate;
    if (relu) reluBackward(m * outC, y + <usize>(n0 + b) * outImage, dyb, dyb);
    im2col(xb, col, nb, h, wd, c, kh, kw, g(geom, 5), g(geom, 6), g(geom, 7), g(geom, 8), g(geom, 9), g(geom, 10), outH, outW);
    // dw[K × outC] (+)= colᵀ · dy: col is [m × K], so op(A) = colᵀ has rsA = 1, csA = K.
    sgemm(K, outC, m, col, 1, K, dyb, outC, 1, dw, outC, 0, acc ? GEMM_ACCUMULATE : 0, gemmScratch);
    if (db) biasGrad(m, outC, dyb, db, acc);
    if (dx) {
      // dcol[m × K] = dy · wᵀ (w is [K × outC]: op(B) = wᵀ has rsB = 1, csB = outC), into col.
      sgemm(m, K, outC, dyb, outC, 1, w, 1, outC, col, K, 0, 0, gemmScratch);
      col2im(col, dx + <usize>(n0 + b) * inImage, nb, h, wd, c, kh, kw, g(geom, 5), g(geom, 6), g(geom, 7), g(geom, 8),
        g(geom, 9), g(geom, 10), outH, outW, 0);
    }
  }
}
