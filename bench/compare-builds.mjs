// Two builds of simdcnn in ONE process, their epochs alternated, so the host's slow phases (a
// shared VM moves ±20–35% for minutes) weigh on both alike: the reference CNN's training images/s
// and batch-1 latency, before/after a change. Each build has its own wasm instance and thread pool.
//   node bench/compare-builds.mjs OLD_DIST NEW_DIST [--json]     (e.g. a git worktree's dist/)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { referenceCnn, syntheticData } from './cnn.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (args.length !== 2) {
  console.error('usage: node bench/compare-builds.mjs OLD_DIST NEW_DIST [--json]');
  process.exit(2);
}
const json = process.argv.includes('--json');
const [A, B] = await Promise.all(args.map((d) => import(pathToFileURL(resolve(d, 'index.js')).href)));
const med = (v) => v.slice().sort((x, y) => x - y)[v.length >> 1];
const rows = [];
for (const [batch, threads] of [[32, 1], [128, 1], [32, 2], [128, 2]]) {
  const n = batch * Math.max(8, Math.round(2048 / batch));
  const { images, labels } = syntheticData(n);
  const setup = (s) => {
    s.setThreads(threads);
    const m = referenceCnn(s);
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    return { s, m, x: s.uint8Images(images, [28, 28, 1]), one: s.uint8Images(images.subarray(0, 784), [28, 28, 1]) };
  };
  const a = setup(A), b = setup(B);
  const epoch = async (c) => {
    c.s.setThreads(threads);
    const t0 = performance.now();
    await c.m.fit(c.x, labels, { epochs: 1, batchSize: batch, shuffle: false });
    return n / ((performance.now() - t0) / 1000);
  };
  const latency = (c) => {
    for (let i = 0; i < 100; i++) c.m.predict(c.one).dispose();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) c.m.predict(c.one).dispose();
    return (performance.now() - t0) / 1000;
  };
  await epoch(a); await epoch(b);
  const ra = [], rb = [], la = [], lb = [];
  // Alternate which goes first, so neither always follows the other's garbage or cache state.
  for (let i = 0; i < 8; i++) {
    const order = i % 2 ? [[b, rb], [a, ra]] : [[a, ra], [b, rb]];
    for (const [c, r] of order) r.push(await epoch(c));
  }
  if (threads === 1 && batch === 32) for (let i = 0; i < 6; i++) { la.push(latency(a)); lb.push(latency(b)); }
  rows.push({ batch, threads, oldImagesPerSec: med(ra), newImagesPerSec: med(rb), ratio: med(rb) / med(ra),
    ...(la.length ? { oldLatencyMs: med(la), newLatencyMs: med(lb) } : {}) });
  a.m.dispose(); b.m.dispose();
}
if (json) console.log(JSON.stringify({ date: new Date().toISOString(), old: args[0], new: args[1], rows }, null, 2));
else {
  console.log('| training | old img/s | new img/s | new/old |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| batch ${r.batch}, ${r.threads} thread${r.threads > 1 ? 's' : ''} | ${r.oldImagesPerSec.toFixed(0)} | ${r.newImagesPerSec.toFixed(0)} | ${r.ratio.toFixed(3)} |`);
  const l = rows.find((r) => r.oldLatencyMs);
  console.log(`batch-1 latency, 1 thread: old ${l.oldLatencyMs.toFixed(3)} ms, new ${l.newLatencyMs.toFixed(3)} ms`);
}
process.exit(0);
