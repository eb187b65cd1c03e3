/// <reference types="@webgpu/types" />
// The WebGPU backend's kernels (src/backend/kernels.ts): buffers are (GPUBuffer, float offset) and
// every call records its dispatch(es) into `target`, so the planner's program — the same steps the
// wasm backend runs — is recorded once per plan and replayed per batch by the model runner. Per-batch
// host work (dropout masks) is recorded as a host action the runner performs before each submit.

import type { Buf, BroadcastPlan, ConvPlan, EpilogueAct, KernelActivation, Kernels } from '../backend/kernels.js';
import type { Conv2DGeometry } from '../ops/conv.js';
import type { PoolGeometry } from '../ops/pool.js';
import type { Dispatch, GpuContext } from './context.js';
import * as d from './dispatches.js';
import { actOp, needsInput } from '../layers/activation-fns.js';
import { GEMM_TILE } from './kernels/gemm.js';
import { blockCopy, destroyGpuGeom, gpuGeom, mergeBinary, mergeReduce, mergeRoute, type GpuGeom } from './merge-dispatches.js';
import * as shape from './shape-dispatches.js';
import * as dw from './depthwise-dispatches.js';
import type { DepthwisePlan } from '../backend/kernels.js';
import type { DepthwiseActivation, DepthwiseGeometry } from '../ops/depthwise.js';
import type { BilinearGeometry } from '../ops/shape.js';
import type { BnPlan } from '../backend/kernels.js';
import * as bn from './batchnorm-dispatches.js';

const bnGeom = (p: BnPlan): bn.GpuBnGeom => (p as BnPlan & { geom: bn.GpuBnGeom }).geom;

type Ref = d.Ref;
const r = (b: Buf) => b as Ref;

/** A buffer a kernel binds whole (no offset): every planner slot and layer scratch starts at 0. */
function whole(b: Buf, what: string): GPUBuffer {
  const x = r(b);
  if (x.off) throw new Error(`webgpu: internal error: ${what} at a float offset (${x.off}); the kernel binds whole buffers`);
  return x.buf;
}

interface GpuConvPlan extends ConvPlan {
  /** The im2col matrix (also dcol in the backward); none when the col matrix is x itself. */
  col?: GPUBuffer;
}
interface GpuBroadcast extends BroadcastPlan {
  geom: GpuGeom;
}

export interface HostAction {
  n: number;
  buf: Ref;
  gen: (values: Float32Array) => void;
}

export class GpuKernels implements Kernels {
  readonly backend = 'webgpu' as const;
  readonly inPlace = false;
  readonly fusesConvPool = false;
  readonly epilogueActs: readonly EpilogueAct[] = ['linear', 'relu'];
  /** Where calls record their dispatches (the runner switches it between forward, backward…). */
  target: Dispatch[] = [];
  /** Every dispatch recorded, for their uniforms' destruction. */
  readonly recorded: Dispatch[] = [];
  /** Per-batch host work, in program order. */
  readonly hostActions: HostAction[] = [];
  private readonly owned = new Set<GPUBuffer>();
  private readonly one: GPUBuffer;

  constructor(readonly ctx: GpuContext) {
    this.one = this.buffer(1, 'one');
    ctx.write(this.one, new Float32Array([1]));
  }

  private buffer(floats: number, label: string): GPUBuffer {
    const b = this.ctx.buffer(Math.max(1, floats), label);
    this.owned.add(b);
    return b;
  }
  private push(...ds: Dispatch[]): void {
    this.target.push(...ds);
    this.recorded.push(...ds);
  }

  alloc(floats: number, label: string): Buf {
    return d.ref(this.buffer(floats, label));
  }
  free(b: Buf): void {
    const x = r(b).buf;
    if (this.owned.delete(x)) x.destroy();
  }
  at(b: Buf, floats: number): Buf {
    return d.ref(r(b).buf, r(b).off + floats);
  }
  hostFill(n: number, b: Buf, gen: (values: Float32Array) => void): void {
    this.hostActions.push({ n, buf: r(b), gen });
  }

  gemm(m: number, n: number, k: number, a: Buf, ta: boolean, b: Buf, tb: boolean, c: Buf,
    o: { bias?: Buf; scale?: Buf; relu?: boolean; act?: EpilogueAct; res?: Buf; accumulate?: boolean } = {}): void {
    // The planner fuses nothing on this backend, so no layer asks for these epilogues here.
    if (o.res !== undefined || o.scale !== undefined || (o.act !== undefined && o.act !== 'linear' && o.act !== 'relu')) {
      throw new Error(`webgpu: internal error: a GEMM epilogue with ${o.res !== undefined ? 'a residual' : o.act}`);
    }
    if (o.act === 'relu') o = { ...o, relu: true };
    this.push(d.gemm(this.ctx, m, n, k, r(a), ta, r(b), tb, r(c), { bias: o.bias === undefined ? undefined : r(o.bias), relu: o.relu, accumulate: o.accumulate }));
  }
  copy(n: number, x: Buf, y: Buf): void {
    this.push(d.actForward(this.ctx, 'linear', n, r(x), r(y)));
  }
  /** y += x as a 1×n×1 GEMM with A = [1] (exact), in chunks a dispatch can hold. */
  addInto(n: number, x: Buf, y: Buf): void {
    const chunk = 65535 * GEMM_TILE;
    for (let at = 0; at < n; at += chunk) {
      const m = Math.min(chunk, n - at);
      this.push(d.gemm(this.ctx, 1, m, 1, d.ref(this.one), false, r(this.at(x, at)), false, r(this.at(y, at)), { accumulate: true }));
    }
  }
  mulMask(n: number, x: Buf, mask: Buf, y: Buf): void {
    const xb = whole(x, 'a masked input'), mb = whole(mask, 'a mask'), yb = whole(y, 'a masked output');
    this.push(xb === yb ? d.mulMaskInPlace(this.ctx, n, mb, yb) : d.mulMask(this.ctx, n, xb, mb, yb));
  }
  biasGrad(rows: number, cols: number, dy: Buf, db: Buf): void {
    this.push(d.biasGrad(this.ctx, rows, cols, whole(dy, 'a bias gradient input'), r(db)));
  }
  activation(act: KernelActivation, rows: number, cols: number, x: Buf, y: Buf): void {
    if (act === 'softmax') this.push(d.softmaxRows(this.ctx, rows, cols, r(x), whole(y, 'a softmax output')));
    else if (typeof act !== 'string' && act.op === 'softmaxAxis') this.push(d.softmaxStrided(this.ctx, rows, cols, act.inner, r(x), whole(y, 'a softmax output')));
    else this.push(d.actForward(this.ctx, actOp(act)!, rows * cols, r(x), r(y)));
  }
  activationBackward(act: KernelActivation, rows: number, cols: number, y: Buf, dy: Buf, x?: Buf): void {
    if (act === 'linear') return;
    if (act === 'softmax') this.push(d.softmaxBackward(this.ctx, rows, cols, whole(y, 'a softmax output'), whole(dy, 'a softmax gradient')));
    else if (typeof act !== 'string' && act.op === 'softmaxAxis') {
      this.push(d.softmaxStridedBackward(this.ctx, rows, cols, act.inner, whole(y, 'a softmax output'), whole(dy, 'a softmax gradient')));
    } else {
      if (needsInput(act) && x === undefined) throw new Error(`webgpu: internal error: the backward of ${JSON.stringify(act)} needs the forward input x`);
      this.push(d.actBackward(this.ctx, actOp(act)!, rows * cols, r(needsInput(act) ? x! : y), r(dy)));
    }
  }

  maxPoolForward(g: PoolGeometry, x: Buf, y: Buf, argmax: Buf | undefined): void {
    // The WGSL kernel always records the argmax: inference gets a scratch one.
    const am = argmax === undefined ? this.buffer(g.outSize, 'argmax (unused)') : whole(argmax, 'an argmax');
    this.push(d.maxPoolForward(this.ctx, g, r(x), whole(y, 'a pooled output'), am));
  }
  maxPoolBackward(g: PoolGeometry, dy: Buf, argmax: Buf, dx: Buf): void {
    this.push(d.maxPoolBackward(this.ctx, g, whole(dy, 'a pooled gradient'), whole(argmax, 'an argmax'), whole(dx, 'a pool input gradient')));
  }
  avgPoolForward(g: PoolGeometry, x: Buf, y: Buf): void {
    this.push(d.avgPoolForward(this.ctx, g, r(x), whole(y, 'a pooled output')));
  }
  avgPoolBackward(g: PoolGeometry, dy: Buf, dx: Buf): void {
    this.push(d.avgPoolBackward(this.ctx, g, whole(dy, 'a pooled gradient'), whole(dx, 'a pool input gradient')));
  }

  convPlan(g: Conv2DGeometry, _training: boolean, pool?: PoolGeometry): GpuConvPlan {
    if (pool) throw new Error('webgpu: internal error: a max pooling fused into a convolution (fusesConvPool is false)');
    const col = g.colIsInput ? undefined : this.buffer(g.colFloats, 'im2col');
    return { g, pooled: false, col, free: () => { if (col && this.owned.delete(col)) col.destroy(); } };
  }
  convForward(p: ConvPlan, x: Buf, w: Buf, bias: Buf | undefined, y: Buf, act: EpilogueAct, _pooled?: unknown, res?: Buf, scale?: Buf): void {
    const { g, col } = p as GpuConvPlan;
    if (res !== undefined || scale !== undefined || act === 'relu6') throw new Error(`webgpu: internal error: a convolution epilogue with ${res !== undefined ? 'a residual' : act} (see epilogueActs)`);
    this.push(...d.conv2dForward(this.ctx, g, r(x), r(w), bias === undefined ? undefined : r(bias), r(y), col, act === 'relu'));
  }
  convBackward(p: ConvPlan, x: Buf, w: Buf, y: Buf, dy: Buf, relu: boolean, dx: Buf | undefined, dw: Buf, db: Buf | undefined): void {
    const { g, col } = p as GpuConvPlan;
    if (relu) this.push(d.actBackward(this.ctx, 'relu', g.M * g.outC, r(y), r(dy)));
    // col still holds im2col(x) from this step's forward (one col per planned node).
    this.push(...d.conv2dBackpropFilter(this.ctx, g, r(x), r(dy), r(dw), col, true));
    if (db !== undefined) this.push(d.biasGrad(this.ctx, g.M, g.outC, whole(dy, 'a convolution gradient'), r(db)));
    if (dx !== undefined) this.push(...d.conv2dBackpropInput(this.ctx, g, r(dy), r(w), whole(dx, 'a convolution input gradient'), col));
  }

  broadcastPlan(out: number[], a: number[], b?: number[]): GpuBroadcast {
    const geom = gpuGeom(this.ctx, out, a, b);
    return { ...geom, geom, free: () => destroyGpuGeom(geom) };
  }
  broadcastBinary(op: Parameters<Kernels['broadcastBinary']>[0], g: BroadcastPlan, a: Buf | 'y', b: Buf, y: Buf, accumulate = false, scale = 1): void {
    this.push(mergeBinary(this.ctx, op, (g as GpuBroadcast).geom, a === 'y' ? 'y' : r(a), r(b), r(y), accumulate, scale));
  }
  broadcastReduce(g: BroadcastPlan, grad: Buf, dx: Buf, scale = 1): void {
    this.push(mergeReduce(this.ctx, (g as GpuBroadcast).geom, r(grad), r(dx), scale));
  }
  routeGrad(g: BroadcastPlan, x: Buf, y: Buf, rr: Buf, gOut: Buf): void {
    this.push(mergeRoute(this.ctx, (g as GpuBroadcast).geom, r(x), r(y), r(rr), r(gOut)));
  }
  blockCopy(outer: number, block: number, src: Buf, srcStride: number, dst: Buf, dstStride: number): void {
    this.push(blockCopy(this.ctx, outer, block, r(src), srcStride, r(dst), dstStride));
  }

  depthwisePlan(g: DepthwiseGeometry): DepthwisePlan {
    return { g, free: () => {} };
  }
  depthwiseForward(p: DepthwisePlan, x: Buf, w: Buf, bias: Buf | undefined, y: Buf, act: DepthwiseActivation): void {
    this.push(dw.depthwiseForward(this.ctx, p.g, r(x), r(w), bias === undefined ? undefined : r(bias), r(y), act));
  }
  depthwiseBackward(p: DepthwisePlan, x: Buf, w: Buf, y: Buf, dy: Buf, act: DepthwiseActivation, dx: Buf | undefined, dwt: Buf, db: Buf | undefined): void {
    this.push(...dw.depthwiseBackward(this.ctx, p.g, r(x), r(w), r(y), r(dy), act, dx === undefined ? undefined : r(dx), r(dwt),
      db === undefined ? undefined : r(db)));
  }
  convInputGrad(p: ConvPlan, dy: Buf, w: Buf, dx: Buf): void {
    const { g, col } = p as GpuConvPlan;
    this.push(...d.conv2dBackpropInput(this.ctx, g, r(dy), r(w), whole(dx, 'a convolution input gradient'), col));
  }
  convFilterGrad(p: ConvPlan, x: Buf, dy: Buf, dwt: Buf): void {
    const { g, col } = p as GpuConvPlan;
    this.push(...d.conv2dBackpropFilter(this.ctx, g, r(x), r(dy), r(dwt), col, false));
  }
  fill(n: number, value: number, y: Buf): void {
    this.push(shape.shapeFill(this.ctx, n, value, r(y)));
  }
  stridedCopy(dims: number[], src: Buf, srcStrides: number[], dst: Buf, dstStrides: number[]): void {
    this.push(shape.stridedCopy(this.ctx, dims, r(src), srcStrides, r(dst), dstStrides));
  }
  bilinearForward(g: BilinearGeometry, x: Buf, y: Buf): void {
    this.push(shape.bilinearForward(this.ctx, g, r(x), r(y)));
  }
  bilinearBackward(g: BilinearGeometry, dy: Buf, dx: Buf): void {
    this.push(shape.bilinearBackward(this.ctx, g, r(dy), r(dx)));
  }

  regularize(n: number, x: Buf, g: Buf | undefined, l1: number, l2: number, out: Buf | undefined, accumulate: boolean): void {
    // Unused bindings get their own 1-float buffers (two writable bindings of one buffer would alias).
    const gb = g === undefined ? (this.spare[0] ??= this.buffer(1, 'unused gradient')) : r(g).buf;
    const ob = out === undefined ? (this.spare[1] ??= this.buffer(1, 'unused penalty')) : r(out).buf;
    this.push(this.ctx.prepare('regularize', [r(x).buf, gb, ob],
      [n, l1, l2, g === undefined ? 0 : 1, out === undefined ? 0 : 1, accumulate ? 1 : 0, r(x).off, g === undefined ? 0 : r(g).off, out === undefined ? 0 : r(out).off],
      [1, 1, 1]));
  }
  private spare: GPUBuffer[] = [];

  // Batch normalization (src/webgpu/batchnorm-dispatches.ts).
  bnPlan(outer: number, C: number, inner: number): BnPlan {
    const bw = this.buffer(3 * C, 'batch-norm backward');
    const geom: bn.GpuBnGeom = { outer, C, inner, bw };
    return { outer, C, inner, geom, free: () => { if (this.owned.delete(bw)) bw.destroy(); } } as BnPlan;
  }
  bnStats(p: BnPlan, x: Buf, stats: Buf): void {
    this.push(bn.bnStats(this.ctx, bnGeom(p), r(x), r(stats)));
  }
  bnCoeffs(C: number, mean: Buf, variance: Buf, gamma: Buf | undefined, beta: Buf | undefined, eps: number, coef: Buf): void {
    this.push(bn.bnCoeffs(this.ctx, C, r(mean), r(variance), gamma === undefined ? undefined : r(gamma), beta === undefined ? undefined : r(beta), eps, r(coef)));
  }
  bnMovingUpdate(C: number, batch: Buf, momentum: number, moving: Buf): void {
    this.push(bn.bnMoving(this.ctx, C, r(batch), momentum, r(moving)));
  }
  bnAffine(p: BnPlan, act: 'linear' | 'relu' | 'relu6', x: Buf, coef: Buf, y: Buf): void {
    this.push(bn.bnAffine(this.ctx, bnGeom(p), act, r(x), r(coef), r(y)));
  }
  bnBackward(p: BnPlan, training: boolean, x: Buf, dy: Buf, mean: Buf, coef: Buf, gamma: Buf | undefined,
    dx: Buf | undefined, dgamma: Buf | undefined, dbeta: Buf | undefined): void {
    const o = (b: Buf | undefined) => (b === undefined ? undefined : r(b));
    this.push(...bn.bnBackward(this.ctx, bnGeom(p), training, r(x), r(dy), r(mean), r(coef), o(gamma), o(dx), o(dgamma), o(dbeta),
      () => (this.spare[2] ??= this.buffer(1, 'unused gradient'))));
  }

  /** Per batch, before submitting: the host actions' values uploaded. */
  runHostActions(): void {
    for (const h of this.hostActions) {
      const v = new Float32Array(h.n);
      h.gen(v);
      this.ctx.write(h.buf.buf, v, h.buf.off);
    }
  }

  /** Frees every buffer and dispatch uniform this kernel set made. */
  dispose(): void {
    for (const x of this.recorded) x.uniform.destroy();
    this.recorded.length = 0;
    for (const b of this.owned) b.destroy();
    this.owned.clear();
  }
}
