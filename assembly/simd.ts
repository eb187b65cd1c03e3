// Helpers shared by the kernel families (not exported from the module). One source, two builds:
// the relaxed build compiles `fmadd` to f32x4.relaxed_madd (a real FMA on x86/ARM), the plain build
// to mul + add.

/** a * b + c, four lanes. FMA in the relaxed-SIMD build, mul+add otherwise. */
// @ts-ignore: decorator
@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
