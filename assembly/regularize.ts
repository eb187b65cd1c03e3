// Weight and activity regularization (Keras' L1L2): penalty l1·Σ|x| + l2·Σx² and its gradient
// l1·sign(x) + 2·l2·x (sign(0) = 0, as tf.sign).
//
// x, g: n floats, byte addresses, 4-byte aligned (16 is faster), not overlapping. One thread: the
// penalty is summed in a fixed order (f64 lanes, then lane order), so it is the same every run.

/** Adds the gradient to g when g ≠ 0; returns the penalty. */
export function regularizeL1L2(n: i32, x: usize, g: usize, l1: f32, l2: f32): f64 {
  const n4 = n & ~3;
  const vl1 = f32x4.splat(l1), vl2x2 = f32x4.splat(2 * l2), zero = f32x4.splat(0);
  const one = f32x4.splat(1), minusOne = f32x4.splat(-1);
  let abs0: f64 = 0, abs1: f64 = 0, sq0: f64 = 0, sq1: f64 = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const a = f32x4.abs(v);
    const s = f32x4.mul(v, v);
    // f64 accumulators, the four f32 lanes added in lane order.
    abs0 += <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1);
    abs1 += <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
    sq0 += <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1);
    sq1 += <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3);
    if (g) {
      const sign = v128.bitselect(one, v128.bitselect(minusOne, zero, f32x4.lt(v, zero)), f32x4.gt(v, zero));
      v128.store(g + o, f32x4.add(v128.load(g + o), f32x4.add(f32x4.mul(vl1, sign), f32x4.mul(vl2x2, v))));
    }
  }
  let absSum = abs0 + abs1, sqSum = sq0 + sq1;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    absSum += <f64>Mathf.abs(v);
    sqSum += <f64>(v * v);
    if (g) {
      const sign: f32 = v > 0 ? 1 : v < 0 ? -1 : 0;
      store<f32>(g + o, load<f32>(g + o) + (l1 * sign + 2 * l2 * v));
    }
  }
  return <f64>l1 * absSum + <f64>l2 * sqSum;
}
