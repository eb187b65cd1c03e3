// Convolution as im2col + GEMM (the GEMMs are gemm.ts): im2col lays out col[M × K] with
// M = N·outH·outW rows and K = KH·KW·C columns ordered (r, s, c), the order of an HWIO filter's
// rows, so forward is col·W, the filter gradient colᵀ·dY and the input gradient dY·Wᵀ followed by
// col2im. col2im is written as a gather (one thread per dx element sums the dcol entries that
// read it), which needs no atomics and gives the same sum order on every run.
//
// The geometry uniforms are those of src/ops/conv.ts Conv2DGeometry. Pads are on the top/left
// (bottom/right padding only shows up as taps that fall outside the input).

import { FLAT_INDEX, type KernelDef, type ScalarType } from '../kernel-def.js';

const GEOMETRY: [string, ScalarType][] = [
  ['batch', 'u32'], ['inH', 'u32'], ['inW', 'u32'], ['inC', 'u32'], ['kh', 'u32'], ['kw', 'u32'],
  ['strideH', 'u32'], ['strideW', 'u32'], ['dilH', 'u32'], ['dilW', 'u32'],
  ['padTop', 'u32'], ['padLeft', 'u32'], ['outH', 'u32'], ['outW', 'u32'],
];

/** col[row, (r·kw + s)·C + c] = x[n, oh·sh − pt + r·dh, ow·sw − pl + s·dw, c], 0 outside. */
export const im2col: KernelDef = {
  name: 'im2col',
  buffers: [['x', 'read', 'f32'], ['col', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['xOff', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let K = u.kh * u.kw * u.inC;
  let row = idx / K;
  let q = idx % K;
  let c = q % u.inC;
  let rs = q / u.inC;
  let s = rs % u.kw;
  let r = rs / u.kw;
  let ow = row % u.outW;
  let oh = (row / u.outW) % u.outH;
  let n = row / (u.outW * u.outH);
  let ih = i32(oh * u.strideH + r * u.dilH) - i32(u.padTop);
  let iw = i32(ow * u.strideW + s * u.dilW) - i32(u.padLeft);
  var v = 0.0;
  if (ih >= 0 && ih < i32(u.inH) && iw >= 0 && iw < i32(u.inW)) {
    v = x[u.xOff + ((n * u.inH + u32(ih)) * u.inW + u32(iw)) * u.inC + c];
  }
  col[idx] = v;
}
`,
};

/** dx[n, ih, iw, c] (+)= Σ over the taps (oh, ow, r, s) that read it of dcol[row, (r·kw + s)·C + c]. */
export const col2im: KernelDef = {
  name: 'col2im',
  buffers: [['dcol', 'read', 'f32'], ['dx', 'read_write', 'f32']],
  uniforms: [...GEOMETRY, ['accumulate', 'u32'], ['total', 'u32']],
  workgroup: 64,
  body: /* wgsl */ `
${FLAT_INDEX}
@compute
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flatIndex(gid, nwg);
  if (idx >= u.total) { return; }
  let K = u.kh * u.kw * u.inC;
  let c = idx % u.inC;
  let iw = (idx / u.inC) % u.inW;
  let ih = (idx / (u.inC * u.inW)) % u.inH;
  let n = idx / (u.inC * u.inW * u.inH);
  var sum = 0.0;
  for (var r = 0u; r < u.kh; r++) {
    let th = i32(ih + u.padTop) - i32(r * u.dilH);
    if (th < 0 || (u32(th) % u.strideH) != 0u) { continue; }
    let oh = u32(th) / u.strideH;
    if (oh >= u.outH) { continue; }
    for (var s = 0u; s < u.kw; s++) {
      let tw = i32(iw + u.padLeft) - i32(s * u.dilW);
      if (tw < 0 || (u32(tw) % u.strideW) != 0u) { continue; }
      let ow = u32(tw) / u.strideW;
      if (ow >= u.outW) { continue; }
      sum += dcol[((n * u.outH + oh) * u.outW + ow) * K + (r * u.kw + s) * u.inC + c];
    }
  }
  if (u.accumulate != 0u) { sum += dx[idx]; }
  dx[idx] = sum;
}
`,
};
