// L1/L2 regularization (src/backend/kernels.ts regularize): one workgroup strides over x, adds
// the gradient to g where asked, and reduces the penalty l1·Σ|x| + l2·Σx² in shared memory; its
// thread 0 writes (or adds) it to out[at]. One workgroup: a fixed summation order, no atomics.

import type { KernelDef } from '../kernel-def.js';

export const regularize: KernelDef = {
  name: 'regularize',
  buffers: [['x', 'read', 'f32'], ['g', 'read_write', 'f32'], ['out', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['l1', 'f32'], ['l2', 'f32'], ['withGrad', 'u32'], ['withOut', 'u32'], ['accumulate', 'u32'],
    ['xOff', 'u32'], ['gOff', 'u32'], ['outOff', 'u32']],
  workgroup: 256,
  body: /* wgsl */ `
var<workgroup> partial: array<f32, 256>;
@compute
fn main(@builtin(local_invocation_id) lid: vec3u) {
  let t = lid.x;
  var s = 0.0;
  for (var i = t; i < u.n; i = i + 256u) {
    let v = x[u.xOff + i];
    s = s + u.l1 * abs(v) + u.l2 * v * v;
    if (u.withGrad != 0u) { g[u.gOff + i] = g[u.gOff + i] + u.l1 * sign(v) + 2.0 * u.l2 * v; }
  }
  partial[t] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w = w / 2u) {
    if (t < w) { partial[t] = partial[t] + partial[t + w]; }
    workgroupBarrier();
  }
  if (t == 0u && u.withOut != 0u) {
    if (u.accumulate != 0u) { out[u.outOff] = out[u.outOff] + partial[0]; } else { out[u.outOff] = partial[0]; }
  }
}
`,
};
