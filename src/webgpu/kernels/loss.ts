// The loss of a batch in one dispatch of one workgroup: each of 64 threads takes rows r ≡ lid
// (mod 64), computes the row's loss, whether its prediction is correct and (optionally) the
// gradient, and the workgroup tree-reduces the loss sum and correct count into stats[2·slot],
// stats[2·slot + 1] (or adds to them: evaluate sums its batches on the GPU and reads once).
//
// mode 0: softmax cross-entropy on logits (the fused softmax output; the wasm kernel's formulas):
//         loss = −Σ t·log softmax(z), grad = scale·(p·Σt − t).
// mode 1: mean squared error over the row, grad = scale·2(out − t)/classes.
// Labels: sparse (one float class id per row) or dense (a row of `classes` floats). correct: the
// first arg-max of the output equals the label (dense: the label row's first arg-max); with one
// class (MSE), round(out) equals the target.

import type { KernelDef } from '../kernel-def.js';

export const batchLoss: KernelDef = {
  name: 'batchLoss',
  buffers: [['out', 'read', 'f32'], ['labels', 'read', 'f32'], ['grad', 'read_write', 'f32'], ['stats', 'read_write', 'f32']],
  uniforms: [['rows', 'u32'], ['classes', 'u32'], ['mode', 'u32'], ['sparse', 'u32'], ['writeGrad', 'u32'],
    ['slot', 'u32'], ['accumulate', 'u32'], ['scale', 'f32']],
  workgroup: 64,
  body: /* wgsl */ `
var<workgroup> lossPart: array<f32, 64>;
var<workgroup> okPart: array<f32, 64>;

fn label(r: u32, j: u32) -> f32 {
  if (u.sparse != 0u) { return select(0.0, 1.0, u32(labels[r]) == j); }
  return labels[r * u.classes + j];
}

@compute
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var lossSum = 0.0;
  var ok = 0.0;
  let C = u.classes;
  for (var r = lid.x; r < u.rows; r += 64u) {
    let o = r * C;
    var best = 0u;
    var mx = out[o];
    for (var j = 1u; j < C; j++) {
      if (out[o + j] > mx) { mx = out[o + j]; best = j; }
    }
    var truth = 0u;
    if (u.sparse != 0u) {
      truth = u32(labels[r]);
    } else {
      var tb = labels[o];
      for (var j = 1u; j < C; j++) {
        if (labels[o + j] > tb) { tb = labels[o + j]; truth = j; }
      }
    }
    if (u.mode == 0u) {
      var s = 0.0;
      var tsum = 0.0;
      for (var j = 0u; j < C; j++) { s += exp(out[o + j] - mx); tsum += label(r, j); }
      let logS = log(s);
      for (var j = 0u; j < C; j++) {
        let t = label(r, j);
        let logp = out[o + j] - mx - logS;
        lossSum -= t * logp;
        if (u.writeGrad != 0u) { grad[o + j] = u.scale * (exp(logp) * tsum - t); }
      }
      if (best == truth) { ok += 1.0; }
    } else {
      var s = 0.0;
      for (var j = 0u; j < C; j++) {
        let d = out[o + j] - label(r, j);
        s += d * d;
        if (u.writeGrad != 0u) { grad[o + j] = u.scale * 2.0 * d / f32(C); }
      }
      lossSum += s / f32(C);
      if (C == 1u) {
        if (round(out[o]) == label(r, 0u)) { ok += 1.0; }
      } else if (best == truth) { ok += 1.0; }
    }
  }
  lossPart[lid.x] = lossSum;
  okPart[lid.x] = ok;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid.x < w) {
      lossPart[lid.x] += lossPart[lid.x + w];
      okPart[lid.x] += okPart[lid.x + w];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    if (u.accumulate != 0u) {
      stats[2u * u.slot] += lossPart[0];
      stats[2u * u.slot + 1u] += okPart[0];
    } else {
      stats[2u * u.slot] = lossPart[0];
      stats[2u * u.slot + 1u] = okPart[0];
    }
  }
}
`,
};

/** out[0] = Σ loss slots / count, out[1] = Σ correct slots / count (evaluate's scalars). */
export const finishMetrics: KernelDef = {
  name: 'finishMetrics',
  buffers: [['stats', 'read', 'f32'], ['result', 'read_write', 'f32']],
  uniforms: [['slots', 'u32'], ['count', 'f32']],
  workgroup: 1,
  body: /* wgsl */ `
@compute
fn main() {
  var l = 0.0;
  var c = 0.0;
  for (var i = 0u; i < u.slots; i++) { l += stats[2u * i]; c += stats[2u * i + 1u]; }
  result[0] = l / u.count;
  result[1] = c / u.count;
}
`,
};
