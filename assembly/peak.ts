import { fmadd } from './simd';

/**
 * The machine's SIMD peak, measured: `iters` rounds of 12 independent 4-lane multiply-adds held in
 * registers (no memory traffic). FLOPs = iters * 12 * 4 * 2. The benchmark divides by time to get the
 * ceiling every kernel is compared against. Returns a value derived from the accumulators so the
 * work cannot be optimised away.
 */
export function peakFmaLoop(iters: i32): f32 {
  let a0 = f32x4.splat(0.0), a1 = f32x4.splat(0.1), a2 = f32x4.splat(0.2), a3 = f32x4.splat(0.3);
  let a4 = f32x4.splat(0.4), a5 = f32x4.splat(0.5), a6 = f32x4.splat(0.6), a7 = f32x4.splat(0.7);
  let a8 = f32x4.splat(0.8), a9 = f32x4.splat(0.9), a10 = f32x4.splat(1.0), a11 = f32x4.splat(1.1);
  const m = f32x4.splat(0.999999), b = f32x4.splat(0.000001);
  for (let i = 0; i < iters; i++) {
    a0 = fmadd(a0, m, b); a1 = fmadd(a1, m, b); a2 = fmadd(a2, m, b); a3 = fmadd(a3, m, b);
    a4 = fmadd(a4, m, b); a5 = fmadd(a5, m, b); a6 = fmadd(a6, m, b); a7 = fmadd(a7, m, b);
    a8 = fmadd(a8, m, b); a9 = fmadd(a9, m, b); a10 = fmadd(a10, m, b); a11 = fmadd(a11, m, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
    f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)),
      f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
