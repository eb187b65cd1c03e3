// The losses compile() accepts, each computing the batch's summed loss, correct predictions
// (for the accuracy metric) and dL/d(output) in one pass. Cross-entropy after a softmax output is
// fused (softmax-CE on the logits: stable for any logits, and the gradient is simply p − y).

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { softmaxCrossEntropyLoss, softmaxCrossEntropyStep, type XentResult } from '../ops/loss.js';

export type LossName = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError';
const ALIASES: Record<string, LossName> = {
  sparseCategoricalCrossentropy: 'sparseCategoricalCrossentropy', sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  categoricalCrossentropy: 'categoricalCrossentropy', categorical_crossentropy: 'categoricalCrossentropy',
  meanSquaredError: 'meanSquaredError', mean_squared_error: 'meanSquaredError', mse: 'meanSquaredError',
};

export function resolveLoss(v: unknown): LossName {
  if (typeof v === 'string' && ALIASES[v]) return ALIASES[v];
  throw argError('compile', 'loss', v, "'sparseCategoricalCrossentropy', 'categoricalCrossentropy' or 'meanSquaredError'");
}

export interface BatchLoss {
  lossSum: number;
  correct: number;
}

const EPS = 1e-7;

function argmaxRow(f: Float32Array, o: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (f[o + j] > f[o + best]) best = j;
  return best;
}

/**
 * Loss of a batch. out: the model output (logits when `fused`), labels: sparse class ids (1 float per
 * row) or rows of `classes` floats; grad: receives dL/d(out) averaged over the batch (times `weight`,
 * the output's weight in a several-output model's total), or 0 for none.
 * stats: unused (the fused kernel reports into src/ops/loss.ts' own block); kept for callers.
 */
export function batchLoss(loss: LossName, fused: boolean, rows: number, classes: number, out: number, labels: number,
  grad: number, _stats: number, weight = 1): BatchLoss {
  const rt = runtime();
  const sparse = loss === 'sparseCategoricalCrossentropy';
  if (fused) {
    const r: XentResult = { lossSum: 0, correct: 0 };
    const kind = sparse ? 'sparse' : 'dense';
    if (grad) softmaxCrossEntropyStep(loss, rows, classes, out, labels, kind, grad, weight / rows, 0, r);
    else softmaxCrossEntropyLoss(loss, rows, classes, out, labels, kind, r);
    return r;
  }
  // Unfused paths run on batch × classes floats: plain TypeScript is fast enough here.
  const f = rt.heap.f32;
  const o = out >>> 2, l = labels >>> 2, g = grad >>> 2;
  let lossSum = 0, correct = 0;
  for (let r = 0; r < rows; r++) {
    const ro = o + r * classes;
    const target = (j: number) => (sparse ? (f[l + r] === j ? 1 : 0) : f[l + r * classes + j]);
    if (sparse) {
      const y = f[l + r];
      if (!Number.isInteger(y) || y < 0 || y >= classes) {
        throw new Error(`${loss}: label ${y} in row ${r} of the batch is not a class index in [0, ${classes})`);
      }
    }
    const predicted = argmaxRow(f, ro, classes);
    const truth = sparse ? f[l + r] : classes === 1 ? -1 : argmaxRow(f, l + r * classes, classes);
    if (classes === 1) correct += Math.round(f[ro]) === target(0) ? 1 : 0;
    else if (predicted === truth) correct++;
    if (loss === 'meanSquaredError') {
      let s = 0;
      for (let j = 0; j < classes; j++) {
        const d = f[ro + j] - target(j);
        s += d * d;
        if (grad) f[g + r * classes + j] = weight === 1 ? (2 * d) / (classes * rows) : (weight * 2 * d) / (classes * rows);
      }
      lossSum += s / classes;
    } else {
      // tfjs' categorical cross-entropy on probabilities: normalise the row, clip, −Σ y log p.
      let sum = 0, ySum = 0, min = Infinity;
      for (let j = 0; j < classes; j++) { sum += f[ro + j]; ySum += target(j); min = Math.min(min, f[ro + j]); }
      // Linear/tanh outputs (or all-zero ReLU rows) would make the normalisation meaningless (NaN at a
      // zero sum): say so instead of letting fit report a divergence. NaN/Inf fall through to that check.
      if (min < 0 || sum === 0) {
        throw argError(loss, `output row ${r} of the batch`, Array.from(f.subarray(ro, ro + classes), (v) => +v.toPrecision(4)),
          "probabilities (non-negative, not all zero): cross-entropy needs an output layer with activation 'softmax'");
      }
      let s = 0;
      for (let j = 0; j < classes; j++) {
        const q = Math.min(1 - EPS, Math.max(EPS, f[ro + j] / sum));
        s -= target(j) * Math.log(q);
      }
      lossSum += s;
      if (grad) for (let j = 0; j < classes; j++) {
        const q = Math.min(1 - EPS, Math.max(EPS, f[ro + j] / sum));
        f[g + r * classes + j] = weight === 1 ? (-target(j) / q / sum + ySum / sum) / rows : (weight * (-target(j) / q / sum + ySum / sum)) / rows;
      }
    }
  }
  return { lossSum, correct };
}
