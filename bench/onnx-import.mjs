// PyTorch-exported ONNX files run by simdcnn (sc.loadOnnx) and by onnxruntime-web, the same file in
// each: outputs compared first, then batch-1 latency on every thread, medians. The libraries take
// turns in blocks of calls, not call by call: both keep worker threads spinning for a while after
// a call, and on two cores one library's spinning workers would slow the other's next call (5×
// measured, call by call). Blocks alternate so a slow phase of the shared host weighs on both.
//   node bench/onnx-import.mjs FILE.onnx... [--threads N] [--reps N] [--json]   (npm run build first)
// Full-size torchvision files: /usr/bin/python3 scripts/onnx-parity-full.py --out DIR writes
// resnet18.onnx and mobilenet_v2.onnx there.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import * as sc from '../dist/index.js';
import { machine } from './machine.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i < 0 ? dflt : Number(argv[i + 1]); };
const files = argv.filter((a, i) => !a.startsWith('--') && !['--threads', '--reps'].includes(argv[i - 1]));
const threads = opt('--threads', os.availableParallelism?.() ?? os.cpus().length), reps = opt('--reps', 20);
if (!files.length) {
  console.error('usage: node bench/onnx-import.mjs FILE.onnx... [--threads N] [--reps N] [--json]');
  process.exit(2);
}
sc.setThreads(threads);
ort.env.wasm.numThreads = threads;
const ROUNDS = 10;
const med = (v) => v.slice().sort((a, b) => a - b)[v.length >> 1];
const rows = [];
for (const file of files) {
  const bytes = readFileSync(file);
  const net = await sc.loadOnnx(new Uint8Array(bytes));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const info = net.onnxInputs[0];
  // Symbolic dims (the batch) become 1.
  const shape = info.shape.map((d) => (typeof d === 'number' ? d : 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.37) * 0.5);
  const xs = sc.tensor(x, shape);
  const ours = async () => { const y = net.predict(xs); const v = y.dataSync().slice(); y.dispose(); return v; };
  const theirs = async () => (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) }))[session.outputNames[0]].data;
  const a = await ours(), b = await theirs();
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  for (let i = 0; i < 3; i++) { await ours(); await theirs(); }
  const ta = [], tb = [];
  const block = async (f, into) => {
    await new Promise((r) => setTimeout(r, 50)); // the other library's workers stop spinning
    await f();
    for (let r = 0; r < Math.ceil(reps / ROUNDS); r++) { const t0 = performance.now(); await f(); into.push(performance.now() - t0); }
  };
  // Many short blocks: on a shared VM the host's speed moves within seconds, and a few long
  // blocks let one library's rounds fall into a slow phase the other's missed (ratios moved
  // 0.49–0.61 between runs of 3 blocks each).
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2) { await block(theirs, tb); await block(ours, ta); } else { await block(ours, ta); await block(theirs, tb); }
  }
  const row = { model: basename(file), input: shape, maxDiff: diff, maxAbs: scale, simdcnnMs: med(ta), ortMs: med(tb), ratio: med(ta) / med(tb) };
  rows.push(row);
  if (!argv.includes('--json')) console.log(`${row.model.padEnd(24)} input [${shape}]  max|Δ| ${diff.toExponential(1)} (max|y| ${scale.toFixed(2)})  simdcnn ${row.simdcnnMs.toFixed(2)} ms  ORT ${row.ortMs.toFixed(2)} ms  → ${row.ratio.toFixed(2)}× ORT's latency`);
  xs.dispose();
  net.dispose();
  await session.release();
}
if (argv.includes('--json')) console.log(JSON.stringify({ machine: machine(), threads, reps, rows }, null, 1));
process.exit(0);
