// Depthwise convolution kernels (the GPU twin of assembly/depthwise.ts): NHWC x [N, inH, inW, C],
// kernel w [kh, kw, C, dm] (= [kh·kw][OC] row-major, OC = C·dm), y/dy [N, outH, outW, OC] with
// output channel c·dm + m from input channel c. One thread per output element (forward), per dx
// element (input gradient: a gather over the taps that read it, no atomics) and per dw element
// (filter gradient: the sum over every output pixel in row-major order), so every value is computed
// in a fixed order. Pads on the top/left (bottom/right padding shows up as taps outside the input).
// Operands carry float offsets (weights are slices of the flat parameter buffer).

import { FLAT_INDEX, type KernelDef, type ScalarType } from '../kernel-def.js';

const GEOMETRY: [string, ScalarType][] = [
  ['batch', 'u32'], ['inH', 'u32'], ['inW', 'u32'], ['C', 'u32'], ['dm', 'u32'], ['kh', 'u32'], ['kw', 'u32'],
  ['strideH', 'u32'], ['strideW', 'u32'], ['dilH', 'u32'], ['dilW', 'u32'],
  ['padTop', 'u32'], ['padLeft', 'u32'], ['outH', 'u32'], ['outW', 'u32'],
];

/** Activation codes (src/ops/depthwise.ts DEPTHWISE_ACT): 0 linear, 1 ReLU, 2 ReLU6. */
const ACT = /* wgsl */ `
fn act(a: u32, v: f32) -> f32 {
  if (a == 1u) { return max(v, 0.0); }
  if (a == 2u) { return min(max(v, 0.0), 6.0); }
  return v;
}`;

/** y[idx] = act(Σ_taps x·w (+ bias)). */
export const dwForward: KernelDef = {
  name: 'dwForward',
  buffers: [['x', 'read', 'f32'], ['w', 'read', 'f32'], ['bias', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['xOff', 'u32'], ['wOff', 'u32'], ['bOff', 'u32'], ['yOff', 'u32'], ['hasBias', 'u32'], ['act', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${ACT}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let OC = u.C * u.dm;
  let oc = idx % OC;
  let pix = idx / OC;
  let ow = pix % u.outW;
  let oh = (pix / u.outW) % u.outH;
  let n = pix / (u.outW * u.outH);
  let c = oc / u.dm;
  var sum = 0.0;
  if (u.hasBias != 0u) { sum = bias[u.bOff + oc]; }
  for (var i = 0u; i < u.kh; i++) {
    let ih = i32(oh * u.strideH + i * u.dilH) - i32(u.padTop);
    if (ih < 0 || ih >= i32(u.inH)) { continue; }
    for (var j = 0u; j < u.kw; j++) {
      let iw = i32(ow * u.strideW + j * u.dilW) - i32(u.padLeft);
      if (iw < 0 || iw >= i32(u.inW)) { continue; }
      sum += x[u.xOff + ((n * u.inH + u32(ih)) * u.inW + u32(iw)) * u.C + c] * w[u.wOff + (i * u.kw + j) * OC + oc];
    }
  }
  y[u.yOff + idx] = act(u.act, sum);
}
`,
};

/** dx[n, ih, iw, c] = Σ over the taps that read it and m < dm of dy[.., c·dm + m]·w[i, j, c, m]. */
export const dwBackwardInput: KernelDef = {
  name: 'dwBackwardInput',
  buffers: [['dy', 'read', 'f32'], ['w', 'read', 'f32'], ['dx', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['dyOff', 'u32'], ['wOff', 'u32'], ['dxOff', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let OC = u.C * u.dm;
  let c = idx % u.C;
  let iw = (idx / u.C) % u.inW;
  let ih = (idx / (u.C * u.inW)) % u.inH;
  let n = idx / (u.C * u.inW * u.inH);
  var sum = 0.0;
  for (var i = 0u; i < u.kh; i++) {
    let th = i32(ih + u.padTop) - i32(i * u.dilH);
    if (th < 0 || (u32(th) % u.strideH) != 0u) { continue; }
    let oh = u32(th) / u.strideH;
    if (oh >= u.outH) { continue; }
    for (var j = 0u; j < u.kw; j++) {
      let tw = i32(iw + u.padLeft) - i32(j * u.dilW);
      if (tw < 0 || (u32(tw) % u.strideW) != 0u) { continue; }
      let ow = u32(tw) / u.strideW;
      if (ow >= u.outW) { continue; }
      let dyBase = u.dyOff + ((n * u.outH + oh) * u.outW + ow) * OC + c * u.dm;
      let wBase = u.wOff + (i * u.kw + j) * OC + c * u.dm;
      for (var m = 0u; m < u.dm; m++) { sum += dy[dyBase + m] * w[wBase + m]; }
    }
  }
  dx[u.dxOff + idx] = sum;
}
`,
};

/** dw[i, j, c, m] = Σ_{n, oh, ow} x[n, ih, iw, c]·dy[n, oh, ow, c·dm + m] (overwritten). */
export const dwBackwardFilter: KernelDef = {
  name: 'dwBackwardFilter',
  buffers: [['x', 'read', 'f32'], ['dy', 'read', 'f32'], ['dw', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['xOff', 'u32'], ['dyOff', 'u32'], ['dwOff', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let OC = u.C * u.dm;
  let oc = idx % OC;
  let tap = idx / OC;
  let j = tap % u.kw;
  let i = tap / u.kw;
  let c = oc / u.dm;
  var sum = 0.0;
  for (var n = 0u; n < u.batch; n++) {
    for (var oh = 0u; oh < u.outH; oh++) {
      let ih = i32(oh * u.strideH + i * u.dilH) - i32(u.padTop);
      if (ih < 0 || ih >= i32(u.inH)) { continue; }
      for (var ow = 0u; ow < u.outW; ow++) {
        let iw = i32(ow * u.strideW + j * u.dilW) - i32(u.padLeft);
        if (iw < 0 || iw >= i32(u.inW)) { continue; }
        sum += x[u.xOff + ((n * u.inH + u32(ih)) * u.inW + u32(iw)) * u.C + c] * dy[u.dyOff + ((n * u.outH + oh) * u.outW + ow) * OC + oc];
      }
    }
  }
  dw[u.dwOff + idx] = sum;
}
`,
};

/** dy ← dy·act'(y) (1 ReLU: y > 0; 2 ReLU6: 0 < y < 6). */
export const dwActMask: KernelDef = {
  name: 'dwActMask',
  buffers: [['y', 'read', 'f32'], ['dy', 'read_write', 'f32']],
  uniforms: [['act', 'u32'], ['yOff', 'u32'], ['dyOff', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let v = y[u.yOff + idx];
  var keep = v > 0.0;
  if (u.act == 2u) { keep = keep && v < 6.0; }
  if (!keep) { dy[u.dyOff + idx] = 0.0; }
}
`,
};

export const DEPTHWISE_KERNELS = { dwForward, dwBackwardInput, dwBackwardFilter, dwActMask };
export type DepthwiseKernelName = keyof typeof DEPTHWISE_KERNELS;
