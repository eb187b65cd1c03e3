// 2-D max/average pooling (NHWC): geometry with TensorFlow's padding rules, pointer-level forward
// and backward for the training loop, and the tfjs ops maxPool / avgPool.

import { parallelSlices } from '../backend/parallel.js';
import { threadPool } from '../backend/runtime.js';
import { miscKernels } from '../backend/kernels-misc.js';
import { argError, pair } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';

export type PoolPadding = 'valid' | 'same' | number;
export type DimRoundingMode = 'floor' | 'round' | 'ceil';

/** Everything a pooling kernel needs, derived and validated once (sizes in elements). */
export interface PoolGeometry {
  batch: number; inH: number; inW: number; channels: number;
  filterH: number; filterW: number; strideH: number; strideW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  outH: number; outW: number;
  /** batch·inH·inW·channels: floats of x / dx. */
  inSize: number;
  /** batch·outH·outW·channels: floats of y / dy, and i32s of argmax. */
  outSize: number;
}

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

function roundDim(v: number, mode: DimRoundingMode | undefined): number {
  if (mode === 'ceil') return Math.ceil(v);
  if (mode === 'round') return Math.round(v);
  if (mode === 'floor') return Math.floor(v);
  return Math.trunc(v);
}

/**
 * Output size and padding of a pooling window over xShape = [batch, height, width, channels]
 * (TensorFlow rules): 'same': out = ceil(in / stride), total padding max((out−1)·stride + window − in, 0)
 * with the smaller half at the top/left; 'valid': out = floor((in − window) / stride) + 1; a number p
 * pads p on every side and out = trunc((in + 2p − window) / stride + 1) (or dimRoundingMode).
 * Window and stride are independent (stride > window skips input). Throws an error naming op and
 * argument for anything a kernel could not handle, so the kernels never see a bad geometry.
 */
export function poolGeometry(op: string, xShape: readonly number[], filterSize: number | [number, number],
  strides: number | [number, number], pad: PoolPadding, dimRoundingMode?: DimRoundingMode | null): PoolGeometry {
  if (!Array.isArray(xShape) || xShape.length !== 4 || !xShape.every(isPosInt)) {
    throw argError(op, 'x', xShape, 'of rank 4 [batch, height, width, channels] with positive sizes');
  }
  const [batch, inH, inW, channels] = xShape;
  const [filterH, filterW] = pair(op, 'filterSize', filterSize);
  const [strideH, strideW] = pair(op, 'strides', strides);
  if (pad !== 'valid' && pad !== 'same' && !(typeof pad === 'number' && Number.isInteger(pad) && pad >= 0)) {
    throw argError(op, 'pad', pad, "'valid', 'same' or a non-negative integer");
  }
  if (dimRoundingMode != null) {
    if (dimRoundingMode !== 'floor' && dimRoundingMode !== 'round' && dimRoundingMode !== 'ceil') {
      throw argError(op, 'dimRoundingMode', dimRoundingMode, "'floor', 'round' or 'ceil'");
    }
    if (typeof pad !== 'number') {
      throw argError(op, 'dimRoundingMode', dimRoundingMode, `unset when pad is '${pad}' (it only rounds with a numeric pad)`);
    }
  }
  let outH: number, outW: number, padTop: number, padLeft: number;
  if (pad === 'same') {
    outH = Math.ceil(inH / strideH);
    outW = Math.ceil(inW / strideW);
    padTop = Math.floor(Math.max((outH - 1) * strideH + filterH - inH, 0) / 2);
    padLeft = Math.floor(Math.max((outW - 1) * strideW + filterW - inW, 0) / 2);
  } else {
    const p = pad === 'valid' ? 0 : pad;
    if (p >= filterH || p >= filterW) {
      throw argError(op, 'pad', pad, `smaller than the window [${filterH}, ${filterW}] (else a window would hold only padding)`);
    }
    if (filterH > inH + 2 * p || filterW > inW + 2 * p) {
      const what = p === 0 ? `the input's [height, width] = [${inH}, ${inW}] with pad 'valid'` : `the padded input's [height, width] = [${inH + 2 * p}, ${inW + 2 * p}]`;
      throw argError(op, 'filterSize', filterSize, `at most ${what}`);
    }
    outH = roundDim((inH + 2 * p - filterH) / strideH + 1, dimRoundingMode ?? undefined);
    outW = roundDim((inW + 2 * p - filterW) / strideW + 1, dimRoundingMode ?? undefined);
    padTop = p;
    padLeft = p;
    // 'ceil'/'round' may add a last window that starts past the input: it would pool padding only.
    if ((outH - 1) * strideH - p >= inH || (outW - 1) * strideW - p >= inW) {
      throw argError(op, 'dimRoundingMode', dimRoundingMode, `a rounding whose last window still overlaps the input (input [${inH}, ${inW}], pad ${p}, strides [${strideH}, ${strideW}])`);
    }
  }
  const padBottom = Math.max((outH - 1) * strideH + filterH - inH - padTop, 0);
  const padRight = Math.max((outW - 1) * strideW + filterW - inW - padLeft, 0);
  const inSize = batch * inH * inW * channels;
  const outSize = batch * outH * outW * channels;
  if (inSize > 2 ** 29 || outSize > 2 ** 29) throw argError(op, 'x', xShape, 'at most 2^29 elements in and out');
  return {
    batch, inH, inW, channels, filterH, filterW, strideH, strideW,
    padTop, padLeft, padBottom, padRight, outH, outW, inSize, outSize,
  };
}

/**
 * y = max pool of x; argmax (i32 heap address, or 0 to skip) records per output element the
 * winning input index within its image, (iy·W + ix)·C + c, for maxPoolBackward. Padded taps never
 * win; NaN propagates. x: g.inSize floats, y and argmax: g.outSize elements. No allocation.
 */
// Pooling is split over the batch: argmax indices are per image, so a slice needs only offsets.
const MIN_PARALLEL_IMAGES = 4;
function perImage(g: PoolGeometry, name: 'maxPoolForward' | 'maxPoolBackward' | 'avgPoolForward' | 'avgPoolBackward',
  args: (n0: number, count: number) => number[]): void {
  const k = miscKernels() as unknown as Record<string, (...a: number[]) => void>;
  // Small maps aren't worth a thread wake-up: require enough work per image batch too.
  const minImages = g.inH * g.inW * g.channels * g.batch >= 65536 ? MIN_PARALLEL_IMAGES : Infinity;
  parallelSlices(g.batch, minImages, 1, (n0, count) => [name, ...args(n0, count)] as const, k[name]);
}

/**
 * One image (batch-1 inference) split into bands of output rows, one per thread: each band is the
 * same kernel over the input rows its windows read, with its top padding where the band starts at
 * the image's top. Window clamps fall where the image's do, so every output (the average pool's
 * divisor too) is what the whole-image call gives. Not with an argmax (its indices would be the
 * band's). Returns false where it does not apply.
 */
function rowBands(g: PoolGeometry, name: 'maxPoolForward' | 'avgPoolForward', x: number, y: number): boolean {
  const pool = threadPool();
  if (g.batch !== 1 || !pool || pool.size < 2 || g.inH * g.inW * g.channels < 65536 || g.outH < 2) return false;
  const k = miscKernels() as unknown as Record<string, (...a: number[]) => void>;
  const row = g.inW * g.channels * 4, outRow = g.outW * g.channels * 4;
  parallelSlices(g.outH, 2, 1, (oy0, count) => {
    const r0 = oy0 * g.strideH - g.padTop, r1 = (oy0 + count - 1) * g.strideH - g.padTop + g.filterH;
    const a = Math.max(0, r0), b = Math.min(g.inH, r1);
    const args = [1, b - a, g.inW, g.channels, g.filterH, g.filterW, g.strideH, g.strideW, a - r0, g.padLeft, count, g.outW, x + a * row, y + oy0 * outRow];
    return [name, ...args, ...(name === 'maxPoolForward' ? [0] : [])] as const;
  }, k[name]);
  return true;
}

export function maxPoolForward(g: PoolGeometry, x: number, y: number, argmax: number): void {
  if (!argmax && rowBands(g, 'maxPoolForward', x, y)) return;
  const inB = g.inH * g.inW * g.channels * 4, outB = g.outH * g.outW * g.channels * 4;
  perImage(g, 'maxPoolForward', (n0, n) => [n, g.inH, g.inW, g.channels, g.filterH, g.filterW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.outH, g.outW, x + n0 * inB, y + n0 * outB, argmax ? argmax + n0 * outB : 0]);
}

/** dx = gradient of the max pool: zeroes dx (g.inSize floats), then scatters dy through argmax. */
export function maxPoolBackward(g: PoolGeometry, dy: number, argmax: number, dx: number): void {
  const inB = g.inH * g.inW * g.channels * 4, outB = g.outH * g.outW * g.channels * 4;
  perImage(g, 'maxPoolBackward', (n0, n) => [n, g.inH, g.inW, g.channels, g.outH, g.outW,
    dy + n0 * outB, argmax + n0 * outB, dx + n0 * inB]);
}

/** y = mean of each window's valid (non-padded) taps, TF's divisor. */
export function avgPoolForward(g: PoolGeometry, x: number, y: number): void {
  if (rowBands(g, 'avgPoolForward', x, y)) return;
  const inB = g.inH * g.inW * g.channels * 4, outB = g.outH * g.outW * g.channels * 4;
  perImage(g, 'avgPoolForward', (n0, n) => [n, g.inH, g.inW, g.channels, g.filterH, g.filterW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.outH, g.outW, x + n0 * inB, y + n0 * outB]);
}

/** dx = gradient of the average pool: zeroes dx, then spreads dy / (valid taps) over each window. */
export function avgPoolBackward(g: PoolGeometry, dy: number, dx: number): void {
  const inB = g.inH * g.inW * g.channels * 4, outB = g.outH * g.outW * g.channels * 4;
  perImage(g, 'avgPoolBackward', (n0, n) => [n, g.inH, g.inW, g.channels, g.filterH, g.filterW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.outH, g.outW, dy + n0 * outB, dx + n0 * inB]);
}

function poolOp(op: string, x: Tensor, filterSize: number | [number, number], strides: number | [number, number],
  pad: PoolPadding, dimRoundingMode: DimRoundingMode | undefined,
  run: (g: PoolGeometry, x: number, y: number) => void): Tensor {
  if (!(x instanceof Tensor)) throw argError(op, 'x', x, 'a Tensor');
  x.check(op);
  if (x.rank !== 3 && x.rank !== 4) throw argError(op, 'x', x, 'a rank-3 [height, width, channels] or rank-4 [batch, height, width, channels] tensor');
  const shape4 = x.rank === 3 ? [1, ...x.shape] : x.shape;
  if (!shape4.every(isPosInt)) throw argError(op, 'x', x, 'a tensor with no zero-size dimension');
  const g = poolGeometry(op, shape4, filterSize, strides, pad, dimRoundingMode);
  const out = allocTensor(x.rank === 3 ? [g.outH, g.outW, g.channels] : [g.batch, g.outH, g.outW, g.channels]);
  run(g, x.ptr, out.ptr);
  return out;
}

/** tf.maxPool: x [batch, height, width, channels] (or without batch), window filterSize, strides, pad. */
export function maxPool(x: Tensor, filterSize: number | [number, number], strides: number | [number, number],
  pad: PoolPadding, dimRoundingMode?: DimRoundingMode): Tensor {
  return poolOp('maxPool', x, filterSize, strides, pad, dimRoundingMode, (g, xp, yp) => maxPoolForward(g, xp, yp, 0));
}

/** tf.avgPool: as maxPool, averaging the valid taps of each window. */
export function avgPool(x: Tensor, filterSize: number | [number, number], strides: number | [number, number],
  pad: PoolPadding, dimRoundingMode?: DimRoundingMode): Tensor {
  return poolOp('avgPool', x, filterSize, strides, pad, dimRoundingMode, avgPoolForward);
}
