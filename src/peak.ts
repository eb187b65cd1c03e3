// The machine's own ceiling: a register-only multiply-add loop in the same wasm build the kernels
// use, on one thread or on every thread of the pool at once. Benchmarks quote every kernel as a
// fraction of this, so figures carry over between machines.

import { runtime, threadPool } from './backend/runtime.js';

const FLOPS_PER_ITER = 12 * 4 * 2;

/**
 * SIMD peak in GFLOP/s, the best of `repeats` timed runs of about `ms` each. With `allThreads`,
 * every thread of the pool (setThreads) runs the loop at the same time and the sum is returned.
 */
export function measurePeakGflops(opts: { ms?: number; repeats?: number; allThreads?: boolean } = {}): number {
  const { kernels } = runtime();
  const pool = opts.allThreads ? threadPool() : undefined;
  const T = pool?.size ?? 1;
  const run = (iters: number) => {
    if (pool) pool.run(Array.from({ length: T }, () => ['peakFmaLoop', iters] as const));
    else kernels.peakFmaLoop(iters);
  };
  const ms = opts.ms ?? 100;
  let iters = 1 << 16;
  // Calibrate so one run lasts about `ms` (and warm up the optimising tier).
  for (;;) {
    const t0 = performance.now();
    run(iters);
    const dt = performance.now() - t0;
    if (dt > ms / 4) {
      iters = Math.max(1, Math.round((iters * ms) / dt));
      break;
    }
    iters *= 2;
  }
  // Untimed rounds first: a worker may still run the baseline (Liftoff) code for a while after
  // the calling thread has tiered up, and one slow thread caps the all-threads figure.
  const warmUntil = performance.now() + (pool ? Math.max(1500, 4 * ms) : 4 * ms);
  while (performance.now() < warmUntil) run(iters);
  let best = 0;
  for (let r = 0; r < (opts.repeats ?? 5); r++) {
    const t0 = performance.now();
    run(iters);
    const dt = (performance.now() - t0) / 1000;
    best = Math.max(best, (T * iters * FLOPS_PER_ITER) / dt / 1e9);
  }
  return best;
}
