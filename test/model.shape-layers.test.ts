// The shape layers in whole models: a gradient check through a graph that uses most of them
// (analytic gradients against central differences of a float64 forward built from
// src/reference/shape.ts), parity with real TensorFlow.js 4.22 (cpu backend) layer by layer, and
// model files both ways (ours load in tfjs and predict the same; tfjs' load here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as sc from '../src/index.js';
import { loadLayersModel, tensor, type LayersModel } from '../src/index.js';
import type { Layer } from '../src/layers/layer.js';
import { modelArtifacts, type ModelArtifacts } from '../src/model/save-load.js';
import { refCrop, refGlobalPool, refPermute, refUpsample, refZeroPad } from '../src/reference/shape.js';
import { randn, rng } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const TOL = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** y = act(x·W + b) over the last axis (rows × cols → rows × units), float64. */
function refDense(x: Float64Array, cols: number, w: Float64Array, b: Float64Array, act: (v: number) => number): Float64Array {
  const units = b.length, rows = x.length / cols;
  const y = new Float64Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      let s = b[j];
      for (let k = 0; k < cols; k++) s += x[r * cols + k] * w[k * units + j];
      y[r * units + j] = act(s);
    }
  }
  return y;
}

describe('gradient check through a graph of shape layers', () => {
  it('rescaling → zero padding → dense → cropping → bilinear ×[2,1] → permute → nearest ×[1,2] / global max (keepDims) → reshape → global avg ⊕ → dense', () => {
    const L = sc.layers, B = 3;
    const x = sc.input({ shape: [5, 4, 3] });
    const d1 = L.dense({ units: 4, activation: 'tanh' });
    const d2 = L.dense({ units: 3, activation: 'softmax' });
    const r = L.rescaling({ scale: 0.5, offset: 0.1 }).apply(x) as sc.SymbolicTensor;
    const p = L.zeroPadding2d({ padding: [[1, 0], [0, 2]] }).apply(r) as sc.SymbolicTensor;
    const c = L.cropping2D({ cropping: [[1, 1], [0, 1]] }).apply(d1.apply(p) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const u = L.upSampling2d({ size: [2, 1], interpolation: 'bilinear' }).apply(c) as sc.SymbolicTensor;
    const pm = L.permute({ dims: [2, 1, 3] }).apply(u) as sc.SymbolicTensor;
    const ga = L.globalAveragePooling2d().apply(L.upSampling2d({ size: [1, 2] }).apply(pm) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const gm = L.reshape({ targetShape: [-1] }).apply(L.globalMaxPooling2d({ keepDims: true }).apply(pm) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const out = d2.apply(L.concatenate().apply([ga, gm]) as sc.SymbolicTensor) as sc.SymbolicTensor;
    const m = sc.model({ inputs: x, outputs: out, seed: 5 });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    m.setWeights(m.getWeights().map((w, i) => tensor(randn(w.size, 40 + i, 0.8), w.shape)));
    const x32 = randn(B * 60, 9, 1.5);
    const labels = [0, 2, 1];
    const { grads } = m.lossAndGradients(tensor(x32, [B, 5, 4, 3]), tensor(labels, [B]));

    const params = new Float64Array(grads.length);
    const list = m.weightList();
    m.weightValues().forEach((w, i) => params.set(w.data, list[i].spec.offset));
    const wOf = (l: Layer, i: number) => params.subarray(l.weights[i].offset, l.weights[i].offset + size(l.weights[i].shape));
    const x64 = Float64Array.from(x32);
    const forward = () => {
      const a0 = x64.map((v) => v * 0.5 + 0.1);
      const a1 = refZeroPad(a0, [B, 5, 4, 3], [[1, 0], [0, 2]]);
      const a2 = refDense(a1, 3, wOf(d1, 0), wOf(d1, 1), Math.tanh);
      const a3 = refCrop(a2, [B, 6, 6, 4], [[1, 1], [0, 1]]);
      const a4 = refUpsample(a3, [B, 4, 5, 4], [2, 1], 'bilinear');
      const a5 = refPermute(a4, B, [8, 5, 4], [2, 1, 3]);
      const avg = refGlobalPool(refUpsample(a5, [B, 5, 8, 4], [1, 2], 'nearest'), [B, 5, 16, 4], 'avg');
      const mx = refGlobalPool(a5, [B, 5, 8, 4], 'max');
      const cat = new Float64Array(B * 8);
      for (let b = 0; b < B; b++) for (let k = 0; k < 4; k++) { cat[b * 8 + k] = avg[b * 4 + k]; cat[b * 8 + 4 + k] = mx[b * 4 + k]; }
      return refDense(cat, 8, wOf(d2, 0), wOf(d2, 1), (v) => v);
    };
    const f = () => {
      const z = forward();
      let loss = 0;
      for (let b = 0; b < B; b++) {
        const row = z.subarray(b * 3, b * 3 + 3), top = Math.max(...row);
        loss -= row[labels[b]] - top - Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
      }
      return loss / B;
    };
    // The float64 forward is the model's forward.
    const pred = (m.predict(tensor(x32, [B, 5, 4, 3])) as sc.Tensor).dataSync();
    const z = forward();
    expect(pred.length).toBe(B * 3);
    for (let b = 0; b < B; b++) {
      const row = z.subarray(b * 3, b * 3 + 3), e = row.map((v) => Math.exp(v - Math.max(...row))), t = e.reduce((a, v) => a + v, 0);
      for (let j = 0; j < 3; j++) expect(pred[b * 3 + j]).toBeCloseTo(e[j] / t, 5);
    }
    const h = 1e-6;
    let worst = 0, where = '';
    let maxFd = 0;
    const checks: [string, number, number][] = [];
    for (const { name, spec } of list) {
      for (let i = 0; i < size(spec.shape); i++) {
        const j = spec.offset + i, p0 = params[j];
        params[j] = p0 + h; const lp = f();
        params[j] = p0 - h; const lm = f();
        params[j] = p0;
        const fd = (lp - lm) / (2 * h);
        maxFd = Math.max(maxFd, Math.abs(fd));
        checks.push([`${name}[${i}]`, grads[j], fd]);
      }
    }
    for (const [n, a, fd] of checks) {
      const v = Math.abs(a - fd) / (2e-4 * Math.abs(fd) + 1e-5 * maxFd);
      if (v > worst) { worst = v; where = `${n}: analytic ${a}, fd ${fd}`; }
    }
    expect(maxFd).toBeGreaterThan(1e-3);
    expect(worst, where).toBeLessThanOrEqual(1);
  });
});

// tfjs parity: the same layer in both libraries (tfjs' camelCase args), one line per case.
type Lib = { layers: any; sequential: any };
const TF: Lib = { layers: tf.layers, sequential: tf.sequential };
const SC: Lib = { layers: sc.layers, sequential: sc.sequential };
const parity: [string, number[], (L: Lib, inputShape: number[]) => unknown][] = [
  ['globalAveragePooling2d', [5, 3, 3], (L, s) => L.layers.globalAveragePooling2d({ inputShape: s })],
  ['globalMaxPooling2d', [4, 5, 5], (L, s) => L.layers.globalMaxPooling2d({ inputShape: s })],
  ['zeroPadding2d number', [3, 4, 1], (L, s) => L.layers.zeroPadding2d({ inputShape: s, padding: 2 })],
  ['zeroPadding2d [[t,b],[l,r]]', [3, 4, 3], (L, s) => L.layers.zeroPadding2d({ inputShape: s, padding: [[0, 2], [3, 1]] })],
  ['zeroPadding2d [h,w]', [3, 4, 3], (L, s) => L.layers.zeroPadding2d({ inputShape: s, padding: [1, 2] })],
  ['cropping2D [[t,b],[l,r]]', [6, 7, 5], (L, s) => L.layers.cropping2D({ inputShape: s, cropping: [[1, 2], [0, 3]] })],
  ['cropping2D [h,w]', [6, 7, 3], (L, s) => L.layers.cropping2D({ inputShape: s, cropping: [2, 1] })],
  ['upSampling2d nearest [2,2]', [3, 5, 3], (L, s) => L.layers.upSampling2d({ inputShape: s, size: [2, 2] })],
  ['upSampling2d nearest [3,1]', [3, 4, 1], (L, s) => L.layers.upSampling2d({ inputShape: s, size: [3, 1] })],
  ['upSampling2d bilinear [2,2]', [3, 5, 3], (L, s) => L.layers.upSampling2d({ inputShape: s, size: [2, 2], interpolation: 'bilinear' })],
  ['upSampling2d bilinear [3,1]', [4, 3, 5], (L, s) => L.layers.upSampling2d({ inputShape: s, size: [3, 1], interpolation: 'bilinear' })],
  // (tfjs 4.22 mishandles a plain-number size: [3, 3].)
  ['upSampling2d bilinear [3,3]', [3, 3, 8], (L, s) => L.layers.upSampling2d({ inputShape: s, size: [3, 3], interpolation: 'bilinear' })],
  ['reshape with -1', [4, 3, 2], (L, s) => L.layers.reshape({ inputShape: s, targetShape: [-1, 6] })],
  ['permute [3,1,2]', [2, 3, 5], (L, s) => L.layers.permute({ inputShape: s, dims: [3, 1, 2] })],
  ['permute [2,1,3]', [2, 3, 5], (L, s) => L.layers.permute({ inputShape: s, dims: [2, 1, 3] })],
  ['rescaling', [3, 3, 3], (L, s) => L.layers.rescaling({ inputShape: s, scale: 1 / 127.5, offset: -1 })],
];
const N = 3;
const input = (s: number[]) => Float32Array.from({ length: N * size(s) }, (_, i) => Math.round(Math.sin(i * 0.37 + 0.2) * 1000) / 4);

describe('shape layers match TensorFlow.js 4.22', () => {
  for (const [name, s, make] of parity) {
    it(name, async () => {
      const ours = sc.sequential({ layers: [make(SC, s) as Layer] });
      const theirs = tf.sequential({ layers: [make(TF, s) as tf.layers.Layer] });
      const xv = input(s);
      const yo = (ours.predict(tensor(xv, [N, ...s])) as sc.Tensor);
      const yt = theirs.predict(tf.tensor(xv, [N, ...s])) as tf.Tensor;
      expect(yo.shape).toEqual(yt.shape);
      const a = yo.dataSync(), b = yt.dataSync();
      let d = 0;
      for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
      expect(d).toBeLessThanOrEqual(TOL);
      // Our file loads in tfjs and predicts the same; tfjs' file loads here and predicts the same.
      const t2 = await tf.loadLayersModel(tf.io.fromMemory(modelArtifacts(ours).artifacts as tf.io.ModelArtifacts));
      const b2 = (t2.predict(tf.tensor(xv, [N, ...s])) as tf.Tensor).dataSync();
      expect(Array.from(b2)).toEqual(Array.from(b));
      let saved: tf.io.ModelArtifacts | undefined;
      await theirs.save(tf.io.withSaveHandler(async (art) => {
        saved = art;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }));
      const o2 = await loadLayersModel({ load: async () => saved as ModelArtifacts });
      expect(Array.from((o2.predict(tensor(xv, [N, ...s])) as sc.Tensor).dataSync())).toEqual(Array.from(a));
      ours.dispose();
      o2.dispose();
    });
  }

  it('a saved model with every shape layer loads in tfjs and predicts the same', async () => {
    const build = (L: Lib) => L.sequential({ layers: [
      L.layers.rescaling({ inputShape: [6, 5, 2], scale: 0.5, offset: 0.25 }),
      L.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }),
      L.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu' }),
      L.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }),
      L.layers.cropping2D({ cropping: [[1, 2], [3, 0]] }),
      L.layers.upSampling2d({ size: 2 }),
      L.layers.permute({ dims: [2, 1, 3] }),
      L.layers.reshape({ targetShape: [-1, 3, 3] }),
      L.layers.globalMaxPooling2d(),
      L.layers.reshape({ targetShape: [1, 1, 3] }),
      L.layers.globalAveragePooling2d(),
      L.layers.dense({ units: 4, activation: 'softmax' }),
    ] });
    const ours = build(SC) as LayersModel;
    const r = rng(3);
    ours.setWeights(ours.getWeights().map((w) => tensor(Float32Array.from({ length: w.size }, () => r() - 0.5), w.shape)));
    const xv = input([6, 5, 2]);
    const a = (ours.predict(tensor(xv, [N, 6, 5, 2])) as sc.Tensor).dataSync();
    const t = await tf.loadLayersModel(tf.io.fromMemory(modelArtifacts(ours).artifacts as tf.io.ModelArtifacts));
    const b = (t.predict(tf.tensor(xv, [N, 6, 5, 2])) as tf.Tensor).dataSync();
    let d = 0;
    for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    expect(b.length).toBe(N * 4);
    expect(d).toBeLessThanOrEqual(TOL);
    ours.dispose();
  });

  it('keepDims and spatialDropout2d (which tfjs lacks) round-trip through our own files', async () => {
    const m = sc.sequential({ layers: [
      sc.layers.spatialDropout2d({ rate: 0.3, inputShape: [4, 4, 3] }),
      sc.layers.globalAveragePooling2d({ keepDims: true }),
      sc.layers.globalMaxPooling2d({ keepDims: true }),
    ] });
    const { artifacts } = modelArtifacts(m);
    const cfg = JSON.stringify(artifacts.modelTopology);
    expect(cfg).toContain('"class_name":"SpatialDropout2D"');
    expect(cfg).toContain('"keepdims":true');
    const back = await loadLayersModel({ load: async () => artifacts as ModelArtifacts });
    expect(back.outputShape).toEqual([1, 1, 3]);
    const xv = input([4, 4, 3]);
    const y = (back.predict(tensor(xv, [N, 4, 4, 3])) as sc.Tensor).dataSync();
    // Inference: the dropout is the identity; the max over one pixel is the average itself.
    const ref = refGlobalPool(xv, [N, 4, 4, 3], 'avg');
    for (let i = 0; i < ref.length; i++) expect(y[i]).toBeCloseTo(ref[i], 5);
    expect(JSON.stringify(modelArtifacts(back).artifacts.modelTopology)).toBe(cfg);
    m.dispose();
    back.dispose();
  });

  it('upSampling2d with half-pixel centers (which tfjs lacks) round-trips through our own files', async () => {
    const m = sc.sequential({ layers: [sc.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear', halfPixelCenters: true, inputShape: [3, 2, 2] })] });
    const { artifacts } = modelArtifacts(m);
    const cfg = JSON.stringify(artifacts.modelTopology);
    expect(cfg).toContain('"half_pixel_centers":true');
    const back = await loadLayersModel({ load: async () => artifacts as ModelArtifacts });
    const xv = input([3, 2, 2]);
    const y = (back.predict(tensor(xv, [N, 3, 2, 2])) as sc.Tensor).dataSync();
    const ref = refUpsample(xv, [N, 3, 2, 2], [2, 3], 'bilinear', true);
    const scale = Math.max(1, ...Array.from(xv, Math.abs));
    for (let i = 0; i < ref.length; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-6 * scale);
    // and it is not the tfjs sampling
    const tfjsRef = refUpsample(xv, [N, 3, 2, 2], [2, 3], 'bilinear');
    expect(ref.some((v, i) => Math.abs(v - tfjsRef[i]) > 1e-3)).toBe(true);
    expect(JSON.stringify(modelArtifacts(back).artifacts.modelTopology)).toBe(cfg);
    m.dispose();
    back.dispose();
  });

  it('a channels_first file is an Error saying NHWC only', async () => {
    const m = sc.sequential({ layers: [sc.layers.upSampling2d({ inputShape: [2, 2, 1] })] });
    const { artifacts } = modelArtifacts(m);
    const topo = JSON.parse(JSON.stringify(artifacts.modelTopology));
    topo.config.layers[topo.config.layers.length - 1].config.data_format = 'channels_first';
    await expect(loadLayersModel({ load: async () => ({ ...artifacts, modelTopology: topo }) as ModelArtifacts }))
      .rejects.toThrow(/up_sampling2d.*NHWC only.*got 'channels_first'/);
    m.dispose();
  });
});
