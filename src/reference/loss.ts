// Ground truth for softmax cross-entropy, float64: log-softmax by the textbook formula.

export interface RefXent { lossSum: number; correct: number; probs: Float64Array; dlogits: Float64Array }

/**
 * Per row: loss = −Σ_j t_j log p_j with p = softmax(z) and t = onehot(label) (sparse) or the label
 * row (dense); dlogits = scale·∂loss/∂z = scale·(p·Σt − t). correct counts rows whose first argmax
 * of z equals the label (dense: the first argmax of t).
 */
export function refSoftmaxXent(rows: number, classes: number, logits: ArrayLike<number>, labels: ArrayLike<number>,
  sparse: boolean, scale = 1): RefXent {
  const probs = new Float64Array(rows * classes), dlogits = new Float64Array(rows * classes);
  let lossSum = 0, correct = 0;
  const argmax = (a: ArrayLike<number>, off: number) => {
    let k = 0;
    for (let j = 1; j < classes; j++) if (a[off + j] > a[off + k]) k = j;
    return k;
  };
  for (let r = 0; r < rows; r++) {
    const off = r * classes;
    let mx = -Infinity;
    for (let j = 0; j < classes; j++) mx = Math.max(mx, logits[off + j]);
    let s = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(logits[off + j] - mx);
    const t = (j: number) => (sparse ? (j === labels[r] ? 1 : 0) : labels[off + j]);
    let tsum = 0;
    for (let j = 0; j < classes; j++) {
      const logp = logits[off + j] - mx - Math.log(s);
      probs[off + j] = Math.exp(logp);
      lossSum -= t(j) * logp;
      tsum += t(j);
    }
    for (let j = 0; j < classes; j++) dlogits[off + j] = scale * (probs[off + j] * tsum - t(j));
    if (argmax(logits, off) === (sparse ? labels[r] : argmax(labels, off))) correct++;
  }
  return { lossSum, correct, probs, dlogits };
}
