// Elementwise and per-row kernels: activations forward (x → y) and backward (in place on the
// gradient, from the forward output y, as the wasm kernels), dropout's mask multiply, row softmax
// and its Jacobian-vector product, and the bias gradient (column sums, one workgroup per column).
// Every buffer is (binding, element offset) so slices of the flat parameter buffer work as-is.

import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

/** Activation codes shared with the TypeScript side (ACT_CODE in src/layers/activation-fns.ts, actForwardP in assembly/activations.ts). */
export const ACT = {
  linear: 0, relu: 1, sigmoid: 2, tanh: 3, relu6: 4, elu: 5, selu: 6, swish: 7, gelu: 8, mish: 9,
  hardSigmoid: 10, softplus: 11, softsign: 12, leakyRelu: 13, reluX: 14, thresholdedRelu: 15, gelu_new: 16,
} as const;

// Shared helpers. Parameters a, b, c per op as in assembly/activations.ts: elu a = alpha; leakyRelu
// a = alpha; reluX a = negativeSlope, b = maxValue, c = threshold; thresholdedRelu a = theta.
const ACT_HELPERS = /* wgsl */ `
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;
fn sigm(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn softplusf(v: f32) -> f32 { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }
fn expm1f(v: f32) -> f32 { if (abs(v) < 1e-3) { return v + 0.5 * v * v; } return exp(v) - 1.0; }
fn tanhf(v: f32) -> f32 { let c = clamp(v, -15.0, 15.0); if (v != v) { return v; } return tanh(c); }
fn erff(v: f32) -> f32 {
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  let r = 1.0 - p * exp(-a * a);
  return select(r, -r, v < 0.0);
}
`;

export const actForward: KernelDef = {
  name: 'actForward',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['act', 'u32'], ['xOff', 'u32'], ['yOff', 'u32'], ['a', 'f32'], ['b', 'f32'], ['c', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${ACT_HELPERS}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let v = x[u.xOff + i];
  var r = v;
  switch u.act {
    case 1u: { r = select(0.0, v, v > 0.0 || v != v); }
    case 2u: { r = sigm(v); }
    case 3u: { r = tanhf(v); }
    case 4u: { r = select(min(max(v, 0.0), 6.0), v, v != v); }
    case 5u: { r = select(u.a * expm1f(v), v, v > 0.0); }
    case 6u: { r = select(SELU_SCALE * SELU_ALPHA * expm1f(v), SELU_SCALE * v, v > 0.0); }
    case 7u: { r = v * sigm(v); }
    case 8u: { r = 0.5 * v * (1.0 + erff(v * 0.7071067811865476)); }
    case 9u: { r = v * tanhf(softplusf(v)); }
    case 10u: { r = select(clamp(0.2 * v + 0.5, 0.0, 1.0), v, v != v); }
    case 11u: { r = softplusf(v); }
    case 12u: { r = v / (1.0 + abs(v)); }
    case 13u: { r = select(u.a * v, v, v > 0.0); }
    case 14u: { r = select(select(u.a * (v - u.c), v, v >= u.c), u.b, v >= u.b); }
    case 15u: { r = v * select(0.0, 1.0, v > u.a); }
    case 16u: { r = 0.5 * v * (1.0 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v))); }
    default: {}
  }
  y[u.yOff + i] = r;
}
`,
};

/** In place: g ← g · f'(·) computed from s = y = f(x), or s = x for the ops whose f' needs x (needsInput). */
export const actBackward: KernelDef = {
  name: 'actBackward',
  buffers: [['y', 'read', 'f32'], ['g', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['act', 'u32'], ['yOff', 'u32'], ['gOff', 'u32'], ['a', 'f32'], ['b', 'f32'], ['c', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${ACT_HELPERS}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let s = y[u.yOff + i];
  var d = 1.0;
  switch u.act {
    case 1u: { d = select(0.0, 1.0, s > 0.0); }
    case 2u: { d = s * (1.0 - s); }
    case 3u: { d = 1.0 - s * s; }
    case 4u: { d = select(0.0, 1.0, s > 0.0 && s < 6.0); }
    case 5u: { d = select(u.a * exp(s), 1.0, s > 0.0); }
    case 6u: { d = select(s + SELU_SCALE * SELU_ALPHA, SELU_SCALE, s > 0.0); }
    case 7u: { let q = sigm(s); d = q + s * q * (1.0 - q); }
    case 8u: { d = 0.5 * (1.0 + erff(s * 0.7071067811865476)) + s * 0.3989422804014327 * exp(-0.5 * s * s); }
    case 9u: { let t = tanhf(softplusf(s)); d = t + s * (1.0 - t * t) * sigm(s); }
    case 10u: { d = select(0.0, 0.2, s > 0.0 && s < 1.0); }
    case 11u: { d = sigm(s); }
    case 12u: { let q = 1.0 - abs(s); d = q * q; }
    case 13u: { d = select(u.a, 1.0, s > 0.0); }
    case 14u: { d = select(select(u.a, 1.0, s >= u.c), 0.0, s >= u.b); }
    case 15u: { d = select(0.0, 1.0, s > u.a); }
    case 16u: {
      let t = tanhf(0.7978845608028654 * (s + 0.044715 * s * s * s));
      d = 0.5 * (1.0 + t) + 0.5 * s * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * s * s);
    }
    default: {}
  }
  g[u.gOff + i] = g[u.gOff + i] * d;
}
`,
};

/** Softmax over a middle axis: x as [outer, len, inner]; one thread per (outer, inner) pair. */
export const softmaxStrided: KernelDef = {
  name: 'softmaxStrided',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['outer', 'u32'], ['len', 'u32'], ['inner', 'u32'], ['xOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  if (t >= u.outer * u.inner) { return; }
  let o = (t / u.inner) * u.len * u.inner + t % u.inner;
  var mx = -3.4028234663852886e38;
  for (var j = 0u; j < u.len; j++) { mx = max(mx, x[u.xOff + o + j * u.inner]); }
  var s = 0.0;
  for (var j = 0u; j < u.len; j++) { s += exp(x[u.xOff + o + j * u.inner] - mx); }
  for (var j = 0u; j < u.len; j++) { y[o + j * u.inner] = exp(x[u.xOff + o + j * u.inner] - mx) / s; }
}
`,
};

/** In place: g ← y ⊙ (g − Σ g·y) along the strided axis (layout of softmaxStrided). */
export const softmaxStridedBackward: KernelDef = {
  name: 'softmaxStridedBackward',
  buffers: [['y', 'read', 'f32'], ['g', 'read_write', 'f32']],
  uniforms: [['outer', 'u32'], ['len', 'u32'], ['inner', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flatIndex(gid, nwg);
  if (t >= u.outer * u.inner) { return; }
  let o = (t / u.inner) * u.len * u.inner + t % u.inner;
  var dot = 0.0;
  for (var j = 0u; j < u.len; j++) { dot += g[o + j * u.inner] * y[o + j * u.inner]; }
  for (var j = 0u; j < u.len; j++) { g[o + j * u.inner] = y[o + j * u.inner] * (g[o + j * u.inner] - dot); }
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
