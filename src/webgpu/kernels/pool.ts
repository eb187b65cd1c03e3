// 2-D max / average pooling (NHWC) and their gradients, with the geometry of src/ops/pool.ts.
// Forward: one thread per output element. Backward: one thread per input element gathering from
// the windows that cover it (no atomics). Max pooling records the winner's index within its image,
// (iy·W + ix)·C + c as the wasm kernel does; the backward sums dy over the outputs whose winner is
// this element. Average pooling divides by the window's valid (non-padded) taps, as TensorFlow.

import { FLAT_INDEX, type KernelDef, type ScalarType } from '../kernel-def.js';

const GEOMETRY: [string, ScalarType][] = [
  ['inH', 'u32'], ['inW', 'u32'], ['C', 'u32'], ['fH', 'u32'], ['fW', 'u32'],
  ['strideH', 'u32'], ['strideW', 'u32'], ['padTop', 'u32'], ['padLeft', 'u32'],
  ['outH', 'u32'], ['outW', 'u32'], ['total', 'u32'],
];

const DECODE_OUT = `
  let c = idx % u.C;
  let ox = (idx / u.C) % u.outW;
  let oy = (idx / (u.C * u.outW)) % u.outH;
  let n = idx / (u.C * u.outW * u.outH);
  let y0 = i32(oy * u.strideH) - i32(u.padTop);
  let x0 = i32(ox * u.strideW) - i32(u.padLeft);
  let y1 = min(y0 + i32(u.fH), i32(u.inH));
  let x1 = min(x0 + i32(u.fW), i32(u.inW));
  let ys = max(y0, 0);
  let xs = max(x0, 0);`;

/** The output windows covering input (iy, ix): oy in [oy0, oy1], ox in [ox0, ox1]. */
const COVERING = `
  let c = idx % u.C;
  let ix = (idx / u.C) % u.inW;
  let iy = (idx / (u.C * u.inW)) % u.inH;
  let n = idx / (u.C * u.inW * u.inH);
  let ty = i32(iy + u.padTop);
  let tx = i32(ix + u.padLeft);
  let oy0 = max(0, (ty - i32(u.fH) + i32(u.strideH)) / i32(u.strideH));
  let oy1 = min(i32(u.outH) - 1, ty / i32(u.strideH));
  let ox0 = max(0, (tx - i32(u.fW) + i32(u.strideW)) / i32(u.strideW));
  let ox1 = min(i32(u.outW) - 1, tx / i32(u.strideW));`;

export const maxPoolForward: KernelDef = {
  name: 'maxPoolForward',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32'], ['argmax', 'read_write', 'i32']],
  uniforms: [...GEOMETRY, ['xOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  ${DECODE_OUT}
  let base = u.xOff + n * u.inH * u.inW * u.C;
  var best = -3.4028234663852886e38;
  var at = -1;
  for (var iy = ys; iy < y1; iy++) {
    for (var ix = xs; ix < x1; ix++) {
      let i = (u32(iy) * u.inW + u32(ix)) * u.C + c;
      let v = x[base + i];
      if (at < 0 || v > best) { best = v; at = i32(i); }
    }
  }
  y[idx] = best;
  argmax[idx] = at;
}
`,
};

export const maxPoolBackward: KernelDef = {
  name: 'maxPoolBackward',
  buffers: [['dy', 'read', 'f32'], ['argmax', 'read', 'i32'], ['dx', 'read_write', 'f32']],
  uniforms: GEOMETRY,
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  ${COVERING}
  let me = i32((iy * u.inW + ix) * u.C + c);
  var sum = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) {
      let o = ((n * u.outH + u32(oy)) * u.outW + u32(ox)) * u.C + c;
      if (argmax[o] == me) { sum += dy[o]; }
    }
  }
  dx[idx] = sum;
}
`,
};

export const avgPoolForward: KernelDef = {
  name: 'avgPoolForward',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['xOff', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  ${DECODE_OUT}
  let base = u.xOff + n * u.inH * u.inW * u.C;
  var sum = 0.0;
  for (var iy = ys; iy < y1; iy++) {
    for (var ix = xs; ix < x1; ix++) {
      sum += x[base + (u32(iy) * u.inW + u32(ix)) * u.C + c];
    }
  }
  y[idx] = sum / f32((y1 - ys) * (x1 - xs));
}
`,
};

export const avgPoolBackward: KernelDef = {
  name: 'avgPoolBackward',
  buffers: [['dy', 'read', 'f32'], ['dx', 'read_write', 'f32']],
  uniforms: GEOMETRY,
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  ${COVERING}
  var sum = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    let y0 = oy * i32(u.strideH) - i32(u.padTop);
    let h = min(y0 + i32(u.fH), i32(u.inH)) - max(y0, 0);
    for (var ox = ox0; ox <= ox1; ox++) {
      let x0 = ox * i32(u.strideW) - i32(u.padLeft);
      let w = min(x0 + i32(u.fW), i32(u.inW)) - max(x0, 0);
      sum += dy[((n * u.outH + u32(oy)) * u.outW + u32(ox)) * u.C + c] / f32(h * w);
    }
  }
  dx[idx] = sum;
}
`,
};
