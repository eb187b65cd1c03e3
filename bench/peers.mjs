// npm run bench:peers: the reference CNN in simdcnn, TensorFlow.js (cpu, wasm) and ONNX Runtime Web
// (wasm, 1 and 2 threads), same weights, same synthetic data, one run; libraries take turns round by
// round, each in its own process (bench/peers/child.mjs), medians of every timed repetition.
//   node bench/peers.mjs [--json]     (npm run build first)
// Writes bench/results/peers.{md,json,svg}.
import { fork, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { syntheticData } from './cnn.mjs';
import { machine } from './machine.mjs';
import { median } from './peers/timing.mjs';
import { markdown, svg } from './peers/report.mjs';
import { shippedBytes } from './peers/sizes.mjs';

const json = process.argv.includes('--json');
const log = (...a) => { if (!json) console.error(...a); };
const ALL = os.availableParallelism();
const ROUNDS = 3;
// Other processes on the machine skew every library's figures: record the load around the run.
const loadStart = os.loadavg()[0];
// Images per timed repetition: ~1 s each, except tfjs-cpu (~1.2 images/s: one batch per repetition,
// batch 32 in two rounds — the first doubles as its warm-up for batch 128 — and batch 128 in one).
const TRAIN_IMAGES = { simdcnn: 2048, 'tfjs-wasm': { 32: 128, 128: 256 }, 'tfjs-cpu': { 32: 32, 128: 128 } };
const CPU_ROUNDS = { 32: 2, 128: 1 };

// ---- child processes --------------------------------------------------------------------------
function spawn(runner, label) {
  const child = fork(new URL('./peers/child.mjs', import.meta.url), [runner], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map();
  const ready = new Promise((res) => child.once('message', res));
  child.on('message', (m) => {
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`${label}: ${m.error}`));
    else w.resolve(m.result);
  });
  child.on('exit', (code) => { for (const w of waiting.values()) w.reject(new Error(`${label} exited with code ${code}`)); });
  const call = async (fn, ...args) => {
    await ready;
    const id = next++;
    return new Promise((resolve, reject) => { waiting.set(id, { resolve, reject }); child.send({ id, fn, args }); });
  };
  return { label, call, child };
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

log('starting runners…');
const simd = spawn('simdcnn', 'simdcnn');
const info = { simdcnn: await simd.call('setup') };
const { weights, onnx } = await simd.call('exportModel');
const tfCpu = spawn('tfjs', 'tfjs-cpu'), tfWasm = spawn('tfjs', 'tfjs-wasm');
const ort1 = spawn('ort', 'ort 1 thread'), ort2 = spawn('ort', `ort ${ALL} threads`);
[info.tfjsCpu, info.tfjsWasm, info.ort1, info.ort2] = await Promise.all([
  tfCpu.call('setup', { backend: 'cpu', weights }), tfWasm.call('setup', { backend: 'wasm', weights }),
  ort1.call('setup', { threads: 1, onnx }), ort2.call('setup', { threads: ALL, onnx }),
]);

// ---- checks before timing ----------------------------------------------------------------------
const probe = syntheticData(64).images;
const want = await simd.call('predict', probe, 64);
const agreement = {};
for (const [name, r] of [['tfjs-cpu', tfCpu], ['tfjs-wasm', tfWasm], ['onnxruntime-web', ort1], [`onnxruntime-web ${ALL}t`, ort2]]) {
  const got = await r.call('predict', probe, 64);
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  agreement[name] = d;
  if (!(d < 1e-4)) throw new Error(`${name} predictions differ from simdcnn's by ${d}: not the same model, refusing to time it`);
}
log('max |prediction − simdcnn|:', agreement);
const shippedError = await tfWasm.call('tryTrain', syntheticData(32));
const convGradError = await tfWasm.call('supplyConvGrad');
log(`tfjs-wasm as shipped: ${shippedError ?? 'trains'}; supplied Conv2DBackpropFilter vs cpu: max rel. error ${convGradError.toExponential(2)}`);
if (!(convGradError < 1e-4)) throw new Error(`the supplied tfjs-wasm Conv2DBackpropFilter is wrong (max rel. error ${convGradError})`);

// ---- training -----------------------------------------------------------------------------------
const train = {};
for (const batch of [32, 128]) {
  const configs = [
    { key: 'simdcnn1', r: simd, n: TRAIN_IMAGES.simdcnn, threads: 1, iterations: 2 },
    { key: 'simdcnnN', r: simd, n: TRAIN_IMAGES.simdcnn, threads: ALL, iterations: 2 },
    { key: 'tfjsWasm', r: tfWasm, n: TRAIN_IMAGES['tfjs-wasm'][batch], iterations: 2 },
    { key: 'tfjsCpu', r: tfCpu, n: TRAIN_IMAGES['tfjs-cpu'][batch], iterations: 1, rounds: CPU_ROUNDS[batch], noWarmup: true },
  ];
  for (const c of configs) train[`${c.key}/${batch}`] = { images: c.n, samples: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate who goes first, so no library always runs right after the same neighbour.
    for (let i = 0; i < configs.length; i++) {
      const c = configs[(i + round) % configs.length];
      if (c.rounds !== undefined && round >= c.rounds) continue;
      const data = syntheticData(c.n);
      const t0 = performance.now();
      const ms = await c.r.call('train', { ...data, batch, threads: c.threads, iterations: c.iterations, warmup: round === 0 && !c.noWarmup ? 1 : 0 });
      train[`${c.key}/${batch}`].samples.push(...ms);
      log(`train batch ${batch} round ${round + 1} ${c.key}: ${ms.map((t) => (c.n / t * 1000).toFixed(1)).join(', ')} img/s (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      await pause(100);
    }
  }
}
const ips = (k) => train[k].images / (median(train[k].samples) / 1000);

// ---- inference ----------------------------------------------------------------------------------
const infer = {};
for (const batch of [1, 256]) {
  const images = syntheticData(batch).images;
  const configs = [
    { key: 'simdcnn1', r: simd, threads: 1 }, { key: 'simdcnnN', r: simd, threads: ALL },
    { key: 'tfjsWasm', r: tfWasm }, { key: 'ort1', r: ort1 }, { key: 'ortN', r: ort2 },
  ];
  for (const c of configs) infer[`${c.key}/${batch}`] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < configs.length; i++) {
      const c = configs[(i + round) % configs.length];
      const ms = await c.r.call('inferTask', { images, batch, threads: c.threads, time: batch === 1 ? 400 : 800, warmup: round === 0 ? 20 : 2 });
      infer[`${c.key}/${batch}`].push(...ms);
      await pause(100);
    }
  }
  log(`inference batch ${batch}: ${configs.map((c) => `${c.key} ${median(infer[`${c.key}/${batch}`]).toFixed(3)} ms`).join(', ')}`);
}
const lat = (k) => median(infer[`${k}/1`]);
const thr = (k) => 256 / (median(infer[`${k}/256`]) / 1000);

// ORT's pthreads would keep a child alive after close: end each runner we started, by its handle.
await Promise.all([simd, tfCpu, tfWasm, ort1, ort2].map((r) => r.call('close').catch(() => {}).finally(() => r.child.kill())));

// ---- cold start ---------------------------------------------------------------------------------
const dir = mkdtempSync(join(os.tmpdir(), 'simdcnn-peers-'));
writeFileSync(join(dir, 'weights.json'), JSON.stringify(weights.map((w) => ({ shape: w.shape, data: Array.from(w.data) }))));
writeFileSync(join(dir, 'model.onnx'), onnx);
const COLD = ['simdcnn', 'tfjs-wasm', 'tfjs-cpu', 'ort'];
const coldRuns = Object.fromEntries(COLD.map((l) => [l, []]));
for (let rep = 0; rep < 5; rep++) {
  for (let i = 0; i < COLD.length; i++) {
    const lib = COLD[(i + rep) % COLD.length];
    const out = execFileSync(process.execPath, [new URL('./peers/cold.mjs', import.meta.url).pathname, lib, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    coldRuns[lib].push(JSON.parse(out.trim().split('\n').pop()));
  }
}
rmSync(dir, { recursive: true, force: true });
const cold = COLD.map((lib) => {
  const runs = coldRuns[lib];
  const pick = (k) => median(runs.map((r) => r[k]));
  return { lib, importMs: pick('importMs'), initMs: pick('initMs'), firstPredictMs: pick('firstPredictMs'), totalMs: pick('totalMs'), sizes: shippedBytes(lib), output: runs[0].output };
});
const coldS = cold[0];
for (const c of cold) {
  let d = 0;
  for (let i = 0; i < c.output.length; i++) d = Math.max(d, Math.abs(c.output[i] - coldS.output[i]));
  c.maxDiff = d;
}
for (const c of cold) {
  delete c.output;
  c.label = { simdcnn: 'simdcnn', 'tfjs-wasm': 'tfjs-wasm', 'tfjs-cpu': 'tfjs-cpu', ort: 'onnxruntime-web (default threads)' }[c.lib];
  c.timeRatio = c.lib === 'simdcnn' ? null : c.totalMs / coldS.totalMs;
  c.bytesRatio = c.lib === 'simdcnn' ? null : c.sizes.totalGzip / coldS.sizes.totalGzip;
}

// ---- results ------------------------------------------------------------------------------------
const rows = [];
const tv = (n) => `tfjs ${info.tfjsWasm.version} ${n}`;
for (const b of [32, 128]) {
  const s1 = ips(`simdcnn1/${b}`), sN = ips(`simdcnnN/${b}`);
  const w = ips(`tfjsWasm/${b}`), c = ips(`tfjsCpu/${b}`);
  rows.push({ task: `training, batch ${b}`, unit: 'img/s', peer: tv("'wasm' as shipped"), peerValue: null, note: `fails: ${shippedError ?? 'trains?'}`, simdcnn1: s1, simdcnnN: sN, ratio1: null, ratioN: null });
  rows.push({ task: `training, batch ${b}`, unit: 'img/s', peer: tv("'wasm' + bench's Conv2DBackpropFilter"), short: `train b${b} vs tfjs-wasm + supplied grad`, peerValue: w, simdcnn1: s1, simdcnnN: sN, ratio1: s1 / w, ratioN: sN / w });
  rows.push({ task: `training, batch ${b}`, unit: 'img/s', peer: tv("'cpu'"), short: `train b${b} vs tfjs-cpu`, peerValue: c, note: `${train[`tfjsCpu/${b}`].samples.length} batch${train[`tfjsCpu/${b}`].samples.length > 1 ? 'es' : ''} of ${b} timed`, simdcnn1: s1, simdcnnN: sN, ratio1: s1 / c, ratioN: sN / c });
}
rows.push({ task: 'training', unit: 'img/s', peer: 'tfjs-node', peerValue: null, note: 'not measured: cannot be installed here (its install script downloads the native libtensorflow; no network)', simdcnn1: null, simdcnnN: null, ratio1: null, ratioN: null });
const ov = `onnxruntime-web ${info.ort1.version}`;
const inferPeers = [['tfjsWasm', tv("'wasm' (SIMD)"), 'tfjs-wasm'], ['ort1', `${ov} (numThreads 1 = its default here)`, 'ORT 1 thread'], ['ortN', `${ov} (numThreads ${ALL})`, `ORT ${ALL} threads`]];
for (const [k, name, short] of inferPeers) {
  rows.push({ task: 'inference, batch 1 latency', unit: 'ms', peer: name, short: `latency b1 vs ${short}`, peerValue: lat(k), simdcnn1: lat('simdcnn1'), simdcnnN: lat('simdcnnN'), ratio1: lat(k) / lat('simdcnn1'), ratioN: lat(k) / lat('simdcnnN') });
}
for (const [k, name, short] of inferPeers) {
  rows.push({ task: 'inference, batch 256', unit: 'img/s', peer: name, short: `infer b256 vs ${short}`, peerValue: thr(k), simdcnn1: thr('simdcnn1'), simdcnnN: thr('simdcnnN'), ratio1: thr('simdcnn1') / thr(k), ratioN: thr('simdcnnN') / thr(k) });
}

const best1 = Math.min(lat('simdcnn1'), lat('simdcnnN'));
const targets = [
  { name: `training vs tfjs-wasm + supplied kernel (batch 32 / 128, simdcnn ${ALL} threads)`, value: Math.min(ips('simdcnnN/32') / ips('tfjsWasm/32'), ips('simdcnnN/128') / ips('tfjsWasm/128')), want: '≥ 10×' },
  { name: `inference batch 256 vs onnxruntime-web ${ALL} threads (simdcnn ${ALL} threads)`, value: thr('simdcnnN') / thr('ortN'), want: '≥ 1.5×' },
  { name: 'batch-1 latency vs onnxruntime-web (best of each)', value: Math.min(lat('ort1'), lat('ortN')) / best1, want: '≥ 1× (latency at most ORT\'s)' },
].map((t) => ({ ...t, met: t.value >= (t.want.startsWith('≥ 10') ? 10 : t.want.startsWith('≥ 1.5') ? 1.5 : 1) }));

const result = {
  machine: { ...machine(), loadAverage1m: { start: loadStart, end: os.loadavg()[0] } }, allThreads: ALL, rounds: ROUNDS, simdcnnWasm: info.simdcnn.backend,
  versions: { simdcnn: info.simdcnn.version, tfjs: info.tfjsCpu.version, tfjsWasm: info.tfjsWasm.wasmVersion, ort: info.ort1.version, node: process.version },
  agreement, convGradError, shippedError, rows, cold, targets,
  notes: [
    `Training: model.fit (Adam, sparse categorical cross-entropy, shuffle off) over ${TRAIN_IMAGES.simdcnn} images per repetition for simdcnn, ${TRAIN_IMAGES['tfjs-wasm'][32]}/${TRAIN_IMAGES['tfjs-wasm'][128]} for tfjs-wasm (batch 32/128), after one untimed warm-up repetition. tfjs-cpu trains at about 1 image/s, so it is timed on a few single batches only (no separate warm-up; its batch-32 rounds precede batch 128).`,
    `tfjs-wasm in Node runs its single-threaded SIMD build; tfjs-cpu is plain JavaScript. Inference: predict on a prepared float tensor for simdcnn and tfjs, session.run for onnxruntime-web (the ONNX file is simdcnn's model.toONNX(), ${onnx.length.toLocaleString('en-US')} bytes).`,
    'Cold start: fresh Node process per library, 5 alternating runs, medians; import + initialize (wasm, backend, model with the shared weights read from JSON, or ORT session from the .onnx) + first prediction of one image. Bytes: minified JS a page loads + the wasm it fetches; tfjs counted as core + layers + backend (not the 1.5 MB tf.min.js union), simdcnn as its browser core (dist/browser/simdcnn.js + the chunk it imports statically; the optional chunks, e.g. WebGPU, load on demand) + the two wasm builds its loader fetches to pick relaxed or plain SIMD; × on bytes compares gzip totals.',
    `The wasm files differ in kind: onnxruntime-web's ${(shippedBytes('ort').wasmBytes / 1e6).toFixed(1)} MB build carries every ONNX operator; simdcnn's carries only its own kernels.`,
  ],
};

const md = markdown(result);
const resultsDir = new URL('./results/', import.meta.url);
writeFileSync(new URL('peers.json', resultsDir), JSON.stringify(result, null, 2) + '\n');
writeFileSync(new URL('peers.md', resultsDir), md);
writeFileSync(new URL('peers.svg', resultsDir), svg(result));
if (json) console.log(JSON.stringify(result));
else console.log('\n' + md);
