// The wasm backend's kernels (see kernels.ts): buffers are heap byte addresses, every call runs
// now, on the thread pool where the op splits (src/ops/*).

import { runtime } from './runtime.js';
import type { Buf, BroadcastPlan, ConvPlan, KernelActivation, Kernels } from './kernels.js';
import { gemm } from '../ops/matmul.js';
import { activationBackward, addInto, biasGrad } from '../ops/activations.js';
import { activationBackward as actBackwardRows, activationForward as actForwardRows } from '../layers/activation-fns.js';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, type PoolGeometry } from '../ops/pool.js';
import { conv2dBackpropFilter, conv2dBackpropInput, conv2dForward, type Conv2DGeometry } from '../ops/conv.js';
import { convBackwardFused, convForwardFused, planConvSlices, type ConvSlices } from '../ops/conv-fused.js';
import { blockCopy, broadcastBinary, broadcastReduce, freeGeom, planBroadcast, routeGrad, scaleSlices, type BroadcastGeom } from '../ops/merge.js';
import { wasmDepthwiseKernels } from './wasm-depthwise-kernels.js';
import * as shapeOps from '../ops/shape.js';
import { wasmBatchNorm } from './wasm-batchnorm.js';

const n = (b: Buf) => b as number;
const opt = (b: Buf | undefined) => (b === undefined ? 0 : (b as number));

interface WasmConvPlan extends ConvPlan {
  /** The direct passes' per-thread slices; undefined when the col matrix is x itself (plain GEMMs). */
  slices?: ConvSlices;
  /**
   * Inference: the weights packed once (packWeights: [⌈outC/8⌉][K][8]) for every forward until
   * they change — the call's w address or its version (StepContext.weightsVersion) differs.
   */
  packed?: { buf: number; w: number; version: number | undefined };
}
interface WasmBroadcast extends BroadcastPlan {
  geom: BroadcastGeom;
}

export const wasmKernels: Kernels = {
  backend: 'wasm',
  inPlace: true,
  fusesConvPool: true,
  epilogueActs: ['linear', 'relu', 'relu6', 'swish'],

  alloc: (floats) => runtime().heap.alloc(Math.max(1, floats) * 4),
  free: (b) => runtime().heap.free(n(b)),
  at: (b, floats) => n(b) + floats * 4,
  hostFill(count, b, gen) {
    gen(runtime().heap.f32.subarray(n(b) >>> 2, (n(b) >>> 2) + count));
  },

  gemm(m, nn, k, a, ta, b, tb, c, o = {}) {
    gemm(m, nn, k, n(a), ta, n(b), tb, n(c), { bias: opt(o.bias), scale: opt(o.scale), relu: o.relu, act: o.act, res: opt(o.res), accumulate: o.accumulate });
  },
  copy(count, x, y) {
    const f = runtime().heap.f32;
    f.copyWithin(n(y) >>> 2, n(x) >>> 2, (n(x) >>> 2) + count);
  },
  addInto: (count, x, y) => addInto(count, n(x), n(y)),
  mulMask(count, x, mask, y) {
    const f = runtime().heap.f32;
    const xo = n(x) >>> 2, mo = n(mask) >>> 2, yo = n(y) >>> 2;
    for (let i = 0; i < count; i++) f[yo + i] = f[xo + i] * f[mo + i];
  },
  biasGrad: (rows, cols, dy, db) => biasGrad(rows, cols, n(dy), n(db)),
  activation: (act: KernelActivation, rows, cols, x, y) => actForwardRows(act, rows, cols, n(x), n(y)),
  activationBackward: (act, rows, cols, y, dy, x) => actBackwardRows(act, rows, cols, n(y), n(dy), n(dy), x === undefined ? undefined : n(x)),

  maxPoolForward: (g: PoolGeometry, x, y, argmax) => maxPoolForward(g, n(x), n(y), opt(argmax)),
  maxPoolBackward: (g, dy, argmax, dx) => maxPoolBackward(g, n(dy), n(argmax), n(dx)),
  avgPoolForward: (g, x, y) => avgPoolForward(g, n(x), n(y)),
  avgPoolBackward: (g, dy, dx) => avgPoolBackward(g, n(dy), n(dx)),

  convPlan(g: Conv2DGeometry, training, pool): WasmConvPlan {
    // 1×1-style convolutions (col = x itself) are plain GEMMs over x and need no scratch.
    const slices = g.colIsInput ? undefined : planConvSlices(g, training, pool, undefined, !training);
    // Inference reads weights packed once, not per call and per thread (the direct passes'
    // scratch then has no copy: one packed copy per plan instead of one per thread).
    const heap = runtime().heap;
    const packed = training ? undefined : { buf: heap.alloc(Math.ceil(g.outC / 8) * 8 * g.K * 4), w: -1, version: undefined };
    return { g, pooled: !!slices?.pooled, slices, packed, free: () => { slices?.free(); if (packed) heap.free(packed.buf); } };
  },
  convForward(p, x, w, bias, y, act, pooled, res, scale, wVersion) {
    const { g, slices, packed } = p as WasmConvPlan;
    let wp = n(w);
    if (packed) {
      if (packed.w !== wp || packed.version !== wVersion || wVersion === undefined) {
        runtime().kernels.packWeights(wp, g.K, g.outC, packed.buf);
        packed.w = wp;
        packed.version = wVersion;
      }
      wp = packed.buf;
    }
    if (slices) convForwardFused(g, slices, n(x), wp, opt(bias), opt(y), act, pooled && { y: n(pooled.y), argmax: opt(pooled.argmax) }, opt(res), opt(scale));
    else conv2dForward(g, n(x), wp, opt(bias), n(y), 0, act, opt(res), opt(scale), !!packed);
  },
  convBackward(p, x, w, y, dy, relu, dx, dw, db, pooled) {
    const { g, slices } = p as WasmConvPlan;
    if (slices) {
      // The ReLU mask is applied inside the direct passes.
      convBackwardFused(g, slices, n(x), n(w), opt(y), n(dy), relu, opt(dx), n(dw), opt(db), pooled && { y: n(pooled.y), argmax: n(pooled.argmax) });
      return;
    }
    if (relu) activationBackward('relu', g.M * g.outC, n(y), n(dy), n(dy));
    conv2dBackpropFilter(g, n(x), n(dy), n(dw), 0, false, true);
    if (db !== undefined) biasGrad(g.M, g.outC, n(dy), n(db));
    if (dx !== undefined) conv2dBackpropInput(g, n(dy), n(w), n(dx), 0);
  },

  broadcastPlan(out, a, b): WasmBroadcast {
    const geom = planBroadcast(out, a, b);
    return { ...geom, geom, free: () => freeGeom(geom) };
  },
  broadcastBinary(op, g, a, b, y, accumulate = false, scale = 1) {
    const geom = (g as WasmBroadcast).geom;
    broadcastBinary(op, geom, a === 'y' ? n(y) : n(a), n(b), n(y), accumulate);
    if (scale !== 1) scaleInto(geom.size, scale, n(y));
  },
  broadcastReduce: (g, grad, dx, scale = 1) => broadcastReduce((g as WasmBroadcast).geom, n(grad), n(dx), scale),
  routeGrad: (g, x, y, r, gOut) => routeGrad((g as WasmBroadcast).geom, n(x), n(y), n(r), n(gOut)),
  blockCopy: (outer, block, src, srcStride, dst, dstStride) => blockCopy(outer, block, n(src), srcStride, n(dst), dstStride),
  ...wasmDepthwiseKernels,
  fill: (count, value, y) => shapeOps.fill(count, value, n(y)),
  stridedCopy: (dims, src, srcStrides, dst, dstStrides) => shapeOps.stridedCopy(dims, n(src), srcStrides, n(dst), dstStrides),
  bilinearForward: (g, x, y) => shapeOps.bilinearForward(g, n(x), n(y)),
  bilinearBackward: (g, dy, dx) => shapeOps.bilinearBackward(g, n(dy), n(dx)),
  regularize(count, x, g, l1, l2, out, accumulate) {
    const p = (runtime().kernels as unknown as { regularizeL1L2(n: number, x: number, g: number, l1: number, l2: number): number })
      .regularizeL1L2(count, n(x), opt(g), l1, l2);
    if (out === undefined) return;
    const f = runtime().heap.f32, o = n(out) >>> 2;
    f[o] = accumulate ? f[o] + p : p;
  },
  ...wasmBatchNorm,
};

/** y ← alpha·y over count floats (split over threads). */
function scaleInto(count: number, alpha: number, y: number): void {
  scaleSlices(count, alpha, y, y);
}
