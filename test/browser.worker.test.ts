// createWorkerModel in real Chromium: a short MNIST training run in a module Worker, on two threads
// when the page is cross-origin isolated, on one thread with exactly one warning when it is not;
// the trained model comes back to the page (save → loadLayersModel(fromMemory)) with the same
// predictions; a wrong moduleUrl fails with a message saying what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Browser } from './helpers/chromium.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const TRAIN = (threads: number) => `(async () => {
  const sc = await import('/dist/browser/simdcnn.js');
  await sc.ready();
  const { train, test } = await sc.fetchMnist({ baseUrl: location.origin + '/data/mnist/' });
  const n = 1024;
  const model = sc.sequential({ seed: 7, layers: [
    sc.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    sc.layers.maxPooling2d({ poolSize: 2 }),
    sc.layers.flatten(),
    sc.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  model.compile({ optimizer: sc.train.adam(0.003), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const wm = await sc.createWorkerModel(model, { threads: ${threads} });
  model.dispose();
  const losses = [];
  let epochEnds = 0;
  const t0 = performance.now();
  const h = await wm.fit(sc.uint8Images(train.images.subarray(0, n * 784), [28, 28, 1]), train.labels.subarray(0, n), {
    epochs: 1, batchSize: 32, callbacks: { onBatchEnd: (b, logs) => losses.push(logs.loss), onEpochEnd: () => epochEnds++ },
  });
  const ms = performance.now() - t0;
  const xt = sc.uint8Images(test.images.subarray(0, 200 * 784), [28, 28, 1]);
  const [loss, acc] = await wm.evaluate(xt, test.labels.subarray(0, 200));
  const pw = await wm.predict(xt);
  const saved = await wm.save();
  const back = await sc.loadLayersModel(sc.fromMemory(saved.modelJson, saved.weightData));
  const pm = back.predict(xt).dataSync();
  let diff = 0;
  for (let i = 0; i < pm.length; i++) diff = Math.max(diff, Math.abs(pm[i] - pw.data[i]));
  const result = { isolated: crossOriginIsolated, threads: wm.threads, variant: wm.variant, losses, epochEnds, history: h.history,
    acc, loss, predShape: pw.shape, diff, ms, layers: wm.layers.map((l) => l.className), inputShape: wm.inputShape };
  wm.terminate();
  return result;
})()`;

describe('createWorkerModel (Chromium)', () => {
  it('trains in a Worker on 2 threads when cross-origin isolated', async () => {
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html');
    const r: any = await page.evaluate(TRAIN(2));
    console.log(`worker, ${r.threads} threads (${r.variant}): 32 batches in ${r.ms.toFixed(0)} ms, loss ${r.losses[0].toFixed(3)} → ${r.losses.at(-1).toFixed(3)}, test acc ${(100 * r.acc).toFixed(1)}%`);
    expect(r).toMatchObject({ isolated: true, threads: 2, variant: 'relaxed', epochEnds: 1, predShape: [200, 10], inputShape: [28, 28, 1] });
    expect(r.layers).toEqual(['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense']);
    expect(r.losses).toHaveLength(32);
    expect(r.history.loss[0]).toBeLessThan(r.losses[0]);
    expect(r.losses.slice(-4).reduce((a: number, b: number) => a + b) / 4).toBeLessThan(r.losses[0] * 0.6);
    expect(r.acc).toBeGreaterThan(0.6);
    expect(r.diff).toBeLessThan(1e-5);
    expect(page.logs.filter((l) => /warn|error/.test(l)), page.logs.join("\n")).toEqual([]);
  });

  it('uses one thread and warns once when the page is not cross-origin isolated', async () => {
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html?coi=0');
    const r: any = await page.evaluate(TRAIN(2));
    expect(r).toMatchObject({ isolated: false, threads: 1, epochEnds: 1 });
    expect(r.losses).toHaveLength(32);
    expect(r.acc).toBeGreaterThan(0.6);
    const warnings = page.logs.filter((l) => l.startsWith('warning'));
    expect(warnings, warnings.join("\n")).toHaveLength(1);
    expect(warnings[0]).toMatch(/not cross-origin isolated.*one thread.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
  });

  it('stopTraining ends fit after the current batch; a bad moduleUrl says what to pass', async () => {
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html');
    const r: any = await page.evaluate(`(async () => {
      const sc = await import('/dist/browser/simdcnn.js');
      await sc.ready();
      const model = sc.sequential({ seed: 1, layers: [sc.layers.flatten({ inputShape: [4, 4, 1] }), sc.layers.dense({ units: 3, activation: 'softmax' })] });
      model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
      const wm = await sc.createWorkerModel(model);
      let batches = 0;
      const x = sc.uint8Images(new Uint8Array(16 * 4000).map((_, i) => i % 251), [4, 4, 1]);
      const h = await wm.fit(x, Array.from({ length: 4000 }, (_, i) => i % 3), { epochs: 50, batchSize: 1, callbacks: {
        onBatchEnd: () => { if (++batches === 5) wm.stopTraining(); } } });
      let error = '';
      try { await sc.createWorkerModel(model.dispose() && undefined || { modelJson: (await wm.save()).modelJson, weightData: (await wm.save()).weightData }, { moduleUrl: location.origin + '/nope.js' }); } catch (e) { error = e.message; }
      return { epochs: h.epoch.length, batches, error };
    })()`);
    // The worker sees the request when fit next yields (every 50 ms): well inside the first epoch.
    expect(r.epochs).toBe(1);
    expect(r.batches).toBeLessThan(4000);
    expect(r.error).toMatch(/worker failed to start.*\/nope\.js.*moduleUrl/);
  });
});
