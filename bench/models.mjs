// npm run bench:models: real networks (Keras' MobileNetV2 and ResNet50, a CIFAR ResNet-20,
// MobileNetV2 0.35 at 96²) in simdcnn against TensorFlow.js' wasm backend, ONNX Runtime Web (running
// simdcnn's own toONNX of each model) and PyTorch as the native anchor; plus cold start and memory.
// Every library runs in its own process, all of them from the same saved model files; rows take
// turns round by round and medians are over every round's repetitions.
//   node bench/models.mjs [--quick] [--json] [--rows mobilenetv2,resnet50,...]     (npm run build first)
// Writes bench/results/models.{json,md,svg}; progress goes to stderr.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { machine } from './machine.mjs';
import { median } from './peers/timing.mjs';
import { MODELS } from './models/data.mjs';
import * as keras from './models/keras-models.mjs';
import { markdown, svg } from './models/report.mjs';
import { nodeRunner, pythonRunner } from './models/runners.mjs';

const GROUPS = {
  mobilenetv2: { kind: 'inference', model: 'mobilenetv2', batches: [1, 8] },
  resnet50: { kind: 'inference', model: 'resnet50', batches: [1, 8] },
  // --quick trains at a quarter of the batch: tfjs-wasm takes ~30 s per ResNet-20 step of 128 here.
  'resnet20-train': { kind: 'training', model: 'resnet20', batches: [128], quickBatches: [32] },
  'mobilenetv2-train': { kind: 'training', model: 'mobilenetv2-035', batches: [64], quickBatches: [16] },
  cold: { kind: 'cold', models: ['notes', 'mobilenetv2'] },
  memory: { kind: 'memory', models: ['mobilenetv2'] },
  // torchvision's resnet18 and mobilenet_v2 exported by PyTorch (scripts/onnx-parity-full.py, needs
  // /usr/bin/python3 with torch): the same .onnx in simdcnn's loadOnnx and onnxruntime-web.
  'torchvision-onnx': { kind: 'onnx', models: [] },
};
const SHORT = { mobilenetv2: 'MobileNetV2', resnet50: 'ResNet-50', resnet20: 'ResNet-20', 'mobilenetv2-035': 'MobileNetV2-0.35', notes: 'MNIST CNN' };
const USAGE = `usage: node bench/models.mjs [--quick] [--json] [--rows ${Object.keys(GROUPS).join(',')}]`;

function parseFlags(argv) {
  const o = { json: false, quick: false, rows: Object.keys(GROUPS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--rows' || a.startsWith('--rows=')) {
      const v = a === '--rows' ? argv[++i] : a.slice('--rows='.length);
      if (!v) throw new Error(`--rows needs a value: a comma-separated subset of ${Object.keys(GROUPS).join(', ')}`);
      o.rows = v.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = o.rows.filter((r) => !GROUPS[r]);
      if (bad.length || !o.rows.length) throw new Error(`--rows: unknown row ${JSON.stringify(bad[0] ?? v)}; expected a comma-separated subset of ${Object.keys(GROUPS).join(', ')}`);
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${JSON.stringify(a)}; expected --quick, --json, --rows`);
  }
  return o;
}

let flags;
try {
  flags = parseFlags(process.argv.slice(2));
} catch (e) {
  console.error(`bench/models.mjs: ${e.message}\n${USAGE}`);
  process.exit(2);
}
const log = (...a) => console.error(...a);
const ALL = os.availableParallelism();
const THREADS = ALL > 1 ? [1, ALL] : [1];
const loadStart = os.loadavg()[0];
const Q = flags.quick;
const ROUNDS = Q ? 1 : 3;
// A repetition lasts at least `time` ms (and `iterations` calls); the first round warms up first.
const INFER = Q ? { 1: { time: 0, iterations: 2, warmup: 1 }, 8: { time: 0, iterations: 1, warmup: 1 } }
  : { 1: { time: 1500, iterations: 5, warmup: 3 }, 8: { time: 2000, iterations: 2, warmup: 1 } };
// Batches per timed fit call, and calls per round; tfjs-wasm trains ~15× slower, so fewer of both.
const TRAIN_STEPS = Q ? { simdcnn: 1, 'tfjs-wasm': 1, pytorch: 1 } : { simdcnn: 4, 'tfjs-wasm': 1, pytorch: 4 };
const TRAIN_CALLS = Q ? { simdcnn: 1, 'tfjs-wasm': 1, pytorch: 1 } : { simdcnn: 2, 'tfjs-wasm': 1, pytorch: 2 };
const COLD_REPS = Q ? 1 : 5;
// Probabilities from the same files: float32 rounding differences only. A larger gap means the two
// runs are not the same model, and timing them against each other would mean nothing.
const AGREE = 1e-4;

const selected = flags.rows.map((r) => [r, GROUPS[r]]);
const timedGroups = selected.filter(([, g]) => g.kind === 'inference' || g.kind === 'training');
const needModels = new Set(selected.flatMap(([, g]) => g.model ? [g.model] : g.models));
const onnxWanted = selected.some(([, g]) => g.kind === 'onnx');
const firstLine = (msg) => String(msg).split('\n')[0];
// A runner's rejection reads "label: Error: message" (the child's stack); keep the label and the message.
const reason = (e) => firstLine(e.message).replace(/^(.*?): [A-Za-z]*Error: /, '$1: ');

// ---- the model files ---------------------------------------------------------------------------
const work = mkdtempSync(join(os.tmpdir(), 'simdcnn-models-'));
const runners = [];
let exitCode = 0;
try {
  log(`building ${[...needModels].map((k) => MODELS[k].label).join(', ')} with tfjs (random weights)…`);
  const models = {};
  {
    const warn = console.warn, info = console.log;
    console.warn = console.log = () => {};
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    console.warn = warn; console.log = info;
    for (const key of needModels) {
      const spec = MODELS[key];
      const m = keras[spec.build](tf, spec.opts);
      keras.randomizeBatchNorms(tf, m, 7);
      const dir = join(work, key);
      const saved = await keras.saveTfjsModel(tf, m, dir);
      models[key] = { label: spec.label, short: SHORT[key], dir, params: m.countParams(), layers: m.layers.length, flopsPerImage: keras.forwardFlops(m), weightBytes: saved.weightBytes };
      m.dispose();
      log(`  ${spec.label}: ${models[key].layers} layers, ${models[key].params.toLocaleString('en-US')} parameters, ${(models[key].flopsPerImage / 1e9).toFixed(3)} GFLOP/image forward`);
    }
  }

  // ---- runners -----------------------------------------------------------------------------------
  log('starting runners…');
  // simdcnn and tfjs get a process per model: what one model's plans hold (ResNet-50's at batch 1
  // and 8, on 1 and 2 threads: ~1 GB) must not crowd the next model out of a 2 GB wasm memory, nor
  // make its figures depend on which models ran before it.
  const simd = {}, tfw = {};
  const info = {};
  for (const key of needModels) {
    simd[key] = nodeRunner('simdcnn', `simdcnn (${SHORT[key]})`);
    runners.push(simd[key]);
    info.simdcnn = await simd[key].call('setup', {});
  }
  const timedKeys = timedGroups.map(([, g]) => g.model);
  for (const key of timedKeys) {
    tfw[key] = nodeRunner('tfjs', `tfjs-wasm (${SHORT[key]})`);
    runners.push(tfw[key]);
    info.tfjs = await tfw[key].call('setup', {});
  }
  // The SIMD peak is measured in one simdcnn process; which one does not matter (the loop touches no memory).
  const peakRunner = simd[timedKeys[0] ?? [...needModels][0]];
  let ort = {}, torch;
  if (timedGroups.length) {
    torch = await pythonRunner();
    if (torch.available) {
      runners.push(torch);
      info.pytorch = await torch.call('setup', { threads: ALL });
    } else log(`PyTorch: ${torch.reason}`);
  }
  if (timedGroups.some(([, g]) => g.kind === 'inference')) {
    for (const t of THREADS) {
      ort[t] = nodeRunner('ort', `onnxruntime-web ${t} thread${t > 1 ? 's' : ''}`);
      runners.push(ort[t]);
      info.ort = await ort[t].call('setup', { threads: t });
    }
  }

  // Every model every library needs: simdcnn loads them all (it also makes the ONNX files).
  const ortModel = {}; // key → { ok } | { error }
  const torchModel = {}; // key → { flops, params } | { error }
  const trainKeys = new Set(timedGroups.filter(([, g]) => g.kind === 'training').map(([, g]) => g.model));
  for (const key of needModels) {
    log(`loading ${MODELS[key].label}…`);
    const timed = timedGroups.some(([, g]) => g.model === key);
    await simd[key].call('load', { key, dir: models[key].dir, train: trainKeys.has(key) });
    const x = await simd[key].call('onnx', { key });
    if (x.bytes) {
      writeFileSync(join(models[key].dir, 'model.onnx'), x.bytes);
      models[key].onnxBytes = x.bytes.length;
      ortModel[key] = { ok: true };
    } else ortModel[key] = { error: `model.toONNX() threw: ${firstLine(x.error)}` };
    if (!timed) continue;
    await tfw[key].call('load', { key, dir: models[key].dir, train: trainKeys.has(key) });
    if (torch.available) {
      try {
        torchModel[key] = await torch.call('load', { key, train: trainKeys.has(key) });
      } catch (e) {
        torchModel[key] = { error: reason(e) };
      }
    }
    if (ortModel[key].ok && !trainKeys.has(key)) {
      for (const t of THREADS) {
        try {
          await ort[t].call('load', { key, onnx: x.bytes });
        } catch (e) {
          ortModel[key] = { error: `onnxruntime-web cannot run simdcnn's ONNX: ${reason(e)}` };
        }
      }
    }
  }

  // ---- checks before timing ----------------------------------------------------------------------
  const agreement = {};
  const disqualified = {}; // `${lib}/${key}` → note
  for (const [, g] of timedGroups) {
    const key = g.model;
    const want = await simd[key].call('predict', { key, n: 2, seed: 9 });
    const peers = [['tfjs-wasm', tfw[key]], ...(g.kind === 'inference' && ortModel[key].ok ? [['onnxruntime-web', ort[1]]] : [])];
    agreement[key] = {};
    for (const [lib, r] of peers) {
      const got = await r.call('predict', { key, n: 2, seed: 9 });
      let d = 0;
      for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
      if (got.length !== want.length) d = Infinity;
      agreement[key][lib] = d;
      if (!(d <= AGREE)) disqualified[`${lib}/${key}`] = `predictions differ from simdcnn's by ${d.toExponential(2)} (over ${AGREE}): not the same model, not timed`;
    }
    if (g.kind === 'inference' && !ortModel[key].ok) agreement[key]['onnxruntime-web'] = 'not run (no ONNX)';
    log(`${MODELS[key].label}: max |p − simdcnn| ${Object.entries(agreement[key]).map(([l, d]) => `${l} ${typeof d === 'number' ? d.toExponential(1) : d}`).join(', ')}`);
  }
  let tfjsGrads;
  if (trainKeys.size) {
    const shipped = {}, check = { conv2DBackpropFilter: 0, depthwise: 0 };
    for (const key of trainKeys) {
      shipped[key] = await tfw[key].call('tryTrain', { key });
      const c = await tfw[key].call('supplyGrads', {});
      for (const k of Object.keys(check)) check[k] = Math.max(check[k], c[k]);
    }
    tfjsGrads = { shipped, check };
    log(`tfjs-wasm as shipped: ${Object.entries(shipped).map(([k, e]) => `${k}: ${e ?? 'trains'}`).join('; ')}; bench's gradients vs tfjs-cpu: conv ${check.conv2DBackpropFilter.toExponential(1)}, depthwise ${check.depthwise.toExponential(1)}`);
    if (!(check.conv2DBackpropFilter < 1e-4 && check.depthwise < 1e-4)) throw new Error(`the bench's tfjs-wasm gradient kernels disagree with tfjs-cpu's (max rel. error ${JSON.stringify(check)}): fix bench/peers/tfjs-conv-grad.mjs`);
  }

  // ---- the timed rows ----------------------------------------------------------------------------
  const configs = [];
  for (const [group, g] of timedGroups) {
    const key = g.model, flops = models[key].flopsPerImage * (g.kind === 'training' ? 3 : 1);
    for (const batch of Q && g.quickBatches ? g.quickBatches : g.batches) {
      const add = (lib, runner, threads, extra = {}) => {
        const base = { group, key, task: g.kind, batch, lib, library: extra.library ?? lib, threads, runner, flopsPerImage: extra.flops ?? flops, samples: [] };
        const dq = disqualified[`${lib}/${key}`];
        if (extra.note || dq) return configs.push({ ...base, note: extra.note ?? dq });
        if (g.kind === 'inference') configs.push({ ...base, fn: 'infer', images: batch, opts: INFER[batch] });
        else {
          const steps = TRAIN_STEPS[lib];
          configs.push({ ...base, fn: 'train', images: batch * steps, steps, opts: { iterations: TRAIN_CALLS[lib], warmup: 1 } });
        }
      };
      for (const t of THREADS) add('simdcnn', simd[key], t);
      add('tfjs-wasm', tfw[key], 1, { library: `tfjs-wasm${trainKeys.has(key) ? ' + bench kernels' : ''}` });
      if (g.kind === 'inference') {
        for (const t of THREADS) add('onnxruntime-web', ort[t], t, ortModel[key].ok ? {} : { note: ortModel[key].error });
      }
      const tm = torchModel[key];
      const torchTask = g.kind === 'training' ? 3 : 1;
      add('pytorch', torch, ALL, !torch.available ? { note: torch.reason } : tm?.error ? { note: tm.error } : { flops: tm.flops * torchTask, library: 'PyTorch (native)' });
    }
  }

  const peaks = {};
  const measurePeaks = async () => {
    for (const t of THREADS) peaks[t] = Math.max(peaks[t] ?? 0, await peakRunner.call('peak', { threads: t, ms: Q ? 100 : 200, repeats: Q ? 3 : 5 }));
  };
  const live = configs.filter((c) => !c.note);
  for (let round = 0; round < ROUNDS && timedGroups.length; round++) {
    await measurePeaks();
    log(`round ${round + 1}/${ROUNDS}: SIMD peak ${THREADS.map((t) => `${peaks[t].toFixed(1)} GFLOP/s on ${t}`).join(', ')}`);
    for (const [group] of timedGroups) {
      const cs = live.filter((c) => c.group === group);
      // Rotate who goes first, so no library always runs right after the same neighbour.
      for (let i = 0; i < cs.length; i++) {
        const c = cs[(i + round) % cs.length];
        if (c.error) continue;
        const t0 = performance.now();
        try {
          const samples = await c.runner.call(c.fn, { key: c.key, batch: c.batch, threads: c.threads, steps: c.steps, ...c.opts, warmup: round === 0 ? c.opts.warmup : 0 });
          c.samples.push(...samples);
          const msMed = median(samples);
          log(`  ${MODELS[c.key].label} ${c.task} b${c.batch} ${c.library} ${c.threads}t: ${(c.images / msMed * 1000).toFixed(1)} img/s (${samples.length} rep${samples.length > 1 ? 's' : ''}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (e) {
          c.error = reason(e);
          log(`  ${MODELS[c.key].label} ${c.task} b${c.batch} ${c.library} ${c.threads}t: failed: ${c.error}`);
        }
      }
    }
  }
  if (timedGroups.length) await measurePeaks();

  const rows = configs.map((c) => {
    const row = { group: c.group, model: c.key, modelLabel: MODELS[c.key].label, modelShort: SHORT[c.key], task: c.task, batch: c.batch, library: c.library, threads: c.threads, flopsPerImage: c.flopsPerImage };
    if (c.note || c.error || !c.samples.length) return { ...row, note: c.note ?? (c.error ? `failed: ${c.error}` : 'no samples') };
    const msMed = median(c.samples);
    const ips = c.images / (msMed / 1000);
    const gflops = (ips * c.flopsPerImage) / 1e9;
    const peak = peaks[c.threads === 1 ? 1 : ALL];
    return { ...row, repetitions: c.samples.length, msPerCall: msMed, ...(c.task === 'inference' ? { latencyMs: msMed } : { steps: c.steps, msPerStep: msMed / c.steps }), imagesPerSec: ips, gflops, peakGflops: peak, fractionOfPeak: gflops / peak };
  });
  for (const r of rows) {
    const simdRow = (t) => rows.find((s) => s.group === r.group && s.batch === r.batch && s.library === 'simdcnn' && s.threads === t && s.imagesPerSec);
    if (r.library === 'simdcnn' || !r.imagesPerSec) { r.ratio1 = r.ratioN = null; continue; }
    r.ratio1 = simdRow(1) ? simdRow(1).imagesPerSec / r.imagesPerSec : null;
    r.ratioN = ALL > 1 && simdRow(ALL) ? simdRow(ALL).imagesPerSec / r.imagesPerSec : null;
  }

  for (const r of runners) await r.close();
  runners.length = 0;

  // ---- cold start and memory: fresh processes --------------------------------------------------
  const coldKeys = [...new Set(selected.filter(([, g]) => g.kind === 'cold' || g.kind === 'memory').flatMap(([, g]) => g.models))];
  const coldReps = selected.some(([, g]) => g.kind === 'cold') ? COLD_REPS : 1;
  const LIBS = [['simdcnn', 'simdcnn'], ['tfjs-wasm', 'tfjs-wasm'], ['ort', 'onnxruntime-web (default threads)']];
  const coldRuns = {};
  const run = promisify(execFile);
  for (let rep = 0; rep < coldReps && coldKeys.length; rep++) {
    log(`cold start ${rep + 1}/${coldReps}…`);
    for (const key of coldKeys) {
      for (let i = 0; i < LIBS.length; i++) {
        const [lib] = LIBS[(i + rep) % LIBS.length];
        const id = `${lib}/${key}`;
        coldRuns[id] ??= { runs: [] };
        if (lib === 'ort' && !ortModel[key]?.ok) { coldRuns[id].note = ortModel[key]?.error ?? 'no ONNX'; continue; }
        try {
          const { stdout } = await run(process.execPath, [new URL('./models/cold.mjs', import.meta.url).pathname, lib, models[key].dir, key], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
          coldRuns[id].runs.push(JSON.parse(stdout.trim().split('\n').pop()));
        } catch (e) {
          coldRuns[id].note = `failed: ${firstLine(e.stderr?.trim().split('\n').find((l) => /Error/.test(l)) ?? e.message)}`;
        }
      }
    }
  }
  const cold = [], memory = [];
  for (const key of coldKeys) {
    const ref = coldRuns[`simdcnn/${key}`]?.runs[0]?.output;
    for (const [lib, label] of LIBS) {
      const c = coldRuns[`${lib}/${key}`];
      const pick = (k) => (c.runs.length && c.runs[0][k] != null ? median(c.runs.map((r) => r[k])) : null);
      const row = { library: label, model: key, modelLabel: MODELS[key].label, modelShort: SHORT[key], runs: c.runs.length };
      if (!c.runs.length) { cold.push({ ...row, note: c.note }); continue; }
      Object.assign(row, { importMs: pick('importMs'), loadMs: pick('loadMs'), firstPredictMs: pick('firstPredictMs'), totalMs: pick('totalMs'),
        weightReadMs: pick('weightReadMs'), weightBytes: c.runs[0].weightBytes, rss: pick('rss'), heapBytes: pick('heapBytes') });
      if (ref) row.maxDiff = Math.max(...c.runs[0].output.map((v, i) => Math.abs(v - ref[i])));
      cold.push(row);
    }
    const simdCold = cold.find((c) => c.model === key && c.library === 'simdcnn');
    for (const c of cold) if (c.model === key) c.ratio = c.library !== 'simdcnn' && c.totalMs != null && simdCold?.totalMs ? c.totalMs / simdCold.totalMs : null;
  }
  if (selected.some(([, g]) => g.kind === 'memory')) {
    for (const c of cold.filter((x) => x.model === 'mobilenetv2')) memory.push({ library: c.library, heapBytes: c.heapBytes ?? null, rss: c.rss ?? null, note: c.note });
  }
  if (!selected.some(([, g]) => g.kind === 'cold')) cold.length = 0;

  // ---- torchvision ONNX files: simdcnn's loadOnnx beside onnxruntime-web, 1 and all threads --------
  const onnx = { rows: [], note: undefined };
  if (onnxWanted) {
    const dir = join(work, 'torchvision-onnx');
    try {
      log('exporting torchvision resnet18 and mobilenet_v2 with PyTorch (scripts/onnx-parity-full.py)…');
      await run('/usr/bin/python3', [new URL('../scripts/onnx-parity-full.py', import.meta.url).pathname, '--out', dir], { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 22 });
      for (const t of THREADS) {
        log(`torchvision ONNX files, ${t} thread(s)…`);
        const { stdout } = await run(process.execPath, [new URL('./onnx-import.mjs', import.meta.url).pathname, '--json', '--threads', String(t), '--reps', Q ? '3' : '30',
          join(dir, 'resnet18.onnx'), join(dir, 'mobilenet_v2.onnx')], { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 22 });
        onnx.rows.push(...JSON.parse(stdout).rows.map((r) => ({ ...r, threads: t })));
      }
    } catch (e) {
      onnx.note = `not run: ${reason(e)} (needs /usr/bin/python3 with python3-torch, python3-torchvision, python3-onnx)`;
      log(`  ${onnx.note}`);
    }
  }

  // ---- results ---------------------------------------------------------------------------------
  const result = {
    machine: { ...machine(), loadAverage1m: { start: loadStart, end: os.loadavg()[0] } }, quick: Q, rows: rows, rounds: ROUNDS, allThreads: ALL, peakGflops: peaks,
    simdcnnWasm: info.simdcnn?.backend ?? null,
    versions: { simdcnn: info.simdcnn?.version, tfjs: info.tfjs?.version, tfjsWasm: info.tfjs?.wasmVersion, ort: info.ort?.version, pytorch: info.pytorch?.version, node: process.version },
    models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, { label: m.label, params: m.params, layers: m.layers, flopsPerImage: m.flopsPerImage, weightBytes: m.weightBytes, onnxBytes: m.onnxBytes ?? null }])),
    agreement, tfjsGrads, cold, memory, onnx,
    notes: [
      'FLOPs per image: 2 × the multiply-adds of the convolution, depthwise and dense layers, counted from each model (PyTorch rows from torchvision\'s own model: its ResNet-50 is v1.5, stride on the 3×3 convolution); training counted as 3× the forward (forward, input gradient, weight gradient).',
      'Inference: predict on a prepared float tensor (simdcnn, tfjs), session.run (onnxruntime-web), the model in eval mode under torch.no_grad (PyTorch); latency = median time of one call of the whole batch.',
      `Training: one timed repetition = one fit epoch of ${Q ? 'one batch, one repetition per round (--quick: at a quarter of the full run\'s batch size)' : `${TRAIN_STEPS.simdcnn} batches (simdcnn, PyTorch) or ${TRAIN_STEPS['tfjs-wasm']} (tfjs-wasm), ${TRAIN_CALLS.simdcnn} or ${TRAIN_CALLS['tfjs-wasm']} repetitions per round`}, Adam, sparse categorical cross-entropy, after one untimed warm-up epoch; BN in training mode. PyTorch: torch.optim.Adam + CrossEntropyLoss on the logits.`,
      `tfjs-wasm in Node runs its single-threaded SIMD build. onnxruntime-web runs simdcnn's model.toONNX() of each model, numThreads fixed per process. PyTorch: /usr/bin/python3, torch.set_num_threads(${ALL}), its own random weights (its architectures follow torchvision's padding conventions), so its predictions are not compared.`,
      'Cold start: a fresh Node process per run: import (for tfjs, with its wasm backend initialised) → load the saved model (ORT: create the session from the .onnx) → first prediction of one image; "weights file read" is a plain readFileSync of the weights file (ORT: the .onnx) timed afterwards in the same process, the I/O share of the load. Memory: simdcnn\'s memory().numBytesInHeap (what its allocator has handed out and not taken back: the weights, the batch-1 plan\'s buffers, live tensors; the wasm memory is at least that) and each process\'s RSS after the first batch-1 prediction.',
      'The wasm peak is what one 128-bit SIMD FMA loop reaches; native PyTorch may use wider vectors, so its "of peak" can exceed 100%.',
      ...(info.pytorch ? [`PyTorch build: ${info.pytorch.version}, ${info.pytorch.parallelBackend} threads, oneDNN ${info.pytorch.mkldnn ? 'on' : 'off'}, BLAS ${info.pytorch.blas}${info.pytorch.blas === 'generic' ? ' (the reference BLAS: Debian\'s python3-torch is far slower than a pip/conda build with MKL or OpenBLAS; read its rows as a floor, not as native speed)' : ''}.`] : []),
    ],
  };
  const resultsDir = new URL('./results/', import.meta.url);
  const md = markdown(result);
  // The ONNX rows also on their own (so `--rows torchvision-onnx` refreshes them without
  // replacing the full run's table with one that has nothing else).
  if (onnxWanted) {
    writeFileSync(new URL('onnx-torchvision.json', resultsDir), JSON.stringify({ machine: result.machine, quick: Q, versions: result.versions, onnx }, null, 2) + '\n');
    writeFileSync(new URL('onnx-torchvision.md', resultsDir), markdown({ ...result, rows: [], cold: [], memory: [], agreement: {}, tfjsGrads: undefined, notes: [] }));
  }
  if (selected.some(([, g]) => g.kind !== 'onnx')) {
    writeFileSync(new URL('models.json', resultsDir), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(new URL('models.md', resultsDir), md);
    writeFileSync(new URL('models.svg', resultsDir), svg(result));
  }
  if (flags.json) console.log(JSON.stringify(result));
  else console.log('\n' + md);
} catch (e) {
  console.error(`bench/models.mjs: ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  for (const r of runners) await r.close();
  rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
