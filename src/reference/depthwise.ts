// Ground truth for the depthwise convolution: the direct loops, float64. x NHWC [N, inH, inW, C],
// w [kh, kw, C, dm], y/dy [N, outH, outW, C·dm] with output channel c·dm + m from input channel c.
// Taps outside the input contribute zero.

export interface RefDepthwiseParams {
  batch: number; inH: number; inW: number; inC: number; dm: number;
  kh: number; kw: number; strideH: number; strideW: number; dilH: number; dilW: number;
  padTop: number; padLeft: number; outH: number; outW: number;
}

/** Calls fn(yIndex, xIndex, wIndex) for every in-bounds (output pixel, tap, channel, multiplier). */
function forEachTap(p: RefDepthwiseParams, fn: (yi: number, xi: number, wi: number) => void): void {
  const OC = p.inC * p.dm;
  for (let n = 0; n < p.batch; n++)
    for (let oh = 0; oh < p.outH; oh++)
      for (let ow = 0; ow < p.outW; ow++)
        for (let i = 0; i < p.kh; i++) {
          const ih = oh * p.strideH - p.padTop + i * p.dilH;
          if (ih < 0 || ih >= p.inH) continue;
          for (let j = 0; j < p.kw; j++) {
            const iw = ow * p.strideW - p.padLeft + j * p.dilW;
            if (iw < 0 || iw >= p.inW) continue;
            for (let c = 0; c < p.inC; c++)
              for (let m = 0; m < p.dm; m++)
                fn(((n * p.outH + oh) * p.outW + ow) * OC + c * p.dm + m,
                  ((n * p.inH + ih) * p.inW + iw) * p.inC + c,
                  ((i * p.kw + j) * p.inC + c) * p.dm + m);
          }
        }
}

export type RefDwAct = 'linear' | 'relu' | 'relu6';
const act = (a: RefDwAct, v: number) => (a === 'relu' ? Math.max(v, 0) : a === 'relu6' ? Math.min(Math.max(v, 0), 6) : v);
const actGrad = (a: RefDwAct, y: number) => (a === 'relu' ? (y > 0 ? 1 : 0) : a === 'relu6' ? (y > 0 && y < 6 ? 1 : 0) : 1);

export function refDepthwiseForward(p: RefDepthwiseParams, x: ArrayLike<number>, w: ArrayLike<number>,
  bias?: ArrayLike<number>, a: RefDwAct = 'linear'): Float64Array {
  const OC = p.inC * p.dm;
  const y = new Float64Array(p.batch * p.outH * p.outW * OC);
  forEachTap(p, (yi, xi, wi) => { y[yi] += x[xi] * w[wi]; });
  for (let i = 0; i < y.length; i++) y[i] = act(a, y[i] + (bias ? bias[i % OC] : 0));
  return y;
}

/** dx, dw, db from dy of the activated output y (the mask taken from y, as the kernels do). */
export function refDepthwiseBackward(p: RefDepthwiseParams, x: ArrayLike<number>, w: ArrayLike<number>, y: ArrayLike<number>,
  dy: ArrayLike<number>, a: RefDwAct = 'linear'): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const OC = p.inC * p.dm;
  const g = Float64Array.from(dy, (v, i) => v * actGrad(a, y[i]));
  const dx = new Float64Array(p.batch * p.inH * p.inW * p.inC);
  const dw = new Float64Array(p.kh * p.kw * OC);
  const db = new Float64Array(OC);
  forEachTap(p, (yi, xi, wi) => { dx[xi] += g[yi] * w[wi]; dw[wi] += g[yi] * x[xi]; });
  for (let i = 0; i < g.length; i++) db[i % OC] += g[i];
  return { dx, dw, db };
}
