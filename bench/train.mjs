// npm run bench (part 2): training and inference of the reference CNN, on one thread and on all
// cores, against the machine's measured SIMD peak (1 thread and all threads, same run).
//   node bench/train.mjs [--json]     (npm run build first)
import os from 'node:os';
import { Bench } from 'tinybench';
import * as s from '../dist/index.js';
import { FORWARD_MFLOP, referenceCnn, syntheticData, TRAIN_MFLOP } from './cnn.mjs';
import { bestMs, machine, medianMs } from './machine.mjs';

const json = process.argv.includes('--json');
const all = os.availableParallelism();
const threadCounts = all > 1 ? [1, all] : [1];

// The peak is measured before and after the workloads and the higher figure kept: on a shared
// (virtualised) machine a core can be slowed for a while by its neighbours, and a low peak would
// flatter every ratio.
const peaks = {};
function measurePeaks() {
  for (const t of threadCounts) {
    s.setThreads(t);
    peaks[t] = Math.max(peaks[t] ?? 0, s.measurePeakGflops({ ms: 200, repeats: 7, allThreads: true }));
  }
}
measurePeaks();

const rows = [];
for (const batch of [32, 128]) {
  const steps = Math.max(8, Math.round(2048 / batch));
  const n = batch * steps;
  const { images, labels } = syntheticData(n);
  const x = s.uint8Images(images, [28, 28, 1]);
  for (const t of threadCounts) {
    s.setThreads(t);
    const model = referenceCnn(s);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const bench = new Bench({ time: 0, warmupIterations: 1, iterations: 7 });
    bench.add('fit', async () => { await model.fit(x, labels, { epochs: 1, batchSize: batch, shuffle: false }); });
    await bench.run();
    const ms = medianMs(bench.tasks[0]);
    const ips = n / (ms / 1000);
    rows.push({ task: 'train', batch, threads: t, imagesPerSec: ips, bestImagesPerSec: n / (bestMs(bench.tasks[0]) / 1000), gflops: (ips * TRAIN_MFLOP) / 1000, fractionOfPeak: (ips * TRAIN_MFLOP) / 1000 / peaks[t] });
    model.dispose();
  }
}

// Inference: batch-1 latency on one thread; batch-256 throughput on each thread count.
{
  const { images } = syntheticData(256);
  const model = referenceCnn(s);
  s.setThreads(1);
  const one = s.uint8Images(images.subarray(0, 784), [28, 28, 1]);
  const b1 = new Bench({ time: 1000, warmupTime: 200 });
  b1.add('predict batch 1', () => model.predict(one).dispose());
  await b1.run();
  const lat = medianMs(b1.tasks[0]);
  rows.push({ task: 'infer', batch: 1, threads: 1, latencyMs: lat, bestLatencyMs: bestMs(b1.tasks[0]), imagesPerSec: 1000 / lat, bestImagesPerSec: 1000 / bestMs(b1.tasks[0]), gflops: FORWARD_MFLOP / lat, fractionOfPeak: FORWARD_MFLOP / lat / peaks[1] });
  const x256 = s.uint8Images(images, [28, 28, 1]);
  for (const t of threadCounts) {
    s.setThreads(t);
    const b = new Bench({ time: 1000, warmupTime: 200 });
    b.add('predict batch 256', () => model.predict(x256, { batchSize: 256 }).dispose());
    await b.run();
    const ms = medianMs(b.tasks[0]);
    const ips = 256 / (ms / 1000);
    rows.push({ task: 'infer', batch: 256, threads: t, latencyMs: ms, imagesPerSec: ips, bestImagesPerSec: 256 / (bestMs(b.tasks[0]) / 1000), gflops: (ips * FORWARD_MFLOP) / 1000, fractionOfPeak: (ips * FORWARD_MFLOP) / 1000 / peaks[t] });
  }
  model.dispose();
}
measurePeaks();
for (const r of rows) {
  r.fractionOfPeak = r.gflops / peaks[r.threads];
  r.bestFractionOfPeak = (r.bestImagesPerSec * (r.task === 'train' ? TRAIN_MFLOP : FORWARD_MFLOP)) / 1000 / peaks[r.threads];
}
s.terminateThreads();

const result = { machine: machine(), wasm: s.wasmVariant(), peakGflops: peaks, trainMflopPerImage: TRAIN_MFLOP, forwardMflopPerImage: FORWARD_MFLOP, rows };
const { writeFileSync } = await import('node:fs');
writeFileSync(new URL('./results/train.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
if (json) {
  console.log(JSON.stringify(result));
} else {
  const m = result.machine;
  console.log(`simdcnn reference CNN — ${m.cpu}, ${m.cores} cores, Node ${m.node}, wasm '${result.wasm}'; medians (tinybench)`);
  console.log(`measured SIMD peak: ${threadCounts.map((t) => `${peaks[t].toFixed(1)} GFLOP/s on ${t} thread${t > 1 ? 's' : ''}`).join(', ')}\n`);
  console.log('| task | batch | threads | images/s | latency ms | GFLOP/s | of peak | fastest repetition: of peak |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.task === 'train' ? `training (${TRAIN_MFLOP} MFLOP/img)` : `inference (${FORWARD_MFLOP} MFLOP/img)`} | ${r.batch} | ${r.threads} | ${r.imagesPerSec.toFixed(0)} | ${r.latencyMs ? r.latencyMs.toFixed(3) : ''} | ${r.gflops.toFixed(1)} | ${(r.fractionOfPeak * 100).toFixed(0)}% | ${(r.bestFractionOfPeak * 100).toFixed(0)}% |`);
  }
}
