// The WebGPU backend in real headless Chromium (navigator.gpu on SwiftShader, see WEBGPU_ARGS), on
// the browser build: matMul and conv2d against the float64 references, and two training steps of a
// tiny model matching the same model's wasm losses in the same page. No adapter FAILS the file:
// CI's Chromium has one, and a silent skip would hide a broken backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, WEBGPU_ARGS, type Browser } from './helpers/chromium.js';
import { randn } from './helpers/random.js';
import { refGemm } from '../src/reference/gemm.js';
import { refConv2d } from '../src/reference/conv.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launch({ args: WEBGPU_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

describe('WebGPU backend in headless Chromium', () => {
  it('has an adapter; matMul and conv2d match the float64 references; 2 training steps match wasm', async () => {
    const [m, n, kk] = [7, 9, 13];
    const a = randn(m * kk, 1), b = randn(kk * n, 2);
    // conv: x [2, 7, 6, 3], w [3, 3, 3, 5], stride 2, 'same' → out [2, 4, 3, 5], pads top 1, left 0.
    const conv = { batch: 2, inH: 7, inW: 6, inC: 3, kh: 3, kw: 3, outC: 5, strideH: 2, strideW: 2, dilH: 1, dilW: 1, padTop: 1, padLeft: 0, outH: 4, outW: 3 };
    const x = randn(2 * 7 * 6 * 3, 3), w = randn(3 * 3 * 3 * 5, 4);
    const trainX = randn(8 * 5 * 5 * 2, 5);
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html');
    const r: any = await page.evaluate(`(async () => {
      if (!navigator.gpu) return { error: 'navigator.gpu is undefined (isSecureContext ' + isSecureContext + ')' };
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) return { error: 'navigator.gpu.requestAdapter() returned null' };
      const info = adapter.info ?? {};
      const sc = await import('/dist/browser/simdcnn.js');
      await sc.ready();
      const trainOn = async (name) => {
        await sc.setBackend(name);
        const model = sc.sequential({ seed: 2, layers: [
          sc.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [5, 5, 2] }),
          sc.layers.flatten(),
          sc.layers.dense({ units: 3, activation: 'softmax' }),
        ] });
        model.compile({ optimizer: sc.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
        const losses = [];
        await model.fit(sc.tensor(${JSON.stringify(Array.from(trainX))}, [8, 5, 5, 2]), [0, 1, 2, 0, 1, 2, 0, 1],
          { batchSize: 4, epochs: 1, shuffle: false, callbacks: { onBatchEnd: (_b, logs) => { losses.push(logs.loss); } } });
        const weights = model.getWeights().map((t) => Array.from(t.dataSync()));
        model.dispose();
        return { losses, weights };
      };
      const wasm = await trainOn('wasm');
      const backendName = await sc.setBackend('webgpu');
      const description = sc.backend().description;
      // The top-level ops stay on wasm; backend() is the active backend's op set (GpuTensor results).
      const mm = sc.backend().matMul(sc.tensor(${JSON.stringify(Array.from(a))}, [${m}, ${kk}]), sc.tensor(${JSON.stringify(Array.from(b))}, [${kk}, ${n}]));
      const cv = sc.backend().conv2d(sc.tensor(${JSON.stringify(Array.from(x))}, [2, 7, 6, 3]), sc.tensor(${JSON.stringify(Array.from(w))}, [3, 3, 3, 5]), 2, 'same');
      const out = {
        info: { vendor: info.vendor, architecture: info.architecture, description: info.description },
        backendName, description, gpuTensor: mm instanceof sc.GpuTensor, mmClass: mm.constructor.name + ' ' + Object.getPrototypeOf(Object.getPrototypeOf(mm))?.constructor?.name,
        mm: { shape: mm.shape, data: Array.from(await mm.data()) },
        cv: { shape: cv.shape, data: Array.from(await cv.data()) },
      };
      mm.dispose(); cv.dispose();
      out.webgpu = await trainOn('webgpu');
      out.wasm = wasm;
      await sc.setBackend('wasm');
      return out;
    })()`);
    expect(r.error, 'no WebGPU adapter in headless Chromium').toBeUndefined();
    console.log(`Chromium WebGPU adapter: ${JSON.stringify(r.info)}; backend '${r.description}'; 2 steps: wasm losses [${r.wasm.losses}] webgpu [${r.webgpu.losses}]`);
    expect(r.backendName).toBe('webgpu');
    expect(r.gpuTensor, r.mmClass).toBe(true);

    const close = (got: number[], want: ArrayLike<number>, tol: number) => {
      expect(got).toHaveLength(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
      expect(worst).toBeLessThan(tol);
    };
    expect(r.mm.shape).toEqual([m, n]);
    close(r.mm.data, refGemm(m, n, kk, a, false, b, false), 1e-5 * Math.sqrt(kk) + 1e-6);
    expect(r.cv.shape).toEqual([2, 4, 3, 5]);
    close(r.cv.data, refConv2d(conv, x, w), 1e-5 * Math.sqrt(27) + 1e-6);

    expect(r.webgpu.losses).toHaveLength(2);
    r.webgpu.losses.forEach((l: number, i: number) => expect(Math.abs(l - r.wasm.losses[i]) / r.wasm.losses[i]).toBeLessThan(1e-3));
    r.wasm.weights.forEach((wv: number[], i: number) => close(r.webgpu.weights[i], wv, 1e-4));
    expect(page.logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
