// Signatures of the convolution kernels in assembly/im2col.ts (byte addresses + i32 sizes).

import { runtime } from './runtime.js';

export interface ConvKernels {
  /** col[M × K] ← x (NHWC), K ordered (kh, kw, c); padded taps are zero. */
  im2col(x: number, col: number, n: number, h: number, w: number, c: number,
    kh: number, kw: number, strideH: number, strideW: number, dilH: number, dilW: number,
    padTop: number, padLeft: number, outH: number, outW: number): void;
  /** dx (+)= scatter-add of dcol[M × K]; accumulate = 0 zeroes dx first. */
  col2im(dcol: number, dx: number, n: number, h: number, w: number, c: number,
    kh: number, kw: number, strideH: number, strideW: number, dilH: number, dilW: number,
    padTop: number, padLeft: number, outH: number, outW: number, accumulate: number): void;
}

export const convKernels = (): ConvKernels => runtime().kernels as unknown as ConvKernels;
