// Batch-normalization kernels (the GPU twin of assembly/batchnorm.ts). x, y, dy, dx are [outer,
// ch, inner] row-major at float offsets; per-channel vectors are ch floats at float offsets:
// stats = [mean | variance], coef = [invStd | a | b], bw = [gamma·invStd | Σdy/n | Σdy·x̂/n].
// Reductions: one workgroup of 64 threads per channel, each thread summing a fixed strided subset,
// then a fixed tree: deterministic. Statistics are shifted sums (shift = x[0, c, 0]).

import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

const CHANNEL_INDEX = /* wgsl */ `fn elem(j: u32, c: u32) -> u32 { let o = j / u.inner; return (o * u.ch + c) * u.inner + (j - o * u.inner); }`;
const TREE = /* wgsl */ `
  p1[lid.x] = s1;
  p2[lid.x] = s2;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid.x < w) { p1[lid.x] += p1[lid.x + w]; p2[lid.x] += p2[lid.x + w]; }
    workgroupBarrier();
  }`;

/** stats[sOff + c] = mean, stats[sOff + ch + c] = biased variance of channel c. Grid: [ch, 1, 1]. */
export const bnStats: KernelDef = {
  name: 'bnStats',
  buffers: [['x', 'read', 'f32'], ['stats', 'read_write', 'f32']],
  uniforms: [['outer', 'u32'], ['ch', 'u32'], ['inner', 'u32'], ['xOff', 'u32'], ['sOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
var<workgroup> p1: array<f32, 64>;
var<workgroup> p2: array<f32, 64>;
${CHANNEL_INDEX}
@compute
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x;
  let n = u.outer * u.inner;
  let shift = x[u.xOff + c * u.inner];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = lid.x; j < n; j += 64u) {
    let d = x[u.xOff + elem(j, c)] - shift;
    s1 += d;
    s2 += d * d;
  }
  ${TREE}
  if (lid.x == 0u) {
    let m1 = p1[0] / f32(n);
    stats[u.sOff + c] = shift + m1;
    stats[u.sOff + u.ch + c] = max(p2[0] / f32(n) - m1 * m1, 0.0);
  }
}
`,
};

/** coef = [invStd | a | b] from mean, variance, gamma (hasG, else 1), beta (hasB, else 0). */
export const bnCoeffs: KernelDef = {
  name: 'bnCoeffs',
  buffers: [['mean', 'read', 'f32'], ['variance', 'read', 'f32'], ['gamma', 'read', 'f32'], ['beta', 'read', 'f32'], ['coef', 'read_write', 'f32']],
  uniforms: [['ch', 'u32'], ['mOff', 'u32'], ['vOff', 'u32'], ['gOff', 'u32'], ['bOff', 'u32'], ['hasG', 'u32'], ['hasB', 'u32'],
    ['eps', 'f32'], ['cOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = flatIndex(gid, nwg);
  if (c >= u.ch) { return; }
  let is = 1.0 / sqrt(variance[u.vOff + c] + u.eps);
  var g = 1.0;
  if (u.hasG == 1u) { g = gamma[u.gOff + c]; }
  var b = 0.0;
  if (u.hasB == 1u) { b = beta[u.bOff + c]; }
  let a = g * is;
  coef[u.cOff + c] = is;
  coef[u.cOff + u.ch + c] = a;
  coef[u.cOff + 2u * u.ch + c] = b - mean[u.mOff + c] * a;
}
`,
};

/** moving ← moving − (moving − batch)·(1 − momentum) over ch floats. */
export const bnMoving: KernelDef = {
  name: 'bnMoving',
  buffers: [['batch', 'read', 'f32'], ['moving', 'read_write', 'f32']],
  uniforms: [['ch', 'u32'], ['bOff', 'u32'], ['mOff', 'u32'], ['momentum', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = flatIndex(gid, nwg);
  if (c >= u.ch) { return; }
  let m = moving[u.mOff + c];
  moving[u.mOff + c] = m - (m - batch[u.bOff + c]) * (1.0 - u.momentum);
}
`,
};

/** y = act(x·a[c] + b[c]) (act 0 linear, 1 relu, 2 relu6), a, b from coef. */
export const bnAffine: KernelDef = {
  name: 'bnAffine',
  buffers: [['x', 'read', 'f32'], ['coef', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['ch', 'u32'], ['inner', 'u32'], ['act', 'u32'], ['xOff', 'u32'], ['cOff', 'u32'], ['yOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flatIndex(gid, nwg);
  if (e >= u.n) { return; }
  let c = (e / u.inner) % u.ch;
  var v = x[u.xOff + e] * coef[u.cOff + u.ch + c] + coef[u.cOff + 2u * u.ch + c];
  if (u.act >= 1u) { v = max(v, 0.0); }
  if (u.act == 2u) { v = min(v, 6.0); }
  y[u.yOff + e] = v;
}
`,
};

/**
 * Per channel (one workgroup each): Σdy and Σdy·x̂ (x̂ = (x − mean)·invStd); dbeta, dgamma into g
 * (when hasDb / hasDg), and bw = [gamma·invStd | Σdy/n | Σdy·x̂/n] (the last two 0 unless training).
 */
export const bnGradSums: KernelDef = {
  name: 'bnGradSums',
  buffers: [['x', 'read', 'f32'], ['dy', 'read', 'f32'], ['mean', 'read', 'f32'], ['coef', 'read', 'f32'], ['gamma', 'read', 'f32'],
    ['g', 'read_write', 'f32'], ['bw', 'read_write', 'f32']],
  uniforms: [['outer', 'u32'], ['ch', 'u32'], ['inner', 'u32'], ['training', 'u32'], ['xOff', 'u32'], ['dyOff', 'u32'], ['mOff', 'u32'],
    ['cOff', 'u32'], ['gmOff', 'u32'], ['hasG', 'u32'], ['dgOff', 'u32'], ['dbOff', 'u32'], ['hasDg', 'u32'], ['hasDb', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
var<workgroup> p1: array<f32, 64>;
var<workgroup> p2: array<f32, 64>;
${CHANNEL_INDEX}
@compute
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x;
  let n = u.outer * u.inner;
  let m = mean[u.mOff + c];
  let is = coef[u.cOff + c];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = lid.x; j < n; j += 64u) {
    let e = elem(j, c);
    let d = dy[u.dyOff + e];
    s1 += d;
    s2 += d * ((x[u.xOff + e] - m) * is);
  }
  ${TREE}
  if (lid.x == 0u) {
    if (u.hasDb == 1u) { g[u.dbOff + c] = p1[0]; }
    if (u.hasDg == 1u) { g[u.dgOff + c] = p2[0]; }
    var gm = 1.0;
    if (u.hasG == 1u) { gm = gamma[u.gmOff + c]; }
    bw[c] = gm * is;
    if (u.training == 1u) {
      bw[u.ch + c] = p1[0] / f32(n);
      bw[2u * u.ch + c] = p2[0] / f32(n);
    } else {
      bw[u.ch + c] = 0.0;
      bw[2u * u.ch + c] = 0.0;
    }
  }
}
`,
};

/** dx = bw[c]·(dy − bw[ch + c] − x̂·bw[2ch + c]). */
export const bnDx: KernelDef = {
  name: 'bnDx',
  buffers: [['x', 'read', 'f32'], ['dy', 'read', 'f32'], ['mean', 'read', 'f32'], ['coef', 'read', 'f32'], ['bw', 'read', 'f32'], ['dx', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['ch', 'u32'], ['inner', 'u32'], ['xOff', 'u32'], ['dyOff', 'u32'], ['mOff', 'u32'], ['cOff', 'u32'], ['dxOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = flatIndex(gid, nwg);
  if (e >= u.n) { return; }
  let c = (e / u.inner) % u.ch;
  let xh = (x[u.xOff + e] - mean[u.mOff + c]) * coef[u.cOff + c];
  dx[u.dxOff + e] = bw[c] * (dy[u.dyOff + e] - bw[u.ch + c] - xh * bw[2u * u.ch + c]);
}
`,
};

export const BATCHNORM_KERNELS = { bnStats, bnCoeffs, bnMoving, bnAffine, bnGradSums, bnDx };
export type BatchNormKernelName = keyof typeof BATCHNORM_KERNELS;
