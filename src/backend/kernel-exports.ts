// The wasm module's exports, typed. Every kernel takes byte addresses into the one linear memory
// (TypeScript owns the layout: see heap.ts) plus sizes and strides; see assembly/ for layouts.

export interface KernelExports {
  heapBase(): number;
  buildHasFma(): number;
  peakFmaLoop(iters: number): number;
  gemmScratchBytes(): number;
  packWeights(b: number, k: number, n: number, dst: number): void;
  sgemm(m: number, n: number, k: number,
    a: number, rsA: number, csA: number,
    b: number, rsB: number, csB: number,
    c: number, ldc: number, bias: number, flags: number, scratch: number, res: number, scale: number): void;
  [name: string]: unknown;
}

/** sgemm flags (mirror assembly/gemm.ts). */
export const GEMM_ACCUMULATE = 1;
export const GEMM_RELU = 2;
export const GEMM_RELU6 = 4;
/** b is already packed by packWeights (full-K panels [⌈n/8⌉][k][8]). */
export const GEMM_PACKED_B = 8;
/** Swish (x·sigmoid(x)) on the final result; inference only. */
export const GEMM_SWISH = 16;
/** sgemm's K block (assembly/gemm.ts KC). */
export const GEMM_KC = 320;

/** Epilogue activations the GEMM and convolution passes apply (and their codes in assembly/pack.ts). */
export type EpilogueAct = 'linear' | 'relu' | 'relu6' | 'swish';
/** 'swish' only in inference plans: its gradient needs the pre-activation, which a fused pass never writes. */
export const EPILOGUE_ACT: Record<EpilogueAct, number> = { linear: 0, relu: 1, relu6: 2, swish: 3 };
