// Ground truth for pooling: direct loops over every window tap in float64, padding skipped.
import type { PoolGeometry } from '../ops/pool.js';

type G = Pick<PoolGeometry, 'batch' | 'inH' | 'inW' | 'channels' | 'filterH' | 'filterW' | 'strideH' | 'strideW' | 'padTop' | 'padLeft' | 'outH' | 'outW'>;

/** Calls f(outIndex, inIndexWithinImage, batchOffset, validTapCount) for every valid tap. */
function eachTap(g: G, f: (o: number, i: number, base: number, count: number) => void): void {
  const { batch, inH, inW, channels: C } = g;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const taps: number[] = [];
        for (let ky = 0; ky < g.filterH; ky++) {
          for (let kx = 0; kx < g.filterW; kx++) {
            const iy = oy * g.strideH - g.padTop + ky, ix = ox * g.strideW - g.padLeft + kx;
            if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) taps.push((iy * inW + ix) * C);
          }
        }
        for (let c = 0; c < C; c++) {
          const o = ((b * g.outH + oy) * g.outW + ox) * C + c;
          for (const t of taps) f(o, t + c, b * inH * inW * C, taps.length);
        }
      }
    }
  }
}

export function refMaxPool(g: G, x: ArrayLike<number>): { y: Float64Array; argmax: Int32Array } {
  const n = g.batch * g.outH * g.outW * g.channels;
  const y = new Float64Array(n).fill(-Infinity);
  const argmax = new Int32Array(n).fill(-1);
  eachTap(g, (o, i, base) => {
    if (argmax[o] < 0 || x[base + i] > y[o]) {
      y[o] = x[base + i];
      argmax[o] = i;
    }
  });
  return { y, argmax };
}

export function refMaxPoolBackward(g: G, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(g.batch * g.inH * g.inW * g.channels);
  const { argmax } = refMaxPool(g, x);
  const outImage = g.outH * g.outW * g.channels, image = g.inH * g.inW * g.channels;
  for (let o = 0; o < argmax.length; o++) dx[Math.floor(o / outImage) * image + argmax[o]] += dy[o];
  return dx;
}

export function refAvgPool(g: G, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.batch * g.outH * g.outW * g.channels);
  eachTap(g, (o, i, base, count) => { y[o] += x[base + i] / count; });
  return y;
}

export function refAvgPoolBackward(g: G, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(g.batch * g.inH * g.inW * g.channels);
  eachTap(g, (o, i, base, count) => { dx[base + i] += dy[o] / count; });
  return dx;
}
