// Elementwise and per-row kernels: activations forward (x → y) and backward (in place on the
// gradient, from the forward output y, as the wasm kernels), dropout's mask multiply, row softmax
// and its Jacobian-vector product, and the bias gradient (column sums, one workgroup per column).
// Every buffer is (binding, element offset) so slices of the flat parameter buffer work as-is.

import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

/** Activation codes shared with the TypeScript side. */
export const ACT = { linear: 0, relu: 1, sigmoid: 2, tanh: 3 } as const;

export const actForward: KernelDef = {
  name: 'actForward',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['act', 'u32'], ['xOff', 'u32'], ['yOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let v = x[u.xOff + i];
  var r = v;
  switch u.act {
    case 1u: { r = max(v, 0.0); }
    case 2u: { r = 1.0 / (1.0 + exp(-v)); }
    case 3u: { r = tanh(v); }
    default: {}
  }
  y[u.yOff + i] = r;
}
`,
};

/** In place: g ← g · f'(x) computed from y = f(x). */
export const actBackward: KernelDef = {
  name: 'actBackward',
  buffers: [['y', 'read', 'f32'], ['g', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['act', 'u32'], ['yOff', 'u32'], ['gOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let yv = y[u.yOff + i];
  var d = 1.0;
  switch u.act {
    case 1u: { d = select(0.0, 1.0, yv > 0.0); }
    case 2u: { d = yv * (1.0 - yv); }
    case 3u: { d = 1.0 - yv * yv; }
    default: {}
  }
  g[u.gOff + i] = g[u.gOff + i] * d;
}
`,
};

/** y = x · mask (dropout forward with an inverted-dropout mask of 0 or 1/(1−rate)). */
export const mulMask: KernelDef = {
  name: 'mulMask',
  buffers: [['x', 'read', 'f32'], ['mask', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['n', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  y[i] = x[i] * mask[i];
}
`,
};

/** In place: g ← g · mask (dropout backward). */
export const mulMaskInPlace: KernelDef = {
  name: 'mulMaskInPlace',
  buffers: [['mask', 'read', 'f32'], ['g', 'read_write', 'f32']],
  uniforms: [['n', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  g[i] = g[i] * mask[i];
}
`,
};

/** Row-wise stable softmax of x [rows × cols] into y; one thread per row. */
export const softmaxRows: KernelDef = {
  name: 'softmaxRows',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['rows', 'u32'], ['cols', 'u32'], ['xOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flatIndex(gid, nwg);
  if (r >= u.rows) { return; }
  let o = r * u.cols;
  var mx = -3.4028234663852886e38;
  for (var j = 0u; j < u.cols; j++) { mx = max(mx, x[u.xOff + o + j]); }
  var s = 0.0;
  for (var j = 0u; j < u.cols; j++) { s += exp(x[u.xOff + o + j] - mx); }
  for (var j = 0u; j < u.cols; j++) { y[o + j] = exp(x[u.xOff + o + j] - mx) / s; }
}
`,
};

/** In place: g ← y ⊙ (g − Σ g·y) per row (softmax backward from its output y). */
export const softmaxBackward: KernelDef = {
  name: 'softmaxBackward',
  buffers: [['y', 'read', 'f32'], ['g', 'read_write', 'f32']],
  uniforms: [['rows', 'u32'], ['cols', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flatIndex(gid, nwg);
  if (r >= u.rows) { return; }
  let o = r * u.cols;
  var dot = 0.0;
  for (var j = 0u; j < u.cols; j++) { dot += g[o + j] * y[o + j]; }
  for (var j = 0u; j < u.cols; j++) { g[o + j] = y[o + j] * (g[o + j] - dot); }
}
`,
};

/** db[j] = Σ_i dy[i·n + j] over m rows: workgroup j, 64 threads striding rows, tree-reduced. */
export const biasGrad: KernelDef = {
  name: 'biasGrad',
  buffers: [['dy', 'read', 'f32'], ['db', 'read_write', 'f32']],
  uniforms: [['m', 'u32'], ['n', 'u32'], ['dbOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
var<workgroup> part: array<f32, 64>;
@compute
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let j = wid.x;
  var s = 0.0;
  for (var i = lid.x; i < u.m; i += 64u) { s += dy[i * u.n + j]; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid.x < w) { part[lid.x] += part[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { db[u.dbOff + j] = part[0]; }
}
`,
};
