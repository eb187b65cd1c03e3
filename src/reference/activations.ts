// Ground truth for the activation kernels, float64. Backward functions take the forward input x
// (the textbook derivative), independent of the kernels' choice to use the output y.

export const refRelu = (x: ArrayLike<number>): Float64Array => Float64Array.from(x, (v) => Math.max(v, 0));
export const refSigmoid = (x: ArrayLike<number>): Float64Array => Float64Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
export const refTanh = (x: ArrayLike<number>): Float64Array => Float64Array.from(x, (v) => Math.tanh(v));

export function refReluBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (x[i] > 0 ? g : 0));
}
export function refSigmoidBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => {
    const s = 1 / (1 + Math.exp(-x[i]));
    return g * s * (1 - s);
  });
}
export function refTanhBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => g * (1 - Math.tanh(x[i]) ** 2));
}

/** Column sums of dy [m×n]. */
export function refBiasGrad(m: number, n: number, dy: ArrayLike<number>): Float64Array {
  const db = new Float64Array(n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] += dy[i * n + j];
  return db;
}

/** Softmax of each row of x [rows×cols]. */
export function refSoftmax(rows: number, cols: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += (y[r * cols + j] = Math.exp(x[r * cols + j] - mx));
    for (let j = 0; j < cols; j++) y[r * cols + j] /= s;
  }
  return y;
}
