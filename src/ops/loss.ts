// Softmax cross-entropy: the fused pointer-level step the training loop calls (loss sum, accuracy
// count and dlogits in one pass), a loss-only variant for evaluate, the NaN/Inf locator callers
// use to explain a non-finite loss, and the tfjs-style ops.

import { miscKernels, XENT_OUT_BYTES } from '../backend/kernels-misc.js';
import { runtime } from '../backend/runtime.js';
import type { Heap } from '../backend/heap.js';
import { argError, describe } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';

/** 'sparse': one f32 class index per row; 'dense': a one-hot / probability row per row. */
export type LabelKind = 'sparse' | 'dense';

/** Written by softmaxCrossEntropyStep / softmaxCrossEntropyLoss (caller-owned, reused every step). */
export interface XentResult {
  /** Σ over rows of the per-row loss (unscaled: divide by rows for the mean). Non-finite if the logits are. */
  lossSum: number;
  /** Rows whose first-max logit is the label (dense: the label row's first max), for accuracy. */
  correct: number;
}

// The kernel's 24-byte out block, allocated once per heap; the f64 view is re-made only after growth.
let outHeap: Heap | undefined;
let outPtr = 0;
let outView: Float64Array | undefined;

function outBlock(): Float64Array {
  const { heap } = runtime();
  if (outHeap !== heap) {
    outHeap = heap;
    outPtr = heap.alloc(XENT_OUT_BYTES);
    outView = undefined;
  }
  if (!outView || outView.buffer !== heap.memory.buffer) outView = new Float64Array(heap.memory.buffer, outPtr, 3);
  return outView;
}

function checkSizes(op: string, rows: number, classes: number): void {
  if (!Number.isInteger(rows) || rows < 0) throw argError(op, 'rows', rows, 'a non-negative integer');
  if (!Number.isInteger(classes) || classes < 1) throw argError(op, 'classes', classes, 'a positive integer');
}

function run(op: string, rows: number, classes: number, logits: number, labels: number, kind: LabelKind,
  probs: number, dlogits: number, scale: number, result: XentResult): void {
  checkSizes(op, rows, classes);
  if (kind !== 'sparse' && kind !== 'dense') throw argError(op, 'labelKind', kind, "'sparse' or 'dense'");
  const out = outBlock();
  miscKernels().softmaxCrossEntropy(rows, classes, logits, labels, kind === 'sparse' ? 1 : 0, probs, dlogits, scale, outPtr);
  const bad = out[2];
  if (bad >= 0) {
    const value = runtime().heap.f32[(labels >>> 2) + bad];
    throw argError(op, `labels[${bad}]`, value, `an integer class index in [0, ${classes})`);
  }
  result.lossSum = out[0];
  result.correct = out[1];
}

/**
 * Training step: softmax cross-entropy of logits [rows×classes] against labels, writing
 * dlogits = ∂(scale·Σ loss)/∂logits = (softmax − onehot)·scale (dense: (p·Σt − t)·scale), so
 * scale = 1/rows gives the gradient of the mean loss. probs (or 0) receives the softmax. Fills
 * result with the loss sum and the correct-prediction count. Throws if a sparse label is not an
 * integer in [0, classes), naming its row and value; a non-finite loss is returned as is (see
 * nonFiniteError). All buffers distinct heap addresses; no allocation after the first call.
 */
export function softmaxCrossEntropyStep(op: string, rows: number, classes: number, logits: number, labels: number,
  labelKind: LabelKind, dlogits: number, scale: number, probs: number, result: XentResult): void {
  run(op, rows, classes, logits, labels, labelKind, probs, dlogits, scale, result);
}

/** Loss and correct count only (evaluate / validation): no gradient, no softmax written. */
export function softmaxCrossEntropyLoss(op: string, rows: number, classes: number, logits: number, labels: number,
  labelKind: LabelKind, result: XentResult): void {
  run(op, rows, classes, logits, labels, labelKind, 0, 0, 0, result);
}

/** Index of the first NaN/±Inf among n floats at ptr, or −1 (one SIMD pass when all are finite). */
export function firstNonFinite(n: number, ptr: number): number {
  return miscKernels().hasNonFinite(n, ptr);
}

/**
 * Explains a non-finite loss: an Error naming the first NaN/Inf in the logits (row, class, value)
 * or else in dense labels, or undefined when both are finite. Call it only when lossSum is not finite.
 */
export function nonFiniteError(op: string, rows: number, classes: number, logits: number, labels: number,
  labelKind: LabelKind): Error | undefined {
  const f32 = runtime().heap.f32;
  const at = firstNonFinite(rows * classes, logits);
  if (at >= 0) {
    const r = Math.floor(at / classes), c = at % classes;
    return new Error(`${op}: logits must be finite, got ${describe(f32[(logits >>> 2) + at])} at row ${r}, class ${c} (the model diverged: lower the learning rate, or check the input for NaN/Inf)`);
  }
  if (labelKind === 'dense') {
    const bad = firstNonFinite(rows * classes, labels);
    if (bad >= 0) {
      return new Error(`${op}: labels must be finite, got ${describe(f32[(labels >>> 2) + bad])} at row ${Math.floor(bad / classes)}, class ${bad % classes}`);
    }
  }
  return undefined;
}

function checkTensor(op: string, arg: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw argError(op, arg, t, 'a Tensor');
  return t.check(op);
}

function meanLoss(op: string, labels: Tensor, logits: Tensor, kind: LabelKind): Tensor {
  const rows = logits.size / logits.shape[logits.rank - 1];
  const classes = logits.shape[logits.rank - 1];
  const result: XentResult = { lossSum: 0, correct: 0 };
  softmaxCrossEntropyLoss(op, rows, classes, logits.ptr, labels.ptr, kind, result);
  if (!Number.isFinite(result.lossSum)) {
    const err = nonFiniteError(op, rows, classes, logits.ptr, labels.ptr, kind);
    if (err) throw err;
  }
  const out = allocTensor([]);
  runtime().heap.f32[out.ptr >>> 2] = result.lossSum / rows;
  return out;
}

/**
 * tf.losses.softmaxCrossEntropy(onehotLabels, logits) with the default reduction: the mean over rows
 * of −Σ_j labels_j · log softmax(logits)_j, softmax along the last axis. Returns a scalar.
 */
export function softmaxCrossEntropy(onehotLabels: Tensor, logits: Tensor): Tensor {
  const op = 'softmaxCrossEntropy';
  checkTensor(op, 'onehotLabels', onehotLabels);
  checkTensor(op, 'logits', logits);
  if (logits.rank < 1 || logits.size === 0) throw argError(op, 'logits', logits, 'a non-empty tensor of rank at least 1');
  if (onehotLabels.shape.join() !== logits.shape.join()) {
    throw argError(op, 'onehotLabels', onehotLabels, `the shape of logits [${logits.shape.join(', ')}]`);
  }
  return meanLoss(op, onehotLabels, logits, 'dense');
}

/**
 * tf.nn.sparse_softmax_cross_entropy_with_logits averaged over rows: labels hold class indices
 * (float32 integers in [0, classes)) with logits' shape minus the last axis. Returns a scalar.
 */
export function sparseSoftmaxCrossEntropy(labels: Tensor, logits: Tensor): Tensor {
  const op = 'sparseSoftmaxCrossEntropy';
  checkTensor(op, 'labels', labels);
  checkTensor(op, 'logits', logits);
  if (logits.rank < 1 || logits.size === 0) throw argError(op, 'logits', logits, 'a non-empty tensor of rank at least 1');
  const want = logits.shape.slice(0, -1);
  if (labels.shape.join() !== want.join()) throw argError(op, 'labels', labels, `of shape [${want.join(', ')}] (logits' shape without the class axis)`);
  return meanLoss(op, labels, logits, 'sparse');
}
