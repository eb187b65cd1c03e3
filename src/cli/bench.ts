// `simdcnn bench MODEL`: how fast a saved model predicts on this machine. Random inputs of the
// model's own input shape(s) at --batch, a warm-up (the first call plans the buffers, starts the
// worker threads and lets the JIT tier up), then predict timed call by call for about --seconds,
// with a live status line on stderr; latency median and p90, throughput.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadLayersModel } from '../model/save-load.js';
import { loadOnnx } from '../import/load-onnx.js';
import { tensor, type Tensor } from '../tensor.js';
import type { BenchCommand } from './args.js';
import { CliError, jsonLine, setupBackend, type CliIO } from './common.js';
import { LiveLine } from './progress.js';

const EXPECTED = 'expected a TensorFlow.js layers model folder (model.json + its weights), the path of its model.json, or an .onnx file';
/** Warm-up: at least one call, then more for up to this share of --seconds (at most 1 s). */
const WARMUP_SHARE = 0.2;

/** The model.json MODEL names: the file itself, or the one inside the folder. */
function modelJsonPath(model: string): string {
  if (!existsSync(model)) throw new CliError(`no model at ${model}: ${EXPECTED}`);
  if (!statSync(model).isDirectory()) return model;
  const json = join(model, 'model.json');
  if (!existsSync(json)) throw new CliError(`${model} has no model.json: ${EXPECTED}`);
  return json;
}

/** Uniform values in [0, 1) (normalized pixels), deterministic: every run times the same inputs. */
function randomInput(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s >>> 8) / 2 ** 24;
  }
  return tensor(v, shape);
}

/** Nearest-rank percentile of sorted values (p in (0, 1]). */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
const medianOf = (sorted: number[]) => {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
};
const fmtMs = (v: number) => (v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

export async function runBench(cmd: BenchCommand, io: CliIO): Promise<void> {
  const backend = await setupBackend(cmd);
  const path = modelJsonPath(cmd.model);
  // An ONNX file runs as it was exported (its inputs in their own layout, NCHW for PyTorch).
  const model = /\.onnx$/i.test(path) ? await loadOnnx(path) : await loadLayersModel(path);
  const inputs: Tensor[] = [];
  try {
    const shapes = model.inputs.map((t, i) => {
      const s = t.sampleShape;
      if (!s.every((d) => Number.isInteger(d) && d > 0)) {
        throw new CliError(`${path}: input ${i} ('${t.sourceLayer.name}') has shape [${s.map((d) => (Number.isInteger(d) && d > 0 ? d : '?')).join(', ')}] with unknown dimensions; bench needs every input dimension fixed (give the model a full inputShape)`);
      }
      return [cmd.batch, ...s];
    });
    shapes.forEach((s, i) => inputs.push(randomInput(s, 1 + i)));
    const x = inputs.length === 1 ? inputs[0]! : inputs;
    // Reading the outputs back is part of a prediction (and, on WebGPU, what waits for the GPU).
    const once = async () => {
      const y = model.predict(x, { batchSize: cmd.batch });
      const ys = Array.isArray(y) ? y : [y];
      await Promise.all(ys.map((t) => t.data()));
      for (const t of ys) t.dispose();
    };

    const budgetMs = cmd.seconds * 1000;
    const status = cmd.json ? undefined : new LiveLine(io.statusStream ?? io.progressStream);
    const label = `${model.name}, batch ${cmd.batch}, ${backend.threads} thread(s)`;
    const warmStart = performance.now();
    let warmupCalls = 0;
    do {
      status?.update(() => `Warming up ${label}…`);
      await once();
      warmupCalls++;
    } while (performance.now() - warmStart < Math.min(1000, WARMUP_SHARE * budgetMs));

    const samples: number[] = [];
    const start = performance.now();
    const line = () => {
      const sorted = [...samples].sort((a, b) => a - b);
      const done = Math.min(1, (performance.now() - start) / budgetMs);
      const bar = '='.repeat(Math.floor(done * 20)).padEnd(20, ' ');
      return `Benchmarking ${label} [${bar}] ${((performance.now() - start) / 1000).toFixed(1)}/${cmd.seconds} s  ${samples.length} calls  median ${fmtMs(medianOf(sorted))} ms  ` +
        `${Math.round((cmd.batch * samples.length) / ((performance.now() - start) / 1000)).toLocaleString('en-US')} img/s`;
    };
    do {
      const t0 = performance.now();
      await once();
      samples.push(performance.now() - t0);
      status?.update(line);
    } while (performance.now() - start < budgetMs);
    const timedSeconds = (performance.now() - start) / 1000;
    status?.done(line());

    const sorted = [...samples].sort((a, b) => a - b);
    const result = {
      model: model.name, path, params: model.countParams(), layers: model.layers.length,
      inputShapes: shapes, batch: cmd.batch, threads: backend.threads, wasm: backend.wasm, backend: backend.backend,
      calls: samples.length, warmupCalls, seconds: timedSeconds,
      medianMs: medianOf(sorted), p90Ms: percentile(sorted, 0.9), minMs: sorted[0]!, meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
      // Sustained: every image of every timed call over the whole timed span (gaps between calls included).
      imagesPerSec: (cmd.batch * samples.length) / timedSeconds,
    };
    if (cmd.json) {
      jsonLine(io, result);
      return;
    }
    io.out(`Model ${result.model}: ${result.layers} layers, ${result.params.toLocaleString('en-US')} parameters, input ${shapes.map((s) => `[${s.join(', ')}]`).join(' + ')}`);
    io.out(`${backend.label}, ${result.threads} thread(s), batch ${result.batch}`);
    io.out(`Latency: median ${fmtMs(result.medianMs)} ms, p90 ${fmtMs(result.p90Ms)} ms, min ${fmtMs(result.minMs)} ms (${result.calls} calls in ${timedSeconds.toFixed(1)} s, after ${warmupCalls} warm-up call${warmupCalls > 1 ? 's' : ''})`);
    io.out(`Throughput: ${result.imagesPerSec >= 100 ? Math.round(result.imagesPerSec).toLocaleString('en-US') : result.imagesPerSec.toFixed(2)} images/s`);
  } finally {
    for (const t of inputs) t.dispose();
    model.dispose();
  }
}
