/// <reference types="@webgpu/types" />
// Dispatch builders for the merge kernels (src/webgpu/kernels/merge.ts), the GPU twin of
// src/ops/merge.ts, plus whole merge-layer passes (forward, backward) built from them, mirroring
// src/layers/merge.ts step for step.
//
// The merge kernels are not in KERNELS (kernels/index.ts), so GpuContext.prepare does not know
// them: this module compiles them per context on first use (compileMergeKernels precompiles them
// with a clear Error if one fails) and builds Dispatch objects of the same shape, which
// ctx.submit and ctx.setUniforms take as they are. Once they are listed in KERNELS, `prepare`
// below can become ctx.prepare.

import { collapseBroadcast, geomTable, planConcat, type CollapsedGeom, type ConcatPlan, type MergeOp } from '../ops/merge.js';
import { wgsl, type KernelDef } from './kernel-def.js';
import { GpuContext, USAGE, type Dispatch } from './context.js';
import type { Ref } from './dispatches.js';
import { MERGE_KERNELS, MERGE_OP_CODES, type MergeKernelName } from './kernels/merge.js';

const grid = GpuContext.grid1d;
const pipelines = new WeakMap<GpuContext, Map<MergeKernelName, GPUComputePipeline>>();

/** Compiles the merge kernels on ctx's device (once); an Error naming the kernel if one fails. */
export async function compileMergeKernels(ctx: GpuContext): Promise<void> {
  const have = pipelines.get(ctx) ?? new Map<MergeKernelName, GPUComputePipeline>();
  pipelines.set(ctx, have);
  for (const [name, def] of Object.entries(MERGE_KERNELS) as [MergeKernelName, KernelDef][]) {
    if (have.has(name)) continue;
    const module = ctx.device.createShaderModule({ code: wgsl(def), label: name });
    try {
      have.set(name, await ctx.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name }));
    } catch (e) {
      const info = await module.getCompilationInfo?.().catch(() => undefined);
      const msgs = info?.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
      throw new Error(`webgpu: the WGSL kernel '${name}' failed to compile on ${ctx.description}: ${msgs || (e as Error).message}`);
    }
  }
}

function pipeline(ctx: GpuContext, name: MergeKernelName): GPUComputePipeline {
  let have = pipelines.get(ctx);
  if (!have) pipelines.set(ctx, (have = new Map()));
  let p = have.get(name);
  if (!p) {
    const module = ctx.device.createShaderModule({ code: wgsl(MERGE_KERNELS[name]), label: name });
    p = ctx.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name });
    have.set(name, p);
  }
  return p;
}

/** As GpuContext.prepare, for the merge kernels. */
function prepare(ctx: GpuContext, name: MergeKernelName, buffers: GPUBuffer[], uniforms: number[], groups: [number, number, number]): Dispatch {
  const kernel = MERGE_KERNELS[name];
  if (buffers.length !== kernel.buffers.length || uniforms.length !== kernel.uniforms.length) {
    throw new Error(`webgpu: internal error: ${name} takes ${kernel.buffers.length} buffers and ${kernel.uniforms.length} uniforms, got ${buffers.length} and ${uniforms.length}`);
  }
  const p = pipeline(ctx, name);
  const uniform = ctx.device.createBuffer({ size: Math.max(16, Math.ceil(uniforms.length / 4) * 16), usage: USAGE.UNIFORM | USAGE.COPY_DST });
  const d: Dispatch = {
    kernel, pipeline: p, groups, uniform,
    bindGroup: ctx.device.createBindGroup({
      layout: p.getBindGroupLayout(0),
      entries: [...buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })), { binding: buffers.length, resource: { buffer: uniform } }],
    }),
  };
  ctx.setUniforms(d, uniforms);
  return d;
}

/** A collapsed broadcast geometry with its table in a GPU storage buffer (destroy with destroyGpuGeom). */
export interface GpuGeom extends CollapsedGeom {
  buf: GPUBuffer;
}

/** Geometry of out ← (a, b) (full shapes, batch included; b defaults to out: a contiguous operand). */
export function gpuGeom(ctx: GpuContext, outShape: number[], aShape: number[], bShape?: number[]): GpuGeom {
  const g = collapseBroadcast(outShape, aShape, bShape);
  const table = geomTable(g);
  const buf = ctx.buffer(table.length, 'merge geometry');
  ctx.write(buf, table);
  return { ...g, buf };
}

export const destroyGpuGeom = (g: GpuGeom): void => g.buf.destroy();

/**
 * y = scale · (op(a, b) (+ y when accumulating)) with broadcasting; a = 'y' computes y = op(y, b)
 * in place (g's operand a then contiguous).
 */
export function mergeBinary(ctx: GpuContext, op: MergeOp, g: GpuGeom, a: Ref | 'y', b: Ref, y: Ref, accumulate = false, scale = 1): Dispatch {
  const fromY = a === 'y';
  return prepare(ctx, 'mergeBinary', [fromY ? ctx.dummy : a.buf, b.buf, y.buf, g.buf],
    [g.size, g.rank, MERGE_OP_CODES[op], accumulate ? 1 : 0, fromY ? 1 : 0, fromY ? 0 : a.off, b.off, y.off, scale], grid(g.size));
}

/** dx = scale · (grad summed over the axes g's operand a is broadcast on); overwrites dx. */
export function mergeReduce(ctx: GpuContext, g: GpuGeom, grad: Ref, dx: Ref, scale = 1): Dispatch {
  return prepare(ctx, 'mergeReduce', [grad.buf, dx.buf, g.buf], [g.aSize, g.rank, scale, grad.off, dx.off], grid(g.aSize));
}

/** Max/min routing for input x (g's operand a) of output y: gOut = r where x == y (then r = 0), else 0. */
export function mergeRoute(ctx: GpuContext, g: GpuGeom, x: Ref, y: Ref, r: Ref, gOut: Ref): Dispatch {
  return prepare(ctx, 'mergeRoute', [x.buf, y.buf, r.buf, gOut.buf, g.buf], [g.size, g.rank, x.off, y.off, r.off, gOut.off], grid(g.size));
}

/** For o < outer: block floats from src + o·srcStride to dst + o·dstStride (all in floats). */
export function blockCopy(ctx: GpuContext, outer: number, block: number, src: Ref, srcStride: number, dst: Ref, dstStride: number): Dispatch {
  const n = outer * block;
  return prepare(ctx, 'blockCopy', [src.buf, dst.buf], [n, block, src.off, srcStride, dst.off, dstStride], grid(n));
}

/** Concatenation of full shapes along a full-rank axis (batch = 0): the plan, as the wasm one. */
export const gpuConcatPlan = (shapes: number[][], axis: number): ConcatPlan => planConcat(shapes, axis);

export function concatForward(ctx: GpuContext, p: ConcatPlan, xs: Ref[], y: GPUBuffer): Dispatch[] {
  return xs.map((x, i) => blockCopy(ctx, p.outer, p.blocks[i], x, p.blocks[i], { buf: y, off: p.offsets[i] }, p.outBlock));
}

/** dxs[i] ← its slice of dy (undefined entries skipped). */
export function concatBackward(ctx: GpuContext, p: ConcatPlan, dy: GPUBuffer, dxs: (GPUBuffer | undefined)[]): Dispatch[] {
  return dxs.flatMap((dx, i) => (dx ? [blockCopy(ctx, p.outer, p.blocks[i], { buf: dy, off: p.offsets[i] }, p.outBlock, { buf: dx, off: 0 }, p.blocks[i])] : []));
}

export type GpuMergeKind = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum';

/** Everything an elementwise merge node needs on the GPU for one batch size (as ElementwiseBuffers). */
export interface GpuMergePlan {
  kind: GpuMergeKind;
  /** Forward steps: op(a, b) into y; a = -1 reads y itself. */
  steps: { op: MergeOp; geom: GpuGeom; a: number; b: number; accumulate: boolean }[];
  /** Per input: output ← input (reduction, routing). */
  reduce: GpuGeom[];
  /** Per input: output ← (output, input) (multiply's products). */
  chain: GpuGeom[];
  /** Output-sized scratch, where the backward needs one. */
  scratch?: GPUBuffer;
  /** Output-sized copy of dy for maximum/minimum's routing (dy itself stays read-only). */
  remaining?: GPUBuffer;
  size: number;
  destroy(): void;
}

const opOf = (k: GpuMergeKind): MergeOp => (k === 'add' || k === 'average' ? 'add' : k === 'subtract' ? 'sub' : k === 'multiply' ? 'mul' : k === 'maximum' ? 'max' : 'min');

/**
 * Plans an elementwise merge of inputs with full shapes `ins` (batch first, already padded to the
 * output's rank) into `out`. The same steps as src/layers/merge.ts.
 */
export function planGpuMerge(ctx: GpuContext, kind: GpuMergeKind, out: number[], ins: number[][], training: boolean): GpuMergePlan {
  const all: GpuGeom[] = [];
  const geom = (o: number[], a: number[], b?: number[]) => {
    const g = gpuGeom(ctx, o, a, b);
    all.push(g);
    return g;
  };
  const op = opOf(kind), n = ins.length;
  const steps: GpuMergePlan['steps'] = [{ op, geom: geom(out, ins[0], ins[1]), a: 0, b: 1, accumulate: false }];
  let k = 2;
  if (op === 'add') for (; k + 1 < n; k += 2) steps.push({ op, geom: geom(out, ins[k], ins[k + 1]), a: k, b: k + 1, accumulate: true });
  for (; k < n; k++) steps.push({ op, geom: geom(out, out, ins[k]), a: -1, b: k, accumulate: false });
  const reduce = training ? ins.map((s) => geom(out, s)) : [];
  const chain = training && kind === 'multiply' ? ins.map((s) => geom(out, out, s)) : [];
  const size = out.reduce((a, b) => a * b, 1);
  const routed = kind === 'maximum' || kind === 'minimum';
  const scratch = training && (kind === 'multiply' || routed) ? ctx.buffer(size, 'merge scratch') : undefined;
  const remaining = training && routed ? ctx.buffer(size, 'merge remaining gradient') : undefined;
  return {
    kind, steps, reduce, chain, scratch, remaining, size,
    destroy: () => {
      for (const g of all) destroyGpuGeom(g);
      scratch?.destroy();
      remaining?.destroy();
    },
  };
}

/** y ← merge(xs); average divides by N in its last step. */
export function gpuMergeForward(ctx: GpuContext, p: GpuMergePlan, xs: Ref[], y: GPUBuffer): Dispatch[] {
  return p.steps.map((s, k) => mergeBinary(ctx, s.op, s.geom, s.a < 0 ? 'y' : xs[s.a], xs[s.b], { buf: y, off: 0 }, s.accumulate,
    p.kind === 'average' && k === p.steps.length - 1 ? 1 / xs.length : 1));
}

/** dxs[i] ← ∂L/∂x_i (undefined: not needed); dy stays unchanged. */
export function gpuMergeBackward(ctx: GpuContext, p: GpuMergePlan, xs: Ref[], y: GPUBuffer, dy: GPUBuffer, dxs: (GPUBuffer | undefined)[]): Dispatch[] {
  const n = xs.length;
  const ds: Dispatch[] = [];
  const dyRef = { buf: dy, off: 0 };
  switch (p.kind) {
    case 'add':
    case 'subtract':
    case 'average':
      for (let i = 0; i < n; i++) {
        const dx = dxs[i];
        if (!dx) continue;
        const scale = p.kind === 'average' ? 1 / n : p.kind === 'subtract' && i === 1 ? -1 : 1;
        ds.push(mergeReduce(ctx, p.reduce[i], dyRef, { buf: dx, off: 0 }, scale));
      }
      return ds;
    case 'multiply':
      for (let i = 0; i < n; i++) {
        const dx = dxs[i];
        if (!dx) continue;
        const direct = p.reduce[i].aFull;
        const t = { buf: direct ? dx : p.scratch!, off: 0 };
        let first = true;
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          ds.push(mergeBinary(ctx, 'mul', p.chain[j], first ? dyRef : 'y', xs[j], t));
          first = false;
        }
        if (!direct) ds.push(mergeReduce(ctx, p.reduce[i], t, { buf: dx, off: 0 }));
      }
      return ds;
    default: {
      let last = -1;
      for (let i = 0; i < n; i++) if (dxs[i]) last = i;
      if (last < 0) return ds;
      const r = p.remaining!;
      const size = p.size;
      // r ← dy (a one-to-one copy), then each input in order claims where it holds the output.
      ds.push(blockCopy(ctx, 1, size, dyRef, size, { buf: r, off: 0 }, size));
      for (let i = 0; i <= last; i++) {
        const dx = dxs[i];
        const direct = !!dx && p.reduce[i].aFull;
        const g = { buf: direct ? dx! : p.scratch!, off: 0 };
        ds.push(mergeRoute(ctx, p.reduce[i], xs[i], { buf: y, off: 0 }, { buf: r, off: 0 }, g));
        if (dx && !direct) ds.push(mergeReduce(ctx, p.reduce[i], g, { buf: dx, off: 0 }));
      }
      return ds;
    }
  }
}
