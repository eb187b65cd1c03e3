// Optimizer updates over the flat parameter buffer, the formulas of src/ops/optim.ts (Keras):
//   SGD:      w −= lr·g
//   momentum: v = μ·v − lr·g;  w += v  (Nesterov: w += μ·v − lr·g)
//   Adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lrT·m / (√v + ε)
// lrT (Adam's bias-corrected step size) is computed on the CPU in float64 each step, as the wasm
// optimizer does, and written to the uniform block before the step's commands are submitted.

import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

export const sgdStep: KernelDef = {
  name: 'sgdStep',
  buffers: [['w', 'read_write', 'f32'], ['g', 'read', 'f32']],
  uniforms: [['n', 'u32'], ['lr', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  w[i] = w[i] - u.lr * g[i];
}
`,
};

export const momentumStep: KernelDef = {
  name: 'momentumStep',
  buffers: [['w', 'read_write', 'f32'], ['g', 'read', 'f32'], ['v', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['lr', 'f32'], ['mu', 'f32'], ['nesterov', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let vi = u.mu * v[i] - u.lr * g[i];
  v[i] = vi;
  if (u.nesterov != 0u) { w[i] = w[i] + u.mu * vi - u.lr * g[i]; } else { w[i] = w[i] + vi; }
}
`,
};

export const adamStep: KernelDef = {
  name: 'adamStep',
  buffers: [['w', 'read_write', 'f32'], ['g', 'read', 'f32'], ['m', 'read_write', 'f32'], ['v', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['lrT', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['epsilon', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let gi = g[i];
  let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
  let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  w[i] = w[i] - u.lrT * mi / (sqrt(vi) + u.epsilon);
}
`,
};
