// Turning stored data into kernel inputs: uint8 pixels into scaled f32 (the per-batch gather of
// uint8Images). The product is taken in f64 and rounded once to f32, exactly as JavaScript's
// Float32Array store of `byte * scale` rounds it, so inputs are bit-identical to the JS formula.

/**
 * dst[i] = f32(f64(src[i]) · scale) for i < n. src: n bytes (any alignment); dst: n f32
 * (4-byte aligned). Four pixels per step: widen to u32, convert to f64x2 pairs, multiply, demote.
 */
export function u8ToF32(n: i32, src: usize, dst: usize, scale: f64): void {
  const s = f64x2.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(src + <usize>i)));
    const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_u(w), s));
    const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_u(v128.shuffle<i32>(w, w, 2, 3, 0, 1)), s));
    v128.store(dst + (<usize>i << 2), v128.shuffle<i32>(lo, hi, 0, 1, 4, 5));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>(<f64>load<u8>(src + <usize>i) * scale));
}
