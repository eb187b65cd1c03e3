// Activations as the layers use them: in place on a layer's output buffer, and their backward
// in place on the incoming gradient (dy ← dy ⊙ f'(y), written from y so no input copy is kept).
// ReLU after conv2d/dense is fused into the GEMM epilogue; these cover every other case.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';

export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

export function checkActivation(layer: string, v: unknown): ActivationName {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v)) return v as ActivationName;
  throw argError(layer, 'activation', v, `one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`);
}

interface ActivationKernels {
  reluForward(n: number, x: number, y: number): void;
  reluBackward(n: number, y: number, dy: number, dx: number): void;
  sigmoidForward(n: number, x: number, y: number): void;
  sigmoidBackward(n: number, y: number, dy: number, dx: number): void;
  tanhForward(n: number, x: number, y: number): void;
  tanhBackward(n: number, y: number, dy: number, dx: number): void;
  softmaxRows(rows: number, cols: number, x: number, y: number): void;
}
const k = () => runtime().kernels as unknown as ActivationKernels;

/** y ← f(x) over rows × cols (x may equal y). Softmax is over each row. */
export function activationForward(name: ActivationName, rows: number, cols: number, x: number, y: number): void {
  const n = rows * cols;
  switch (name) {
    case 'linear': if (x !== y) runtime().heap.f32.copyWithin(y >>> 2, x >>> 2, (x >>> 2) + n); return;
    case 'relu': k().reluForward(n, x, y); return;
    case 'sigmoid': k().sigmoidForward(n, x, y); return;
    case 'tanh': k().tanhForward(n, x, y); return;
    case 'softmax': k().softmaxRows(rows, cols, x, y); return;
  }
}

/** dx ← dy ⊙ f'(y) (dx may equal dy). Softmax uses its Jacobian: dx = y ⊙ (dy − Σ dy·y) per row. */
export function activationBackward(name: ActivationName, rows: number, cols: number, y: number, dy: number, dx: number): void {
  const n = rows * cols;
  switch (name) {
    case 'linear': if (dx !== dy) runtime().heap.f32.copyWithin(dx >>> 2, dy >>> 2, (dy >>> 2) + n); return;
    case 'relu': k().reluBackward(n, y, dy, dx); return;
    case 'sigmoid': k().sigmoidBackward(n, y, dy, dx); return;
    case 'tanh': k().tanhBackward(n, y, dy, dx); return;
    case 'softmax': {
      // Only reached for a softmax that is not the model's output (the output one is fused into the loss).
      const f = runtime().heap.f32;
      for (let r = 0; r < rows; r++) {
        const yo = (y >>> 2) + r * cols, go = (dy >>> 2) + r * cols, xo = (dx >>> 2) + r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += f[go + j] * f[yo + j];
        for (let j = 0; j < cols; j++) f[xo + j] = f[yo + j] * (f[go + j] - dot);
      }
      return;
    }
  }
}
