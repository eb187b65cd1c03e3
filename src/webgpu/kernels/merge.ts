// Merge-layer kernels (the GPU twin of assembly/merge.ts): broadcast elementwise binary op,
// broadcast-axis sum for the backward, max/min gradient routing, strided block copy (concat).
//
// Broadcast geometry: the same collapsed i32 table the wasm kernels read (src/ops/merge.ts,
// collapseBroadcast), uploaded as the `geom` storage buffer: dims[0..rank) | aStrides[0..rank) |
// bStrides[0..rank), strides in floats, 0 along an axis an operand is broadcast on; the output is
// contiguous over dims. Any rank, any strides (no inner-axis restriction here). One thread per
// output element (per dx element for the reduction), each computed in a fixed order.
// NaN: WGSL leaves max/min of NaN and NaN tests to the implementation; these kernels make no
// NaN promise (the wasm ones do).

import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

/** Op codes of mergeBinary (the same as MERGE_OPS in src/ops/merge.ts). */
export const MERGE_OP_CODES = { add: 0, sub: 1, mul: 2, max: 3, min: 4 } as const;

// Offsets of output element o in operands a (which = 1) and b (which = 2).
const OFFSET = /* wgsl */ `
fn offsetOf(o: u32, rank: u32, which: u32) -> u32 {
  var rest = o;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let dim = u32(geom[d]);
    off += (rest % dim) * u32(geom[u32(d) + which * rank]);
    rest /= dim;
  }
  return off;
}`;

/**
 * y = scale · (op(a, b) (+ y if accumulate)) with broadcasting (op: 0 add, 1 sub, 2 mul, 3 max,
 * 4 min; scale 1/N ends an average). aFromY = 1 reads
 * operand a from y itself (in place: y = op(y, b), a contiguous over the output; a is then unbound,
 * since WebGPU binds a buffer either writable or read-only within a dispatch).
 */
export const mergeBinary: KernelDef = {
  name: 'mergeBinary',
  buffers: [['a', 'read', 'f32'], ['b', 'read', 'f32'], ['y', 'read_write', 'f32'], ['geom', 'read', 'i32']],
  uniforms: [['n', 'u32'], ['rank', 'u32'], ['op', 'u32'], ['accumulate', 'u32'], ['aFromY', 'u32'],
    ['aOff', 'u32'], ['bOff', 'u32'], ['yOff', 'u32'], ['scale', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${OFFSET}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= u.n) { return; }
  var va: f32;
  if (u.aFromY == 1u) { va = y[u.yOff + o]; } else { va = a[u.aOff + offsetOf(o, u.rank, 1u)]; }
  let vb = b[u.bOff + offsetOf(o, u.rank, 2u)];
  var r: f32;
  switch u.op {
    case 0u: { r = va + vb; }
    case 1u: { r = va - vb; }
    case 2u: { r = va * vb; }
    case 3u: { r = max(va, vb); }
    default: { r = min(va, vb); }
  }
  if (u.accumulate == 1u) { r = y[u.yOff + o] + r; }
  y[u.yOff + o] = r * u.scale;
}
`,
};

/**
 * dx[j] = scale · Σ g[o] over the output elements o that read dx element j (operand a of geom):
 * one thread per dx element (n = its size) sums over the axes dx is broadcast on, in row-major
 * order. Overwrites dx.
 */
export const mergeReduce: KernelDef = {
  name: 'mergeReduce',
  buffers: [['g', 'read', 'f32'], ['dx', 'read_write', 'f32'], ['geom', 'read', 'i32']],
  uniforms: [['n', 'u32'], ['rank', 'u32'], ['scale', 'f32'], ['gOff', 'u32'], ['dxOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flatIndex(gid, nwg);
  if (j >= u.n) { return; }
  let rank = u.rank;
  // The output element of j with every broadcast index 0, and the count of broadcast positions.
  var base = 0u;
  var count = 1u;
  var ostride = 1u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let dim = u32(geom[d]);
    let s = u32(geom[u32(d) + rank]);
    if (s != 0u) { base += ((j / s) % dim) * ostride; } else { count *= dim; }
    ostride *= dim;
  }
  var acc = 0.0;
  for (var r = 0u; r < count; r++) {
    // r as a mixed-radix number over the broadcast axes (last fastest): row-major order of o.
    var rest = r;
    var off = base;
    var os = 1u;
    for (var d = i32(rank) - 1; d >= 0; d--) {
      let dim = u32(geom[d]);
      if (u32(geom[u32(d) + rank]) == 0u) {
        off += (rest % dim) * os;
        rest /= dim;
      }
      os *= dim;
    }
    acc += g[u.gOff + off];
  }
  dx[u.dxOff + j] = acc * u.scale;
}
`,
};

/**
 * Maximum/Minimum gradient routing for input x (operand a of geom) of output y: where x == y,
 * gOut = r and r = 0, elsewhere gOut = 0. Run for the inputs in order with r = dy: the first input
 * holding the max/min gets the gradient (ties). r and gOut must be distinct buffers.
 */
export const mergeRoute: KernelDef = {
  name: 'mergeRoute',
  buffers: [['x', 'read', 'f32'], ['y', 'read', 'f32'], ['r', 'read_write', 'f32'], ['gOut', 'read_write', 'f32'], ['geom', 'read', 'i32']],
  uniforms: [['n', 'u32'], ['rank', 'u32'], ['xOff', 'u32'], ['yOff', 'u32'], ['rOff', 'u32'], ['gOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${OFFSET}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flatIndex(gid, nwg);
  if (o >= u.n) { return; }
  let xv = x[u.xOff + offsetOf(o, u.rank, 1u)];
  let rv = r[u.rOff + o];
  if (xv == y[u.yOff + o]) {
    gOut[u.gOff + o] = rv;
    r[u.rOff + o] = 0.0;
  } else {
    gOut[u.gOff + o] = 0.0;
  }
}
`,
};

/** For i < outer·block: dst[dstOff + (i / block)·dstStride + i % block] = src[srcOff + (i / block)·srcStride + i % block]. */
export const blockCopy: KernelDef = {
  name: 'blockCopy',
  buffers: [['src', 'read', 'f32'], ['dst', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['block', 'u32'], ['srcOff', 'u32'], ['srcStride', 'u32'], ['dstOff', 'u32'], ['dstStride', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let o = i / u.block;
  let k = i - o * u.block;
  dst[u.dstOff + o * u.dstStride + k] = src[u.srcOff + o * u.srcStride + k];
}
`,
};

export const MERGE_KERNELS = { mergeBinary, mergeReduce, mergeRoute, blockCopy };
export type MergeKernelName = keyof typeof MERGE_KERNELS;
