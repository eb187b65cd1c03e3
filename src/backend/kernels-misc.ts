// Typed signatures of the pooling, activation, loss, optimizer and merge kernels (assembly/pool.ts,
// activations.ts, loss.ts, optim.ts, merge.ts). Byte addresses and sizes only; see those files for layouts.

import { runtime } from './runtime.js';

export interface MiscKernels {
  maxPoolForward(n: number, h: number, w: number, c: number, fh: number, fw: number, sh: number, sw: number,
    padTop: number, padLeft: number, outH: number, outW: number, x: number, y: number, argmax: number): void;
  maxPoolBackward(n: number, h: number, w: number, c: number, outH: number, outW: number,
    dy: number, argmax: number, dx: number): void;
  avgPoolForward(n: number, h: number, w: number, c: number, fh: number, fw: number, sh: number, sw: number,
    padTop: number, padLeft: number, outH: number, outW: number, x: number, y: number): void;
  avgPoolBackward(n: number, h: number, w: number, c: number, fh: number, fw: number, sh: number, sw: number,
    padTop: number, padLeft: number, outH: number, outW: number, dy: number, dx: number): void;

  reluForward(n: number, x: number, y: number): void;
  reluBackward(n: number, y: number, dy: number, dx: number): void;
  sigmoidForward(n: number, x: number, y: number): void;
  sigmoidBackward(n: number, y: number, dy: number, dx: number): void;
  tanhForward(n: number, x: number, y: number): void;
  tanhBackward(n: number, y: number, dy: number, dx: number): void;
  biasGrad(m: number, n: number, dy: number, db: number, accumulate: number): void;
  addInto(n: number, x: number, y: number): void;
  scaleInto(n: number, alpha: number, x: number, y: number): void;
  softmaxRows(rows: number, cols: number, x: number, y: number): void;

  softmaxCrossEntropy(rows: number, classes: number, logits: number, labels: number, sparse: number,
    probs: number, dlogits: number, scale: number, out: number): void;
  hasNonFinite(n: number, x: number): number;

  sgdStep(n: number, w: number, g: number, lr: number): void;
  momentumStep(n: number, w: number, g: number, v: number, lr: number, momentum: number, nesterov: number): void;
  adamStep(n: number, w: number, g: number, m: number, v: number, lrT: number, beta1: number, beta2: number,
    epsilon: number): void;

  // assembly/merge.ts: geom is an i32 table dims | aStrides | bStrides (see there).
  broadcastBinary(op: number, accumulate: number, rank: number, geom: number, start: number, count: number,
    a: number, b: number, y: number): void;
  broadcastReduce(rank: number, geom: number, start: number, count: number, g: number, dx: number,
    scale: number, overwrite: number): void;
  routeGrad(rank: number, geom: number, start: number, count: number, x: number, y: number, r: number, g: number): void;
  blockCopy(outer: number, block: number, src: number, srcStride: number, dst: number, dstStride: number): void;
}

/** Bytes of softmaxCrossEntropy's `out` block (three f64; mirrors XENT_OUT_BYTES). */
export const XENT_OUT_BYTES = 24;

export const miscKernels = (): MiscKernels => runtime().kernels as unknown as MiscKernels;
