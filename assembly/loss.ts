// Fused softmax + cross-entropy over rows of logits, forward and gradient in one pass, plus a
// cheap NaN/Inf scan the callers use to explain a non-finite loss.
//
// Per row r (logits z = z[r][0..classes), p = softmax(z), M = max z, S = Σ e^(z−M)):
//   sparse labels (one f32 class index per row, label l):  loss_r = (M − z_l) + log S
//   dense labels  (t = labels[r][0..classes), one-hot or probabilities):
//                                      loss_r = Σ_j t_j (M − z_j) + (Σ_j t_j) · log S
// Written as differences from M so huge logits (1e4) lose no precision: M − z_l is exact-ish
// where log-sum-exp minus z_l would cancel catastrophically. The loss sum is accumulated in f64.
// Gradient of loss_r times `scale` (1/batch for a mean): sparse (p − onehot(l))·scale, dense
// (p·Σt − t)·scale, which is the usual p − t when each label row sums to 1.

/** Size in bytes of the `out` block softmaxCrossEntropy writes: three f64. */
export const XENT_OUT_BYTES: i32 = 24;

/**
 * Softmax cross-entropy over rows×classes row-major logits.
 * labels: sparse = 1 → rows f32 class indices; sparse = 0 → rows×classes f32 label rows.
 * probs: 0, or rows×classes f32 receiving softmax(z). dlogits: 0 (loss only, for evaluate), or
 * rows×classes f32 receiving the scaled gradient. logits, labels, probs and dlogits must not
 * overlap (a row's exps are staged in dlogits/probs while its logits are still being read).
 * out (8-byte aligned, XENT_OUT_BYTES): f64 [lossSum, correct, firstBadLabelRow]:
 *   lossSum = Σ_r loss_r (unscaled); correct = rows whose first-max logit index equals the label
 *   (dense: the first-max index of the label row, as Keras' categorical accuracy);
 *   firstBadLabelRow = first row whose sparse label is not an integer in [0, classes), else −1.
 *   Such rows are skipped (no loss, no gradient, dlogits row = p·scale) so memory stays safe;
 *   the TypeScript wrapper turns them into an error.
 */
export function softmaxCrossEntropy(rows: i32, classes: i32, logits: usize, labels: usize, sparse: i32,
  probs: usize, dlogits: usize, scale: f32, out: usize): void {
  const rowBytes = <usize>classes << 2;
  let lossSum: f64 = 0;
  let correct: i32 = 0;
  let badRow: i32 = -1;
  // exps go into whichever output exists so e^(z−M) is computed once.
  const tmp: usize = dlogits ? dlogits : probs;
  for (let r = 0; r < rows; r++) {
    const zr = logits + <usize>r * rowBytes;
    let mx: f32 = -Infinity;
    let arg: i32 = 0;
    for (let j = 0; j < classes; j++) {
      const v = load<f32>(zr + (<usize>j << 2));
      if (v > mx) {
        mx = v;
        arg = j;
      }
    }
    // A NaN logit is skipped by the max; it still makes e^(z−M) NaN below, so the loss is NaN.
    let sum: f64 = 0;
    if (tmp) {
      const er = tmp + <usize>r * rowBytes;
      for (let j = 0; j < classes; j++) {
        const e = Mathf.exp(load<f32>(zr + (<usize>j << 2)) - mx);
        store<f32>(er + (<usize>j << 2), e);
        sum += e;
      }
    } else {
      for (let j = 0; j < classes; j++) sum += Mathf.exp(load<f32>(zr + (<usize>j << 2)) - mx);
    }
    const logS = Math.log(sum);
    const inv = <f32>(1 / sum);

    let label: i32 = -1;
    let tsum: f32 = 1;
    if (sparse) {
      const l = load<f32>(labels + (<usize>r << 2));
      if (l >= 0 && l < <f32>classes && Mathf.floor(l) == l) {
        label = <i32>l;
        lossSum += <f64>(mx - load<f32>(zr + (<usize>label << 2))) + logS;
        if (arg == label) correct++;
      } else if (badRow < 0) {
        badRow = r;
      }
    } else {
      const tr = labels + <usize>r * rowBytes;
      let ts: f64 = 0;
      let tz: f64 = 0;
      let tmax: f32 = -Infinity;
      let targ: i32 = 0;
      for (let j = 0; j < classes; j++) {
        const t = load<f32>(tr + (<usize>j << 2));
        ts += t;
        tz += <f64>t * <f64>(mx - load<f32>(zr + (<usize>j << 2)));
        if (t > tmax) {
          tmax = t;
          targ = j;
        }
      }
      lossSum += tz + ts * logS;
      tsum = <f32>ts;
      if (arg == targ) correct++;
    }

    if (tmp) {
      const er = tmp + <usize>r * rowBytes;
      const pr = probs + <usize>r * rowBytes;
      const gr = dlogits + <usize>r * rowBytes;
      const tr = labels + <usize>r * rowBytes;
      const gs = tsum * scale;
      for (let j = 0; j < classes; j++) {
        const o = <usize>j << 2;
        const p = load<f32>(er + o) * inv;
        if (probs) store<f32>(pr + o, p);
        if (dlogits) {
          let g = p * gs;
          if (sparse) {
            if (j == label) g -= scale;
          } else {
            g -= load<f32>(tr + o) * scale;
          }
          store<f32>(gr + o, g);
        }
      }
    }
  }
  store<f64>(out, lossSum);
  store<f64>(out, <f64>correct, 8);
  store<f64>(out, <f64>badRow, 16);
}

/**
 * Index of the first NaN or ±Inf among n f32 at x, or −1. The common all-finite case is one SIMD
 * pass: v·0 is 0 for finite v and NaN otherwise, and NaN survives the running sum.
 */
export function hasNonFinite(n: i32, x: usize): i32 {
  const n4 = n & ~3;
  const zero = f32x4.splat(0);
  let acc = zero;
  let i = 0;
  for (; i < n4; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>i << 2)), zero));
  let bad = v128.any_true(f32x4.ne(acc, acc));
  for (let k = i; k < n; k++) {
    const v = load<f32>(x + (<usize>k << 2));
    if (v - v != 0) bad = true;
  }
  if (!bad) return -1;
  for (let k = 0; k < n; k++) {
    const v = load<f32>(x + (<usize>k << 2));
    if (v - v != 0) return k;
  }
  return -1;
}
