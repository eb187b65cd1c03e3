/// <reference types="@webgpu/types" />
// The tfjs-named tensor ops on the GPU: same signatures, validation and errors as the wasm ops
// (the geometry functions are shared), inputs either GpuTensors or CPU tensors (uploaded for the
// call), outputs GpuTensors.

import { argError } from '../errors.js';
import { conv2dGeometry, type DimRoundingMode, type Padding } from '../ops/conv.js';
import { poolGeometry, type PoolPadding } from '../ops/pool.js';
import { Tensor } from '../tensor.js';
import type { Dispatch } from './context.js';
import { GpuContext } from './context.js';
import * as k from './dispatches.js';
import { GpuTensor } from './gpu-tensor.js';

/** An op's inputs on the GPU: GpuTensors as they are, CPU tensors uploaded (freed after the op). */
class Inputs {
  private temps: GPUBuffer[] = [];
  constructor(readonly ctx: GpuContext, readonly op: string) {}
  take(arg: string, t: unknown, ranks: number[]): { t: Tensor; buf: GPUBuffer } {
    if (!(t instanceof Tensor)) throw argError(this.op, arg, t, 'a Tensor');
    if (!ranks.includes(t.rank)) throw argError(this.op, arg, t, `a rank-${ranks.join(' or rank-')} tensor`);
    if (t instanceof GpuTensor) {
      t.gpuCheck(this.op);
      if (t.ctx !== this.ctx) throw argError(this.op, arg, t, 'a tensor on the current WebGPU device (this one is from an earlier device)');
      return { t, buf: t.buffer };
    }
    const values = t.dataSync();
    const buf = this.ctx.buffer(t.size);
    this.ctx.write(buf, values);
    this.temps.push(buf);
    return { t, buf };
  }
  scratch(floats: number): GPUBuffer {
    const b = this.ctx.buffer(floats);
    this.temps.push(b);
    return b;
  }
  run(dispatches: Dispatch[]): void {
    this.ctx.submit(dispatches);
    for (const d of dispatches) d.uniform.destroy();
    for (const b of this.temps) b.destroy();
  }
}

function output(ctx: GpuContext, shape: number[]): GpuTensor {
  return new GpuTensor(ctx, shape, ctx.buffer(shape.reduce((a, b) => a * b, 1)));
}

function checkFormat(op: string, dataFormat: unknown): void {
  if (dataFormat !== 'NHWC') throw argError(op, 'dataFormat', dataFormat, "'NHWC' (NCHW is not supported)");
}

export function matMul(ctx: GpuContext, a: Tensor, b: Tensor, transposeA = false, transposeB = false): GpuTensor {
  const io = new Inputs(ctx, 'matMul');
  const A = io.take('a', a, [2]), B = io.take('b', b, [2]);
  const [m, ka] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (ka !== kb) {
    io.run([]);
    throw new Error(`matMul: inner dimensions must agree: op(a) is [${m}, ${ka}] and op(b) is [${kb}, ${n}] (transposeA=${transposeA}, transposeB=${transposeB})`);
  }
  const out = output(ctx, [m, n]);
  // k = 0 leaves the zero-filled output; an empty output needs no dispatch.
  io.run(m && n && ka ? [k.gemm(ctx, m, n, ka, k.ref(A.buf), transposeA, k.ref(B.buf), transposeB, k.ref(out.buffer))] : []);
  return out;
}

export function conv2d(ctx: GpuContext, x: Tensor, filter: Tensor, strides: number | [number, number], pad: Padding,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dilations: number | [number, number] = 1, dimRoundingMode?: DimRoundingMode): GpuTensor {
  const op = 'conv2d';
  const io = new Inputs(ctx, op);
  const X = io.take('x', x, [3, 4]), F = io.take('filter', filter, [4]);
  checkFormat(op, dataFormat);
  const g = conv2dGeometry(op, x.rank === 3 ? [1, ...x.shape] : x.shape, filter.shape, strides, pad, dilations, dimRoundingMode);
  const y = output(ctx, x.rank === 3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC]);
  io.run(k.conv2dForward(ctx, g, k.ref(X.buf), k.ref(F.buf), undefined, k.ref(y.buffer), g.colIsInput ? undefined : io.scratch(g.colFloats), false));
  return y;
}

export function conv2DBackpropInput(ctx: GpuContext, xShape: number[], dy: Tensor, filter: Tensor, strides: number | [number, number],
  pad: Padding, dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dimRoundingMode?: DimRoundingMode): GpuTensor {
  const op = 'conv2DBackpropInput';
  const io = new Inputs(ctx, op);
  const D = io.take('dy', dy, [3, 4]), F = io.take('filter', filter, [4]);
  checkFormat(op, dataFormat);
  if (!Array.isArray(xShape) || xShape.length !== dy.rank) throw argError(op, 'xShape', xShape, `a shape of rank ${dy.rank} (dy's rank)`);
  const rank3 = xShape.length === 3;
  const g = conv2dGeometry(op, rank3 ? [1, ...xShape] : xShape, filter.shape, strides, pad, 1, dimRoundingMode);
  const want = rank3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC];
  if (dy.shape.join() !== want.join()) throw argError(op, 'dy', dy, `of shape [${want.join(', ')}] (the conv2d output shape)`);
  const dx = output(ctx, xShape);
  io.run(k.conv2dBackpropInput(ctx, g, k.ref(D.buf), k.ref(F.buf), dx.buffer, g.colIsInput ? undefined : io.scratch(g.colFloats)));
  return dx;
}

export function conv2DBackpropFilter(ctx: GpuContext, x: Tensor, dy: Tensor, filterShape: [number, number, number, number],
  strides: number | [number, number], pad: Padding, dataFormat: 'NHWC' | 'NCHW' = 'NHWC', dimRoundingMode?: DimRoundingMode): GpuTensor {
  const op = 'conv2DBackpropFilter';
  const io = new Inputs(ctx, op);
  const X = io.take('x', x, [3, 4]), D = io.take('dy', dy, [x.rank]);
  checkFormat(op, dataFormat);
  const rank3 = x.rank === 3;
  const g = conv2dGeometry(op, rank3 ? [1, ...x.shape] : x.shape, filterShape, strides, pad, 1, dimRoundingMode);
  const want = rank3 ? [g.outH, g.outW, g.outC] : [g.batch, g.outH, g.outW, g.outC];
  if (dy.shape.join() !== want.join()) throw argError(op, 'dy', dy, `of shape [${want.join(', ')}] (the conv2d output shape)`);
  const dw = output(ctx, filterShape);
  io.run(k.conv2dBackpropFilter(ctx, g, k.ref(X.buf), k.ref(D.buf), k.ref(dw.buffer), g.colIsInput ? undefined : io.scratch(g.colFloats), false));
  return dw;
}

function pool(ctx: GpuContext, op: string, x: Tensor, filterSize: number | [number, number], strides: number | [number, number],
  pad: PoolPadding, dimRoundingMode: DimRoundingMode | undefined, max: boolean): GpuTensor {
  const io = new Inputs(ctx, op);
  const X = io.take('x', x, [3, 4]);
  const g = poolGeometry(op, x.rank === 3 ? [1, ...x.shape] : x.shape, filterSize, strides, pad, dimRoundingMode);
  const y = output(ctx, x.rank === 3 ? [g.outH, g.outW, g.channels] : [g.batch, g.outH, g.outW, g.channels]);
  io.run([max ? k.maxPoolForward(ctx, g, k.ref(X.buf), y.buffer, io.scratch(g.outSize)) : k.avgPoolForward(ctx, g, k.ref(X.buf), y.buffer)]);
  return y;
}

export const maxPool = (ctx: GpuContext, x: Tensor, filterSize: number | [number, number], strides: number | [number, number], pad: PoolPadding, dimRoundingMode?: DimRoundingMode) =>
  pool(ctx, 'maxPool', x, filterSize, strides, pad, dimRoundingMode, true);
export const avgPool = (ctx: GpuContext, x: Tensor, filterSize: number | [number, number], strides: number | [number, number], pad: PoolPadding, dimRoundingMode?: DimRoundingMode) =>
  pool(ctx, 'avgPool', x, filterSize, strides, pad, dimRoundingMode, false);

function unary(ctx: GpuContext, op: 'relu' | 'sigmoid' | 'tanh', x: Tensor): GpuTensor {
  const io = new Inputs(ctx, op);
  const X = io.take('x', x, [x?.rank]);
  const y = output(ctx, x.shape);
  io.run(x.size ? [k.actForward(ctx, op, x.size, k.ref(X.buf), k.ref(y.buffer))] : []);
  return y;
}
export const relu = (ctx: GpuContext, x: Tensor) => unary(ctx, 'relu', x);
export const sigmoid = (ctx: GpuContext, x: Tensor) => unary(ctx, 'sigmoid', x);
export const tanh = (ctx: GpuContext, x: Tensor) => unary(ctx, 'tanh', x);

export function softmax(ctx: GpuContext, logits: Tensor, dim = -1): GpuTensor {
  const op = 'softmax';
  if (!(logits instanceof Tensor)) throw argError(op, 'logits', logits, 'a Tensor');
  if (logits.rank === 0) throw argError(op, 'logits', logits, 'a tensor of rank at least 1');
  const last = logits.rank - 1;
  if (dim !== -1 && dim !== last) throw argError(op, 'dim', dim, `-1 or ${last} (the last axis; softmax along other axes is not supported)`);
  const io = new Inputs(ctx, op);
  const X = io.take('logits', logits, [logits.rank]);
  const cols = logits.shape[last];
  const y = output(ctx, logits.shape);
  io.run(cols > 0 && logits.size ? [k.softmaxRows(ctx, logits.size / cols, cols, k.ref(X.buf), y.buffer)] : []);
  return y;
}

/** A GPU copy of a CPU tensor. */
export function upload(ctx: GpuContext, t: Tensor): GpuTensor {
  if (t instanceof GpuTensor) return t;
  const values = t.dataSync();
  const out = output(ctx, t.shape);
  ctx.write(out.buffer, values);
  return out;
}
