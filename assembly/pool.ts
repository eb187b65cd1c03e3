// 2-D max and average pooling over NHWC f32 tensors, TensorFlow semantics.
//
// Geometry (validated and derived in TypeScript, src/ops/pool.ts): input x[n][h][w][c], output
// y[n][outH][outW][c]; output pixel (oy, ox) reads the window rows oy*sh - padTop + [0, fh) and
// columns ox*sw - padLeft + [0, fw). Taps outside the input are padding: they never win a max and
// are not counted by the average (TF's 'SAME' divisor counts only valid taps). TypeScript
// guarantees every window holds at least one valid tap.
//
// Channels are contiguous, so every kernel runs over 4 channels per f32x4 with a scalar tail for
// c % 4. All pointers are byte addresses of f32 (argmax: i32) arrays, 4-byte aligned; the heap
// hands out 64-byte aligned blocks, and a batch slice (pointer + b·h·w·c floats) is a valid call,
// which is how a thread pool splits the batch.

const LANES: v128 = i32x4(0, 1, 2, 3);

// First and one-past-last valid tap of a window starting at `start` along an axis of length `size`.
// @ts-ignore: decorator
@inline function firstTap(start: i32): i32 {
  return start < 0 ? -start : 0;
}
// @ts-ignore: decorator
@inline function endTap(start: i32, filter: i32, size: i32): i32 {
  return min(filter, size - start);
}

// The lanes where tap v replaces the running max: v > best, or v is NaN (a NaN tap wins and
// stays), exactly as the general loop decides.
// @ts-ignore: decorator
@inline function takeMax(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
}

/**
 * maxPoolForward for a 2×2 window when every window is whole (no padding on any side: the caller
 * checks (outH−1)·sh + 2 ≤ h and (outW−1)·sw + 2 ≤ w), c a multiple of 4. Same results and tie/NaN rules
 * as the general loop (first tap in row-major order wins ties); without argmax it is four loads
 * and three f32x4.max per four channels.
 */
function maxPool2x2(n: i32, h: i32, w: i32, c: i32, sh: i32, sw: i32, outH: i32, outW: i32,
  x: usize, y: usize, argmax: usize): void {
  const image = h * w * c;
  const tap = <usize>c << 2, row = <usize>(w * c) << 2;
  let yp = y, ap = argmax;
  for (let b = 0; b < n; b++) {
    const xb = x + (<usize>(b * image) << 2);
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const t0 = (oy * sh * w + ox * sw) * c;
        const p0 = xb + (<usize>t0 << 2);
        if (!argmax) {
          for (let o: usize = 0; o < tap; o += 16) {
            const m = f32x4.max(f32x4.max(v128.load(p0 + o), v128.load(p0 + tap + o)),
              f32x4.max(v128.load(p0 + row + o), v128.load(p0 + row + tap + o)));
            v128.store(yp, m);
            yp += 16;
          }
          continue;
        }
        const t1 = t0 + c, t2 = t0 + w * c, t3 = t2 + c;
        for (let ch = 0; ch < c; ch += 4) {
          const o = <usize>ch << 2;
          let best = v128.load(p0 + o);
          let idx = i32x4.add(i32x4.splat(t0 + ch), LANES);
          let v = v128.load(p0 + tap + o);
          let take = takeMax(v, best);
          best = v128.bitselect(v, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(t1 + ch), LANES), idx, take);
          v = v128.load(p0 + row + o);
          take = takeMax(v, best);
          best = v128.bitselect(v, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(t2 + ch), LANES), idx, take);
          v = v128.load(p0 + row + tap + o);
          take = takeMax(v, best);
          best = v128.bitselect(v, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(t3 + ch), LANES), idx, take);
          v128.store(yp, best);
          v128.store(ap, idx);
          yp += 16;
          ap += 16;
        }
      }
    }
  }
}

/**
 * maxPoolForward without argmax (inference), c a multiple of 4: one f32x4.max per tap instead of
 * the compare/select chain that tracks the winner (which was most of the pass). NaN propagates
 * (f32x4.max returns NaN when either lane is NaN), as in the tracking version.
 */
function maxPoolValues(n: i32, h: i32, w: i32, c: i32, fh: i32, fw: i32, sh: i32, sw: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, x: usize, y: usize): void {
  const image = h * w * c;
  const ninf = f32x4.splat(-Infinity);
  const rowBytes = <usize>(w * c) << 2, tapBytes = <usize>c << 2;
  let yp = y;
  for (let b = 0; b < n; b++) {
    const xb = x + (<usize>(b * image) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - padTop;
      const ky0 = firstTap(y0), ky1 = endTap(y0, fh, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - padLeft;
        const kx0 = firstTap(x0), kx1 = endTap(x0, fw, w);
        const first = xb + (<usize>(((y0 + ky0) * w + x0 + kx0) * c) << 2);
        for (let ch = 0; ch < c; ch += 4) {
          let best = ninf;
          let row = first + (<usize>ch << 2);
          for (let ky = ky0; ky < ky1; ky++) {
            let t = row;
            for (let kx = kx0; kx < kx1; kx++) {
              best = f32x4.max(best, v128.load(t));
              t += tapBytes;
            }
            row += rowBytes;
          }
          v128.store(yp, best);
          yp += 16;
        }
      }
    }
  }
}

/**
 * y = max over each window; argmax (if not 0) receives, per output element, the flat index of the
 * winning input element WITHIN ITS IMAGE: (iy·w + ix)·c + ch (TF's MaxPoolWithArgmax with
 * include_batch_in_index = false), so indices stay valid when the batch is split into slices.
 * Ties keep the first tap in row-major window order; a NaN tap wins and stays (NaN propagates).
 * x: n·h·w·c floats; y: n·outH·outW·c floats; argmax: n·outH·outW·c i32 or 0.
 */
export function maxPoolForward(n: i32, h: i32, w: i32, c: i32, fh: i32, fw: i32, sh: i32, sw: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, x: usize, y: usize, argmax: usize): void {
  if ((c & 3) == 0 && fh == 2 && fw == 2 && padTop == 0 && padLeft == 0 &&
    (outH - 1) * sh + 2 <= h && (outW - 1) * sw + 2 <= w) {
    // The CNNs' 2×2 pooling with whole windows: unrolled, no per-window bounds.
    maxPool2x2(n, h, w, c, sh, sw, outH, outW, x, y, argmax);
    return;
  }
  if (!argmax && (c & 3) == 0) {
    maxPoolValues(n, h, w, c, fh, fw, sh, sw, padTop, padLeft, outH, outW, x, y);
    return;
  }
  const c4 = c & ~3;
  const image = h * w * c;
  const ninf = f32x4.splat(-Infinity);
  let yp = y;
  let ap = argmax;
  for (let b = 0; b < n; b++) {
    const xb = x + (<usize>(b * image) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - padTop;
      const ky0 = firstTap(y0), ky1 = endTap(y0, fh, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - padLeft;
        const kx0 = firstTap(x0), kx1 = endTap(x0, fw, w);
        const firstIdx = ((y0 + ky0) * w + x0 + kx0) * c;
        for (let ch = 0; ch < c4; ch += 4) {
          let best = ninf;
          let idx = i32x4.add(i32x4.splat(firstIdx + ch), LANES);
          for (let ky = ky0; ky < ky1; ky++) {
            let t = ((y0 + ky) * w + x0 + kx0) * c + ch;
            for (let kx = kx0; kx < kx1; kx++) {
              const v = v128.load(xb + (<usize>t << 2));
              // Replace where v > best, or where v is NaN (so a NaN tap wins and then sticks).
              const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
              best = v128.bitselect(v, best, take);
              idx = v128.bitselect(i32x4.add(i32x4.splat(t), LANES), idx, take);
              t += c;
            }
          }
          v128.store(yp, best);
          if (argmax) v128.store(ap, idx);
          yp += 16;
          ap += 16;
        }
        for (let ch = c4; ch < c; ch++) {
          let best: f32 = -Infinity;
          let idx = firstIdx + ch;
          for (let ky = ky0; ky < ky1; ky++) {
            let t = ((y0 + ky) * w + x0 + kx0) * c + ch;
            for (let kx = kx0; kx < kx1; kx++) {
              const v = load<f32>(xb + (<usize>t << 2));
              if (v > best || v != v) {
                best = v;
                idx = t;
              }
              t += c;
            }
          }
          store<f32>(yp, best);
          if (argmax) store<i32>(ap, idx);
          yp += 4;
          ap += 4;
        }
      }
    }
  }
}

/**
 * dx = 0, then dx[image b][argmax[o]] += dy[o] for every output element o of image b: the gradient
 * goes to the tap that won the forward max. Zeroes dx itself (all n·h·w·c floats) because windows
 * overlap when stride < window, so contributions must accumulate.
 * dy, argmax: n·outH·outW·c (argmax from maxPoolForward with the same geometry); dx: n·h·w·c.
 */
export function maxPoolBackward(n: i32, h: i32, w: i32, c: i32, outH: i32, outW: i32,
  dy: usize, argmax: usize, dx: usize): void {
  const image = h * w * c;
  const outImage = outH * outW * c;
  memory.fill(dx, 0, <usize>(n * image) << 2);
  let dp = dy;
  let ap = argmax;
  for (let b = 0; b < n; b++) {
    const dxb = dx + (<usize>(b * image) << 2);
    for (let o = 0; o < outImage; o++) {
      const dst = dxb + (<usize>load<i32>(ap) << 2);
      store<f32>(dst, load<f32>(dst) + load<f32>(dp));
      dp += 4;
      ap += 4;
    }
  }
}

/**
 * y = mean of the valid (non-padded) taps of each window (TF's divisor). Layouts as maxPoolForward.
 */
export function avgPoolForward(n: i32, h: i32, w: i32, c: i32, fh: i32, fw: i32, sh: i32, sw: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, x: usize, y: usize): void {
  const c4 = c & ~3;
  const image = h * w * c;
  let yp = y;
  for (let b = 0; b < n; b++) {
    const xb = x + (<usize>(b * image) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - padTop;
      const ky0 = firstTap(y0), ky1 = endTap(y0, fh, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - padLeft;
        const kx0 = firstTap(x0), kx1 = endTap(x0, fw, w);
        const inv: f32 = <f32>1 / <f32>((ky1 - ky0) * (kx1 - kx0));
        const vinv = f32x4.splat(inv);
        for (let ch = 0; ch < c4; ch += 4) {
          let acc = f32x4.splat(0);
          for (let ky = ky0; ky < ky1; ky++) {
            let p = xb + (<usize>(((y0 + ky) * w + x0 + kx0) * c + ch) << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              acc = f32x4.add(acc, v128.load(p));
              p += <usize>c << 2;
            }
          }
          v128.store(yp, f32x4.mul(acc, vinv));
          yp += 16;
        }
        for (let ch = c4; ch < c; ch++) {
          let acc: f32 = 0;
          for (let ky = ky0; ky < ky1; ky++) {
            let p = xb + (<usize>(((y0 + ky) * w + x0 + kx0) * c + ch) << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              acc += load<f32>(p);
              p += <usize>c << 2;
            }
          }
          store<f32>(yp, acc * inv);
          yp += 4;
        }
      }
    }
  }
}

/**
 * dx = 0, then every valid tap of each window gets dy / (valid taps in that window). Zeroes dx
 * itself (n·h·w·c floats): overlapping windows accumulate. Layouts as avgPoolForward (dy ~ y).
 */
export function avgPoolBackward(n: i32, h: i32, w: i32, c: i32, fh: i32, fw: i32, sh: i32, sw: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, dy: usize, dx: usize): void {
  const c4 = c & ~3;
  const image = h * w * c;
  memory.fill(dx, 0, <usize>(n * image) << 2);
  let dp = dy;
  for (let b = 0; b < n; b++) {
    const dxb = dx + (<usize>(b * image) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - padTop;
      const ky0 = firstTap(y0), ky1 = endTap(y0, fh, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - padLeft;
        const kx0 = firstTap(x0), kx1 = endTap(x0, fw, w);
        const inv: f32 = <f32>1 / <f32>((ky1 - ky0) * (kx1 - kx0));
        const vinv = f32x4.splat(inv);
        for (let ch = 0; ch < c4; ch += 4) {
          const g = f32x4.mul(v128.load(dp), vinv);
          for (let ky = ky0; ky < ky1; ky++) {
            let p = dxb + (<usize>(((y0 + ky) * w + x0 + kx0) * c + ch) << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              v128.store(p, f32x4.add(v128.load(p), g));
              p += <usize>c << 2;
            }
          }
          dp += 16;
        }
        for (let ch = c4; ch < c; ch++) {
          const g = load<f32>(dp) * inv;
          for (let ky = ky0; ky < ky1; ky++) {
            let p = dxb + (<usize>(((y0 + ky) * w + x0 + kx0) * c + ch) << 2);
            for (let kx = kx0; kx < kx1; kx++) {
              store<f32>(p, load<f32>(p) + g);
              p += <usize>c << 2;
            }
          }
          dp += 4;
        }
      }
    }
  }
}
