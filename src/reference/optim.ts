// Ground truth for the optimizer updates, float64, in place on the arrays given (see src/ops/optim.ts).

export function refSgd(w: Float64Array, g: ArrayLike<number>, lr: number): void {
  for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
}

export function refMomentum(w: Float64Array, g: ArrayLike<number>, v: Float64Array, lr: number, mu: number, nesterov: boolean): void {
  for (let i = 0; i < w.length; i++) {
    v[i] = mu * v[i] - lr * g[i];
    w[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
  }
}

/** Adam step t (1-based), Keras' formulation. */
export function refAdam(w: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number,
  lr: number, b1: number, b2: number, eps: number): void {
  const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  for (let i = 0; i < w.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    w[i] -= (lrT * m[i]) / (Math.sqrt(v[i]) + eps);
  }
}
