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

/** erf in float64: its Maclaurin series below |x| = 4 (|error| < 1e-13), the erfc asymptotic series above. */
export function refErf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 4) {
    let term = a, sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * Math.min(1, (2 / Math.sqrt(Math.PI)) * sum);
  }
  const z = 1 / (a * a);
  const erfc = (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * (1 - z / 2 + (3 * z * z) / 4 - (15 * z * z * z) / 8);
  return Math.sign(x) * (1 - erfc);
}

const SELU_SCALE = 1.0507009873554804934193349852946, SELU_ALPHA = 1.6732632423543772848170429916717;
const sig = (v: number) => 1 / (1 + Math.exp(-v));
const GELU_C = Math.sqrt(2 / Math.PI);
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

/** An elementwise activation as the references take it: a name, or a parametric form of the activation layers. */
export type RefAct =
  | 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'relu6' | 'elu' | 'selu' | 'swish' | 'gelu' | 'gelu_new' | 'mish' | 'hardSigmoid' | 'softplus' | 'softsign'
  | { op: 'elu'; alpha: number } | { op: 'leakyRelu'; alpha: number } | { op: 'thresholdedRelu'; theta: number }
  | { op: 'reluX'; negativeSlope: number; maxValue: number; threshold: number };

/** f(v) in float64 (textbook definitions; hardSigmoid is tfjs' clip(0.2x + 0.5, 0, 1)). */
export function refActScalar(act: RefAct, v: number): number {
  if (typeof act !== 'string') {
    switch (act.op) {
      case 'elu': return v > 0 ? v : act.alpha * Math.expm1(v);
      case 'leakyRelu': return v > 0 ? v : act.alpha * v;
      case 'thresholdedRelu': return v > act.theta ? v : v * 0;
      case 'reluX': return v >= act.maxValue ? act.maxValue : v >= act.threshold ? v : act.negativeSlope * (v - act.threshold);
    }
  }
  switch (act) {
    case 'linear': return v;
    case 'relu': return Number.isNaN(v) ? v : Math.max(v, 0);
    case 'sigmoid': return sig(v);
    case 'tanh': return Math.tanh(v);
    case 'relu6': return Number.isNaN(v) ? v : Math.min(Math.max(v, 0), 6);
    case 'elu': return v > 0 ? v : Math.expm1(v);
    case 'selu': return v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * Math.expm1(v);
    case 'swish': return v * sig(v);
    case 'gelu': return 0.5 * v * (1 + refErf(v / Math.SQRT2));
    case 'gelu_new': return 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v ** 3)));
    case 'mish': return v * Math.tanh(softplus(v));
    case 'hardSigmoid': return Number.isNaN(v) ? v : Math.min(Math.max(0.2 * v + 0.5, 0), 1);
    case 'softplus': return softplus(v);
    case 'softsign': return v / (1 + Math.abs(v));
  }
}

/** f'(v) in float64, from the input v. */
export function refActDeriv(act: RefAct, v: number): number {
  if (typeof act !== 'string') {
    switch (act.op) {
      case 'elu': return v > 0 ? 1 : act.alpha * Math.exp(v);
      case 'leakyRelu': return v > 0 ? 1 : act.alpha;
      case 'thresholdedRelu': return v > act.theta ? 1 : 0;
      case 'reluX': return v >= act.maxValue ? 0 : v >= act.threshold ? 1 : act.negativeSlope;
    }
  }
  switch (act) {
    case 'linear': return 1;
    case 'relu': return v > 0 ? 1 : 0;
    case 'sigmoid': return sig(v) * (1 - sig(v));
    case 'tanh': return 1 - Math.tanh(v) ** 2;
    case 'relu6': return v > 0 && v < 6 ? 1 : 0;
    case 'elu': return v > 0 ? 1 : Math.exp(v);
    case 'selu': return v > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(v);
    case 'swish': return sig(v) + v * sig(v) * (1 - sig(v));
    case 'gelu': return 0.5 * (1 + refErf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    case 'gelu_new': {
      const t = Math.tanh(GELU_C * (v + 0.044715 * v ** 3));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v);
    }
    case 'mish': {
      const t = Math.tanh(softplus(v));
      return t + v * (1 - t * t) * sig(v);
    }
    case 'hardSigmoid': return v > -2.5 && v < 2.5 ? 0.2 : 0;
    case 'softplus': return sig(v);
    case 'softsign': return 1 / (1 + Math.abs(v)) ** 2;
  }
}

export const refAct = (act: RefAct, x: ArrayLike<number>): Float64Array => Float64Array.from(x, (v) => refActScalar(act, v));
export const refActBackward = (act: RefAct, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array =>
  Float64Array.from(dy, (g, i) => g * refActDeriv(act, x[i]));

/** PReLU of x [batch, ...shape] with alpha broadcast from alphaShape (1 along shared axes). */
function preluIndex(shape: number[], alphaShape: number[], flat: number): number {
  let rem = flat, ai = 0, stride = 1;
  const idx: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rem % shape[d];
    rem = Math.floor(rem / shape[d]);
  }
  for (let d = shape.length - 1; d >= 0; d--) {
    ai += (alphaShape[d] === 1 ? 0 : idx[d]) * stride;
    stride *= alphaShape[d];
  }
  return ai;
}
export function refPrelu(shape: number[], alphaShape: number[], x: ArrayLike<number>, alpha: ArrayLike<number>): Float64Array {
  const per = shape.reduce((a, b) => a * b, 1);
  return Float64Array.from(x, (v, i) => (v > 0 ? v : alpha[preluIndex(shape, alphaShape, i % per)] * v));
}
/** dx and dalpha of PReLU (dalpha summed over the batch and the shared axes). */
export function refPreluBackward(shape: number[], alphaShape: number[], x: ArrayLike<number>, alpha: ArrayLike<number>, dy: ArrayLike<number>) {
  const per = shape.reduce((a, b) => a * b, 1);
  const dalpha = new Float64Array(alphaShape.reduce((a, b) => a * b, 1));
  const dx = Float64Array.from(dy, (g, i) => {
    const ai = preluIndex(shape, alphaShape, i % per);
    if (x[i] > 0) return g;
    dalpha[ai] += g * x[i];
    return g * alpha[ai];
  });
  return { dx, dalpha };
}

/** Softmax of x [outer, len, inner] along len. */
export function refSoftmaxAxis(outer: number, len: number, inner: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < inner; q++) {
      const at = (j: number) => (o * len + j) * inner + q;
      let mx = -Infinity;
      for (let j = 0; j < len; j++) mx = Math.max(mx, x[at(j)]);
      let s = 0;
      for (let j = 0; j < len; j++) s += (y[at(j)] = Math.exp(x[at(j)] - mx));
      for (let j = 0; j < len; j++) y[at(j)] /= s;
    }
  }
  return y;
}
