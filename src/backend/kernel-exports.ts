// The wasm module's exports, typed. Every kernel takes byte addresses into the one linear memory
// (TypeScript owns the layout: see heap.ts) plus sizes and strides; see assembly/ for layouts.

export interface KernelExports {
  heapBase(): number;
  buildHasFma(): number;
  peakFmaLoop(iters: number): number;
  gemmScratchBytes(): number;
  sgemm(m: number, n: number, k: number,
    a: number, rsA: number, csA: number,
    b: number, rsB: number, csB: number,
    c: number, ldc: number, bias: number, flags: number, scratch: number): void;
  [name: string]: unknown;
}

/** sgemm flags (mirror assembly/gemm.ts). */
export const GEMM_ACCUMULATE = 1;
export const GEMM_RELU = 2;
