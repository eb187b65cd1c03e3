// DepthwiseConv2D, SeparableConv2D and Conv2DTranspose against real TensorFlow.js 4.22 (cpu
// backend): the same model built in both libraries with the same weights predicts the same; models
// saved by tfjs load here and predict what tfjs predicts; ours load in tfjs; our own save → load
// round trip is bit-identical. Plus the loader's errors for what we do not support.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as sc from '../src/index.js';
import { LayersModel, loadLayersModel, tensor, type Tensor } from '../src/index.js';
import { modelArtifacts, type ModelArtifacts } from '../src/model/save-load.js';

const N = 3;
const TOL = 1e-5;
const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k * 1.1 + 0.2) * 0.5);
const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

type Lib = { input: any; layers: any; model: any };
const TF: Lib = { input: tf.input, layers: tf.layers, model: tf.model };
const SC: Lib = { input: sc.input, layers: sc.layers, model: sc.model };

/**
 * tfjsDropsDm: tfjs 4.22's SeparableConv2D.getConfig() omits depth_multiplier, so a file tfjs saves
 * of one with depthMultiplier ≠ 1 cannot be read back (by tfjs either): that direction checks the named Error.
 */
interface Spec { name: string; inShape: number[]; build(L: Lib): any; tfjsDropsDm?: boolean }
const specs: Spec[] = [
  {
    // (tfjs 4.22's depthwiseConv2d ignores dilationRate in its output shape: dilation is checked against the reference only.)
    name: 'depthwiseConv2d: dm 2, stride 2, same, relu6; [3, 2] kernel, stride [1, 2], valid, no bias', inShape: [9, 9, 3],
    build: (L) => {
      const x = L.input({ shape: [9, 9, 3] });
      const a = L.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu6' }).apply(x);
      const b = L.layers.depthwiseConv2d({ kernelSize: [3, 2], strides: [1, 2], useBias: false }).apply(L.layers.depthwiseConv2d({ kernelSize: 1, depthMultiplier: 3 }).apply(a));
      return L.model({ inputs: x, outputs: L.layers.dense({ units: 4, activation: 'softmax' }).apply(L.layers.flatten().apply(b)), name: 'dw' });
    },
  },
  {
    name: 'separableConv2d: dm 2, same, relu; stride 2, valid, tanh', inShape: [7, 7, 4], tfjsDropsDm: true,
    build: (L) => {
      const x = L.input({ shape: [7, 7, 4] });
      const a = L.layers.separableConv2d({ filters: 5, kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }).apply(x);
      const b = L.layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, activation: 'tanh' }).apply(a);
      return L.model({ inputs: x, outputs: L.layers.dense({ units: 2 }).apply(L.layers.flatten().apply(b)), name: 'sep' });
    },
  },
  {
    name: 'separableConv2d, depth multiplier 1 (so tfjs saves it whole): [2, 3] kernel, stride [2, 1], same, sigmoid', inShape: [6, 5, 3],
    build: (L) => {
      const x = L.input({ shape: [6, 5, 3] });
      const a = L.layers.separableConv2d({ filters: 4, kernelSize: [2, 3], strides: [2, 1], padding: 'same', activation: 'sigmoid' }).apply(x);
      return L.model({ inputs: x, outputs: L.layers.dense({ units: 2 }).apply(L.layers.flatten().apply(a)), name: 'sep1' });
    },
  },
  {
    name: 'conv2dTranspose: stride 2 same relu; stride 2 valid elu; stride 3 > kernel 2', inShape: [3, 4, 3],
    build: (L) => {
      const x = L.input({ shape: [3, 4, 3] });
      const a = L.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x);
      const b = L.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, activation: 'elu' }).apply(a);
      const c = L.layers.conv2dTranspose({ filters: 2, kernelSize: [2, 1], strides: [3, 2], activation: 'tanh', useBias: false }).apply(b);
      return L.model({ inputs: x, outputs: L.layers.dense({ units: 3 }).apply(L.layers.flatten().apply(c)), name: 'deconv' });
    },
  },
];

const input = (spec: Spec) => values(N * sizeOf(spec.inShape), 100);
function tfModel(spec: Spec): tf.LayersModel {
  const m = spec.build(TF) as tf.LayersModel;
  m.setWeights(m.getWeights().map((w, k) => tf.tensor(values(w.size, k), w.shape)));
  return m;
}
function ourModel(spec: Spec): LayersModel {
  const m = spec.build(SC) as LayersModel;
  m.setWeights(m.getWeights().map((w, k) => tensor(values(w.size, k), w.shape)));
  return m;
}
const tfPredict = (m: tf.LayersModel, spec: Spec) => (m.predict(tf.tensor(input(spec), [N, ...spec.inShape])) as tf.Tensor).dataSync() as Float32Array;
const ourPredict = (m: LayersModel, spec: Spec) => (m.predict(tensor(input(spec), [N, ...spec.inShape])) as Tensor).dataSync().slice();
function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  a.forEach((v, i) => { d = Math.max(d, Math.abs(v - b[i])); });
  return d;
}
const bits = (t: Tensor) => new Uint32Array(t.dataSync().slice().buffer);

async function tfArtifacts(m: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the same layers and weights in TensorFlow.js 4.22 and here', () => {
  for (const spec of specs) {
    it(`predict the same: ${spec.name}`, () => {
      const t = tfModel(spec), m = ourModel(spec);
      expect(m.getWeights().map((w) => w.shape)).toEqual(t.getWeights().map((w) => w.shape));
      expect(m.outputs[0].shape).toEqual(t.outputs[0].shape);
      expect(maxDiff(ourPredict(m, spec), tfPredict(t, spec))).toBeLessThanOrEqual(TOL);
      m.dispose();
    });

    it(`tfjs' file loads here: ${spec.name}`, async () => {
      const t = tfModel(spec);
      const a = await tfArtifacts(t);
      if (spec.tfjsDropsDm) {
        // tfjs 4.22 leaves depth_multiplier out of a SeparableConv2D's saved config: its file says
        // dm 1 while its weights have dm ≠ 1. Loading it must be a named Error, not wrong numbers.
        const sep = JSON.stringify(a.modelTopology).match(/"class_name":"SeparableConv2D","config":\{[^}]*/)?.[0] ?? '';
        expect(sep).toContain('SeparableConv2D');
        expect(sep).not.toContain('depth_multiplier');
        await expect(loadLayersModel({ load: async () => a as ModelArtifacts })).rejects.toThrow(/in the weights file, but layer .* needs/);
        return;
      }
      const loaded = await loadLayersModel({ load: async () => a as ModelArtifacts });
      expect(loaded.weightList().map((w) => w.name).sort()).toEqual(a.weightSpecs!.map((w) => w.name).sort());
      expect(maxDiff(ourPredict(loaded, spec), tfPredict(t, spec))).toBeLessThanOrEqual(TOL);
      loaded.dispose();
    });

    it(`our file loads in tfjs, and round-trips here bit for bit: ${spec.name}`, async () => {
      const m = ourModel(spec);
      const { artifacts } = modelArtifacts(m);
      const t = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
      expect(t.weights.map((w) => w.originalName)).toEqual(m.weightList().map((w) => w.name));
      expect(maxDiff(tfPredict(t, spec), ourPredict(m, spec))).toBeLessThanOrEqual(TOL);
      // ...and tfjs' save of it loads back here.
      const back = spec.tfjsDropsDm ? undefined : await loadLayersModel({ load: async () => (await tfArtifacts(t)) as ModelArtifacts });
      if (back) expect(maxDiff(ourPredict(back, spec), ourPredict(m, spec))).toBeLessThanOrEqual(TOL);
      let saved: ModelArtifacts | undefined;
      await m.save({ save: async (a) => { saved = a; return { modelArtifactsInfo: {} }; } });
      const loaded = await loadLayersModel({ load: async () => saved! });
      expect(loaded.toJSON()).toEqual(m.toJSON());
      const wa = m.getWeights(), wb = loaded.getWeights();
      wa.forEach((w, i) => expect(bits(wb[i])).toEqual(bits(w)));
      const x = tensor(input(spec), [N, ...spec.inShape]);
      expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(m.predict(x) as Tensor));
      for (const l of [m, loaded, back]) l?.dispose();
    });
  }
});

describe('loader errors', () => {
  it('Conv2DTranspose with output_padding, and a bad depth multiplier, name the layer', async () => {
    const spec = specs[3];
    const a = await tfArtifacts(tfModel(spec));
    const topo = JSON.parse(JSON.stringify(a.modelTopology));
    const layer = topo.config.layers.find((l: { class_name: string }) => l.class_name === 'Conv2DTranspose');
    layer.config.output_padding = [1, 1];
    await expect(loadLayersModel({ load: async () => ({ ...a, modelTopology: topo }) as ModelArtifacts }))
      .rejects.toThrow(/cannot load layer .*\(Conv2DTranspose\): output_padding \[1,1\] is not supported/);
    const b = await tfArtifacts(tfModel(specs[0]));
    const topo2 = JSON.parse(JSON.stringify(b.modelTopology));
    topo2.config.layers.find((l: { class_name: string }) => l.class_name === 'DepthwiseConv2D').config.depth_multiplier = 0;
    await expect(loadLayersModel({ load: async () => ({ ...b, modelTopology: topo2 }) as ModelArtifacts }))
      .rejects.toThrow(/\(DepthwiseConv2D\): .*depthMultiplier must be a positive integer, got 0/);
  });
});
