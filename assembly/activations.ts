// Elementwise activations, their gradients, bias gradients and row softmax over flat f32 arrays.
//
// All pointers are byte addresses of f32 arrays, 4-byte aligned (16 is faster); n counts floats.
// Unless stated otherwise output may alias input (in place). The backward kernels take the forward
// OUTPUT y, not x: y carries everything the derivative needs (relu: y > 0 ⇔ x > 0; sigmoid:
// y(1−y); tanh: 1−y²), so the layer can drop x and the forward may run in place.

/** y = max(x, 0). NaN stays NaN. y may equal x. */
export function reluForward(n: i32, x: usize, y: usize): void {
  const n4 = n & ~3;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), z));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 || v != v ? v : <f32>0);
  }
}

/** dx = y > 0 ? dy : 0, with y the forward output. dx may equal dy. */
export function reluBackward(n: i32, y: usize, dy: usize, dx: usize): void {
  const n4 = n & ~3;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), z)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : <f32>0);
  }
}

/** y = 1 / (1 + e^−x); saturates to exactly 0 / 1 without overflow trouble. y may equal x. */
export function sigmoidForward(n: i32, x: usize, y: usize): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, <f32>1 / (<f32>1 + Mathf.exp(-load<f32>(x + o))));
  }
}

/** dx = dy · y · (1 − y), with y the forward output. dx may equal dy. */
export function sigmoidBackward(n: i32, y: usize, dy: usize, dx: usize): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.mul(v, f32x4.sub(one, v))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (v * (<f32>1 - v)));
  }
}

/** y = tanh(x). y may equal x. */
export function tanhForward(n: i32, x: usize, y: usize): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, Mathf.tanh(load<f32>(x + o)));
  }
}

/** dx = dy · (1 − y²), with y the forward output. dx may equal dy. */
export function tanhBackward(n: i32, y: usize, dy: usize, dx: usize): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (<f32>1 - v * v));
  }
}

// Rows summed in registers before touching db: a two-level sum keeps f32 error ~ sqrt(chunk) +
// sqrt(m / chunk) rather than growing with m (m = batch·H·W reaches 10⁵ for a conv layer).
const ROW_CHUNK: i32 = 256;

/**
 * db[j] (+)= Σ_i dy[i·n + j]: the bias gradient of a layer whose output is dy[m×n] row-major
 * (a dense layer's batch × units, or a conv's (batch·H·W) × channels). accumulate = 0 overwrites
 * db, 1 adds to it. dy and db must not overlap.
 */
export function biasGrad(m: i32, n: i32, dy: usize, db: usize, accumulate: i32): void {
  if (!accumulate) memory.fill(db, 0, <usize>n << 2);
  const rowBytes = <usize>n << 2;
  const n16 = n & ~15;
  const n4 = n & ~3;
  for (let i0 = 0; i0 < m; i0 += ROW_CHUNK) {
    const rows = min(ROW_CHUNK, m - i0);
    const base = dy + <usize>i0 * rowBytes;
    let j = 0;
    // 16 columns per pass: four independent accumulators hide the add latency.
    for (; j < n16; j += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = base + (<usize>j << 2);
      for (let i = 0; i < rows; i++) {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
        p += rowBytes;
      }
      const d = db + (<usize>j << 2);
      v128.store(d, f32x4.add(v128.load(d), a0));
      v128.store(d, f32x4.add(v128.load(d, 16), a1), 16);
      v128.store(d, f32x4.add(v128.load(d, 32), a2), 32);
      v128.store(d, f32x4.add(v128.load(d, 48), a3), 48);
    }
    for (; j < n4; j += 4) {
      let a = f32x4.splat(0);
      let p = base + (<usize>j << 2);
      for (let i = 0; i < rows; i++) {
        a = f32x4.add(a, v128.load(p));
        p += rowBytes;
      }
      const d = db + (<usize>j << 2);
      v128.store(d, f32x4.add(v128.load(d), a));
    }
    for (; j < n; j++) {
      let a: f32 = 0;
      let p = base + (<usize>j << 2);
      for (let i = 0; i < rows; i++) {
        a += load<f32>(p);
        p += rowBytes;
      }
      const d = db + (<usize>j << 2);
      store<f32>(d, load<f32>(d) + a);
    }
  }
}

/** y += x over n floats (gradient accumulation). x and y must not partially overlap. */
export function addInto(n: i32, x: usize, y: usize): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o));
  }
}

/**
 * y[i] += x[i] + x[stride + i] + … + x[(count−1)·stride + i] for i < n, added in that order (the
 * same sums as count addInto calls): the per-chunk weight-gradient partials of the convolution
 * passes, in one read of each. stride: bytes between partials (any multiple of 4; 16 keeps loads aligned).
 */
export function addPartials(n: i32, x: usize, stride: usize, count: i32, y: usize): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    let acc = v128.load(y + o);
    let p = x + o;
    for (let c = 0; c < count; c++) {
      acc = f32x4.add(acc, v128.load(p));
      p += stride;
    }
    v128.store(y + o, acc);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let acc = load<f32>(y + o);
    for (let c = 0; c < count; c++) acc += load<f32>(x + o + <usize>c * stride);
    store<f32>(y + o, acc);
  }
}

/** y = alpha · x over n floats. y may equal x. */
export function scaleInto(n: i32, alpha: f32, x: usize, y: usize): void {
  const n4 = n & ~3;
  const a = f32x4.splat(alpha);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), a));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * alpha);
  }
}

/**
 * Row softmax: y[r][j] = e^(x[r][j] − max_r) / Σ_k e^(x[r][k] − max_r) for rows×cols row-major x.
 * Subtracting the row max keeps every exponent ≤ 0 (no overflow; the max term is exactly 1, so the
 * sum is ≥ 1). y may equal x. A row containing NaN gives NaN; +Inf gives NaN (as TF).
 */
export function softmaxRows(rows: i32, cols: i32, x: usize, y: usize): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    let mx: f32 = -Infinity;
    for (let j = 0; j < cols; j++) mx = max(mx, load<f32>(xr + (<usize>j << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < cols; j++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>j << 2)) - mx);
      store<f32>(yr + (<usize>j << 2), e);
      sum += e;
    }
    const inv = <f32>1 / sum;
    for (let j = 0; j < cols; j++) {
      const o = yr + (<usize>j << 2);
      store<f32>(o, load<f32>(o) * inv);
    }
  }
}
