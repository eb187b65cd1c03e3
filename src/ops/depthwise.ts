// Depthwise 2-D convolution (assembly/depthwise.ts): geometry, per-plan tables and the thread
// splits. NHWC input, kernel [kh, kw, C, dm] (tfjs/Keras), output channel c·dm + m from input
// channel c. Forward splits output rows (n·outH + oh) over the threads, dX input rows; each
// element is written by one thread in a fixed order. dW reduces over output rows in fixed chunks
// (a function of the geometry only), one partial per chunk, summed in chunk order: the result is
// the same bits for any thread count.

import { runtime, threadPool } from '../backend/runtime.js';
import { parallelSlices } from '../backend/parallel.js';
import { argError, assertPositiveInt } from '../errors.js';
import { biasGrad } from './activations.js';
import { conv2dGeometry, type Conv2DGeometry } from './conv.js';
import { allocTensor, Tensor } from '../tensor.js';

/** Epilogues fused into the forward (and masks of the backward). */
export type DepthwiseActivation = 'linear' | 'relu' | 'relu6' | 'swish';
/** 'swish': wasm inference only (its backward would need the pre-activation). */
export const DEPTHWISE_ACT = { linear: 0, relu: 1, relu6: 2, swish: 3 } as const;

/** A conv geometry whose filter is [kh, kw, C, C·dm] in the conv's terms (outC = C·dm), plus dm. */
export interface DepthwiseGeometry extends Conv2DGeometry {
  dm: number;
}

/**
 * Validates a depthwise convolution once: xShape [N, H, W, C], kernelShape [kh, kw, C, dm];
 * padding 'valid' | 'same' (TensorFlow's uneven split, as conv2d).
 */
export function depthwiseGeometry(op: string, xShape: number[], kernelShape: number[], strides: number | [number, number],
  padding: 'valid' | 'same', dilations: number | [number, number] = 1): DepthwiseGeometry {
  if (!Array.isArray(kernelShape) || kernelShape.length !== 4) {
    throw argError(op, 'depthwise kernel', { shape: kernelShape }, 'of rank 4, [kh, kw, inChannels, depthMultiplier]');
  }
  const dm = assertPositiveInt(op, 'depthMultiplier', kernelShape[3]);
  if (Array.isArray(xShape) && xShape.length === 4 && kernelShape[2] !== xShape[3]) {
    throw argError(op, 'depthwise kernel', { shape: kernelShape },
      `[kh, kw, ${xShape[3]}, depthMultiplier] (its inChannels must equal x's ${xShape[3]} channels; x has shape [${xShape.join(', ')}])`);
  }
  const g = conv2dGeometry(op, xShape, [kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[2] * dm], strides, padding, dilations);
  return { ...g, dm };
}

type DwKernels = {
  depthwiseForward(geom: number, x: number, w: number, bias: number, y: number, act: number, rowStart: number, rowCount: number): void;
  depthwiseBackwardInput(geom: number, dy: number, w: number, dx: number, rowStart: number, rowCount: number): void;
  depthwiseBackwardFilter(geom: number, x: number, dy: number, dw0: number, partials: number, partialBytes: number,
    chunkRows: number, totalRows: number, chunkStart: number, chunkCount: number): void;
  depthwiseActMask(act: number, y: number, dy: number, start: number, count: number): void;
  addPartials(n: number, x: number, stride: number, count: number, y: number): void;
};
const k = () => runtime().kernels as unknown as DwKernels;

/** Below this many multiply-adds a pass runs on the calling thread (waking workers costs more). */
const PARALLEL_MIN_MACS = 1 << 16;
/** Output rows per dW chunk aim: at most this many chunks (partials) per pass. */
const MAX_CHUNKS = 16;

/** A plan: the geometry table and the dW chunking and partials (training). */
export interface DepthwiseSlices {
  geom: number;
  chunkRows: number;
  chunks: number;
  partials: number;
  partialBytes: number;
  free(): void;
}

export function planDepthwise(g: DepthwiseGeometry, training: boolean): DepthwiseSlices {
  const heap = runtime().heap;
  const geom = heap.alloc(16 * 4);
  heap.i32.set([g.inH, g.inW, g.inC, g.dm, g.kh, g.kw, g.strideH, g.strideW, g.dilH, g.dilW, g.padTop, g.padLeft, g.outH, g.outW], geom >>> 2);
  const rows = g.batch * g.outH;
  const chunkRows = Math.ceil(rows / Math.min(rows, MAX_CHUNKS));
  const chunks = Math.ceil(rows / chunkRows);
  const partialBytes = g.kh * g.kw * g.outC * 4;
  const partials = training && chunks > 1 ? heap.alloc((chunks - 1) * partialBytes) : 0;
  return {
    geom, chunkRows, chunks, partials, partialBytes,
    free: () => { heap.free(geom); if (partials) heap.free(partials); },
  };
}

const macs = (g: DepthwiseGeometry) => g.batch * g.outH * g.outW * g.outC * g.kh * g.kw;
/** minItems for parallelSlices: everything on one thread when the pass is small. */
const minRows = (g: DepthwiseGeometry, rows: number) => (macs(g) < PARALLEL_MIN_MACS ? rows + 1 : 2);

/** y = act(depthwise(x, w) (+ bias)); bias = 0: none. All byte addresses. */
export function depthwiseForward(g: DepthwiseGeometry, s: DepthwiseSlices, x: number, w: number, bias: number, y: number,
  act: DepthwiseActivation): void {
  const rows = g.batch * g.outH, a = DEPTHWISE_ACT[act];
  parallelSlices(rows, minRows(g, rows), 1, (start, count) => ['depthwiseForward', s.geom, x, w, bias, y, a, start, count], k().depthwiseForward);
}

/**
 * Backward from dy (clobbered: masked by act'(y) first): dw overwritten, db (≠ 0) overwritten, dx
 * (≠ 0) overwritten. dw = 0 skips the filter gradient.
 */
export function depthwiseBackward(g: DepthwiseGeometry, s: DepthwiseSlices, x: number, w: number, y: number, dy: number,
  act: DepthwiseActivation, dx: number, dw: number, db: number): void {
  const outFloats = g.M * g.outC;
  if (act !== 'linear') {
    const a = DEPTHWISE_ACT[act];
    parallelSlices(outFloats, 1 << 16, 4, (start, count) => ['depthwiseActMask', a, y, dy, start, count], k().depthwiseActMask);
  }
  if (db) biasGrad(g.M, g.outC, dy, db);
  if (dw) depthwiseFilterGrad(g, s, x, dy, dw);
  if (dx) {
    const rows = g.batch * g.inH;
    parallelSlices(rows, minRows(g, rows), 1, (start, count) => ['depthwiseBackwardInput', s.geom, dy, w, dx, start, count], k().depthwiseBackwardInput);
  }
}

function depthwiseFilterGrad(g: DepthwiseGeometry, s: DepthwiseSlices, x: number, dy: number, dw: number): void {
  if (s.chunks > 1 && !s.partials) throw new Error('depthwiseBackward: the plan was made for inference (no gradient partials)');
  const rows = g.batch * g.outH;
  const pool = macs(g) >= PARALLEL_MIN_MACS ? threadPool() : undefined;
  const call = (c0: number, count: number) =>
    ['depthwiseBackwardFilter', s.geom, x, dy, dw, s.partials, s.partialBytes, s.chunkRows, rows, c0, count] as const;
  if (!pool || s.chunks < 2) {
    const [, ...args] = call(0, s.chunks);
    k().depthwiseBackwardFilter(...args);
  } else {
    const T = Math.min(pool.size, s.chunks), per = Math.ceil(s.chunks / T);
    pool.run(Array.from({ length: T }, (_, t) => {
      const c0 = t * per, count = Math.min(per, s.chunks - c0);
      return count <= 0 ? null : call(c0, count);
    }));
  }
  if (s.chunks < 2) return;
  const dwFloats = g.kh * g.kw * g.outC;
  parallelSlices(dwFloats, 1 << 14, 4, (start, n) => ['addPartials', n, s.partials + start * 4, s.partialBytes, s.chunks - 1, dw + start * 4],
    k().addPartials);
}

// ---- tensor op (tfjs name and signature) ----

/**
 * tf.depthwiseConv2d: x [N, H, W, C] or [H, W, C], filter [kh, kw, C, dm] → [N, outH, outW, C·dm]
 * (rank as x). pad 'valid' | 'same'; strides and dilations n | [h, w].
 */
export function depthwiseConv2d(x: Tensor, filter: Tensor, strides: number | [number, number], pad: 'valid' | 'same',
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dilations: number | [number, number] = 1): Tensor {
  const op = 'depthwiseConv2d';
  for (const [arg, t, ranks] of [['x', x, [3, 4]], ['filter', filter, [4]]] as const) {
    if (!(t instanceof Tensor)) throw argError(op, arg, t, 'a Tensor');
    t.check(op);
    if (!(ranks as readonly number[]).includes(t.rank)) throw argError(op, arg, t, `a rank-${ranks.join(' or rank-')} tensor`);
  }
  if (dataFormat !== 'NHWC') throw argError(op, 'dataFormat', dataFormat, "'NHWC' (NCHW is not supported)");
  if (pad !== 'valid' && pad !== 'same') throw argError(op, 'pad', pad, "'valid' or 'same'");
  const x4 = x.rank === 3 ? [1, ...x.shape] : x.shape;
  const g = depthwiseGeometry(op, x4, filter.shape, strides, pad, dilations);
  const y = allocTensor(x.rank === 3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC]);
  const s = planDepthwise(g, false);
  try {
    depthwiseForward(g, s, x.ptr, filter.ptr, 0, y.ptr, 'linear');
  } finally {
    s.free();
  }
  return y;
}
