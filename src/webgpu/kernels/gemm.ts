// Tiled SGEMM: C[m×n] (+)= op(A)·op(B) (+ bias[n]) (ReLU), row-major C with leading dimension n.
// A and B are read through element strides (rsA, csA) / (rsB, csB) exactly as the wasm sgemm does
// (see src/ops/matmul.ts gemmStrides), which gives all four transpose combinations one kernel.
// Every operand is (buffer, element offset): the model's weights are slices of one flat buffer
// whose offsets are 64-byte aligned, below WebGPU's 256-byte binding-offset alignment.
//
// A workgroup of 8×8 threads computes a 32×32 tile of C, each thread a 4×4 block held in
// registers; op(A) and op(B) are staged through workgroup memory 16 deep along k. Edges (m, n, k
// not multiples of the tile) load zeros and skip the store.

import type { KernelDef } from '../kernel-def.js';

export const GEMM_TILE = 32;

export const gemm: KernelDef = {
  name: 'gemm',
  buffers: [['a', 'read', 'f32'], ['b', 'read', 'f32'], ['bias', 'read', 'f32'], ['c', 'read_write', 'f32']],
  uniforms: [
    ['m', 'u32'], ['n', 'u32'], ['k', 'u32'],
    ['aOff', 'u32'], ['rsA', 'u32'], ['csA', 'u32'],
    ['bOff', 'u32'], ['rsB', 'u32'], ['csB', 'u32'],
    ['cOff', 'u32'], ['biasOff', 'u32'],
    // bit 0: accumulate into C, bit 1: ReLU, bit 2: add bias
    ['flags', 'u32'],
  ],
  workgroup: [8, 8],
  body: /* wgsl */ `
const TK: u32 = 16u;
var<workgroup> As: array<f32, 512>; // [p][i], p < 16, i < 32
var<workgroup> Bs: array<f32, 512>; // [p][j]

@compute
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tid = lid.y * 8u + lid.x;
  let row0 = wid.y * 32u;
  let col0 = wid.x * 32u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < u.k; k0 += TK) {
    for (var e = tid; e < 512u; e += 64u) {
      let p = e / 32u;
      let q = e % 32u;
      let gp = k0 + p;
      var av = 0.0;
      let gi = row0 + q;
      if (gi < u.m && gp < u.k) { av = a[u.aOff + gi * u.rsA + gp * u.csA]; }
      As[e] = av;
      var bv = 0.0;
      let gj = col0 + q;
      if (gj < u.n && gp < u.k) { bv = b[u.bOff + gp * u.rsB + gj * u.csB]; }
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var p = 0u; p < TK; p++) {
      let ar = vec4f(As[p * 32u + lid.y * 4u], As[p * 32u + lid.y * 4u + 1u], As[p * 32u + lid.y * 4u + 2u], As[p * 32u + lid.y * 4u + 3u]);
      let bc = vec4f(Bs[p * 32u + lid.x * 4u], Bs[p * 32u + lid.x * 4u + 1u], Bs[p * 32u + lid.x * 4u + 2u], Bs[p * 32u + lid.x * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r * 4u] = fma(ar[r], bc.x, acc[r * 4u]);
        acc[r * 4u + 1u] = fma(ar[r], bc.y, acc[r * 4u + 1u]);
        acc[r * 4u + 2u] = fma(ar[r], bc.z, acc[r * 4u + 2u]);
        acc[r * 4u + 3u] = fma(ar[r], bc.w, acc[r * 4u + 3u]);
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + lid.y * 4u + r;
    if (i >= u.m) { break; }
    for (var s = 0u; s < 4u; s++) {
      let j = col0 + lid.x * 4u + s;
      if (j >= u.n) { break; }
      let ci = u.cOff + i * u.n + j;
      var v = acc[r * 4u + s];
      if ((u.flags & 1u) != 0u) { v += c[ci]; }
      if ((u.flags & 4u) != 0u) { v += bias[u.biasOff + j]; }
      if ((u.flags & 2u) != 0u) { v = max(v, 0.0); }
      c[ci] = v;
    }
  }
}
`,
};
