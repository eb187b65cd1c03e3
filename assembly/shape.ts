// Shape-layer kernels (ZeroPadding2D, Cropping2D, Permute, UpSampling2D bilinear): a constant fill,
// a general strided copy of up to six axes, and bilinear upsampling by integer factors with its
// backward pass. Nearest upsampling, global pooling and reshape need no kernel of their own (they
// are broadcasts, reductions, poolings or views: see src/layers/).
//
// All pointers are byte addresses of f32 arrays, 4-byte aligned (the heap's 64 is faster); sizes
// and strides are in floats. Every kernel takes a [start, start + count) range of independent rows
// (see each), so a thread pool splits a call into disjoint outputs.

/** y[i] = value for i < n. */
export function fillF32(n: i32, value: f32, y: usize): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

/**
 * Strided copy over six axes (d0..d5; pad unused leading axes with 1): for every index (i0..i5),
 * dst[Σ ik·tk] = src[Σ ik·sk] (s: source strides, t: destination strides, in floats, any sign ≥ 0).
 * A call covers the rows r = ((i0·d1 + i1)·d2 + i2)·d3 + i3)·d4 + i4 in [start, start + count),
 * each row the inner axis d5 (a memory.copy when both inner strides are 1). Distinct indices must
 * map to distinct destinations (a permutation, a crop, an interior placement).
 */
export function stridedCopy(d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32,
  t0: i32, t1: i32, t2: i32, t3: i32, t4: i32, t5: i32,
  start: i32, count: i32, src: usize, dst: usize): void {
  const contiguous = s5 == 1 && t5 == 1;
  const bytes = <usize>d5 << 2;
  for (let r = start; r < start + count; r++) {
    let rest = r;
    const i4 = rest % d4; rest /= d4;
    const i3 = rest % d3; rest /= d3;
    const i2 = rest % d2; rest /= d2;
    const i1 = rest % d1; rest /= d1;
    const i0 = rest;
    const so = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
    const to = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
    const sp = src + (<usize>so << 2), tp = dst + (<usize>to << 2);
    if (contiguous) {
      memory.copy(tp, sp, bytes);
    } else {
      const ss = <usize>s5 << 2, ts = <usize>t5 << 2;
      for (let k = 0; k < d5; k++) store<f32>(tp + <usize>k * ts, load<f32>(sp + <usize>k * ss));
    }
  }
}

// Bilinear upsampling by integer factors, in tfjs resizeBilinear's two coordinate modes:
// - asymmetric (alignCorners = halfPixelCenters = false, what tfjs' UpSampling2D runs): output row
//   r of outH = h·sh reads source row r/sh;
// - half-pixel centers (half = 1: Keras 3, PyTorch align_corners=False, ONNX 'half_pixel'):
//   source row (r + ½)/sh − ½, clamped at 0.
// Both are num/(2·sh) with num = 2r (− (sh − 1) for half-pixel), so y0 = ⌊num/(2sh)⌋ and
// fy = (num mod 2sh)/(2sh) are exact integer arithmetic (the same f32 fy either way for the
// asymmetric mode); y1 = min(y0 + 1, h − 1); columns alike;
// value = top + (bottom − top)·fy with top = x[y0,x0] + (x[y0,x1] − x[y0,x0])·fx.
// x: NHWC [n, h, w, c]; y: [n, h·sh, w·sw, c].

/** The source position of output index r along an axis (factor s): num/(2s), num ≥ 0. */
// @ts-ignore: decorator
@inline function srcNum(r: i32, s: i32, half: i32): i32 {
  return half ? max(0, 2 * r + 1 - s) : 2 * r;
}

/** Forward over output rows ρ = b·(h·sh) + r in [start, start + count). */
export function bilinearForward(h: i32, w: i32, c: i32, sh: i32, sw: i32, half: i32, start: i32, count: i32, x: usize, y: usize): void {
  const outH = h * sh, outW = w * sw;
  const rowBytes = <usize>(w * c) << 2;
  for (let rho = start; rho < start + count; rho++) {
    const b = rho / outH, r = rho - b * outH;
    const ny = srcNum(r, sh, half), y0 = ny / (2 * sh), y1 = min(y0 + 1, h - 1);
    const fy = <f32>(ny - y0 * 2 * sh) / <f32>(sh + sh);
    const img = x + <usize>b * <usize>h * rowBytes;
    const top = img + <usize>y0 * rowBytes, bot = img + <usize>y1 * rowBytes;
    let out = y + <usize>rho * (<usize>(outW * c) << 2);
    const vfy = f32x4.splat(fy);
    for (let q = 0; q < outW; q++) {
      const nx = srcNum(q, sw, half), x0 = nx / (2 * sw), x1 = min(x0 + 1, w - 1);
      const fx = <f32>(nx - x0 * 2 * sw) / <f32>(sw + sw);
      const vfx = f32x4.splat(fx);
      const o0 = <usize>(x0 * c) << 2, o1 = <usize>(x1 * c) << 2;
      let k = 0;
      for (; k + 4 <= c; k += 4) {
        const kb = <usize>k << 2;
        const tl = v128.load(top + o0 + kb), tr = v128.load(top + o1 + kb);
        const bl = v128.load(bot + o0 + kb), br = v128.load(bot + o1 + kb);
        const t = f32x4.add(tl, f32x4.mul(f32x4.sub(tr, tl), vfx));
        const bb = f32x4.add(bl, f32x4.mul(f32x4.sub(br, bl), vfx));
        v128.store(out + kb, f32x4.add(t, f32x4.mul(f32x4.sub(bb, t), vfy)));
      }
      for (; k < c; k++) {
        const kb = <usize>k << 2;
        const tl = load<f32>(top + o0 + kb), tr = load<f32>(top + o1 + kb);
        const bl = load<f32>(bot + o0 + kb), br = load<f32>(bot + o1 + kb);
        const t = tl + (tr - tl) * fx, bb = bl + (br - bl) * fx;
        store<f32>(out + kb, t + (bb - t) * fy);
      }
      out += <usize>c << 2;
    }
  }
}

/** The weight of source index i in output index r of a bilinear axis (factor s, n source indices). */
// @ts-ignore: decorator
@inline function axisWeight(r: i32, i: i32, s: i32, n: i32, half: i32): f32 {
  const num = srcNum(r, s, half), i0 = num / (2 * s), i1 = min(i0 + 1, n - 1);
  const f = <f32>(num - i0 * 2 * s) / <f32>(s + s);
  let wt: f32 = 0;
  if (i0 == i) wt += 1 - f;
  if (i1 == i) wt += f;
  return wt;
}

/**
 * Backward: dx (overwritten) over input rows ρ = b·h + i in [start, start + count); each dx element
 * sums dy over the outputs that read it (within rows [(i−1)·sh, (i+2)·sh), columns alike: the
 * half-pixel mode reads up to half a pixel later), in row-major order.
 */
export function bilinearBackward(h: i32, w: i32, c: i32, sh: i32, sw: i32, half: i32, start: i32, count: i32, dy: usize, dx: usize): void {
  const outH = h * sh, outW = w * sw;
  const outRow = <usize>(outW * c) << 2;
  for (let rho = start; rho < start + count; rho++) {
    const b = rho / h, i = rho - b * h;
    const g = dy + <usize>b * <usize>outH * outRow;
    const r0 = max(0, (i - 1) * sh), r1 = min(outH, (i + 2) * sh);
    let out = dx + <usize>rho * (<usize>(w * c) << 2);
    for (let j = 0; j < w; j++) {
      const q0 = max(0, (j - 1) * sw), q1 = min(outW, (j + 2) * sw);
      let k = 0;
      for (; k + 4 <= c; k += 4) {
        let acc = f32x4.splat(0);
        for (let r = r0; r < r1; r++) {
          const wy = axisWeight(r, i, sh, h, half);
          if (wy == 0) continue;
          for (let q = q0; q < q1; q++) {
            const wx = axisWeight(q, j, sw, w, half);
            if (wx == 0) continue;
            const v = v128.load(g + <usize>r * outRow + (<usize>(q * c + k) << 2));
            acc = f32x4.add(acc, f32x4.mul(v, f32x4.splat(wy * wx)));
          }
        }
        v128.store(out + (<usize>k << 2), acc);
      }
      for (; k < c; k++) {
        let acc: f32 = 0;
        for (let r = r0; r < r1; r++) {
          const wy = axisWeight(r, i, sh, h, half);
          if (wy == 0) continue;
          for (let q = q0; q < q1; q++) {
            const wx = axisWeight(q, j, sw, w, half);
            if (wx == 0) continue;
            acc += load<f32>(g + <usize>r * outRow + (<usize>(q * c + k) << 2)) * (wy * wx);
          }
        }
        store<f32>(out + (<usize>k << 2), acc);
      }
      out += <usize>c << 2;
    }
  }
}
