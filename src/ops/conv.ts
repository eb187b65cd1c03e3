// 2-D convolution (NHWC activations, HWIO filters) as im2col + one GEMM per pass.
//
//   forward      y[M × OC]  = col[M × K] · W[K × OC] (+ bias) (ReLU)      (M = N·outH·outW, K = KH·KW·C)
//   filter grad  dW[K × OC] = colᵀ · dY
//   input grad   dcol       = dY · Wᵀ, then col2im scatters dcol back onto dx
//
// Two layers, as for every op family: pointer-level functions (geometry validated once, buffers
// passed in, no allocation: the training loop) and the tfjs-named tensor ops built on them.
// The tfjs names differ in case from the pointer-level ones: conv2DBackpropInput (tensors) vs
// conv2dBackpropInput (pointers). The tensor ops (and the Conv2D layer) run the direct passes of
// conv-fused.ts instead, which need no col matrix; the im2col passes here serve 1×1-style
// convolutions (col = x) and the tests' cross-checks.

import { convKernels } from '../backend/kernels-conv.js';
import { threadPool } from '../backend/runtime.js';
import { argError, pair } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';
import { gemm } from './matmul.js';
import type { EpilogueAct } from '../backend/kernel-exports.js';
import { convBackwardFused, convForwardFused, planConvSlices, type ConvSlices } from './conv-fused.js';

/** tfjs ExplicitPadding for NHWC: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
export type Padding = 'valid' | 'same' | number | ExplicitPadding;
export type DimRoundingMode = 'floor' | 'round' | 'ceil';

export interface Conv2DGeometry {
  batch: number; inH: number; inW: number; inC: number;
  kh: number; kw: number; outC: number;
  strideH: number; strideW: number; dilH: number; dilW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  outH: number; outW: number;
  /** Rows of the GEMM: batch·outH·outW. */
  M: number;
  /** Reduction length: kh·kw·inC. */
  K: number;
  /**
   * True when the im2col matrix is x itself (1×1 stride-1 unpadded, or an unpadded undilated filter
   * covering the whole input): the passes skip im2col/col2im and colFloats is 0.
   */
  colIsInput: boolean;
  /** Floats of the im2col scratch (M·K; 0 when colIsInput). Also the size of dcol for backprop input. */
  colFloats: number;
}

/** Output length along one axis: floor((n − f + padTotal) / stride) + 1, f the (dilated) filter length. */
export function convOutputSize(n: number, f: number, stride: number, padTotal: number): number {
  return Math.floor((n - f + padTotal) / stride) + 1;
}

const PADDING_EXPECTED = "'valid', 'same', a non-negative integer or [[0, 0], [top, bottom], [left, right], [0, 0]] of non-negative integers";
const MAX_BYTES = 2 ** 31 - 1;

function shape4(op: string, arg: string, s: unknown, dims: string): number[] {
  if (!Array.isArray(s) || s.length !== 4 || !s.every((d) => Number.isInteger(d) && d > 0)) {
    throw argError(op, arg, { shape: Array.isArray(s) ? s : [s] }, `rank 4 ${dims} with positive integer sizes`);
  }
  return s as number[];
}

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function explicitPads(op: string, pad: unknown): [number, number, number, number] {
  const ok = Array.isArray(pad) && pad.length === 4 &&
    pad.every((p) => Array.isArray(p) && p.length === 2 && isNonNegInt(p[0]) && isNonNegInt(p[1]));
  if (!ok) throw argError(op, 'pad', pad, PADDING_EXPECTED);
  const p = pad as ExplicitPadding;
  if (p[0][0] || p[0][1] || p[3][0] || p[3][1]) {
    throw argError(op, 'pad', pad, 'explicit padding with zero batch and channel padding, [[0, 0], [top, bottom], [left, right], [0, 0]]');
  }
  return [p[1][0], p[1][1], p[2][0], p[2][1]];
}

function roundDim(v: number, mode: DimRoundingMode | undefined): number {
  if (mode === 'ceil') return Math.ceil(v);
  if (mode === 'round') return Math.round(v);
  return Math.floor(v);
}

/**
 * Validates a conv2d call once and derives every size the passes need.
 * xShape [N, H, W, C], filterShape [KH, KW, C, OC]; strides/dilations n | [h, w];
 * padding 'valid' | 'same' (TensorFlow's rule: extra row/column at the bottom/right) | p | explicit.
 * dimRoundingMode (tfjs) rounds the output size for a numeric pad; floor when omitted.
 */
export function conv2dGeometry(op: string, xShape: number[], filterShape: number[], strides: number | [number, number],
  padding: Padding, dilations: number | [number, number] = 1, dimRoundingMode?: DimRoundingMode): Conv2DGeometry {
  const [batch, inH, inW, inC] = shape4(op, 'x', xShape, '[batch, height, width, inChannels]');
  const [kh, kw, fC, outC] = shape4(op, 'filter', filterShape, '[filterHeight, filterWidth, inChannels, outChannels]');
  if (fC !== inC) {
    throw argError(op, 'filter', { shape: filterShape },
      `[filterHeight, filterWidth, ${inC}, outChannels] (its inChannels must equal x's ${inC} channels; x has shape [${xShape.join(', ')}])`);
  }
  const [strideH, strideW] = pair(op, 'strides', strides);
  const [dilH, dilW] = pair(op, 'dilations', dilations);
  if (dimRoundingMode !== undefined && dimRoundingMode !== 'floor' && dimRoundingMode !== 'round' && dimRoundingMode !== 'ceil') {
    throw argError(op, 'dimRoundingMode', dimRoundingMode, "'floor', 'round', 'ceil' or undefined");
  }
  if (dimRoundingMode !== undefined && typeof padding !== 'number') {
    throw argError(op, 'pad', padding, 'a number when dimRoundingMode is given');
  }
  const effKH = (kh - 1) * dilH + 1;
  const effKW = (kw - 1) * dilW + 1;

  let padTop: number, padBottom: number, padLeft: number, padRight: number, outH: number, outW: number;
  if (padding === 'same') {
    outH = Math.ceil(inH / strideH);
    outW = Math.ceil(inW / strideW);
    const alongH = Math.max((outH - 1) * strideH + effKH - inH, 0);
    const alongW = Math.max((outW - 1) * strideW + effKW - inW, 0);
    padTop = Math.floor(alongH / 2); padBottom = alongH - padTop;
    padLeft = Math.floor(alongW / 2); padRight = alongW - padLeft;
  } else {
    if (padding === 'valid') {
      padTop = padBottom = padLeft = padRight = 0;
    } else if (typeof padding === 'number') {
      if (!isNonNegInt(padding)) throw argError(op, 'pad', padding, PADDING_EXPECTED);
      padTop = padBottom = padLeft = padRight = padding;
    } else if (Array.isArray(padding)) {
      [padTop, padBottom, padLeft, padRight] = explicitPads(op, padding);
    } else {
      throw argError(op, 'pad', padding, PADDING_EXPECTED);
    }
    outH = roundDim((inH - effKH + padTop + padBottom) / strideH + 1, dimRoundingMode);
    outW = roundDim((inW - effKW + padLeft + padRight) / strideW + 1, dimRoundingMode);
    if (outH < 1 || outW < 1) {
      throw argError(op, 'filter', { shape: filterShape },
        `no larger than the padded input: the ${dilH > 1 || dilW > 1 ? 'dilated ' : ''}filter spans ${effKH}×${effKW} ` +
        `but x padded with ${JSON.stringify(padding)} is ${inH + padTop + padBottom}×${inW + padLeft + padRight}`);
    }
    // Rounding up (dimRoundingMode 'ceil'/'round') can run the last window past the stated padding.
    padBottom = Math.max(padBottom, (outH - 1) * strideH + effKH - inH - padTop);
    padRight = Math.max(padRight, (outW - 1) * strideW + effKW - inW - padLeft);
  }

  const M = batch * outH * outW;
  const K = kh * kw * inC;
  const unpadded = padTop === 0 && padBottom === 0 && padLeft === 0 && padRight === 0;
  const colIsInput = unpadded && (
    (kh === 1 && kw === 1 && strideH === 1 && strideW === 1) ||
    (kh === inH && kw === inW && dilH === 1 && dilW === 1 && outH === 1 && outW === 1));
  const colFloats = colIsInput ? 0 : M * K;
  for (const [what, floats] of [['the im2col buffer', colFloats], ['y', M * outC], ['x', batch * inH * inW * inC]] as const) {
    if (floats * 4 > MAX_BYTES) {
      throw argError(op, 'x', { shape: xShape }, `small enough that ${what} (${floats} floats) fits in 2 GiB of wasm memory (use a smaller batch)`);
    }
  }
  return {
    batch, inH, inW, inC, kh, kw, outC, strideH, strideW, dilH, dilW,
    padTop, padBottom, padLeft, padRight, outH, outW, M, K, colIsInput, colFloats,
  };
}

/** Below this many col floats im2col/col2im run on one thread: waking workers would cost more. */
const PARALLEL_MIN_FLOATS = 1 << 16;

/**
 * Runs an im2col-family kernel over the batch, split into whole images per thread (the kernels'
 * rows are image-major and images touch disjoint parts of x/dx, so the split changes no result).
 * tail: the arguments after the geometry (col2im's accumulate flag).
 */
function perImages(g: Conv2DGeometry, name: 'im2col' | 'col2im', xPtr: number, colPtr: number, tail: number[]): void {
  const imageFloats = g.inH * g.inW * g.inC;
  const colImageFloats = g.outH * g.outW * g.K;
  const geom = [g.inH, g.inW, g.inC, g.kh, g.kw, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft, g.outH, g.outW];
  // im2col takes (x, col, ...), col2im (dcol, dx, ...).
  const call = (n0: number, count: number) => {
    const xa = xPtr + n0 * imageFloats * 4, ca = colPtr + n0 * colImageFloats * 4;
    return [name, ...(name === 'im2col' ? [xa, ca] : [ca, xa]), count, ...geom, ...tail] as [string, ...number[]];
  };
  const pool = g.batch > 1 && g.colFloats >= PARALLEL_MIN_FLOATS ? threadPool() : undefined;
  if (!pool) {
    const [, ...args] = call(0, g.batch);
    (convKernels()[name] as (...a: number[]) => void)(...args);
    return;
  }
  const T = Math.min(pool.size, g.batch);
  const chunk = Math.ceil(g.batch / T);
  pool.run(Array.from({ length: T }, (_, t) => {
    const n0 = t * chunk, count = Math.min(chunk, g.batch - n0);
    return count <= 0 ? null : call(n0, count);
  }));
}

/** @internal im2col over the batch (threaded by images when large). */
export const im2colInto = (g: Conv2DGeometry, x: number, col: number) => perImages(g, 'im2col', x, col, []);
/** @internal col2im over the batch (threaded by images when large). */
export const col2imInto = (g: Conv2DGeometry, dcol: number, dx: number, accumulate: boolean) =>
  perImages(g, 'col2im', dx, dcol, [accumulate ? 1 : 0]);

/**
 * y[N, outH, outW, OC] = conv(x, w) (+ bias[OC]) (ReLU), fused into the GEMM epilogue.
 * x: NHWC, w: HWIO (= [K × OC] row-major), bias: address or 0, col: scratch of g.colFloats floats
 * (left holding im2col(x), reusable by conv2dBackpropFilter with colReady). All byte addresses.
 * packedW: w holds the packWeights panels of the kernel instead.
 */
export function conv2dForward(g: Conv2DGeometry, x: number, w: number, bias: number, y: number, col: number, act: EpilogueAct | boolean, res = 0, scale = 0,
  packedW = false): void {
  let a = x;
  if (!g.colIsInput) {
    im2colInto(g, x, col);
    a = col;
  }
  gemm(g.M, g.outC, g.K, a, false, w, false, y, { bias, act: act === true ? 'relu' : act === false ? 'linear' : act, res, scale, packedB: packedW });
}

/**
 * dw[KH, KW, C, OC] (+)= colᵀ · dy. colReady: col already holds im2col(x) (from conv2dForward on the
 * same x), so the im2col is skipped. col is unused when g.colIsInput.
 */
export function conv2dBackpropFilter(g: Conv2DGeometry, x: number, dy: number, dw: number, col: number,
  accumulate = false, colReady = false): void {
  let a = x;
  if (!g.colIsInput) {
    if (!colReady) im2colInto(g, x, col);
    a = col;
  }
  gemm(g.K, g.outC, g.M, a, true, dy, false, dw, { accumulate });
}

/**
 * dx[N, H, W, C] (+)= conv2d's input gradient: dcol = dy · wᵀ, then col2im. dcol: scratch of
 * g.colFloats floats (unused when g.colIsInput: the GEMM then writes dx directly).
 */
export function conv2dBackpropInput(g: Conv2DGeometry, dy: number, w: number, dx: number, dcol: number,
  accumulate = false): void {
  if (g.colIsInput) {
    gemm(g.M, g.K, g.outC, dy, false, w, true, dx, { accumulate });
    return;
  }
  gemm(g.M, g.K, g.outC, dy, false, w, true, dcol);
  col2imInto(g, dcol, dx, accumulate);
}

// ---- tensor ops (tfjs names and signatures) ----

function checkTensor(op: string, arg: string, t: unknown, ranks: number[]): Tensor {
  if (!(t instanceof Tensor)) throw argError(op, arg, t, 'a Tensor');
  t.check(op);
  if (!ranks.includes(t.rank)) throw argError(op, arg, t, `a rank-${ranks.join(' or rank-')} tensor`);
  return t;
}

function checkFormat(op: string, dataFormat: unknown): void {
  if (dataFormat !== 'NHWC') throw argError(op, 'dataFormat', dataFormat, "'NHWC' (NCHW is not supported)");
}

/** Runs fn with a scratch block of `floats` floats (none if 0), freeing it afterwards. */
/**
 * Runs fn with the per-thread scratch of the layers' direct passes (conv-fused.ts) for one call:
 * the tensor ops then need no im2col matrix (M·K floats: 35 MB for the CNN's conv2 at batch 256).
 */
function withDirectPasses(g: Conv2DGeometry, fn: (s: ConvSlices) => void): void {
  const s = planConvSlices(g, true);
  try {
    fn(s);
  } finally {
    s.free();
  }
}

/** tf.conv2d: x [N, H, W, C] or [H, W, C], filter [KH, KW, C, OC] → [N, outH, outW, OC] (rank as x). */
export function conv2d(x: Tensor, filter: Tensor, strides: number | [number, number], pad: Padding,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dilations: number | [number, number] = 1, dimRoundingMode?: DimRoundingMode): Tensor {
  const op = 'conv2d';
  checkTensor(op, 'x', x, [3, 4]);
  checkTensor(op, 'filter', filter, [4]);
  checkFormat(op, dataFormat);
  const x4 = x.rank === 3 ? [1, ...x.shape] : x.shape;
  const g = conv2dGeometry(op, x4, filter.shape, strides, pad, dilations, dimRoundingMode);
  const y = allocTensor(x.rank === 3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC]);
  if (g.colIsInput) conv2dForward(g, x.ptr, filter.ptr, 0, y.ptr, 0, false);
  else withDirectPasses(g, (s) => convForwardFused(g, s, x.ptr, filter.ptr, 0, y.ptr, 'linear'));
  return y;
}

function expectDyShape(op: string, arg: string, dy: Tensor, g: Conv2DGeometry, rank3: boolean): void {
  const want = rank3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC];
  if (dy.rank !== want.length || dy.shape.some((d, i) => d !== want[i])) {
    throw argError(op, arg, dy, `of shape [${want.join(', ')}] (the conv2d output shape)`);
  }
}

/** tfjs conv2DBackpropInput: the gradient of conv2d with respect to x, of shape xShape. */
export function conv2DBackpropInput(xShape: number[], dy: Tensor, filter: Tensor, strides: number | [number, number],
  pad: Padding, dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dimRoundingMode?: DimRoundingMode): Tensor {
  return backpropInputOp('conv2DBackpropInput', ['xShape', 'dy'], xShape, dy, filter, strides, pad, dataFormat, dimRoundingMode);
}

function backpropInputOp(op: string, [xArg, dyArg]: [string, string], xShape: number[], dy: Tensor, filter: Tensor, strides: number | [number, number],
  pad: Padding, dataFormat: unknown, dimRoundingMode?: DimRoundingMode): Tensor {
  checkTensor(op, dyArg, dy, [3, 4]);
  checkTensor(op, 'filter', filter, [4]);
  checkFormat(op, dataFormat);
  if (!Array.isArray(xShape) || xShape.length !== dy.rank) {
    throw argError(op, xArg, xShape, `a shape of rank ${dy.rank} (${dyArg}'s rank)`);
  }
  const rank3 = xShape.length === 3;
  const g = conv2dGeometry(op, rank3 ? [1, ...xShape] : xShape, filter.shape, strides, pad, 1, dimRoundingMode);
  expectDyShape(op, dyArg, dy, g, rank3);
  const dx = allocTensor(xShape);
  if (g.colIsInput) conv2dBackpropInput(g, dy.ptr, filter.ptr, dx.ptr, 0);
  else withDirectPasses(g, (s) => convBackwardFused(g, s, 0, filter.ptr, 0, dy.ptr, false, dx.ptr, 0, 0));
  return dx;
}

/** tfjs conv2DBackpropFilter: the gradient of conv2d with respect to the filter, of shape filterShape. */
export function conv2DBackpropFilter(x: Tensor, dy: Tensor, filterShape: [number, number, number, number],
  strides: number | [number, number], pad: Padding, dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dimRoundingMode?: DimRoundingMode): Tensor {
  const op = 'conv2DBackpropFilter';
  checkTensor(op, 'x', x, [3, 4]);
  checkTensor(op, 'dy', dy, [x.rank]);
  checkFormat(op, dataFormat);
  const rank3 = x.rank === 3;
  const g = conv2dGeometry(op, rank3 ? [1, ...x.shape] : x.shape, filterShape, strides, pad, 1, dimRoundingMode);
  expectDyShape(op, 'dy', dy, g, rank3);
  const dw = allocTensor(filterShape);
  if (g.colIsInput) conv2dBackpropFilter(g, x.ptr, dy.ptr, dw.ptr, 0);
  else withDirectPasses(g, (s) => convBackwardFused(g, s, x.ptr, 0, 0, dy.ptr, false, 0, dw.ptr, 0));
  return dw;
}

/**
 * tf.conv2dTranspose: x [N, H, W, inDepth], filter [KH, KW, outDepth, inDepth] → outputShape; the
 * input gradient of the conv2d that maps outputShape to x's shape.
 */
export function conv2dTranspose(x: Tensor, filter: Tensor, outputShape: number[], strides: number | [number, number],
  pad: Padding, dimRoundingMode?: DimRoundingMode): Tensor {
  return backpropInputOp('conv2dTranspose', ['outputShape', 'x'], outputShape, x, filter, strides, pad, 'NHWC', dimRoundingMode);
}
