// The demo: trains the reference CNN on MNIST in a Worker (createWorkerModel), charts loss and
// accuracy live, then classifies what you draw and shows the first layer's filters and feature
// maps. URL parameters (also used by the tests): threads, examples, epochs, batch, maxBatches, autotrain.
import * as sc from '/dist/browser/simdcnn.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const isolated = globalThis.crossOriginIsolated === true;
const cores = Math.max(1, Math.min(16, navigator.hardwareConcurrency || 1));

/** What the page is doing, for people (status line) and for tests (window.demoState). */
const state = (window.demoState = {
  phase: 'loading', variant: '', threads: 1, isolated, batches: 0, totalBatches: 0,
  loss: [], acc: [], val: [], testAcc: undefined, prediction: undefined, probs: [], error: undefined, predictions: 0,
});

let data; // {train, test} from fetchMnist
let wm; // the WorkerModel
let training = false;

function fail(err) {
  state.phase = 'error';
  state.error = String(err?.message ?? err);
  $('status').textContent = `Error: ${state.error}`;
  console.error(err);
}

function referenceCnn() {
  return sc.sequential({
    seed: 1,
    layers: [
      sc.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      sc.layers.maxPooling2d({ poolSize: 2 }),
      sc.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      sc.layers.maxPooling2d({ poolSize: 2 }),
      sc.layers.flatten(),
      sc.layers.dense({ units: 64, activation: 'relu' }),
      sc.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

async function newWorkerModel(threads) {
  wm?.terminate();
  wm = undefined;
  const model = referenceCnn();
  model.compile({ optimizer: sc.train.adam(0.001), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const backend = $('backend').value;
  try {
    wm = await sc.createWorkerModel(model, { threads, backend });
  } finally {
    model.dispose();
  }
  state.variant = wm.variant;
  state.threads = wm.threads;
  state.backend = wm.backend;
  $('env').textContent = `backend: ${wm.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · wasm build: ${wm.variant === 'relaxed' ? 'relaxed SIMD (fused multiply-add)' : 'SIMD'} · worker threads: ${wm.threads} · cross-origin isolated: ${isolated ? 'yes' : 'no'} · ${cores} cores`;
  await showFilters();
}

// ---------- training ----------

async function trainModel() {
  if (training || !data) return;
  training = true;
  $('train').disabled = true;
  $('stop').disabled = false;
  try {
    const threads = Number($('threads').value);
    $('status').textContent = 'starting the worker…';
    await newWorkerModel(threads);
    const n = Math.min(Number($('examples').value), data.train.count);
    const epochs = Math.max(1, Number($('epochs').value) | 0);
    const batchSize = Math.max(1, Number($('batch').value) | 0);
    const maxBatches = params.has('maxBatches') ? Number(params.get('maxBatches')) : Infinity;
    const steps = Math.ceil(n / batchSize);
    Object.assign(state, { phase: 'training', batches: 0, totalBatches: Math.min(steps * epochs, maxBatches), loss: [], acc: [], val: [], testAcc: undefined });
    const x = sc.uint8Images(data.train.images.subarray(0, n * 784), [28, 28, 1]);
    const y = data.train.labels.subarray(0, n);
    const nVal = Math.min(1000, data.test.count);
    const val = [sc.uint8Images(data.test.images.subarray(0, nVal * 784), [28, 28, 1]), data.test.labels.subarray(0, nVal)];
    const t0 = performance.now();
    let stopping = false;
    await wm.fit(x, y, {
      epochs, batchSize, validationData: val,
      callbacks: {
        onBatchEnd: (batch, logs) => {
          state.batches++;
          state.loss.push(logs.loss);
          state.acc.push(logs.acc);
          const secs = (performance.now() - t0) / 1000;
          $('progress').value = state.batches / state.totalBatches;
          $('status').textContent = `batch ${state.batches} / ${state.totalBatches} · loss ${logs.loss.toFixed(3)} · accuracy ${(100 * logs.acc).toFixed(1)}% · ${Math.round(state.batches * batchSize / secs)} images/s`;
          scheduleChart();
          if (state.batches % 100 === 0) void showFilters();
          if (state.batches >= maxBatches && !stopping) {
            stopping = true;
            void wm.stopTraining();
          }
        },
        onEpochEnd: (epoch, logs) => {
          if (logs.val_acc !== undefined) state.val.push({ at: state.batches, acc: logs.val_acc });
          scheduleChart();
        },
      },
    });
    const secs = (performance.now() - t0) / 1000;
    const nTest = Math.min(2000, data.test.count);
    $('status').textContent = 'evaluating on the test set…';
    const [, testAcc] = await wm.evaluate(sc.uint8Images(data.test.images.subarray(0, nTest * 784), [28, 28, 1]), data.test.labels.subarray(0, nTest));
    state.testAcc = testAcc;
    state.phase = 'trained';
    $('progress').value = 1;
    $('status').textContent = `trained ${state.batches} batches in ${secs.toFixed(1)} s · test accuracy ${(100 * testAcc).toFixed(2)}% on ${nTest} images · now draw a digit`;
    await showFilters();
    if (hasInk()) await classify();
  } catch (err) {
    fail(err);
  } finally {
    training = false;
    $('train').disabled = false;
    $('stop').disabled = true;
  }
}

// ---------- chart ----------

let chartQueued = false;
function scheduleChart() {
  if (chartQueued) return;
  chartQueued = true;
  requestAnimationFrame(() => {
    chartQueued = false;
    drawChart();
  });
}

function smooth(values, k = 0.9) {
  const out = [];
  let s;
  for (const v of values) out.push((s = s === undefined ? v : k * s + (1 - k) * v));
  return out;
}

function drawChart() {
  const c = $('chart'), g = c.getContext('2d');
  const W = c.width, H = c.height, L = 44, R = 44, T = 10, B = 24;
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  const n = Math.max(state.totalBatches, state.loss.length, 1);
  const maxLoss = Math.max(0.5, ...state.loss.slice(0, 5), ...state.loss) || 1;
  const px = (i) => L + (i / n) * (W - L - R);
  const pyL = (v) => T + (1 - v / maxLoss) * (H - T - B);
  const pyA = (v) => T + (1 - v) * (H - T - B);
  g.strokeStyle = '#e3e7ef';
  g.fillStyle = '#6b7487';
  for (let i = 0; i <= 4; i++) {
    const y = T + (i / 4) * (H - T - B);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.textAlign = 'right'; g.fillText((maxLoss * (1 - i / 4)).toFixed(2), L - 6, y + 4);
    g.textAlign = 'left'; g.fillText((1 - i / 4).toFixed(2), W - R + 6, y + 4);
  }
  g.textAlign = 'center';
  g.fillText(`batch (of ${n})`, (L + W - R) / 2, H - 6);
  const line = (vals, y, color) => {
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    vals.forEach((v, i) => (i ? g.lineTo(px(i + 1), y(v)) : g.moveTo(px(i + 1), y(v))));
    g.stroke();
  };
  line(smooth(state.loss), pyL, '#d9534f');
  line(smooth(state.acc), pyA, '#3b6fd8');
  g.fillStyle = '#2e9d5b';
  for (const v of state.val) { g.beginPath(); g.arc(px(v.at), pyA(v.acc), 4, 0, 7); g.fill(); }
}

// ---------- drawing pad ----------

const pad = $('pad'), pg = pad.getContext('2d');
function clearPad() {
  pg.fillStyle = '#000';
  pg.fillRect(0, 0, pad.width, pad.height);
  $('input28').getContext('2d').clearRect(0, 0, 28, 28);
  $('guess').textContent = '?';
  renderProbs(new Array(10).fill(0));
  $('maps').replaceChildren();
}
let drawing = false, last;
const at = (e) => {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
};
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = at(e);
  pad.setPointerCapture(e.pointerId);
  stroke(last, last);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const p = at(e);
  stroke(last, p);
  last = p;
});
const end = () => {
  if (!drawing) return;
  drawing = false;
  void classify();
};
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);
function stroke(a, b) {
  pg.strokeStyle = '#fff';
  pg.lineWidth = 20;
  pg.lineCap = pg.lineJoin = 'round';
  pg.beginPath(); pg.moveTo(a[0], a[1]); pg.lineTo(b[0], b[1]); pg.stroke();
}
function hasInk() {
  const d = pg.getImageData(0, 0, pad.width, pad.height).data;
  for (let i = 0; i < d.length; i += 4 * 7) if (d[i] > 30) return true;
  return false;
}

/** MNIST-style: the ink's bounding box scaled into 20×20, centred by its centre of mass in 28×28. */
function toMnist() {
  const W = pad.width, H = pad.height, d = pg.getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (d[(y * W + x) * 4] > 30) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
  }
  if (x1 < 0) return undefined;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, s = 20 / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * s)), h = Math.max(1, Math.round(bh * s));
  const tmp = new OffscreenCanvas(28, 28), tg = tmp.getContext('2d', { willReadFrequently: true });
  tg.fillStyle = '#000'; tg.fillRect(0, 0, 28, 28);
  tg.imageSmoothingEnabled = true; tg.imageSmoothingQuality = 'high';
  tg.drawImage(pad, x0, y0, bw, bh, Math.round((28 - w) / 2), Math.round((28 - h) / 2), w, h);
  let px = tg.getImageData(0, 0, 28, 28).data, sum = 0, cx = 0, cy = 0;
  for (let i = 0; i < 784; i++) { const v = px[i * 4]; sum += v; cx += v * (i % 28); cy += v * Math.floor(i / 28); }
  const dx = Math.round(13.5 - cx / sum), dy = Math.round(13.5 - cy / sum);
  const out = new Uint8Array(784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const sx = x - dx, sy = y - dy;
    if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = px[(sy * 28 + sx) * 4];
  }
  const view = $('input28').getContext('2d'), img = view.createImageData(28, 28);
  for (let i = 0; i < 784; i++) { img.data.set([out[i], out[i], out[i], 255], i * 4); }
  view.putImageData(img, 0, 0);
  return out;
}

let classifying = false, again = false;
async function classify() {
  if (!wm) return;
  if (classifying) { again = true; return; }
  classifying = true;
  try {
    do {
      again = false;
      const pixels = toMnist();
      if (!pixels) continue;
      const x = sc.uint8Images(pixels, [28, 28, 1]);
      const [out, layersOut] = await Promise.all([wm.predict(x), wm.predictLayers(x)]);
      const probs = Array.from(out.data);
      const best = probs.indexOf(Math.max(...probs));
      state.prediction = best;
      state.probs = probs;
      state.predictions++;
      $('guess').textContent = String(best);
      renderProbs(probs);
      showMaps(layersOut[0]);
    } while (again);
  } catch (err) {
    fail(err);
  } finally {
    classifying = false;
  }
}

function renderProbs(probs) {
  const best = probs.indexOf(Math.max(...probs));
  $('probs').replaceChildren(...probs.flatMap((p, i) => {
    const label = Object.assign(document.createElement('span'), { textContent: String(i) });
    const bar = document.createElement('div');
    bar.className = 'bar' + (i === best && p > 0 ? ' top' : '');
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    const val = Object.assign(document.createElement('span'), { textContent: `${(100 * p).toFixed(1)}%` });
    return [label, bar, val];
  }));
}

// ---------- filters and feature maps ----------

function tile(w, h, rgba) {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  c.getContext('2d').putImageData(new ImageData(rgba, w, h), 0, 0);
  return c;
}

async function showFilters() {
  const k = (await wm.getWeights()).find((w) => w.name.endsWith('/kernel') && w.shape.length === 4);
  if (!k) return;
  const [kh, kw, cin, cout] = k.shape;
  const tiles = [];
  for (let o = 0; o < cout; o++) {
    let m = 1e-12;
    for (let i = 0; i < kh * kw; i++) m = Math.max(m, Math.abs(k.data[i * cin * cout + o]));
    const rgba = new Uint8ClampedArray(kh * kw * 4);
    for (let i = 0; i < kh * kw; i++) {
      const v = k.data[i * cin * cout + o] / m; // first input channel
      const a = Math.round(255 * Math.abs(v));
      rgba.set(v >= 0 ? [255, 255 - a, 255 - a, 255] : [255 - a, 255 - a, 255, 255], i * 4);
    }
    const c = tile(kw, kh, rgba);
    c.title = `filter ${o}`;
    tiles.push(c);
  }
  $('filters').replaceChildren(...tiles);
}

function showMaps(a) {
  const [, h, w, ch] = a.shape;
  const tiles = [];
  for (let c = 0; c < ch; c++) {
    let m = 1e-12;
    for (let i = 0; i < h * w; i++) m = Math.max(m, a.data[i * ch + c]);
    const rgba = new Uint8ClampedArray(h * w * 4);
    for (let i = 0; i < h * w; i++) {
      const v = Math.round(255 * Math.max(0, a.data[i * ch + c]) / m);
      rgba.set([v, v, v, 255], i * 4);
    }
    const t = tile(w, h, rgba);
    t.title = `feature map ${c}`;
    tiles.push(t);
  }
  $('maps').replaceChildren(...tiles);
}

// ---------- start ----------

function setupBackend() {
  const sel = $('backend'), gpu = sel.querySelector('option[value=webgpu]');
  if (!navigator.gpu) {
    gpu.disabled = true;
    gpu.textContent = 'WebGPU (not in this browser)';
  }
  if (params.get('backend') === 'webgpu' && !gpu.disabled) sel.value = 'webgpu';
}

function setupThreads() {
  const sel = $('threads');
  const choices = [...new Set([1, 2, 4, 8, cores].filter((n) => n <= cores))].sort((a, b) => a - b);
  for (const n of choices) {
    const o = new Option(`${n}`, String(n));
    o.disabled = n > 1 && !isolated;
    sel.append(o);
  }
  const want = Number(params.get('threads') ?? (isolated ? cores : 1));
  sel.value = String(isolated ? Math.min(want, cores) : 1);
  $('threads-note').textContent = isolated
    ? `Training runs in a Web Worker on up to ${cores} threads (shared memory).`
    : 'This page is not cross-origin isolated (no COOP/COEP headers), so the worker trains on one thread.';
}

async function main() {
  setupBackend();
  setupThreads();
  for (const k of ['examples', 'epochs', 'batch']) if (params.has(k)) $(k).value = params.get(k);
  $('train').addEventListener('click', () => void trainModel());
  $('stop').addEventListener('click', () => { $('stop').disabled = true; void wm?.stopTraining(); });
  $('clear').addEventListener('click', clearPad);
  clearPad();
  drawChart();
  await sc.ready();
  await newWorkerModel(Number($('threads').value));
  state.phase = 'loading-data';
  data = await sc.fetchMnist({
    baseUrl: new URL('data/mnist/', location.href).href,
    onProgress: (done, total, file) => { $('status').textContent = `loading ${file}: ${(done / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`; },
  });
  state.phase = 'ready';
  $('status').textContent = `MNIST loaded: ${data.train.count} training and ${data.test.count} test images · press Train`;
  $('train').disabled = false;
  if (params.get('autotrain') === '1') void trainModel();
}

main().catch(fail);
