/// <reference types="@webgpu/types" />
// Dispatch builders for the depthwise kernels (src/webgpu/kernels/depthwise.ts), the GPU twin of
// src/ops/depthwise.ts: the GPU kernel set (gpu-kernels.ts) records them for the depthwise and
// separable layers.

import { DEPTHWISE_ACT, type DepthwiseActivation, type DepthwiseGeometry } from '../ops/depthwise.js';
import { GpuContext, type Dispatch } from './context.js';
import { biasGrad, type Ref } from './dispatches.js';

const grid = GpuContext.grid1d;

const geomUniforms = (g: DepthwiseGeometry) => [g.batch, g.inH, g.inW, g.inC, g.dm, g.kh, g.kw, g.strideH, g.strideW,
  g.dilH, g.dilW, g.padTop, g.padLeft, g.outH, g.outW];

/** y = act(depthwise(x, w) (+ bias)). */
export function depthwiseForward(ctx: GpuContext, g: DepthwiseGeometry, x: Ref, w: Ref, bias: Ref | undefined, y: Ref,
  act: DepthwiseActivation): Dispatch {
  const total = g.M * g.outC;
  return ctx.prepare('dwForward', [x.buf, w.buf, bias?.buf ?? ctx.dummy, y.buf],
    [...geomUniforms(g), x.off, w.off, bias?.off ?? 0, y.off, bias ? 1 : 0, DEPTHWISE_ACT[act], total], grid(total));
}

/** Backward: dy masked by act'(y) (in place), db (whole dy), dw, and dx when given; all overwritten. */
export function depthwiseBackward(ctx: GpuContext, g: DepthwiseGeometry, x: Ref, w: Ref, y: Ref, dy: Ref, act: DepthwiseActivation,
  dx: Ref | undefined, dw: Ref, db: Ref | undefined): Dispatch[] {
  const out: Dispatch[] = [];
  const outFloats = g.M * g.outC;
  if (act !== 'linear') out.push(ctx.prepare('dwActMask', [y.buf, dy.buf], [DEPTHWISE_ACT[act], y.off, dy.off, outFloats], grid(outFloats)));
  if (db) {
    if (dy.off) throw new Error(`webgpu: internal error: a depthwise gradient at a float offset (${dy.off}); biasGrad binds whole buffers`);
    out.push(biasGrad(ctx, g.M, g.outC, dy.buf, db));
  }
  const dwFloats = g.kh * g.kw * g.outC;
  out.push(ctx.prepare('dwBackwardFilter', [x.buf, dy.buf, dw.buf], [...geomUniforms(g), x.off, dy.off, dw.off, dwFloats], grid(dwFloats)));
  if (dx) {
    const dxFloats = g.batch * g.inH * g.inW * g.inC;
    out.push(ctx.prepare('dwBackwardInput', [dy.buf, w.buf, dx.buf], [...geomUniforms(g), dy.off, w.off, dx.off, dxFloats], grid(dxFloats)));
  }
  return out;
}
