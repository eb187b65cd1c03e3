// bench/models.mjs' results as a markdown table and an SVG bar chart (peers.svg's chart, fed these
// rows). Every ratio is "how many times faster simdcnn is": simdcnn's images/s over the row's.
import { svg as ratioSvg } from '../peers/report.mjs';

const num = (v, d = 1) => (v == null || !Number.isFinite(v) ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v < 10 ? Math.max(d, 2) : d));
const ratio = (r) => (r == null ? '—' : `**${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×**`);
const pct = (f) => (f == null ? '—' : `${(f * 100).toFixed(0)}%`);
const mb = (b) => (b == null ? '—' : `${(b / 1e6).toFixed(1)} MB`);
const ms = (v, d = 0) => (v == null ? '—' : `${v.toFixed(d)} ms`);

export function markdown(res) {
  const m = res.machine, v = res.versions, N = res.allThreads;
  const L = [];
  L.push('### simdcnn on real models vs TensorFlow.js, ONNX Runtime Web and PyTorch');
  L.push('');
  if (res.quick) L.push('**Smoke run (`--quick`): one round, one or two repetitions per row — a check that every row runs, not figures to quote.**\n');
  L.push(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}; ${m.date.slice(0, 10)}. simdcnn ${v.simdcnn} (${res.simdcnnWasm}), @tensorflow/tfjs ${v.tfjs ?? '—'} + tfjs-backend-wasm ${v.tfjsWasm ?? '—'}, onnxruntime-web ${v.ort ?? '—'}, PyTorch ${v.pytorch ?? '—'}.`);
  const load = m.loadAverage1m;
  const busy = Math.max(load.start, load.end) > 0.75 * m.cores;
  L.push(`Load average (1 min) at start / end: ${load.start.toFixed(2)} / ${load.end.toFixed(2)}${busy ? ' — **the machine was busy with other work during this run: absolute figures are low and noisy for every library; the ratios (libraries take turns round by round) are the comparable part**' : ''}.`);
  if (res.rows.length) {
    L.push(`Measured SIMD FMA peak (simdcnn's wasm build, this run, best of each round): ${num(res.peakGflops[1])} GFLOP/s on 1 thread, ${num(res.peakGflops[N])} on ${N}. ` +
    `"of peak" divides a row's GFLOP/s by the 1-thread peak for 1-thread rows and by the ${N}-thread peak otherwise. ` +
    `Each library in its own process; ${res.rounds} interleaved round${res.rounds > 1 ? 's' : ''} (every row once per round, order rotated), medians over all rounds' repetitions. ` +
    `**×** = simdcnn's images/s over the row's (above 1: simdcnn is faster).`);
  }
  L.push('');
  if (res.rows.length) {
    L.push(`| model | task | batch | library | threads | GFLOP/img | latency ms | img/s | GFLOP/s | of peak | simdcnn 1 thread × | simdcnn ${N} threads × |`);
    L.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  }
  for (const r of res.rows) {
    const head = `| ${r.modelLabel} | ${r.task} | ${r.batch} | ${r.library} | ${r.threads ?? '—'} | ${r.flopsPerImage ? (r.flopsPerImage / 1e9).toFixed(3) : '—'} |`;
    if (r.imagesPerSec == null) {
      L.push(`${head} ${r.note} | | | | | |`);
      continue;
    }
    L.push(`${head} ${r.task === 'inference' ? num(r.latencyMs, 2) : ''} | ${num(r.imagesPerSec)} | ${num(r.gflops)} | ${pct(r.fractionOfPeak)} | ${ratio(r.ratio1)} | ${ratio(r.ratioN)} |`);
  }
  if (res.cold.length) {
    L.push('');
    L.push('| cold start (fresh process) | model | import | load model | of which: weights file read | first prediction | total | × | RSS after |');
    L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of res.cold) {
      if (c.totalMs == null) {
        L.push(`| ${c.library} | ${c.modelLabel} | ${c.note} | | | | | | |`);
        continue;
      }
      L.push(`| ${c.library} | ${c.modelLabel} | ${ms(c.importMs)} | ${ms(c.loadMs)} | ${ms(c.weightReadMs, 1)} (${mb(c.weightBytes)}) | ${ms(c.firstPredictMs, 1)} | ${ms(c.totalMs)} | ${ratio(c.ratio)} | ${mb(c.rss)} |`);
    }
  }
  if (res.memory.length) {
    L.push('');
    L.push('| memory: MobileNetV2 224², batch-1 inference (fresh process) | wasm heap in use | process RSS |');
    L.push('|---|---:|---:|');
    for (const r of res.memory) L.push(`| ${r.library} | ${r.heapBytes == null ? '—' : mb(r.heapBytes)} | ${r.rss == null ? r.note : mb(r.rss)} |`);
  }
  if (res.onnx && (res.onnx.rows.length || res.onnx.note)) {
    L.push('');
    L.push('| PyTorch-exported ONNX (torchvision, 224², batch 1) | threads | max \\|simdcnn − ORT\\| | simdcnn ms | onnxruntime-web ms | simdcnn / ORT latency |');
    L.push('|---|---:|---:|---:|---:|---:|');
    if (res.onnx.note) L.push(`| ${res.onnx.note} | | | | | |`);
    for (const r of res.onnx.rows) L.push(`| ${r.model} | ${r.threads} | ${r.maxDiff.toExponential(1)} | ${num(r.simdcnnMs, 2)} | ${num(r.ortMs, 2)} | ${r.ratio.toFixed(2)}× |`);
  }
  L.push('');
  const agree = Object.entries(res.agreement).map(([k, a]) => `${res.models[k].label}: ${Object.entries(a).map(([lib, d]) => `${lib} ${typeof d === 'number' ? d.toExponential(1) : d}`).join(', ')}`);
  if (agree.length) L.push(`Checks before timing — max |probability − simdcnn's| over 2 images, same model files: ${agree.join('; ')}.`);
  if (res.tfjsGrads) {
    const g = res.tfjsGrads;
    L.push(`tfjs-wasm training as shipped: ${Object.entries(g.shipped).map(([k, e]) => `${res.models[k].label}: ${e ?? 'trains'}`).join('; ')}. ` +
      `With the bench's kernels (bench/peers/tfjs-conv-grad.mjs: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input from tfjs' own wasm ops) — max rel. error vs tfjs-cpu: conv ${g.check.conv2DBackpropFilter.toExponential(1)}, depthwise ${g.check.depthwise.toExponential(1)}.`);
  }
  for (const n of res.notes) L.push(`- ${n}`);
  return L.join('\n') + '\n';
}

// The chart's labels have ~60 characters of room.
const libShort = (l) => (l.startsWith('tfjs') ? 'tfjs-wasm' : l.startsWith('onnxruntime') ? 'ORT' : l.startsWith('PyTorch') ? 'PyTorch' : l);
const modelShort = (m) => m.replace('MobileNetV2-0.35', 'MNv2-0.35');

/** Bars of simdcnn's speed over each peer's (log scale), per row and thread count, and cold-start time ratios. */
export function svg(res) {
  const rows = res.rows.filter((r) => r.ratio1 != null || r.ratioN != null).map((r) => ({
    short: `${modelShort(r.modelShort)} ${r.task === 'inference' ? 'infer' : 'train'} b${r.batch} vs ${libShort(r.library)}${r.threads > 1 ? ` ${r.threads}t` : ''}`,
    ratio1: r.ratio1, ratioN: r.ratioN,
  }));
  const cold = res.cold.filter((c) => c.ratio != null).map((c) => ({ lib: `${libShort(c.library)} (${modelShort(c.modelShort)})`, timeRatio: c.ratio, bytesRatio: null }));
  return ratioSvg({ rows, cold, machine: res.machine, allThreads: res.allThreads });
}
