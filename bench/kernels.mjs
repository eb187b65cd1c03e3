// npm run bench: GEMM throughput at 512³ and at the reference CNN's shapes, and the direct
// convolution (the conv2d op and its backprop ops: the passes the layers run) at the CNN's conv
// shapes, against the machine's measured SIMD peak (register-only multiply-add loop in the same
// wasm build) and a naive scalar JavaScript triple loop, all in one run. Runs the relaxed (FMA)
// and the plain SIMD build.
//   node bench/kernels.mjs [--json]        (npm run build first)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { machine, medianMs } from './machine.mjs';

const json = process.argv.includes('--json');
const child = process.argv.includes('--child');

const shapes = [
  { name: '512³', m: 512, n: 512, k: 512 },
  { name: 'conv2 im2col, batch 32', m: 121 * 32, n: 64, k: 288 },
  { name: 'conv2 im2col, batch 128', m: 121 * 128, n: 64, k: 288 },
  { name: 'dense1, batch 32', m: 32, n: 64, k: 1600 },
  { name: 'dense1, batch 128', m: 128, n: 64, k: 1600 },
];

// The CNN's convolutions at batch 32: FLOPs = 2·(batch·outH·outW)·(kh·kw·inC)·outC per pass.
const convs = [
  { name: 'conv1, batch 32', x: [32, 28, 28, 1], f: [3, 3, 1, 32] },
  { name: 'conv2, batch 32', x: [32, 13, 13, 32], f: [3, 3, 32, 64] },
];

// MobileNetV2-like depthwise convolutions (3×3, 'same'): FLOPs = 2·N·outH·outW·C·dm·kh·kw.
const depthwise = [
  { name: '112×112×32 3×3 s1, batch 1', x: [1, 112, 112, 32], f: [3, 3, 32, 1], stride: 1 },
  { name: '112×112×32 3×3 s1, batch 8', x: [8, 112, 112, 32], f: [3, 3, 32, 1], stride: 1 },
  { name: '56×56×144 3×3 s2, batch 1', x: [1, 56, 56, 144], f: [3, 3, 144, 1], stride: 2 },
  { name: '56×56×144 3×3 s2, batch 8', x: [8, 56, 56, 144], f: [3, 3, 144, 1], stride: 2 },
];

function naiveMatMul(a, b, c, m, n, k) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
}

async function measure() {
  const s = await import('../dist/index.js');
  // This table is about one core: the all-core figures are bench/train.mjs'.
  s.setThreads(1);
  const peak = s.measurePeakGflops({ ms: 200, repeats: 7 });
  const bench = new Bench({ time: 1000, warmupTime: 200, iterations: 10 });
  const held = [];
  for (const sh of shapes) {
    const a = s.tensor(new Float32Array(sh.m * sh.k).map((_, i) => ((i * 7) % 13) / 13 - 0.5), [sh.m, sh.k]);
    const b = s.tensor(new Float32Array(sh.k * sh.n).map((_, i) => ((i * 5) % 11) / 11 - 0.5), [sh.k, sh.n]);
    held.push(a, b);
    bench.add(`matMul ${sh.name}`, () => s.matMul(a, b).dispose());
  }
  const convFlops = [];
  for (const c of convs) {
    const size = (d) => d.reduce((a, b) => a * b, 1);
    const x = s.tensor(new Float32Array(size(c.x)).map((_, i) => ((i * 7) % 13) / 13 - 0.5), c.x);
    const f = s.tensor(new Float32Array(size(c.f)).map((_, i) => ((i * 5) % 11) / 11 - 0.5), c.f);
    const [n, h, w] = c.x, [kh, kw, inC, outC] = c.f, outH = h - kh + 1, outW = w - kw + 1;
    const dy = s.tensor(new Float32Array(n * outH * outW * outC).fill(0.01), [n, outH, outW, outC]);
    held.push(x, f, dy);
    const flops = 2 * n * outH * outW * kh * kw * inC * outC;
    bench.add(`conv2d ${c.name}`, () => s.conv2d(x, f, 1, 'valid').dispose());
    bench.add(`conv2DBackpropFilter ${c.name}`, () => s.conv2DBackpropFilter(x, dy, c.f, 1, 'valid').dispose());
    convFlops.push([`conv2d ${c.name}`, flops], [`conv2DBackpropFilter ${c.name}`, flops]);
    if (inC > 1) {
      bench.add(`conv2DBackpropInput ${c.name}`, () => s.conv2DBackpropInput(c.x, dy, f, 1, 'valid').dispose());
      convFlops.push([`conv2DBackpropInput ${c.name}`, flops]);
    }
  }
  const dwFlops = [];
  for (const c of depthwise) {
    const size = (d) => d.reduce((a, b) => a * b, 1);
    const x = s.tensor(new Float32Array(size(c.x)).map((_, i) => ((i * 7) % 13) / 13 - 0.5), c.x);
    const f = s.tensor(new Float32Array(size(c.f)).map((_, i) => ((i * 5) % 11) / 11 - 0.5), c.f);
    held.push(x, f);
    const [n, h, w] = c.x, [kh, kw, inC, dm] = c.f;
    dwFlops.push([`depthwiseConv2d ${c.name}`, 2 * n * Math.ceil(h / c.stride) * Math.ceil(w / c.stride) * inC * dm * kh * kw]);
    bench.add(`depthwiseConv2d ${c.name}`, () => s.depthwiseConv2d(x, f, c.stride, 'same').dispose());
  }
  await bench.run();
  const rows = shapes.map((sh, i) => {
    const ms = medianMs(bench.tasks[i]);
    const gflops = (2 * sh.m * sh.n * sh.k) / (ms / 1000) / 1e9;
    return { shape: sh.name, m: sh.m, n: sh.n, k: sh.k, medianMs: ms, gflops, fractionOfPeak: gflops / peak };
  });
  const convRows = convFlops.map(([name, flops], i) => {
    const ms = medianMs(bench.tasks[shapes.length + i]);
    const gflops = flops / (ms / 1000) / 1e9;
    return { op: name, medianMs: ms, gflops, fractionOfPeak: gflops / peak };
  });
  const dwRows = dwFlops.map(([name, flops], i) => {
    const ms = medianMs(bench.tasks[shapes.length + convFlops.length + i]);
    const gflops = flops / (ms / 1000) / 1e9;
    return { op: name, medianMs: ms, gflops, fractionOfPeak: gflops / peak };
  });
  held.forEach((t) => t.dispose());
  return { variant: s.wasmVariant(), peakGflops: peak, rows, convRows, dwRows };
}

async function naive() {
  const { m, n, k } = shapes[0];
  const a = new Float32Array(m * k).fill(0.5), b = new Float32Array(k * n).fill(0.25), c = new Float32Array(m * n);
  const bench = new Bench({ time: 0, warmupIterations: 1, iterations: 3 });
  bench.add('naive JS 512³', () => naiveMatMul(a, b, c, m, n, k));
  await bench.run();
  const ms = medianMs(bench.tasks[0]);
  return { medianMs: ms, gflops: (2 * m * n * k) / (ms / 1000) / 1e9 };
}

if (child) {
  process.stdout.write(JSON.stringify(await measure()));
} else {
  const runs = [];
  for (const variant of ['relaxed', 'simd']) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
      env: { ...process.env, SIMDCNN_WASM: variant }, encoding: 'utf8',
    });
    if (r.status !== 0) {
      if (variant === 'relaxed') { console.error(`(relaxed SIMD unavailable here: ${r.stderr.trim().split('\n').pop()})`); continue; }
      throw new Error(r.stderr);
    }
    runs.push(JSON.parse(r.stdout));
  }
  const naiveResult = await naive();
  for (const run of runs) {
    run.rows[0].timesNaive = run.rows[0].gflops / naiveResult.gflops;
  }
  const result = { machine: machine(), threads: 1, naive512: naiveResult, runs };
  writeFileSync(new URL('./results/kernels.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  if (json) {
    console.log(JSON.stringify(result));
  } else {
    const m = result.machine;
    console.log(`simdcnn kernels — ${m.cpu}, ${m.cores} cores, Node ${m.node}, one thread; medians (tinybench)\n`);
    for (const run of runs) {
      console.log(`wasm build '${run.variant}': measured SIMD peak ${run.peakGflops.toFixed(1)} GFLOP/s`);
      console.log('| matMul shape | M×N×K | median ms | GFLOP/s | of peak |');
      console.log('|---|---|---:|---:|---:|');
      for (const r of run.rows) {
        console.log(`| ${r.shape} | ${r.m}×${r.n}×${r.k} | ${r.medianMs.toFixed(3)} | ${r.gflops.toFixed(1)} | ${(r.fractionOfPeak * 100).toFixed(0)}% |`);
      }
      console.log(`512³ vs naive scalar JS triple loop (${naiveResult.gflops.toFixed(2)} GFLOP/s): ${run.rows[0].timesNaive.toFixed(0)}×\n`);
      console.log('| direct convolution (op, shape) | median ms | GFLOP/s | of peak |');
      console.log('|---|---:|---:|---:|');
      for (const r of run.convRows) console.log(`| ${r.op} | ${r.medianMs.toFixed(3)} | ${r.gflops.toFixed(1)} | ${(r.fractionOfPeak * 100).toFixed(0)}% |`);
      console.log('');
      console.log('| depthwise convolution (op, shape) | median ms | GFLOP/s | of peak |');
      console.log('|---|---:|---:|---:|');
      for (const r of run.dwRows) console.log(`| ${r.op} | ${r.medianMs.toFixed(3)} | ${r.gflops.toFixed(1)} | ${(r.fractionOfPeak * 100).toFixed(0)}% |`);
      console.log('');
    }
  }
}
