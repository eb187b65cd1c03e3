// The ops in real Chromium, on the browser build (dist/browser/simdcnn.js, imported by a plain
// module script): a table of small shapes per op family, run in a page on both wasm builds (the
// relaxed-SIMD one the page picks, and plain SIMD passed to ready({module})), checked here
// against the float64 references. Plus: the inlined build needs no wasm files, and an esbuild
// bundle of it runs without any configuration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { launch, type Browser } from './helpers/chromium.js';
import { randn } from './helpers/random.js';
import { refGemm } from '../src/reference/gemm.js';
import { refConv2d, refConv2dBackpropFilter, refConv2dBackpropInput, type RefConvParams } from '../src/reference/conv.js';
import { refAvgPool, refMaxPool } from '../src/reference/pool.js';
import { refRelu, refSigmoid, refSoftmax, refTanh } from '../src/reference/activations.js';

type Case = { name: string; op: string; inputs: Record<string, unknown>; expected: ArrayLike<number>; shape: number[]; tol: number };

function convParams(xShape: number[], wShape: number[], stride: number, pad: 'valid' | 'same', dil = 1): RefConvParams {
  const [batch, inH, inW, inC] = xShape, [kh, kw, , outC] = wShape;
  const ekh = (kh - 1) * dil + 1, ekw = (kw - 1) * dil + 1;
  const outH = pad === 'same' ? Math.ceil(inH / stride) : Math.floor((inH - ekh) / stride) + 1;
  const outW = pad === 'same' ? Math.ceil(inW / stride) : Math.floor((inW - ekw) / stride) + 1;
  const totH = pad === 'same' ? Math.max((outH - 1) * stride + ekh - inH, 0) : 0;
  const totW = pad === 'same' ? Math.max((outW - 1) * stride + ekw - inW, 0) : 0;
  return { batch, inH, inW, inC, kh, kw, outC, strideH: stride, strideW: stride, dilH: dil, dilW: dil, padTop: Math.floor(totH / 2), padLeft: Math.floor(totW / 2), outH, outW };
}

function cases(): Case[] {
  const out: Case[] = [];
  let seed = 1;
  for (const [m, n, k, ta, tb] of [[1, 1, 1, false, false], [5, 7, 3, false, false], [13, 9, 17, true, false], [6, 10, 33, false, true], [1, 10, 64, false, false]] as const) {
    const a = randn(m * k, seed++), b = randn(k * n, seed++);
    out.push({ name: `matMul ${m}x${k}·${k}x${n}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`, op: 'matMul', inputs: { a: Array.from(a), aShape: ta ? [k, m] : [m, k], b: Array.from(b), bShape: tb ? [n, k] : [k, n], ta, tb }, expected: refGemm(m, n, k, a, ta, b, tb), shape: [m, n], tol: 1e-5 * Math.sqrt(k) + 1e-6 });
  }
  for (const [xShape, wShape, stride, pad, dil] of [
    [[1, 1, 1, 1], [1, 1, 1, 1], 1, 'valid', 1], [[1, 5, 5, 1], [3, 3, 1, 4], 1, 'valid', 1], [[2, 7, 6, 3], [3, 3, 3, 5], 2, 'same', 1],
    [[1, 6, 6, 2], [2, 2, 2, 3], 3, 'valid', 1], [[1, 9, 9, 1], [3, 3, 1, 2], 1, 'same', 2],
  ] as [number[], number[], number, 'valid' | 'same', number][]) {
    const p = convParams(xShape, wShape, stride, pad, dil);
    const x = randn(xShape.reduce((s, v) => s * v), seed++), w = randn(wShape.reduce((s, v) => s * v), seed++);
    const dy = randn(p.batch * p.outH * p.outW * p.outC, seed++);
    const red = wShape[0] * wShape[1] * wShape[2];
    const common = { xShape, wShape, stride, pad, dil };
    out.push({ name: `conv2d x[${xShape}] w[${wShape}] s${stride} ${pad} d${dil}`, op: 'conv2d', inputs: { ...common, x: Array.from(x), w: Array.from(w) }, expected: refConv2d(p, x, w), shape: [p.batch, p.outH, p.outW, p.outC], tol: 1e-5 * Math.sqrt(red) + 1e-6 });
    if (dil === 1) {
      out.push({ name: `conv2DBackpropInput x[${xShape}] w[${wShape}] s${stride} ${pad}`, op: 'conv2DBackpropInput', inputs: { ...common, dy: Array.from(dy), dyShape: [p.batch, p.outH, p.outW, p.outC], w: Array.from(w) }, expected: refConv2dBackpropInput(p, dy, w), shape: xShape, tol: 1e-5 * Math.sqrt(red * p.outC) + 1e-6 });
      out.push({ name: `conv2DBackpropFilter x[${xShape}] w[${wShape}] s${stride} ${pad}`, op: 'conv2DBackpropFilter', inputs: { ...common, x: Array.from(x), dy: Array.from(dy), dyShape: [p.batch, p.outH, p.outW, p.outC] }, expected: refConv2dBackpropFilter(p, x, dy), shape: wShape, tol: 1e-5 * Math.sqrt(p.batch * p.outH * p.outW) + 1e-6 });
    }
  }
  for (const [xShape, f, s] of [[[1, 1, 1, 1], 1, 1], [[2, 6, 6, 3], 2, 2], [[1, 7, 5, 5], 3, 2]] as [number[], number, number][]) {
    const x = randn(xShape.reduce((a, b) => a * b), seed++);
    const [batch, inH, inW, channels] = xShape;
    const outH = Math.floor((inH - f) / s) + 1, outW = Math.floor((inW - f) / s) + 1;
    const g = { batch, inH, inW, channels, filterH: f, filterW: f, strideH: s, strideW: s, padTop: 0, padLeft: 0, outH, outW };
    out.push({ name: `maxPool x[${xShape}] f${f} s${s}`, op: 'maxPool', inputs: { x: Array.from(x), xShape, f, s }, expected: refMaxPool(g, x).y, shape: [batch, outH, outW, channels], tol: 1e-6 });
    out.push({ name: `avgPool x[${xShape}] f${f} s${s}`, op: 'avgPool', inputs: { x: Array.from(x), xShape, f, s }, expected: refAvgPool(g, x), shape: [batch, outH, outW, channels], tol: 1e-6 });
  }
  for (const n of [1, 7, 33]) {
    const x = randn(n, seed++, 3);
    out.push({ name: `relu [${n}]`, op: 'relu', inputs: { x: Array.from(x) }, expected: refRelu(x), shape: [n], tol: 1e-6 });
    out.push({ name: `sigmoid [${n}]`, op: 'sigmoid', inputs: { x: Array.from(x) }, expected: refSigmoid(x), shape: [n], tol: 1e-5 });
    out.push({ name: `tanh [${n}]`, op: 'tanh', inputs: { x: Array.from(x) }, expected: refTanh(x), shape: [n], tol: 1e-5 });
  }
  for (const [r, c] of [[1, 1], [3, 10], [2, 17]]) {
    const x = randn(r * c, seed++, 4);
    out.push({ name: `softmax [${r}, ${c}]`, op: 'softmax', inputs: { x: Array.from(x), shape: [r, c] }, expected: refSoftmax(r, c, x), shape: [r, c], tol: 1e-5 });
  }
  return out;
}

/** The page side: runs one case with the library module `sc` and returns shape and values. */
const PAGE_RUNNER = `window.runCase = (sc, c) => {
  const i = c.inputs, T = (v, s) => sc.tensor(v, s);
  let y;
  switch (c.op) {
    case 'matMul': y = sc.matMul(T(i.a, i.aShape), T(i.b, i.bShape), i.ta, i.tb); break;
    case 'conv2d': y = sc.conv2d(T(i.x, i.xShape), T(i.w, i.wShape), i.stride, i.pad, 'NHWC', i.dil); break;
    case 'conv2DBackpropInput': y = sc.conv2DBackpropInput(i.xShape, T(i.dy, i.dyShape), T(i.w, i.wShape), i.stride, i.pad); break;
    case 'conv2DBackpropFilter': y = sc.conv2DBackpropFilter(T(i.x, i.xShape), T(i.dy, i.dyShape), i.wShape, i.stride, i.pad); break;
    case 'maxPool': y = sc.maxPool(T(i.x, i.xShape), i.f, i.s, 'valid'); break;
    case 'avgPool': y = sc.avgPool(T(i.x, i.xShape), i.f, i.s, 'valid'); break;
    case 'softmax': y = sc.softmax(T(i.x, i.shape)); break;
    default: y = sc[c.op](T(i.x, [i.x.length]));
  }
  const r = { shape: y.shape, data: Array.from(y.dataSync()) };
  y.dispose();
  return r;
};`;

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const table = cases();

describe.each([
  { build: 'relaxed SIMD (picked by the page)', setup: 'await sc.ready();', variant: 'relaxed' },
  { build: 'plain SIMD (ready({module}))', setup: "await sc.ready({ module: await WebAssembly.compileStreaming(fetch('/dist/wasm/simdcnn-simd.wasm')) });", variant: 'simd' },
])('ops in Chromium on $build', ({ setup, variant }) => {
  it(`${table.length} cases match the float64 references`, async () => {
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html');
    const results: any = await page.evaluate(`(async () => {
      ${PAGE_RUNNER}
      const sc = await import('/dist/browser/simdcnn.js');
      ${setup}
      return { variant: sc.wasmVariant(), out: ${JSON.stringify(table.map((c) => ({ op: c.op, inputs: c.inputs })))}.map((c) => { try { return window.runCase(sc, c); } catch (e) { return { error: String(e) }; } }) };
    })()`);
    expect(results.variant).toBe(variant);
    const failures: string[] = [];
    table.forEach((c, k) => {
      const r = results.out[k];
      if (r.error) return failures.push(`${c.name}: ${r.error}`);
      if (r.shape.join() !== c.shape.join()) return failures.push(`${c.name}: shape [${r.shape}] ≠ [${c.shape}]`);
      let worst = 0;
      for (let j = 0; j < c.expected.length; j++) worst = Math.max(worst, Math.abs(r.data[j] - c.expected[j]) / Math.max(1, Math.abs(c.expected[j])));
      if (!(worst <= c.tol)) failures.push(`${c.name}: max error ${worst.toExponential(2)} > ${c.tol.toExponential(2)}`);
    });
    expect(failures).toEqual([]);
    expect(page.logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});

describe('browser builds load without configuration', () => {
  it('the inlined build fetches no wasm file', async () => {
    const page = await browser.page();
    const wasmRequests: string[] = [];
    page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasmRequests.push(r.url()); });
    await page.goto(browser.url + 'blank.html');
    const r: any = await page.evaluate(`(async () => {
      const sc = await import('/dist/browser/simdcnn.inline.js');
      await sc.ready();
      return { variant: sc.wasmVariant(), y: Array.from(sc.matMul(sc.tensor2d([1, 2, 3, 4], [2, 2]), sc.tensor2d([5, 6, 7, 8], [2, 2])).dataSync()) };
    })()`);
    expect(r).toEqual({ variant: 'relaxed', y: [19, 22, 43, 50] });
    expect(wasmRequests).toEqual([]);
  });

  it('an esbuild bundle of an app using the inlined build runs as is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdcnn-esbuild-'));
    try {
      const entry = join(dir, 'app.js');
      const lib = join(import.meta.dirname, '..', 'dist', 'browser', 'simdcnn.inline.js');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(entry, `import { ready, tensor2d, matMul, wasmVariant } from ${JSON.stringify(lib)};
await ready();
window.result = { variant: wasmVariant(), y: Array.from(matMul(tensor2d([1, 2], [1, 2]), tensor2d([3, 4], [2, 1])).dataSync()) };
`);
      await build({ entryPoints: [entry], bundle: true, format: 'esm', minify: true, outfile: join(dir, 'out', 'app.js'), logLevel: 'silent' });
      const bundled = readFileSync(join(dir, 'out', 'app.js'), 'utf8');
      const page = await browser.page();
      await page.goto(browser.url + 'blank.html');
      await page.addScriptTag({ type: 'module', content: bundled });
      await page.waitForFunction('window.result !== undefined', undefined, { timeout: 10_000 });
      expect(await page.evaluate('window.result')).toEqual({ variant: 'relaxed', y: [11] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
