// Helpers shared by the kernel families (not exported from the module). One source, two builds:
// the relaxed build compiles `fmadd` to f32x4.relaxed_madd (a real FMA on x86/ARM), the plain build
// to mul + add.

/** a * b + c, four lanes. FMA in the relaxed-SIMD build, mul+add otherwise. */
// @ts-ignore: decorator
@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * e^v in four lanes (Cephes' expf: v = k·ln 2 + r, a degree-5 polynomial for e^r, 2^k through the
 * exponent bits); relative error ~1e-7, vs ~20× the time for the scalar Mathf.exp per lane. v is
 * clamped to [−87.3, 88] (2^k stays a normal float: below, e^v < 1.2e-38 comes out ~1e-38, above
 * e^88 instead of overflowing — callers that need ∞ or 0 there select it); NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function expV(v: v128): v128 {
  const x0 = f32x4.max(f32x4.min(v, f32x4.splat(88.0)), f32x4.splat(-87.3));
  const k = f32x4.floor(f32x4.add(f32x4.mul(x0, f32x4.splat(1.44269504088896341)), f32x4.splat(0.5)));
  let x = f32x4.sub(x0, f32x4.mul(k, f32x4.splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(5.0000001201e-1));
  const e = f32x4.add(f32x4.add(f32x4.mul(p, z), x), f32x4.splat(1));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(e, pow2);
}

/**
 * 1 / (1 + e^−v) in four lanes: exactly 0 where e^−v overflows f32 (v < −88.72, as the scalar form
 * gives), so x·sigmoid(x) at −∞ is NaN in both forms.
 */
// @ts-ignore: decorator
@inline export function sigmoidV(v: v128): v128 {
  const one = f32x4.splat(1);
  const r = f32x4.div(one, f32x4.add(one, expV(f32x4.neg(v))));
  return v128.andnot(r, f32x4.lt(v, f32x4.splat(-88.72)));
}

/**
 * tanh in four lanes (Cephes' tanhf): an odd polynomial below |v| = 0.625, 1 − 2/(e^{2|v|} + 1)
 * with v's sign above (no cancellation near 0, exactly ±1 far out, −0 stays −0); NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function tanhV(v: v128): v128 {
  const ax = f32x4.abs(v);
  const z = f32x4.mul(v, v);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const one = f32x4.splat(1);
  // v·(1 + z·p), not v + v·z·p: −0 stays −0.
  const small = f32x4.mul(v, f32x4.add(one, f32x4.mul(z, p)));
  const e = expV(f32x4.add(ax, ax));
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
  const signed = v128.or(big, v128.and(v, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}
