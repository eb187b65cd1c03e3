// Activations as the layers use them: in place on a layer's output buffer, and their backward
// in place on the incoming gradient (dy ← dy ⊙ f'(y), written from y so no input copy is kept).
// ReLU after conv2d/dense is fused into the GEMM epilogue; these cover every other case.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { activationBackward as elementwiseBackward, activationForward as elementwiseForward, softmaxRows } from '../ops/activations.js';

export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

export function checkActivation(layer: string, v: unknown): ActivationName {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v)) return v as ActivationName;
  throw argError(layer, 'activation', v, `one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`);
}

/** y ← f(x) over rows × cols (x may equal y). Softmax is over each row. */
export function activationForward(name: ActivationName, rows: number, cols: number, x: number, y: number): void {
  if (name === 'softmax') softmaxRows(rows, cols, x, y);
  else elementwiseForward(name, rows * cols, x, y);
}

/** dx ← dy ⊙ f'(y) (dx may equal dy). Softmax uses its Jacobian: dx = y ⊙ (dy − Σ dy·y) per row. */
export function activationBackward(name: ActivationName, rows: number, cols: number, y: number, dy: number, dx: number): void {
  if (name !== 'softmax') {
    elementwiseBackward(name, rows * cols, y, dy, dx);
    return;
  }
  // Only reached for a softmax that is not fused into the loss (mid-network, or under MSE).
  const f = runtime().heap.f32;
  for (let r = 0; r < rows; r++) {
    const yo = (y >>> 2) + r * cols, go = (dy >>> 2) + r * cols, xo = (dx >>> 2) + r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += f[go + j] * f[yo + j];
    for (let j = 0; j < cols; j++) f[xo + j] = f[yo + j] * (f[go + j] - dot);
  }
}
