// npm run bench (part 2): training and inference of the reference CNN, on one thread and on all
// cores, against the machine's measured SIMD peak (1 thread and all threads, same run).
//   node bench/train.mjs [--json]     (npm run build first)
import os from 'node:os';
import { Bench } from 'tinybench';
import * as s from '../dist/index.js';
import { FORWARD_MFLOP, referenceCnn, syntheticData, TRAIN_MFLOP } from './cnn.mjs';
import { machine, medianMs } from './machine.mjs';

const json = process.argv.includes('--json');
const all = os.availableParallelism();
const threadCounts = all > 1 ? [1, all] : [1];

// The host's speed moves for minutes at a time (other tenants of a shared VM). So every
// configuration is measured in each of ROUNDS rounds, interleaved, and its median and fastest
// repetition are taken over all rounds' samples: a slow phase then weighs on every configuration
// alike instead of on whichever ran during it. The peak is measured at the start of every round
// and after the last, and the highest figure kept (a low peak would flatter every ratio).
const ROUNDS = 3;
const peaks = {};
function measurePeaks() {
  for (const t of threadCounts) {
    s.setThreads(t);
    peaks[t] = Math.max(peaks[t] ?? 0, s.measurePeakGflops({ ms: 200, repeats: 5, allThreads: true }));
  }
}

/** Runs fn `iterations` times (after `warmup` untimed runs) and returns the timed samples in ms. */
async function samples(name, fn, opts) {
  const bench = new Bench({ retainSamples: true, ...opts });
  bench.add(name, fn);
  await bench.run();
  medianMs(bench.tasks[0]); // throws with the task's error if it failed
  return [...bench.tasks[0].result.latency.samples];
}

const configs = [];
for (const batch of [32, 128]) {
  const steps = Math.max(8, Math.round(2048 / batch));
  const n = batch * steps;
  const { images, labels } = syntheticData(n);
  const x = s.uint8Images(images, [28, 28, 1]);
  for (const t of threadCounts) {
    s.setThreads(t);
    const model = referenceCnn(s);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    configs.push({ task: 'train', batch, threads: t, images: n, flop: TRAIN_MFLOP, model,
      run: (o) => samples('fit', async () => { await model.fit(x, labels, { epochs: 1, batchSize: batch, shuffle: false }); }, o),
      opts: { time: 0, warmupIterations: 1, iterations: 3 } });
  }
}
{
  const { images } = syntheticData(256);
  const model = referenceCnn(s);
  const one = s.uint8Images(images.subarray(0, 784), [28, 28, 1]);
  const x256 = s.uint8Images(images, [28, 28, 1]);
  configs.push({ task: 'infer', batch: 1, threads: 1, images: 1, flop: FORWARD_MFLOP, model,
    run: (o) => samples('predict batch 1', () => model.predict(one).dispose(), o), opts: { time: 400, warmupTime: 100 } });
  for (const t of threadCounts) {
    configs.push({ task: 'infer', batch: 256, threads: t, images: 256, flop: FORWARD_MFLOP, model,
      run: (o) => samples('predict batch 256', () => model.predict(x256, { batchSize: 256 }).dispose(), o), opts: { time: 400, warmupTime: 100 } });
  }
}
for (let round = 0; round < ROUNDS; round++) {
  measurePeaks();
  for (const c of configs) {
    s.setThreads(c.threads);
    (c.samples ??= []).push(...(await c.run(c.opts)));
  }
}
measurePeaks();
const sorted = (a) => [...a].sort((p, q) => p - q);
const rows = configs.map((c) => {
  const v = sorted(c.samples);
  const ms = v[Math.floor(v.length / 2)], best = v[0];
  const ips = c.images / (ms / 1000), bestIps = c.images / (best / 1000);
  const gflops = (ips * c.flop) / 1000;
  const row = { task: c.task, batch: c.batch, threads: c.threads, repetitions: v.length, imagesPerSec: ips, bestImagesPerSec: bestIps, gflops,
    fractionOfPeak: gflops / peaks[c.threads], bestFractionOfPeak: (bestIps * c.flop) / 1000 / peaks[c.threads] };
  if (c.task === 'infer') Object.assign(row, { latencyMs: ms, bestLatencyMs: best });
  return row;
});
for (const model of new Set(configs.map((c) => c.model))) model.dispose();
s.terminateThreads();

const result = { machine: machine(), wasm: s.wasmVariant(), rounds: ROUNDS, peakGflops: peaks, trainMflopPerImage: TRAIN_MFLOP, forwardMflopPerImage: FORWARD_MFLOP, rows };
const { writeFileSync } = await import('node:fs');
writeFileSync(new URL('./results/train.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
if (json) {
  console.log(JSON.stringify(result));
} else {
  const m = result.machine;
  console.log(`simdcnn reference CNN — ${m.cpu}, ${m.cores} cores, Node ${m.node}, wasm '${result.wasm}'; medians over ${ROUNDS} interleaved rounds (tinybench)`);
  console.log(`measured SIMD peak: ${threadCounts.map((t) => `${peaks[t].toFixed(1)} GFLOP/s on ${t} thread${t > 1 ? 's' : ''}`).join(', ')}\n`);
  console.log('| task | batch | threads | images/s | latency ms | GFLOP/s | of peak | fastest repetition: of peak |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.task === 'train' ? `training (${TRAIN_MFLOP} MFLOP/img)` : `inference (${FORWARD_MFLOP} MFLOP/img)`} | ${r.batch} | ${r.threads} | ${r.imagesPerSec.toFixed(0)} | ${r.latencyMs ? r.latencyMs.toFixed(3) : ''} | ${r.gflops.toFixed(1)} | ${(r.fractionOfPeak * 100).toFixed(0)}% | ${(r.bestFractionOfPeak * 100).toFixed(0)}% |`);
  }
}
