// Elementwise activations, their gradients, bias gradients and row softmax over flat f32 arrays.
//
// All pointers are byte addresses of f32 arrays, 4-byte aligned (16 is faster); n counts floats.
// Unless stated otherwise output may alias input (in place). The backward kernels take the forward
// OUTPUT y, not x: y carries everything the derivative needs (relu: y > 0 ⇔ x > 0; sigmoid:
// y(1−y); tanh: 1−y²), so the layer can drop x and the forward may run in place.

import { sigmoidV, tanhV } from './simd';

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
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, sigmoidV(v128.load(x + o)));
  }
  for (let i = n4; i < n; i++) {
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
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, tanhV(v128.load(x + o)));
  }
  for (let i = n4; i < n; i++) {
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

// ---- Parametric activation family (op codes mirror ACT_CODE in src/layers/activation-fns.ts and
// ACT in src/webgpu/kernels/elementwise.ts). Parameters a, b, c per op:
//   4 relu6 · 5 elu(a = alpha) · 6 selu · 7 swish · 8 gelu (erf, A&S 7.1.26 as tfjs) · 9 mish ·
//   10 hardSigmoid (clip(0.2x + 0.5, 0, 1), tfjs) · 11 softplus · 12 softsign · 13 leakyRelu(a) ·
//   14 Keras ReLU(a = negativeSlope, b = maxValue (may be +Inf), c = threshold) · 15 thresholdedRelu(a = theta) ·
//   16 gelu_new (tfjs: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))).
// The backward of ops 4, 6, 10, 12 reads the forward output y; every other op reads the input x
// (its derivative is not a function of y alone). NaN propagates through every op.

const SELU_SCALE: f32 = 1.0507009873554804934193349852946;
const SELU_ALPHA: f32 = 1.6732632423543772848170429916717;
/** √(2/π), gelu_new's tanh approximation (tfjs' GeluNew). */
const GELU_C: f32 = 0.7978845608028654;

@inline function sigm(v: f32): f32 {
  return <f32>1 / (<f32>1 + Mathf.exp(-v));
}
@inline function softplusf(v: f32): f32 {
  // max(v, 0) + log1p(e^−|v|): no overflow, exact for large |v|.
  return max(v, <f32>0) + Mathf.log1p(Mathf.exp(-Mathf.abs(v)));
}
/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the approximation tfjs' erf uses. */
@inline function erff(v: f32): f32 {
  const a = Mathf.abs(v);
  const t = <f32>1 / (<f32>1 + <f32>0.3275911 * a);
  const p = ((((<f32>1.061405429 * t - <f32>1.453152027) * t + <f32>1.421413741) * t - <f32>0.284496736) * t + <f32>0.254829592) * t;
  const r = <f32>1 - p * Mathf.exp(-a * a);
  return v < 0 ? -r : (v != v ? v : r);
}

@inline function fwdScalar(op: i32, v: f32, a: f32, b: f32, c: f32): f32 {
  switch (op) {
    case 1: return v > 0 || v != v ? v : <f32>0;
    case 2: return sigm(v);
    case 3: return Mathf.tanh(v);
    case 4: return min(max(v, <f32>0), <f32>6);
    case 5: return v > 0 ? v : a * Mathf.expm1(v);
    case 6: return v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * Mathf.expm1(v);
    case 7: return v * sigm(v);
    case 8: return <f32>0.5 * v * (<f32>1 + erff(v * <f32>0.7071067811865476));
    case 9: return v * Mathf.tanh(softplusf(v));
    case 10: return min(max(<f32>0.2 * v + <f32>0.5, <f32>0), <f32>1);
    case 11: return softplusf(v);
    case 12: return v / (<f32>1 + Mathf.abs(v));
    case 13: return v > 0 ? v : a * v;
    case 14: return v >= b ? b : v >= c ? v : a * (v - c);
    case 15: return v * (v > a ? <f32>1 : <f32>0);
    case 16: return <f32>0.5 * v * (<f32>1 + Mathf.tanh(GELU_C * (v + <f32>0.044715 * v * v * v)));
    default: return v;
  }
}

/** f'(·) from s (y for ops 1–4, 6, 10, 12; x otherwise). */
@inline function derivScalar(op: i32, s: f32, a: f32, b: f32, c: f32): f32 {
  switch (op) {
    case 1: return s > 0 ? <f32>1 : <f32>0;
    case 2: return s * (<f32>1 - s);
    case 3: return <f32>1 - s * s;
    case 4: return s > 0 && s < 6 ? <f32>1 : <f32>0;
    case 5: return s > 0 ? <f32>1 : a * Mathf.exp(s);
    case 6: return s > 0 ? SELU_SCALE : s + SELU_SCALE * SELU_ALPHA;
    case 7: { const g = sigm(s); return g + s * g * (<f32>1 - g); }
    case 8: return <f32>0.5 * (<f32>1 + erff(s * <f32>0.7071067811865476)) + s * <f32>0.3989422804014327 * Mathf.exp(<f32>-0.5 * s * s);
    case 9: { const t = Mathf.tanh(softplusf(s)); return t + s * (<f32>1 - t * t) * sigm(s); }
    case 10: return s > 0 && s < 1 ? <f32>0.2 : <f32>0;
    case 11: return sigm(s);
    case 12: { const q = <f32>1 - Mathf.abs(s); return q * q; }
    case 13: return s > 0 ? <f32>1 : a;
    case 14: return s >= b ? <f32>0 : s >= c ? <f32>1 : a;
    case 15: return s > a ? <f32>1 : <f32>0;
    case 16: {
      const t = Mathf.tanh(GELU_C * (s + <f32>0.044715 * s * s * s));
      return <f32>0.5 * (<f32>1 + t) + <f32>0.5 * s * (<f32>1 - t * t) * GELU_C * (<f32>1 + <f32>0.134145 * s * s);
    }
    default: return 1;
  }
}

/** y = act_op(x) over n floats (see the op table above). y may equal x. */
export function actForwardP(op: i32, n: i32, x: usize, y: usize, a: f32, b: f32, c: f32): void {
  const n4 = n & ~3;
  let i = 0;
  // The piecewise-linear ops in f32x4 (wasm min/max propagate NaN, as the scalar forms do).
  if (op == 2 || op == 7) {
    // Sigmoid and swish (EfficientNet's SiLU, 49 passes per image) through the vector exp.
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const sg = sigmoidV(v);
      v128.store(y + o, op == 2 ? sg : f32x4.mul(v, sg));
    }
  }
  if (op == 4 || op == 10 || op == 12 || op == 13) {
    const z = f32x4.splat(0), one = f32x4.splat(1), six = f32x4.splat(6), p2 = f32x4.splat(0.2), half = f32x4.splat(0.5), av = f32x4.splat(a);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      let r: v128;
      if (op == 4) r = f32x4.min(f32x4.max(v, z), six);
      else if (op == 10) r = f32x4.min(f32x4.max(f32x4.add(f32x4.mul(v, p2), half), z), one);
      else if (op == 12) r = f32x4.div(v, f32x4.add(one, f32x4.abs(v)));
      else r = v128.bitselect(v, f32x4.mul(v, av), f32x4.gt(v, z));
      v128.store(y + o, r);
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, fwdScalar(op, load<f32>(x + o), a, b, c));
  }
}

/** dx = dy · act_op'(·), from s = y or x (see the op table). dx may equal dy. */
export function actBackwardP(op: i32, n: i32, s: usize, dy: usize, dx: usize, a: f32, b: f32, c: f32): void {
  const n4 = n & ~3;
  let i = 0;
  if (op == 4 || op == 10 || op == 12 || op == 13) {
    const z = f32x4.splat(0), one = f32x4.splat(1), six = f32x4.splat(6), p2 = f32x4.splat(0.2), av = f32x4.splat(a);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(s + o);
      let d: v128;
      if (op == 4) d = v128.and(one, v128.and(f32x4.gt(v, z), f32x4.lt(v, six)));
      else if (op == 10) d = v128.and(p2, v128.and(f32x4.gt(v, z), f32x4.lt(v, one)));
      else if (op == 12) { const q = f32x4.sub(one, f32x4.abs(v)); d = f32x4.mul(q, q); }
      else d = v128.bitselect(one, av, f32x4.gt(v, z));
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), d));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * derivScalar(op, load<f32>(s + o), a, b, c));
  }
}

/**
 * Softmax along a middle axis: x viewed as [outer, len, inner] row-major, normalized over len for
 * each (outer, inner) pair (inner = 1 is softmaxRows). Max-subtracted. y may equal x.
 */
export function softmaxStrided(outer: i32, len: i32, inner: i32, x: usize, y: usize): void {
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const base = (<usize>o * <usize>len * <usize>inner + <usize>q) << 2;
      let mx: f32 = -Infinity;
      for (let j = 0; j < len; j++) mx = max(mx, load<f32>(x + base + <usize>j * stride));
      let sum: f32 = 0;
      for (let j = 0; j < len; j++) {
        const p = base + <usize>j * stride;
        const e = Mathf.exp(load<f32>(x + p) - mx);
        store<f32>(y + p, e);
        sum += e;
      }
      const inv = <f32>1 / sum;
      for (let j = 0; j < len; j++) {
        const p = y + base + <usize>j * stride;
        store<f32>(p, load<f32>(p) * inv);
      }
    }
  }
}

/** dx = y ⊙ (dy − Σ_len dy·y) along the strided axis (layout of softmaxStrided). dx may equal dy. */
export function softmaxStridedBackward(outer: i32, len: i32, inner: i32, y: usize, dy: usize, dx: usize): void {
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const base = (<usize>o * <usize>len * <usize>inner + <usize>q) << 2;
      let dot: f32 = 0;
      for (let j = 0; j < len; j++) {
        const p = base + <usize>j * stride;
        dot += load<f32>(dy + p) * load<f32>(y + p);
      }
      for (let j = 0; j < len; j++) {
        const p = base + <usize>j * stride;
        store<f32>(dx + p, load<f32>(y + p) * (load<f32>(dy + p) - dot));
      }
    }
  }
}
