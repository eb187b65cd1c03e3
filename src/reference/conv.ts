// Ground truth for conv2d: the direct loops (cross-correlation, as in every DL library), float64.
// x is NHWC, w is HWIO, y/dy are [N, outH, outW, OC]; taps outside the input contribute zero.

export interface RefConvParams {
  batch: number; inH: number; inW: number; inC: number;
  kh: number; kw: number; outC: number;
  strideH: number; strideW: number; dilH: number; dilW: number;
  padTop: number; padLeft: number; outH: number; outW: number;
}

/** Calls fn(yIndex, xIndex, wIndex) for every in-bounds (output, tap, in-channel, out-channel). */
function forEachTap(p: RefConvParams, fn: (yi: number, xi: number, wi: number) => void): void {
  for (let n = 0; n < p.batch; n++)
    for (let oh = 0; oh < p.outH; oh++)
      for (let ow = 0; ow < p.outW; ow++)
        for (let r = 0; r < p.kh; r++) {
          const ih = oh * p.strideH - p.padTop + r * p.dilH;
          if (ih < 0 || ih >= p.inH) continue;
          for (let s = 0; s < p.kw; s++) {
            const iw = ow * p.strideW - p.padLeft + s * p.dilW;
            if (iw < 0 || iw >= p.inW) continue;
            for (let c = 0; c < p.inC; c++)
              for (let o = 0; o < p.outC; o++) {
                fn(((n * p.outH + oh) * p.outW + ow) * p.outC + o,
                  ((n * p.inH + ih) * p.inW + iw) * p.inC + c,
                  ((r * p.kw + s) * p.inC + c) * p.outC + o);
              }
          }
        }
}

/** y = conv(x, w) (+ bias[OC]). */
export function refConv2d(p: RefConvParams, x: ArrayLike<number>, w: ArrayLike<number>, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(p.batch * p.outH * p.outW * p.outC);
  forEachTap(p, (yi, xi, wi) => { y[yi] += x[xi] * w[wi]; });
  if (bias) for (let i = 0; i < y.length; i++) y[i] += bias[i % p.outC];
  return y;
}

/** dL/dx for dL/dy = dy: each tap sends dy·w back to the input pixel it read. */
export function refConv2dBackpropInput(p: RefConvParams, dy: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(p.batch * p.inH * p.inW * p.inC);
  forEachTap(p, (yi, xi, wi) => { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

/** dL/dw for dL/dy = dy. */
export function refConv2dBackpropFilter(p: RefConvParams, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dw = new Float64Array(p.kh * p.kw * p.inC * p.outC);
  forEachTap(p, (yi, xi, wi) => { dw[wi] += x[xi] * dy[yi]; });
  return dw;
}
