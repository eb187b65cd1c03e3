// Float64 reference for batch normalization over x viewed as [outer, C, inner] (C: the normalized
// axis). Plain loops, two passes (mean, then variance): the kernels are tested against these.

export interface RefBnGeom { outer: number; C: number; inner: number }

const at = (g: RefBnGeom, o: number, c: number, i: number) => (o * g.C + c) * g.inner + i;

/** Per-channel mean and biased variance. */
export function refBnStats(g: RefBnGeom, x: ArrayLike<number>): { mean: Float64Array; variance: Float64Array } {
  const n = g.outer * g.inner;
  const mean = new Float64Array(g.C), variance = new Float64Array(g.C);
  for (let c = 0; c < g.C; c++) {
    let s = 0;
    for (let o = 0; o < g.outer; o++) for (let i = 0; i < g.inner; i++) s += x[at(g, o, c, i)];
    mean[c] = s / n;
    let v = 0;
    for (let o = 0; o < g.outer; o++) for (let i = 0; i < g.inner; i++) v += (x[at(g, o, c, i)] - mean[c]) ** 2;
    variance[c] = v / n;
  }
  return { mean, variance };
}

/** y = (x − mean)/√(variance + eps)·gamma + beta (gamma/beta undefined: 1/0). */
export function refBnNormalize(g: RefBnGeom, x: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>,
  gamma: ArrayLike<number> | undefined, beta: ArrayLike<number> | undefined, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < g.outer; o++) {
    for (let c = 0; c < g.C; c++) {
      for (let i = 0; i < g.inner; i++) {
        const j = at(g, o, c, i);
        y[j] = ((x[j] - mean[c]) / Math.sqrt(variance[c] + eps)) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
      }
    }
  }
  return y;
}

/** moving·momentum + batch·(1 − momentum). */
export function refBnMoving(moving: ArrayLike<number>, batch: ArrayLike<number>, momentum: number): Float64Array {
  return Float64Array.from(moving, (m, c) => m * momentum + batch[c] * (1 - momentum));
}

/**
 * Backward of y = x̂·gamma + beta. training: x̂ from the batch's statistics (which depend on x),
 * else from the given constant mean/variance.
 */
export function refBnBackward(g: RefBnGeom, x: ArrayLike<number>, dy: ArrayLike<number>, gamma: ArrayLike<number> | undefined,
  eps: number, training: boolean, mean?: ArrayLike<number>, variance?: ArrayLike<number>) {
  const st = training ? refBnStats(g, x) : { mean: mean!, variance: variance! };
  const n = g.outer * g.inner;
  const dgamma = new Float64Array(g.C), dbeta = new Float64Array(g.C), dx = new Float64Array(x.length);
  for (let c = 0; c < g.C; c++) {
    const is = 1 / Math.sqrt(st.variance[c] + eps), gm = gamma ? gamma[c] : 1;
    let sdy = 0, sdyx = 0;
    for (let o = 0; o < g.outer; o++) {
      for (let i = 0; i < g.inner; i++) {
        const j = at(g, o, c, i);
        sdy += dy[j];
        sdyx += dy[j] * (x[j] - st.mean[c]) * is;
      }
    }
    dbeta[c] = sdy;
    dgamma[c] = sdyx;
    for (let o = 0; o < g.outer; o++) {
      for (let i = 0; i < g.inner; i++) {
        const j = at(g, o, c, i);
        const xh = (x[j] - st.mean[c]) * is;
        dx[j] = training ? gm * is * (dy[j] - sdy / n - xh * sdyx / n) : gm * is * dy[j];
      }
    }
  }
  return { dx, dgamma, dbeta };
}
