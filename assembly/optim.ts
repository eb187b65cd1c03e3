// Optimizer updates over flat f32 parameter buffers (one call per variable per step).
//
// w: n weights, g: n gradients, v / m: n-float state slots owned by the optimizer (zero at step 1).
// All byte addresses, 4-byte aligned (16 is faster), arrays must not overlap. Formulas follow
// TensorFlow/Keras (tf.keras.optimizers.SGD and Adam) so hyperparameters transfer:
//   SGD:       w −= lr·g
//   momentum:  v = μ·v − lr·g;  w += v
//   Nesterov:  v = μ·v − lr·g;  w += μ·v − lr·g          (with the new v)
//   Adam:      m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lrT · m / (√v + ε)
//              lrT = lr·√(1−β2^t)/(1−β1^t) is computed by the caller (once per step, in f64).
// Updates use plain mul/add (not fmadd) so both wasm builds give bit-identical weights.

/** w −= lr · g. */
export function sgdStep(n: i32, w: usize, g: usize, lr: f32): void {
  const n4 = n & ~3;
  const vlr = f32x4.splat(lr);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(vlr, v128.load(g + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(w + o, load<f32>(w + o) - lr * load<f32>(g + o));
  }
}

/** v = μ·v − lr·g; then w += v, or (nesterov ≠ 0) w += μ·v − lr·g. */
export function momentumStep(n: i32, w: usize, g: usize, v: usize, lr: f32, momentum: f32, nesterov: i32): void {
  const n4 = n & ~3;
  const vlr = f32x4.splat(lr);
  const vmu = f32x4.splat(momentum);
  let i = 0;
  if (nesterov) {
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const step = f32x4.mul(vlr, v128.load(g + o));
      const vel = f32x4.sub(f32x4.mul(vmu, v128.load(v + o)), step);
      v128.store(v + o, vel);
      v128.store(w + o, f32x4.add(v128.load(w + o), f32x4.sub(f32x4.mul(vmu, vel), step)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const step = lr * load<f32>(g + o);
      const vel = momentum * load<f32>(v + o) - step;
      store<f32>(v + o, vel);
      store<f32>(w + o, load<f32>(w + o) + (momentum * vel - step));
    }
  } else {
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const vel = f32x4.sub(f32x4.mul(vmu, v128.load(v + o)), f32x4.mul(vlr, v128.load(g + o)));
      v128.store(v + o, vel);
      v128.store(w + o, f32x4.add(v128.load(w + o), vel));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const vel = momentum * load<f32>(v + o) - lr * load<f32>(g + o);
      store<f32>(v + o, vel);
      store<f32>(w + o, load<f32>(w + o) + vel);
    }
  }
}

/** One Adam step (see the file comment; lrT already bias-corrected by the caller). */
export function adamStep(n: i32, w: usize, g: usize, m: usize, v: usize, lrT: f32, beta1: f32, beta2: f32,
  epsilon: f32): void {
  const n4 = n & ~3;
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(<f32>1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(<f32>1 - beta2);
  const vlr = f32x4.splat(lrT), veps = f32x4.splat(epsilon);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    const mv = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, gv));
    const vv = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(gv, gv)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const upd = f32x4.div(f32x4.mul(vlr, mv), f32x4.add(f32x4.sqrt(vv), veps));
    v128.store(w + o, f32x4.sub(v128.load(w + o), upd));
  }
  const k1: f32 = 1 - beta1, k2: f32 = 1 - beta2;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gs = load<f32>(g + o);
    const ms = beta1 * load<f32>(m + o) + k1 * gs;
    const vs = beta2 * load<f32>(v + o) + k2 * (gs * gs);
    store<f32>(m + o, ms);
    store<f32>(v + o, vs);
    store<f32>(w + o, load<f32>(w + o) - (lrT * ms) / (Mathf.sqrt(vs) + epsilon));
  }
}
