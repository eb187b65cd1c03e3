// WGSL twins of assembly/shape.ts (the shape layers' kernels): a constant fill, a strided copy of
// up to six axes, and bilinear upsampling by integer factors (tfjs resizeBilinear with
// alignCorners = halfPixelCenters = false) with its backward pass as a gather (each dx element
// sums the outputs that read it, in row-major order: no atomics). One thread per output element;
// buffers are bound whole, offsets (floats) are uniforms.
import { FLAT_INDEX, type KernelDef } from '../kernel-def.js';

/** y[off + i] = value for i < n. */
export const shapeFill: KernelDef = {
  name: 'shapeFill',
  buffers: [['y', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['off', 'u32'], ['value', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  y[u.off + i] = u.value;
}
`,
};

/** For i < n = Π d: multi-index (i0..i5) of i over d0..d5, dst[dstOff + Σ ik·tk] = src[srcOff + Σ ik·sk]. */
export const stridedCopy: KernelDef = {
  name: 'stridedCopy',
  buffers: [['src', 'read', 'f32'], ['dst', 'read_write', 'f32']],
  uniforms: [['n', 'u32'], ['srcOff', 'u32'], ['dstOff', 'u32'],
    ['d0', 'u32'], ['d1', 'u32'], ['d2', 'u32'], ['d3', 'u32'], ['d4', 'u32'], ['d5', 'u32'],
    ['s0', 'u32'], ['s1', 'u32'], ['s2', 'u32'], ['s3', 'u32'], ['s4', 'u32'], ['s5', 'u32'],
    ['t0', 'u32'], ['t1', 'u32'], ['t2', 'u32'], ['t3', 'u32'], ['t4', 'u32'], ['t5', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  var rest = i;
  let i5 = rest % u.d5; rest = rest / u.d5;
  let i4 = rest % u.d4; rest = rest / u.d4;
  let i3 = rest % u.d3; rest = rest / u.d3;
  let i2 = rest % u.d2; rest = rest / u.d2;
  let i1 = rest % u.d1; rest = rest / u.d1;
  let i0 = rest;
  let s = i0 * u.s0 + i1 * u.s1 + i2 * u.s2 + i3 * u.s3 + i4 * u.s4 + i5 * u.s5;
  let t = i0 * u.t0 + i1 * u.t1 + i2 * u.t2 + i3 * u.t3 + i4 * u.t4 + i5 * u.t5;
  dst[u.dstOff + t] = src[u.srcOff + s];
}
`,
};

// The source position of output index r (factor s) as num/(2s), num ≥ 0 (see assembly/shape.ts).
const SRC_NUM = /* wgsl */ `
fn srcNum(r: i32, s: i32) -> u32 {
  if (u.half != 0u) { return u32(max(0, 2 * r + 1 - s)); }
  return u32(2 * r);
}`;

const BILINEAR_UNIFORMS: [string, 'u32'][] = [['n', 'u32'], ['h', 'u32'], ['w', 'u32'], ['c', 'u32'], ['sh', 'u32'], ['sw', 'u32'], ['half', 'u32'], ['inOff', 'u32'], ['outOff', 'u32']];

/** x [.., h, w, c] → y [.., h·sh, w·sw, c]; n = output elements. */
export const bilinearForward: KernelDef = {
  name: 'bilinearForward',
  buffers: [['x', 'read', 'f32'], ['y', 'read_write', 'f32']],
  uniforms: BILINEAR_UNIFORMS,
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${SRC_NUM}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= u.n) { return; }
  let outH = u.h * u.sh;
  let outW = u.w * u.sw;
  let k = i % u.c;
  let q = (i / u.c) % outW;
  let r = (i / (u.c * outW)) % outH;
  let b = i / (u.c * outW * outH);
  // Source position num/(2s): num = 2r, or 2r + 1 − s clamped at 0 with half-pixel centers.
  let ny = srcNum(i32(r), i32(u.sh));
  let nx = srcNum(i32(q), i32(u.sw));
  let y0 = ny / (2u * u.sh);
  let y1 = min(y0 + 1u, u.h - 1u);
  let x0 = nx / (2u * u.sw);
  let x1 = min(x0 + 1u, u.w - 1u);
  let fy = f32(ny - y0 * 2u * u.sh) / f32(2u * u.sh);
  let fx = f32(nx - x0 * 2u * u.sw) / f32(2u * u.sw);
  let img = u.inOff + b * u.h * u.w * u.c;
  let tl = x[img + (y0 * u.w + x0) * u.c + k];
  let tr = x[img + (y0 * u.w + x1) * u.c + k];
  let bl = x[img + (y1 * u.w + x0) * u.c + k];
  let br = x[img + (y1 * u.w + x1) * u.c + k];
  let t = tl + (tr - tl) * fx;
  let bb = bl + (br - bl) * fx;
  y[u.outOff + i] = t + (bb - t) * fy;
}
`,
};

/** dx [.., h, w, c] (overwritten) from dy [.., h·sh, w·sw, c]; n = input elements. */
export const bilinearBackward: KernelDef = {
  name: 'bilinearBackward',
  buffers: [['dy', 'read', 'f32'], ['dx', 'read_write', 'f32']],
  uniforms: BILINEAR_UNIFORMS,
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
${SRC_NUM}
fn axisWeight(r: i32, i: i32, s: i32, n: i32) -> f32 {
  let num = i32(srcNum(r, s));
  let i0 = num / (2 * s);
  let i1 = min(i0 + 1, n - 1);
  let f = f32(num - i0 * 2 * s) / f32(2 * s);
  var wt = 0.0;
  if (i0 == i) { wt += 1.0 - f; }
  if (i1 == i) { wt += f; }
  return wt;
}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.n) { return; }
  let h = i32(u.h); let w = i32(u.w); let c = u.c; let sh = i32(u.sh); let sw = i32(u.sw);
  let k = idx % c;
  let j = i32((idx / c) % u.w);
  let i = i32((idx / (c * u.w)) % u.h);
  let b = idx / (c * u.w * u.h);
  let outH = h * sh;
  let outW = w * sw;
  let g = u.inOff + b * u.h * u.sh * u.w * u.sw * c;
  var acc = 0.0;
  for (var r = max(0, (i - 1) * sh); r < min(outH, (i + 2) * sh); r++) {
    let wy = axisWeight(r, i, sh, h);
    if (wy == 0.0) { continue; }
    for (var q = max(0, (j - 1) * sw); q < min(outW, (j + 2) * sw); q++) {
      let wx = axisWeight(q, j, sw, w);
      if (wx == 0.0) { continue; }
      acc += dy[g + (u32(r) * u32(outW) + u32(q)) * c + k] * (wy * wx);
    }
  }
  dx[u.outOff + idx] = acc;
}
`,
};

export const SHAPE_KERNELS = { shapeFill, stridedCopy, bilinearForward, bilinearBackward };
export type ShapeKernelName = keyof typeof SHAPE_KERNELS;
