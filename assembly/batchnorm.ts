// Batch normalization kernels (Keras/tfjs BatchNormalization): per-channel batch statistics,
// the per-channel affine y = x·a[c] + b[c] (inference, and training with a, b from the batch's
// statistics), and the backward pass (dx, dgamma, dbeta).
//
// Layout. x (and y, dy, dx) is a contiguous f32 array viewed as [outer, C, inner]: C is the
// normalized axis, outer the product of the axes before it (batch included), inner the product of
// the axes after it. NHWC with axis −1 is [N·H·W, C, 1]: inner = 1, and the loops are SIMD across
// channels (4 per f32x4, scalar tail for C % 4); with inner > 1 they are SIMD along inner.
// Per-channel vectors (mean, variance, invStd, a, b, gamma, beta, moving stats, coef) are C
// contiguous f32. All pointers are byte addresses, 4-byte aligned (the heap's 64 is faster);
// partials are f64 arrays, 8-byte aligned.
//
// Determinism. The reductions split outer into fixed chunks of `rows` outer indices (a function of
// the shape only): each chunk writes its own f64 partial sums, and the merges add the partials in
// chunk order. Threads take whole chunks, so results do not depend on the thread count.
//
// Statistics are shifted sums (shift[c] = x[0, c, 0], a sample of the channel, so the sums do not
// cancel catastrophically): Σ(x − s) and Σ(x − s)², accumulated in f32 within a chunk and in f64
// across chunks. variance = E[(x − s)²] − E[x − s]², the biased (population) variance tfjs uses.

// @ts-ignore: decorator
@inline function chunkBase(chunk: i32, rows: i32, C: i32, inner: i32): usize {
  return <usize>chunk * <usize>rows * <usize>C * <usize>inner << 2;
}

/**
 * Statistics partials of chunks [c0, c0 + count): chunk j covers outer indices
 * [j·rows, min((j + 1)·rows, outer)) and writes partials[j·2C + c] = Σ(x − shift[c]),
 * partials[j·2C + C + c] = Σ(x − shift[c])² (f64), shift[c] = x[0, c, 0].
 */
export function bnStatsPartials(C: i32, inner: i32, outer: i32, rows: i32, c0: i32, count: i32, x: usize, partials: usize): void {
  const cs = <usize>inner << 2;
  for (let j = c0; j < c0 + count; j++) {
    const r0 = j * rows, r1 = min(r0 + rows, outer);
    const p = partials + (<usize>j * <usize>(2 * C) << 3);
    const rowBytes = <usize>C * cs;
    if (inner == 1) {
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const off = <usize>c << 2;
        const s = v128.load(x + off);
        let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
        let q = x + <usize>r0 * rowBytes + off;
        for (let r = r0; r < r1; r++) {
          const d = f32x4.sub(v128.load(q), s);
          s1 = f32x4.add(s1, d);
          s2 = f32x4.add(s2, f32x4.mul(d, d));
          q += rowBytes;
        }
        store<f64>(p + (<usize>c << 3), <f64>f32x4.extract_lane(s1, 0));
        store<f64>(p + (<usize>(c + 1) << 3), <f64>f32x4.extract_lane(s1, 1));
        store<f64>(p + (<usize>(c + 2) << 3), <f64>f32x4.extract_lane(s1, 2));
        store<f64>(p + (<usize>(c + 3) << 3), <f64>f32x4.extract_lane(s1, 3));
        store<f64>(p + (<usize>(C + c) << 3), <f64>f32x4.extract_lane(s2, 0));
        store<f64>(p + (<usize>(C + c + 1) << 3), <f64>f32x4.extract_lane(s2, 1));
        store<f64>(p + (<usize>(C + c + 2) << 3), <f64>f32x4.extract_lane(s2, 2));
        store<f64>(p + (<usize>(C + c + 3) << 3), <f64>f32x4.extract_lane(s2, 3));
      }
      for (; c < C; c++) {
        const off = <usize>c << 2;
        const s = load<f32>(x + off);
        let s1: f32 = 0, s2: f32 = 0;
        let q = x + <usize>r0 * rowBytes + off;
        for (let r = r0; r < r1; r++) {
          const d = load<f32>(q) - s;
          s1 += d;
          s2 += d * d;
          q += rowBytes;
        }
        store<f64>(p + (<usize>c << 3), <f64>s1);
        store<f64>(p + (<usize>(C + c) << 3), <f64>s2);
      }
    } else {
      for (let c = 0; c < C; c++) {
        const s = load<f32>(x + <usize>c * cs);
        const sv = f32x4.splat(s);
        let t1: f64 = 0, t2: f64 = 0;
        for (let r = r0; r < r1; r++) {
          const q = x + <usize>r * rowBytes + <usize>c * cs;
          let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
          let i = 0;
          for (; i + 4 <= inner; i += 4) {
            const d = f32x4.sub(v128.load(q + (<usize>i << 2)), sv);
            s1 = f32x4.add(s1, d);
            s2 = f32x4.add(s2, f32x4.mul(d, d));
          }
          let a1: f32 = f32x4.extract_lane(s1, 0) + f32x4.extract_lane(s1, 1) + f32x4.extract_lane(s1, 2) + f32x4.extract_lane(s1, 3);
          let a2: f32 = f32x4.extract_lane(s2, 0) + f32x4.extract_lane(s2, 1) + f32x4.extract_lane(s2, 2) + f32x4.extract_lane(s2, 3);
          for (; i < inner; i++) {
            const d = load<f32>(q + (<usize>i << 2)) - s;
            a1 += d;
            a2 += d * d;
          }
          t1 += <f64>a1;
          t2 += <f64>a2;
        }
        store<f64>(p + (<usize>c << 3), t1);
        store<f64>(p + (<usize>(C + c) << 3), t2);
      }
    }
  }
}

/**
 * Merges the statistics partials of `chunks` chunks in chunk order: mean[c] and the biased
 * variance[c] over n = outer·inner values per channel (variance clamped at 0).
 */
export function bnStatsMerge(C: i32, inner: i32, chunks: i32, n: i32, x: usize, partials: usize, mean: usize, variance: usize): void {
  const cs = <usize>inner << 2;
  const inv = 1.0 / <f64>n;
  for (let c = 0; c < C; c++) {
    let s1: f64 = 0, s2: f64 = 0;
    for (let j = 0; j < chunks; j++) {
      const p = partials + (<usize>j * <usize>(2 * C) << 3);
      s1 += load<f64>(p + (<usize>c << 3));
      s2 += load<f64>(p + (<usize>(C + c) << 3));
    }
    const m1 = s1 * inv;
    const v = max(s2 * inv - m1 * m1, 0.0);
    store<f32>(mean + (<usize>c << 2), <f32>(<f64>load<f32>(x + <usize>c * cs) + m1));
    store<f32>(variance + (<usize>c << 2), <f32>v);
  }
}

/**
 * Per channel: invStd = 1/√(variance + eps), a = gamma·invStd, b = beta − mean·a (gamma = 0
 * pointer: 1; beta = 0 pointer: 0). mean/variance are the batch's (training) or the moving ones.
 */
export function bnCoeffs(C: i32, mean: usize, variance: usize, gamma: usize, beta: usize, eps: f32,
  invStd: usize, a: usize, b: usize): void {
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const is: f32 = <f32>1 / sqrt<f32>(load<f32>(variance + o) + eps);
    const g: f32 = gamma ? load<f32>(gamma + o) : <f32>1;
    const bb: f32 = beta ? load<f32>(beta + o) : <f32>0;
    const ac = g * is;
    store<f32>(invStd + o, is);
    store<f32>(a + o, ac);
    store<f32>(b + o, bb - load<f32>(mean + o) * ac);
  }
}

/** tfjs' moving average over C floats: moving ← moving − (moving − batch)·(1 − momentum). */
export function bnMovingUpdate(C: i32, batch: usize, momentum: f32, moving: usize): void {
  const decay: f32 = <f32>1 - momentum;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(moving + o);
    store<f32>(moving + o, m - (m - load<f32>(batch + o)) * decay);
  }
}

/**
 * y = act(x·a[c] + b[c]) over outer indices [o0, o0 + count) (act 0: linear, 1: relu, 2: relu6); x, y are the
 * bases of the whole arrays. y may equal x.
 */
export function bnAffine(act: i32, C: i32, inner: i32, o0: i32, count: i32, x: usize, a: usize, b: usize, y: usize): void {
  const rowBytes = <usize>C * <usize>inner << 2;
  const zero = f32x4.splat(0), six = f32x4.splat(6);
  for (let r = o0; r < o0 + count; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    if (inner == 1) {
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        let v = f32x4.add(f32x4.mul(v128.load(xr + o), v128.load(a + o)), v128.load(b + o));
        if (act >= 1) v = f32x4.max(v, zero);
        if (act == 2) v = f32x4.min(v, six);
        v128.store(yr + o, v);
      }
      for (; c < C; c++) {
        const o = <usize>c << 2;
        let v = load<f32>(xr + o) * load<f32>(a + o) + load<f32>(b + o);
        if (act >= 1) v = max<f32>(v, 0);
        if (act == 2) v = min<f32>(v, 6);
        store<f32>(yr + o, v);
      }
    } else {
      for (let c = 0; c < C; c++) {
        const av = load<f32>(a + (<usize>c << 2)), bv = load<f32>(b + (<usize>c << 2));
        const as = f32x4.splat(av), bs = f32x4.splat(bv);
        const q = xr + (<usize>c * <usize>inner << 2), w = yr + (<usize>c * <usize>inner << 2);
        let i = 0;
        for (; i + 4 <= inner; i += 4) {
          const o = <usize>i << 2;
          let v = f32x4.add(f32x4.mul(v128.load(q + o), as), bs);
          if (act >= 1) v = f32x4.max(v, zero);
          if (act == 2) v = f32x4.min(v, six);
          v128.store(w + o, v);
        }
        for (; i < inner; i++) {
          const o = <usize>i << 2;
          let v = load<f32>(q + o) * av + bv;
          if (act >= 1) v = max<f32>(v, 0);
          if (act == 2) v = min<f32>(v, 6);
          store<f32>(w + o, v);
        }
      }
    }
  }
}

/**
 * Backward partials of chunks [c0, c0 + count) (chunks as bnStatsPartials):
 * partials[j·2C + c] = Σ dy, partials[j·2C + C + c] = Σ dy·(x − mean[c])·invStd[c] (f64).
 */
export function bnGradPartials(C: i32, inner: i32, outer: i32, rows: i32, c0: i32, count: i32, x: usize, dy: usize,
  mean: usize, invStd: usize, partials: usize): void {
  const rowBytes = <usize>C * <usize>inner << 2;
  for (let j = c0; j < c0 + count; j++) {
    const r0 = j * rows, r1 = min(r0 + rows, outer);
    const p = partials + (<usize>j * <usize>(2 * C) << 3);
    if (inner == 1) {
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const off = <usize>c << 2;
        const m = v128.load(mean + off), is = v128.load(invStd + off);
        let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
        let qo = <usize>r0 * rowBytes + off;
        for (let r = r0; r < r1; r++) {
          const g = v128.load(dy + qo);
          const xh = f32x4.mul(f32x4.sub(v128.load(x + qo), m), is);
          s1 = f32x4.add(s1, g);
          s2 = f32x4.add(s2, f32x4.mul(g, xh));
          qo += rowBytes;
        }
        store<f64>(p + (<usize>c << 3), <f64>f32x4.extract_lane(s1, 0));
        store<f64>(p + (<usize>(c + 1) << 3), <f64>f32x4.extract_lane(s1, 1));
        store<f64>(p + (<usize>(c + 2) << 3), <f64>f32x4.extract_lane(s1, 2));
        store<f64>(p + (<usize>(c + 3) << 3), <f64>f32x4.extract_lane(s1, 3));
        store<f64>(p + (<usize>(C + c) << 3), <f64>f32x4.extract_lane(s2, 0));
        store<f64>(p + (<usize>(C + c + 1) << 3), <f64>f32x4.extract_lane(s2, 1));
        store<f64>(p + (<usize>(C + c + 2) << 3), <f64>f32x4.extract_lane(s2, 2));
        store<f64>(p + (<usize>(C + c + 3) << 3), <f64>f32x4.extract_lane(s2, 3));
      }
      for (; c < C; c++) {
        const off = <usize>c << 2;
        const m = load<f32>(mean + off), is = load<f32>(invStd + off);
        let s1: f32 = 0, s2: f32 = 0;
        let qo = <usize>r0 * rowBytes + off;
        for (let r = r0; r < r1; r++) {
          const g = load<f32>(dy + qo);
          s1 += g;
          s2 += g * ((load<f32>(x + qo) - m) * is);
          qo += rowBytes;
        }
        store<f64>(p + (<usize>c << 3), <f64>s1);
        store<f64>(p + (<usize>(C + c) << 3), <f64>s2);
      }
    } else {
      for (let c = 0; c < C; c++) {
        const m = load<f32>(mean + (<usize>c << 2)), is = load<f32>(invStd + (<usize>c << 2));
        const mv = f32x4.splat(m), iv = f32x4.splat(is);
        let t1: f64 = 0, t2: f64 = 0;
        for (let r = r0; r < r1; r++) {
          const qo = <usize>r * rowBytes + (<usize>c * <usize>inner << 2);
          let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
          let i = 0;
          for (; i + 4 <= inner; i += 4) {
            const o = qo + (<usize>i << 2);
            const g = v128.load(dy + o);
            s1 = f32x4.add(s1, g);
            s2 = f32x4.add(s2, f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(x + o), mv), iv)));
          }
          let a1: f32 = f32x4.extract_lane(s1, 0) + f32x4.extract_lane(s1, 1) + f32x4.extract_lane(s1, 2) + f32x4.extract_lane(s1, 3);
          let a2: f32 = f32x4.extract_lane(s2, 0) + f32x4.extract_lane(s2, 1) + f32x4.extract_lane(s2, 2) + f32x4.extract_lane(s2, 3);
          for (; i < inner; i++) {
            const o = qo + (<usize>i << 2);
            const g = load<f32>(dy + o);
            a1 += g;
            a2 += g * ((load<f32>(x + o) - m) * is);
          }
          t1 += <f64>a1;
          t2 += <f64>a2;
        }
        store<f64>(p + (<usize>c << 3), t1);
        store<f64>(p + (<usize>(C + c) << 3), t2);
      }
    }
  }
}

/**
 * Merges the backward partials in chunk order: dbeta[c] = Σ dy, dgamma[c] = Σ dy·x̂ (written when
 * the pointer is not 0), and coef (3C f32) for bnBackwardDx: coef[c] = gamma·invStd,
 * coef[C + c] = Σdy / n, coef[2C + c] = Σdy·x̂ / n when training (the batch statistics depend on x),
 * else 0 (inference statistics are constants: dx = dy·gamma·invStd).
 */
export function bnGradMerge(C: i32, chunks: i32, n: i32, training: i32, partials: usize, invStd: usize, gamma: usize,
  dgamma: usize, dbeta: usize, coef: usize): void {
  const inv = 1.0 / <f64>n;
  for (let c = 0; c < C; c++) {
    let s1: f64 = 0, s2: f64 = 0;
    for (let j = 0; j < chunks; j++) {
      const p = partials + (<usize>j * <usize>(2 * C) << 3);
      s1 += load<f64>(p + (<usize>c << 3));
      s2 += load<f64>(p + (<usize>(C + c) << 3));
    }
    const o = <usize>c << 2;
    if (dbeta) store<f32>(dbeta + o, <f32>s1);
    if (dgamma) store<f32>(dgamma + o, <f32>s2);
    const g: f32 = gamma ? load<f32>(gamma + o) : <f32>1;
    store<f32>(coef + o, g * load<f32>(invStd + o));
    store<f32>(coef + (<usize>(C + c) << 2), training ? <f32>(s1 * inv) : <f32>0);
    store<f32>(coef + (<usize>(2 * C + c) << 2), training ? <f32>(s2 * inv) : <f32>0);
  }
}

/**
 * dx = coef[c]·(dy − coef[C + c] − x̂·coef[2C + c]), x̂ = (x − mean[c])·invStd[c], over outer
 * indices [o0, o0 + count) (bases of the whole arrays). dx may equal dy.
 */
export function bnBackwardDx(C: i32, inner: i32, o0: i32, count: i32, x: usize, dy: usize, mean: usize, invStd: usize,
  coef: usize, dx: usize): void {
  const rowBytes = <usize>C * <usize>inner << 2;
  const m1p = coef + (<usize>C << 2), m2p = coef + (<usize>(2 * C) << 2);
  for (let r = o0; r < o0 + count; r++) {
    const base = <usize>r * rowBytes;
    if (inner == 1) {
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const xh = f32x4.mul(f32x4.sub(v128.load(x + base + o), v128.load(mean + o)), v128.load(invStd + o));
        const t = f32x4.sub(f32x4.sub(v128.load(dy + base + o), v128.load(m1p + o)), f32x4.mul(xh, v128.load(m2p + o)));
        v128.store(dx + base + o, f32x4.mul(v128.load(coef + o), t));
      }
      for (; c < C; c++) {
        const o = <usize>c << 2;
        const xh = (load<f32>(x + base + o) - load<f32>(mean + o)) * load<f32>(invStd + o);
        store<f32>(dx + base + o, load<f32>(coef + o) * (load<f32>(dy + base + o) - load<f32>(m1p + o) - xh * load<f32>(m2p + o)));
      }
    } else {
      for (let c = 0; c < C; c++) {
        const o = <usize>c << 2;
        const m = load<f32>(mean + o), is = load<f32>(invStd + o), k = load<f32>(coef + o);
        const m1 = load<f32>(m1p + o), m2 = load<f32>(m2p + o);
        const mv = f32x4.splat(m), iv = f32x4.splat(is), kv = f32x4.splat(k), m1v = f32x4.splat(m1), m2v = f32x4.splat(m2);
        const q = base + (<usize>c * <usize>inner << 2);
        let i = 0;
        for (; i + 4 <= inner; i += 4) {
          const e = q + (<usize>i << 2);
          const xh = f32x4.mul(f32x4.sub(v128.load(x + e), mv), iv);
          v128.store(dx + e, f32x4.mul(kv, f32x4.sub(f32x4.sub(v128.load(dy + e), m1v), f32x4.mul(xh, m2v))));
        }
        for (; i < inner; i++) {
          const e = q + (<usize>i << 2);
          const xh = (load<f32>(x + e) - m) * is;
          store<f32>(dx + e, k * (load<f32>(dy + e) - m1 - xh * m2));
        }
      }
    }
  }
}
