// simdcnn as a Vite user gets it: a tiny app whose main.js does `import ... from 'simdcnn'`, with
// node_modules/simdcnn a symlink to this repository (so package.json's `exports` map and its
// `browser` condition pick dist/browser/simdcnn.js), built by `vite build` (Vite's JS API) with no
// configuration at all, served with COOP/COEP and run in headless Chromium. The wasm must come from
// Vite's output (it rewrites the literal `new URL('../wasm/….wasm', import.meta.url)` calls and
// copies the four builds), and the prediction must match Node's within 1e-5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { launch, type Browser } from './helpers/chromium.js';
import { randn } from './helpers/random.js';
import { layers, sequential, tensor, type Tensor } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const X_SHAPE = [3, 10, 10, 1];

// Weights set explicitly (same values in Node and in the page), so nothing depends on initializers.
const weightShapes = [[3, 3, 1, 4], [4], [64, 5], [5]];
const weights = weightShapes.map((s, i) => Array.from(randn(s.reduce((a, b) => a * b, 1), 100 + i, 0.5)));
const x = Array.from(randn(X_SHAPE.reduce((a, b) => a * b, 1), 7));
// One model definition, as source text: evaluated in Node below and bundled into the app.
const MODEL = `sequential({ layers: [
  layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 1] }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.flatten(),
  layers.dense({ units: 5, activation: 'softmax' }),
] })`;

let dir: string;
let out: string;
let browser: Browser;
let nodeY: number[];

beforeAll(async () => {
  const model = new Function('sequential', 'layers', `return ${MODEL};`)(sequential, layers);
  model.setWeights(weights.map((w, i) => tensor(w, weightShapes[i])));
  const y = model.predict(tensor(x, X_SHAPE)) as Tensor;
  nodeY = Array.from(y.dataSync());
  y.dispose();
  model.dispose();

  dir = mkdtempSync(join(tmpdir(), 'simdcnn-vite-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'simdcnn'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'vite-app', private: true, type: 'module' }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>simdcnn + vite</title><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(dir, 'main.js'), `import { ready, sequential, layers, tensor, wasmVariant } from 'simdcnn';

(async () => {
  try {
    await ready();
    const model = ${MODEL};
    const shapes = ${JSON.stringify(weightShapes)};
    model.setWeights(${JSON.stringify(weights)}.map((w, i) => tensor(w, shapes[i])));
    const y = model.predict(tensor(${JSON.stringify(x)}, ${JSON.stringify(X_SHAPE)}));
    window.result = { variant: wasmVariant(), y: Array.from(y.dataSync()) };
  } catch (e) {
    window.result = { error: String(e && e.stack || e) };
  }
})();
`);
  out = join(dir, 'dist');
  // No vite.config: only where the app is, where to write it and quiet logs.
  await build({ root: dir, configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  browser = await launch({ extraRoutes: { '/assets/': join(out, 'assets'), '/vite-app/': out } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a Vite app importing simdcnn (production build, no Vite configuration)', () => {
  it('emits the four wasm builds as assets, byte for byte', () => {
    const assets = readdirSync(join(out, 'assets'));
    const wasm = assets.filter((f) => f.endsWith('.wasm')).sort();
    expect(wasm.map((f) => f.replace(/-[\w-]{8}\.wasm$/, '.wasm')).sort()).toEqual(
      ['simdcnn-relaxed-threads.wasm', 'simdcnn-relaxed.wasm', 'simdcnn-simd-threads.wasm', 'simdcnn-simd.wasm']);
    for (const f of wasm) {
      const original = f.replace(/-[\w-]{8}\.wasm$/, '.wasm');
      expect(readFileSync(join(out, 'assets', f)).equals(readFileSync(join(root, 'wasm', original))), f).toBe(true);
    }
    // The JS Vite wrote points at its own copies, not at the package's folder.
    const js = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(out, 'assets', f), 'utf8')).join('\n');
    for (const f of wasm) expect(js).toContain(f);
    expect(js).not.toContain('../wasm/simdcnn-');
  });

  it('runs in Chromium, fetching the wasm from the Vite output, and predicts as Node does (1e-5)', async () => {
    const page = await browser.page();
    const wasmRequests: string[] = [];
    const failed: string[] = [];
    page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasmRequests.push(new URL(r.url()).pathname); });
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });
    await page.goto(browser.url + 'vite-app/index.html');
    await page.waitForFunction('window.result !== undefined', undefined, { timeout: 30_000 });
    const r: any = await page.evaluate('window.result');
    expect(r.error, page.logs.join('\n')).toBeUndefined();
    expect(r.variant).toBe('relaxed');
    expect(wasmRequests.length).toBeGreaterThan(0);
    for (const u of wasmRequests) expect(u).toMatch(/^\/assets\/simdcnn-(relaxed|simd)(-threads)?-[\w-]{8}\.wasm$/);
    expect(r.y).toHaveLength(nodeY.length);
    for (let i = 0; i < nodeY.length; i++) expect(Math.abs(r.y[i] - nodeY[i]), `y[${i}]`).toBeLessThan(1e-5);
    expect(failed).toEqual([]);
    expect(page.logs.filter((l) => l.startsWith('pageerror') || l.startsWith('error'))).toEqual([]);
  });
});
