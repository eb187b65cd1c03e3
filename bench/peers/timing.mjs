// One timed repetition of a task inside a peer runner: tinybench, all latency samples returned so
// the orchestrator can take medians over every repetition of every round.
import { Bench } from 'tinybench';

/**
 * Runs fn `iterations` times (or for `time` ms, at least `iterations` times) after `warmup`
 * untimed calls; returns the samples in ms.
 */
export async function timeTask(name, fn, { iterations = 3, time = 0, warmup = 0 } = {}) {
  const bench = new Bench({
    time, iterations, warmup: warmup > 0, warmupIterations: warmup, warmupTime: 0, retainSamples: true,
  });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (!r || r.error || !r.latency) throw new Error(`bench task '${name}' failed: ${r?.error?.message ?? r?.state ?? 'no result'}`);
  return Array.from(r.latency.samples ?? [r.latency.p50]);
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Same images for every library: uint8 → float32 in [0, 1], as uint8Images(images, shape) scales them. */
export function toFloat(images) {
  const f = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) f[i] = images[i] / 255;
  return f;
}
