// Activations: pointer-level forward/backward for the training loop (backward takes the forward
// OUTPUT y, so forwards may run in place), bias gradients, and the tfjs ops relu, sigmoid, tanh,
// softmax.

import { miscKernels } from '../backend/kernels-misc.js';
import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';

/** Elementwise activations the layers accept (Keras names). */
export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh';

export function isActivationName(v: unknown): v is ActivationName {
  return v === 'linear' || v === 'relu' || v === 'sigmoid' || v === 'tanh';
}

/** y = max(x, 0) over n floats; y may equal x. */
/** Elementwise kernels are memory-bound: split only large arrays, in 64-byte-aligned slices. */
const PARALLEL_MIN_ELEMENTS = 1 << 17;

export function reluForward(n: number, x: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['reluForward', c, x + i * 4, y + i * 4] as const, miscKernels().reluForward);
}
/** dx = y > 0 ? dy : 0 with y = relu(x) (equivalently x > 0); dx may equal dy. */
export function reluBackward(n: number, y: number, dy: number, dx: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['reluBackward', c, y + i * 4, dy + i * 4, dx + i * 4] as const, miscKernels().reluBackward);
}
/** y = 1/(1+e^−x); y may equal x. */
export function sigmoidForward(n: number, x: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['sigmoidForward', c, x + i * 4, y + i * 4] as const, miscKernels().sigmoidForward);
}
/** dx = dy·y·(1−y) with y = sigmoid(x); dx may equal dy. */
export function sigmoidBackward(n: number, y: number, dy: number, dx: number): void {
  miscKernels().sigmoidBackward(n, y, dy, dx);
}
/** y = tanh(x); y may equal x. */
export function tanhForward(n: number, x: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['tanhForward', c, x + i * 4, y + i * 4] as const, miscKernels().tanhForward);
}
/** dx = dy·(1−y²) with y = tanh(x); dx may equal dy. */
export function tanhBackward(n: number, y: number, dy: number, dx: number): void {
  miscKernels().tanhBackward(n, y, dy, dx);
}

/** y = act(x) over n floats by Keras name ('linear' copies unless y = x). y may equal x. */
export function activationForward(act: ActivationName, n: number, x: number, y: number): void {
  switch (act) {
    case 'relu': return reluForward(n, x, y);
    case 'sigmoid': return sigmoidForward(n, x, y);
    case 'tanh': return tanhForward(n, x, y);
    case 'linear':
      if (x !== y) runtime().heap.f32.copyWithin(y >>> 2, x >>> 2, (x >>> 2) + n);
      return;
  }
}

/** dx = dy · act'(x), from the forward output y. dx may equal dy. */
export function activationBackward(act: ActivationName, n: number, y: number, dy: number, dx: number): void {
  switch (act) {
    case 'relu': return reluBackward(n, y, dy, dx);
    case 'sigmoid': return sigmoidBackward(n, y, dy, dx);
    case 'tanh': return tanhBackward(n, y, dy, dx);
    case 'linear':
      if (dx !== dy) runtime().heap.f32.copyWithin(dx >>> 2, dy >>> 2, (dy >>> 2) + n);
      return;
  }
}

/**
 * db[j] (+)= Σ_i dy[i][j] for dy [m×n] row-major: the bias gradient of a dense layer (m = batch) or
 * a conv layer (m = batch·outH·outW, n = channels). accumulate adds to db instead of overwriting.
 */
export function biasGrad(m: number, n: number, dy: number, db: number, accumulate = false): void {
  miscKernels().biasGrad(m, n, dy, db, accumulate ? 1 : 0);
}

/** y += x over n floats. */
export function addInto(n: number, x: number, y: number): void {
  miscKernels().addInto(n, x, y);
}

/** y = alpha·x over n floats; y may equal x. */
export function scaleInto(n: number, alpha: number, x: number, y: number): void {
  miscKernels().scaleInto(n, alpha, x, y);
}

/** Row-wise stable softmax of x [rows×cols] into y (may equal x). */
export function softmaxRows(rows: number, cols: number, x: number, y: number): void {
  miscKernels().softmaxRows(rows, cols, x, y);
}

function unary(op: string, x: Tensor, run: (n: number, x: number, y: number) => void): Tensor {
  if (!(x instanceof Tensor)) throw argError(op, 'x', x, 'a Tensor');
  x.check(op);
  const out = allocTensor(x.shape);
  run(x.size, x.ptr, out.ptr);
  return out;
}

/** tf.relu */
export function relu(x: Tensor): Tensor {
  return unary('relu', x, reluForward);
}
/** tf.sigmoid */
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, sigmoidForward);
}
/** tf.tanh */
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, tanhForward);
}

/** tf.softmax: along the last axis (as tfjs, which supports no other), max-subtracted for stability. */
export function softmax(logits: Tensor, dim = -1): Tensor {
  const op = 'softmax';
  if (!(logits instanceof Tensor)) throw argError(op, 'logits', logits, 'a Tensor');
  logits.check(op);
  if (logits.rank === 0) throw argError(op, 'logits', logits, 'a tensor of rank at least 1');
  const last = logits.rank - 1;
  if (dim !== -1 && dim !== last) throw argError(op, 'dim', dim, `-1 or ${last} (the last axis; softmax along other axes is not supported)`);
  const cols = logits.shape[last];
  const out = allocTensor(logits.shape);
  if (cols > 0) softmaxRows(logits.size / cols, cols, logits.ptr, out.ptr);
  return out;
}
