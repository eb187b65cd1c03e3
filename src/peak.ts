// The machine's own ceiling: a register-only multiply-add loop in the same wasm build the kernels
// use. Benchmarks quote every kernel as a fraction of this, so figures carry over between machines.

import { runtime } from './backend/runtime.js';

const FLOPS_PER_ITER = 12 * 4 * 2;

/** Single-thread SIMD peak in GFLOP/s, the best of `repeats` timed runs of about `ms` each. */
export function measurePeakGflops(opts: { ms?: number; repeats?: number } = {}): number {
  const { kernels } = runtime();
  const ms = opts.ms ?? 100;
  let iters = 1 << 16;
  // Calibrate so one run lasts about `ms` (and warm up the optimising tier).
  for (;;) {
    const t0 = performance.now();
    kernels.peakFmaLoop(iters);
    const dt = performance.now() - t0;
    if (dt > ms / 4) {
      iters = Math.max(1, Math.round((iters * ms) / dt));
      break;
    }
    iters *= 2;
  }
  let best = 0;
  for (let r = 0; r < (opts.repeats ?? 5); r++) {
    const t0 = performance.now();
    kernels.peakFmaLoop(iters);
    const dt = (performance.now() - t0) / 1000;
    best = Math.max(best, (iters * FLOPS_PER_ITER) / dt / 1e9);
  }
  return best;
}
