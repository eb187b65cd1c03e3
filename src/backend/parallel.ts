// Fixed ways of splitting a kernel call over the pool. The split depends only on the sizes and the
// thread count, and every output element is written by exactly one thread, so results are
// bit-identical from run to run (and, for these splits, equal to one thread's).

import { threadPool } from './runtime.js';

type Job = readonly [string, ...number[]];

/**
 * Runs a kernel over `items` independent items (images of a batch, elements of an array) split into
 * one contiguous slice per thread, each slice a multiple of `align` items. `job(start, count)` builds
 * the call for a slice. Below `minItems` it is one call on the calling thread.
 */
export function parallelSlices(items: number, minItems: number, align: number,
  job: (start: number, count: number) => Job, direct: (...args: number[]) => void): void {
  const pool = items >= minItems ? threadPool() : undefined;
  if (!pool) {
    const [, ...args] = job(0, items);
    direct(...args);
    return;
  }
  const T = Math.min(pool.size, Math.ceil(items / align));
  const chunk = Math.ceil(items / T / align) * align;
  pool.run(Array.from({ length: T }, (_, t) => {
    const start = t * chunk, count = Math.min(chunk, items - start);
    return count <= 0 ? null : job(start, count);
  }));
}
