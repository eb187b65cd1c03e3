// Functional model files against real TensorFlow.js 4.22 (cpu backend), both ways: models built
// and saved by tfjs load here and predict what tfjs predicts; the same models built and saved
// here load in tfjs (tf.loadLayersModel) and predict what we predict. Plus bit-identical round
// trips of our own files, a hand-written Keras 3 file (test/fixtures/keras3-functional) and the
// errors a bad topology gives.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as sc from '../src/index.js';
import { LayersModel, Sequential, loadLayersModel, tensor, train, type Tensor } from '../src/index.js';
import { modelArtifacts, type ModelArtifacts } from '../src/model/save-load.js';
import { encodeWeights } from '../src/io/model-files.js';

const KERAS3 = fileURLToPath(new URL('./fixtures/keras3-functional/', import.meta.url));
const N = 3;
const TOL = 1e-5;

/** Deterministic values in about [-0.5, 0.5]: weight k of a model, or input k. */
const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k * 1.1 + 0.2) * 0.5);
const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

// The two libraries' functional APIs have the same shape: one builder per model serves both.
type Lib = { input: any; layers: any; model: any; sequential: any };
const TF: Lib = { input: tf.input, layers: tf.layers, model: tf.model, sequential: tf.sequential };
const SC: Lib = { input: sc.input, layers: sc.layers, model: sc.model, sequential: sc.sequential };

interface Spec {
  name: string;
  /** Example shapes of the inputs, in order. */
  inputs: number[][];
  build(L: Lib): any;
  /** tfjs has the layers (it has no Subtract). */
  tfjs: boolean;
}

const specs: Spec[] = [
  {
    name: 'residual add over conv layers', inputs: [[8, 8, 3]], tfjs: true,
    build: (L) => {
      const x = L.input({ shape: [8, 8, 3] });
      const c1 = L.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
      const c2 = L.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(c1);
      const r = L.layers.activation({ activation: 'relu' }).apply(L.layers.add().apply([x, c2]));
      const p = L.layers.maxPooling2d({ poolSize: 2 }).apply(r);
      const y = L.layers.dense({ units: 5, activation: 'softmax' }).apply(L.layers.flatten().apply(p));
      return L.model({ inputs: x, outputs: y, name: 'residual' });
    },
  },
  {
    name: 'concatenate of branches (last axis and axis 1)', inputs: [[6, 6, 2]], tfjs: true,
    build: (L) => {
      const x = L.input({ shape: [6, 6, 2] });
      const a = L.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
      const b = L.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'tanh' }).apply(x);
      const a2 = L.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x);
      const f1 = L.layers.flatten().apply(L.layers.concatenate({ axis: -1 }).apply([a, b]));
      const rows = L.layers.maxPooling2d({ poolSize: 2 }).apply(L.layers.concatenate({ axis: 1 }).apply([a, a2]));
      const f2 = L.layers.flatten().apply(rows);
      const y = L.layers.dense({ units: 3 }).apply(L.layers.concatenate().apply([f1, f2]));
      return L.model({ inputs: x, outputs: y, name: 'branches' });
    },
  },
  {
    name: 'a shared dense layer applied three times (once to its own output), multiply/average/maximum/minimum', inputs: [[5]], tfjs: true,
    build: (L) => {
      const x = L.input({ shape: [5] });
      const shared = L.layers.dense({ units: 5, activation: 'tanh', name: 'shared' });
      const h1 = shared.apply(x);
      const h2 = shared.apply(h1);
      const h3 = shared.apply(L.layers.dense({ units: 5 }).apply(x));
      const m = L.layers.multiply().apply([h1, h2]);
      const av = L.layers.average().apply([h2, h3]);
      const mx = L.layers.maximum().apply([m, av, h1]);
      const mn = L.layers.minimum().apply([m, av]);
      const y = L.layers.dense({ units: 2 }).apply(L.layers.concatenate().apply([mx, mn]));
      return L.model({ inputs: x, outputs: y, name: 'shared_dense' });
    },
  },
  {
    name: 'two inputs and two outputs', inputs: [[4, 4, 1], [3]], tfjs: true,
    build: (L) => {
      const img = L.input({ shape: [4, 4, 1], name: 'img' });
      const vec = L.input({ shape: [3], name: 'vec' });
      const fa = L.layers.flatten().apply(L.layers.conv2d({ filters: 2, kernelSize: 2, activation: 'relu' }).apply(img));
      const fb = L.layers.dense({ units: 4, activation: 'relu' }).apply(vec);
      const cls = L.layers.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(L.layers.concatenate().apply([fa, fb]));
      const reg = L.layers.dense({ units: 2, name: 'reg' }).apply(L.layers.add().apply([fb, L.layers.dense({ units: 4 }).apply(fa)]));
      return L.model({ inputs: [img, vec], outputs: [cls, reg], name: 'two_in_two_out' });
    },
  },
  {
    name: 'nested models used as layers (functional applied twice, one with two outputs, a Sequential)', inputs: [[6]], tfjs: true,
    build: (L) => {
      const xi = L.input({ shape: [6] });
      const inner = L.model({ inputs: xi, outputs: L.layers.dense({ units: 3 }).apply(L.layers.dense({ units: 4, activation: 'relu' }).apply(xi)), name: 'inner' });
      const xj = L.input({ shape: [3] });
      const split = L.model({ inputs: xj, outputs: [L.layers.dense({ units: 2 }).apply(xj), L.layers.dense({ units: 3, activation: 'sigmoid' }).apply(xj)], name: 'split' });
      const head = L.sequential({ layers: [L.layers.dense({ units: 2, inputShape: [3], activation: 'tanh' })], name: 'head' });
      const x = L.input({ shape: [6] });
      const y1 = inner.apply(x);
      const y2 = inner.apply(L.layers.dense({ units: 6 }).apply(x));
      const s = L.layers.add().apply([y1, y2]);
      const [p, q] = split.apply(s);
      const o = L.layers.concatenate().apply([head.apply(q), p]);
      return L.model({ inputs: x, outputs: [o, y1], name: 'outer' });
    },
  },
  {
    name: 'subtract (Keras; not in tfjs)', inputs: [[4], [4]], tfjs: false,
    build: (L) => {
      const a = L.input({ shape: [4] });
      const b = L.input({ shape: [4] });
      const d = L.layers.subtract().apply([L.layers.dense({ units: 3 }).apply(a), L.layers.dense({ units: 3, activation: 'relu' }).apply(b)]);
      return L.model({ inputs: [a, b], outputs: L.layers.dense({ units: 2 }).apply(d), name: 'difference' });
    },
  },
];
const tfjsSpecs = specs.filter((s) => s.tfjs);

const inputData = (spec: Spec) => spec.inputs.map((s, k) => ({ data: values(N * sizeOf(s), 100 + k), shape: [N, ...s] }));
const ourInputs = (spec: Spec) => inputData(spec).map((d) => tensor(d.data, d.shape));
const tfInputs = (spec: Spec) => inputData(spec).map((d) => tf.tensor(d.data, d.shape));
const asList = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);

function tfPredict(m: tf.LayersModel, spec: Spec): Float32Array[] {
  const ins = tfInputs(spec);
  return asList(m.predict(ins.length === 1 ? ins[0] : ins) as tf.Tensor | tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
}
function ourPredict(m: LayersModel, spec: Spec): Float32Array[] {
  const ins = ourInputs(spec);
  return asList(m.predict(ins.length === 1 ? ins[0] : ins)).map((t) => t.dataSync().slice());
}
function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
  let d = 0;
  a.forEach((x, i) => x.forEach((v, j) => { d = Math.max(d, Math.abs(v - b[i][j])); }));
  return d;
}

/** What tfjs' model.save hands an IOHandler. */
async function tfArtifacts(m: tf.LayersModel, includeOptimizer = false): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), { includeOptimizer });
  return saved!;
}

function tfModel(spec: Spec): tf.LayersModel {
  const m = spec.build(TF) as tf.LayersModel;
  m.setWeights(m.getWeights().map((w, k) => tf.tensor(values(w.size, k), w.shape)));
  return m;
}
function ourModel(spec: Spec): LayersModel {
  const m = spec.build(SC) as LayersModel;
  const ws = m.getWeights();
  m.setWeights(ws.map((w, k) => tensor(values(w.size, k), w.shape)));
  return m;
}

const bits = (t: Tensor) => new Uint32Array(t.dataSync().slice().buffer);
const tmpDirs: string[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('functional models saved by TensorFlow.js 4.22 load and predict the same', () => {
  for (const spec of tfjsSpecs) {
    it(spec.name, async () => {
      const m = tfModel(spec);
      const a = await tfArtifacts(m);
      const loaded = await loadLayersModel({ load: async () => a as ModelArtifacts });
      expect(loaded).toBeInstanceOf(LayersModel);
      expect(loaded).not.toBeInstanceOf(Sequential);
      expect(loaded.inputs.length).toBe(m.inputs.length);
      expect(loaded.outputs.length).toBe(m.outputs.length);
      // One set of weights per layer, shared or nested: exactly the weights tfjs saved.
      expect(loaded.weightList().map((w) => w.name).sort()).toEqual(a.weightSpecs!.map((w) => w.name).sort());
      expect(maxDiff(ourPredict(loaded, spec), tfPredict(m, spec))).toBeLessThanOrEqual(TOL);
      loaded.dispose();
    });
  }

  it("tfjs' training config for two outputs compiles the loaded model", async () => {
    const spec = tfjsSpecs.find((s) => s.inputs.length === 2)!;
    const m = tfModel(spec);
    m.compile({ optimizer: tf.train.adam(0.02), loss: ['sparseCategoricalCrossentropy', 'meanSquaredError'], metrics: ['accuracy'] });
    const a = await tfArtifacts(m, true);
    expect(a.trainingConfig).toMatchObject({ loss: ['sparse_categorical_crossentropy', 'mean_squared_error'], metrics: ['accuracy'] });
    // includeOptimizer adds the optimizer's weights (group 'optimizer'): not model weights.
    expect(a.weightSpecs!.some((w) => w.group === 'optimizer')).toBe(true);
    const loaded = await loadLayersModel({ load: async () => a as ModelArtifacts });
    expect(loaded.compiledLosses?.map((o) => [o.name, o.loss, o.weight, o.acc])).toEqual([
      ['cls', 'sparseCategoricalCrossentropy', 1, true], ['reg', 'meanSquaredError', 1, true],
    ]);
    expect(loaded.trainingConfig()).toMatchObject({ optimizer_config: { class_name: 'Adam', config: { learningRate: 0.02 } } });
    loaded.dispose();
  });
});

describe('functional models saved by simdcnn load in TensorFlow.js 4.22 and predict the same', () => {
  for (const spec of tfjsSpecs) {
    it(spec.name, async () => {
      const m = ourModel(spec);
      const { artifacts } = modelArtifacts(m);
      const t = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
      expect(t.inputs.length).toBe(m.inputs.length);
      expect(t.outputs.length).toBe(m.outputs.length);
      expect(t.outputNames).toEqual(m.outputNames);
      expect(maxDiff(tfPredict(t, spec), ourPredict(m, spec))).toBeLessThanOrEqual(TOL);
      m.dispose();
    });
  }

  it('a model whose layers another model also applies writes only its own nodes', async () => {
    const xi = sc.input({ shape: [3] });
    const d = sc.layers.dense({ units: 2, activation: 'tanh' });
    const inner = sc.model({ inputs: xi, outputs: d.apply(xi) });
    const x = sc.input({ shape: [3] });
    const outer = sc.model({ inputs: x, outputs: sc.layers.add().apply([inner.apply(x) as sc.SymbolicTensor, d.apply(x)]) });
    inner.setWeights([tensor(values(6, 1), [3, 2]), tensor(values(2, 2), [2])]);
    const spec = { name: 'inner', inputs: [[3]], tfjs: true, build: () => undefined };
    for (const m of [inner, outer]) {
      const { artifacts } = modelArtifacts(m);
      const layersJson = (artifacts.modelTopology as { config: { layers: { name: string; inbound_nodes: unknown[] }[] } }).config.layers;
      expect(layersJson.find((l) => l.name === d.name)!.inbound_nodes.length).toBe(m === inner ? 1 : 2);
      const t = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
      expect(maxDiff(tfPredict(t, spec), ourPredict(m, spec))).toBeLessThanOrEqual(TOL);
    }
    outer.dispose();
    inner.dispose();
  });

  it('with the training config of two outputs (per-output losses and metrics)', async () => {
    const spec = tfjsSpecs.find((s) => s.inputs.length === 2)!;
    const m = ourModel(spec);
    m.compile({ optimizer: train.adam(0.02), loss: ['sparseCategoricalCrossentropy', 'meanSquaredError'], metrics: { cls: ['accuracy'] } });
    const { artifacts } = modelArtifacts(m);
    const t = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const cfg = (t as unknown as { getTrainingConfig(): Record<string, unknown> }).getTrainingConfig();
    expect(cfg.loss).toEqual({ cls: 'sparse_categorical_crossentropy', reg: 'mean_squared_error' });
    expect(cfg.metrics).toEqual({ cls: 'acc' });
    expect(cfg.optimizer_config).toMatchObject({ class_name: 'Adam', config: { learningRate: 0.02 } });
    expect(maxDiff(tfPredict(t, spec), ourPredict(m, spec))).toBeLessThanOrEqual(TOL);
    m.dispose();
  });
});

describe('simdcnn save → load round trips of functional models are bit-identical', () => {
  for (const spec of specs) {
    it(spec.name, async () => {
      const m = ourModel(spec);
      let saved: ModelArtifacts | undefined;
      await m.save({ save: async (a) => { saved = a; return { modelArtifactsInfo: {} }; } });
      const loaded = await loadLayersModel({ load: async () => saved! });
      expect(loaded.toJSON()).toEqual(m.toJSON());
      const wa = m.getWeights(), wb = loaded.getWeights();
      expect(wb.map((w) => w.shape)).toEqual(wa.map((w) => w.shape));
      wa.forEach((w, i) => expect(bits(wb[i])).toEqual(bits(w)));
      const ins = ourInputs(spec);
      const x = ins.length === 1 ? ins[0] : ins;
      const pa = asList(m.predict(x)), pb = asList(loaded.predict(x));
      pa.forEach((p, i) => expect(bits(pb[i])).toEqual(bits(p)));
      // Saved again, the loaded model writes the same files.
      const again = modelArtifacts(loaded).artifacts;
      expect(again.modelTopology).toEqual(saved!.modelTopology);
      expect(new Uint8Array(again.weightData as ArrayBuffer)).toEqual(new Uint8Array(saved!.weightData as ArrayBuffer));
      loaded.dispose();
      m.dispose();
    });
  }

  it('through files, with the training config of two outputs (losses, loss weights, metrics)', async () => {
    const spec = specs.find((s) => s.name.startsWith('two inputs'))!;
    const m = ourModel(spec);
    m.compile({ optimizer: train.momentum(0.05, 0.8), loss: { cls: 'sparseCategoricalCrossentropy', reg: 'meanSquaredError' }, metrics: { cls: 'accuracy' }, lossWeights: { cls: 0.25, reg: 2 } });
    const dir = await mkdtemp(join(tmpdir(), 'simdcnn-functional-'));
    tmpDirs.push(dir);
    await m.save(dir);
    const loaded = await loadLayersModel(dir);
    expect(loaded.trainingConfig()).toEqual(m.trainingConfig());
    expect(loaded.compiledLosses).toEqual(m.compiledLosses);
    const ins = ourInputs(spec);
    const y: [Tensor, Tensor] = [tensor(new Float32Array([0, 2, 1]), [N]), tensor(values(N * 2, 7), [N, 2])];
    const ea = (m.evaluate(ins, y) as Tensor[]).map((t) => t.dataSync()[0]);
    const eb = (loaded.evaluate(ins, y) as Tensor[]).map((t) => t.dataSync()[0]);
    expect(eb).toEqual(ea);
    // Training continues on the loaded model the same way.
    await m.fit(ins, y, { epochs: 1, batchSize: N, shuffle: false });
    await loaded.fit(ins, y, { epochs: 1, batchSize: N, shuffle: false });
    const wa = m.getWeights(), wb = loaded.getWeights();
    wa.forEach((w, i) => expect(bits(wb[i])).toEqual(bits(w)));
    loaded.dispose();
    m.dispose();
  });
});

// The Keras 3 fixture: a residual CNN written by hand from Keras 3's serialization rules
// (Functional.get_config + serialization_lib: {module, class_name, config, registered_name,
// build_config}, DTypePolicy dtypes, InputLayer batch_shape, {args, kwargs} inbound nodes with
// __keras_tensor__ keras_history, output_layers as one [name, 0, 0]), as tensorflowjs_converter
// wraps a Keras model ({keras_version, backend, model_config}), with a Keras 3 compile_config.
// Its weights.bin holds KERAS3_WEIGHTS, weight k = values(size, k), written by our encoder.
const KERAS3_WEIGHTS: [string, number[]][] = [
  ['conv2d/kernel', [3, 3, 3, 3]], ['conv2d/bias', [3]],
  ['conv2d_1/kernel', [3, 3, 3, 3]], ['conv2d_1/bias', [3]],
  ['dense/kernel', [54, 4]], ['dense/bias', [4]],
];

function keras3Twin(): LayersModel {
  const { input, layers, model } = sc;
  const x = input({ shape: [6, 6, 3] });
  const c1 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  const c2 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(c1);
  const r = layers.activation({ activation: 'relu' }).apply(layers.add().apply([x, c2]));
  const j = layers.concatenate({ axis: -1 }).apply([r, c1]);
  const f = layers.flatten().apply(layers.maxPooling2d({ poolSize: 2 }).apply(j));
  const m = model({ inputs: x, outputs: layers.dense({ units: 4, activation: 'softmax' }).apply(f) });
  m.setWeights(KERAS3_WEIGHTS.map(([, shape], k) => tensor(values(sizeOf(shape), k), shape)));
  return m;
}

describe('a Keras 3 functional model.json', () => {
  it('its weights.bin is what our encoder writes for the known values', async () => {
    const bin = await readFile(join(KERAS3, 'weights.bin'));
    const { data } = encodeWeights(KERAS3_WEIGHTS.map(([name, shape], k) => ({ name, shape, data: values(sizeOf(shape), k) })));
    expect(new Uint8Array(bin)).toEqual(new Uint8Array(data));
  });

  it('loads and predicts as the same network built with our API and given the same weights', async () => {
    const m = await loadLayersModel(`file://${KERAS3}model.json`);
    expect(m.name).toBe('residual_cnn');
    expect(m.layers.map((l) => l.className)).toEqual(['InputLayer', 'Conv2D', 'Conv2D', 'Add', 'Activation', 'Concatenate', 'MaxPooling2D', 'Flatten', 'Dense']);
    expect(m.inputNames).toEqual(['input_layer']);
    expect(m.outputNames).toEqual(['dense']);
    // Compiled from Keras 3's compile_config.
    expect(m.trainingConfig()).toEqual({ loss: 'sparse_categorical_crossentropy', metrics: ['acc'], optimizer_config: { class_name: 'Adam', config: { learningRate: 0.002, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } } });
    const twin = keras3Twin();
    const x = tensor(values(N * 108, 50), [N, 6, 6, 3]);
    const a = (m.predict(x) as Tensor).dataSync(), b = (twin.predict(x) as Tensor).dataSync();
    let d = 0;
    a.forEach((v, i) => { d = Math.max(d, Math.abs(v - b[i])); });
    expect(d).toBeLessThanOrEqual(TOL);
    m.dispose();
    twin.dispose();
  });
});

describe('nested models in Keras 3 JSON and other node numberings', () => {
  const MODELS = ['Model', 'Functional', 'Sequential'];
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  /**
   * tfjs' functional config rewritten as Keras 3 writes it: {args, kwargs} nodes whose
   * keras_history counts a nested model's applications from 0 (serialize_node drops the nodes
   * outside the model), while output_layers count a nested Functional's from 1 (get_config's
   * kept_nodes) and a nested Sequential's from 0.
   */
  function keras3(cfg: any): any {
    const classOf = new Map<string, string>(cfg.layers.map((l: any) => [l.name, l.class_name]));
    const nested = (name: string) => MODELS.includes(classOf.get(name)!);
    const kt = (r: [string, number, number]) => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: [r[0], nested(r[0]) ? r[1] - 1 : r[1], r[2]] } });
    const io = (r: [string, number, number]) => [r[0], classOf.get(r[0]) === 'Sequential' ? r[1] - 1 : r[1], r[2]];
    return {
      ...cfg,
      layers: cfg.layers.map((l: any) => {
        let config = l.class_name === 'Model' ? keras3(l.config) : { ...l.config };
        if (l.class_name === 'InputLayer') {
          config = { batch_shape: config.batch_input_shape, dtype: 'float32', sparse: false, ragged: false, name: config.name };
        } else if (!MODELS.includes(l.class_name)) config.dtype = policy;
        return {
          module: 'keras.layers', class_name: l.class_name === 'Model' ? 'Functional' : l.class_name, config, registered_name: null, name: l.name,
          inbound_nodes: (l.inbound_nodes ?? []).map((node: [string, number, number][]) => ({ args: [node.length === 1 ? kt(node[0]) : node.map(kt)], kwargs: {} })),
        };
      }),
      output_layers: cfg.output_layers.map(io),
    };
  }

  it('Keras 3: keras_history from 0, output_layers from 1 for a nested Functional', async () => {
    const spec = tfjsSpecs.find((s) => s.name.startsWith('nested'))!;
    const m = tfModel(spec);
    const a = await tfArtifacts(m);
    const topo = a.modelTopology as any;
    const k3 = { module: 'keras.src.models.functional', class_name: 'Functional', config: keras3(topo.config), registered_name: 'Functional' };
    expect(JSON.stringify(k3)).toContain('"keras_history":["inner",0,0]');
    expect(k3.config.output_layers).toEqual([[topo.config.output_layers[0][0], 0, 0], ['inner', 1, 0]]);
    const loaded = await loadLayersModel({ load: async () => ({ ...a, modelTopology: k3 }) as ModelArtifacts });
    expect(maxDiff(ourPredict(loaded, spec), tfPredict(m, spec))).toBeLessThanOrEqual(TOL);
    loaded.dispose();
  });

  it('a Sequential file holding a functional model as its first layer (transfer learning) loads as a one-path model', async () => {
    const xi = tf.input({ shape: [4] });
    const base = tf.model({ inputs: xi, outputs: tf.layers.dense({ units: 3, activation: 'relu' }).apply(xi) as tf.SymbolicTensor, name: 'base' });
    const m = tf.sequential({ layers: [base, tf.layers.dense({ units: 2, activation: 'softmax' })] });
    m.setWeights(m.getWeights().map((w, k) => tf.tensor(values(w.size, k), w.shape)));
    const a = await tfArtifacts(m);
    expect((a.modelTopology as { class_name: string }).class_name).toBe('Sequential');
    const loaded = await loadLayersModel({ load: async () => a as ModelArtifacts });
    expect(loaded.layers.map((l) => l.className)).toEqual(['InputLayer', 'Dense', 'Dense']);
    const spec = { name: 'seq', inputs: [[4]], tfjs: true, build: () => undefined };
    expect(maxDiff(ourPredict(loaded, spec), tfPredict(m, spec))).toBeLessThanOrEqual(TOL);
    loaded.dispose();
  });

  it('list-form nodes that count a nested model from 0 (Keras 2 with a deferred-build Sequential) load too', async () => {
    const spec = tfjsSpecs.find((s) => s.name.startsWith('nested'))!;
    const m = tfModel(spec);
    const a = await tfArtifacts(m);
    const topo = JSON.parse(JSON.stringify(a.modelTopology));
    const classOf = new Map<string, string>(topo.config.layers.map((l: any) => [l.name, l.class_name]));
    const shift = (r: any[]) => { if (MODELS.includes(classOf.get(r[0])!)) r[1] -= 1; };
    for (const l of topo.config.layers) for (const node of l.inbound_nodes) node.forEach(shift);
    topo.config.output_layers.forEach(shift);
    const loaded = await loadLayersModel({ load: async () => ({ ...a, modelTopology: topo }) as ModelArtifacts });
    expect(maxDiff(ourPredict(loaded, spec), tfPredict(m, spec))).toBeLessThanOrEqual(TOL);
    loaded.dispose();
  });
});

describe('bad functional topologies: an Error naming the layer and the fault', () => {
  /** A small saved functional model: in → conv_a → conv_b → add(conv_a, conv_b) → flatten → dense. */
  function topology(): { json: any; weights: ArrayBuffer; specs: ModelArtifacts['weightSpecs'] } {
    const x = sc.input({ shape: [4, 4, 1], name: 'in' });
    const a = sc.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'conv_a' }).apply(x);
    const b = sc.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'conv_b' }).apply(a);
    const s = sc.layers.add({ name: 'sum' }).apply([a, b]);
    const y = sc.layers.dense({ units: 2, name: 'out' }).apply(sc.layers.flatten({ name: 'flat' }).apply(s));
    const m = sc.model({ inputs: x, outputs: y, name: 'small' });
    const { artifacts } = modelArtifacts(m);
    m.dispose();
    return { json: JSON.parse(JSON.stringify(artifacts.modelTopology)), weights: artifacts.weightData as ArrayBuffer, specs: artifacts.weightSpecs };
  }
  const layer = (j: any, name: string) => j.config.layers.find((l: { name: string }) => l.name === name);
  async function load(edit: (j: any) => void): Promise<LayersModel> {
    const t = topology();
    edit(t.json);
    return loadLayersModel({ load: async () => ({ modelTopology: t.json, weightSpecs: t.specs, weightData: t.weights }) });
  }

  it('the unedited topology loads (the cases below each break one thing)', async () => {
    const m = await load(() => {});
    expect(m.layers.map((l) => l.name)).toEqual(['in', 'conv_a', 'conv_b', 'sum', 'flat', 'out']);
    m.dispose();
  });

  it('an inbound node naming a missing layer', async () => {
    await expect(load((j) => { layer(j, 'sum').inbound_nodes[0][1][0] = 'conv_c'; })).rejects.toThrow(
      'loadLayersModel: layer sum (Add): inbound node 0 reads layer "conv_c", which is not in the model (its layers: in, conv_a, conv_b, sum, flat, out)');
  });

  it('a node index the layer does not have, an output index it does not have', async () => {
    await expect(load((j) => { layer(j, 'sum').inbound_nodes[0][1][1] = 1; })).rejects.toThrow(
      'layer sum (Add): inbound node 0 reads node 1 of layer conv_b (Conv2D), which has only node 0');
    await expect(load((j) => { j.config.output_layers[0][1] = 2; })).rejects.toThrow('output_layers reads node 2 of layer out (Dense), which has only node 0');
    await expect(load((j) => { layer(j, 'flat').inbound_nodes[0][0][2] = 1; })).rejects.toThrow(
      'layer flat (Flatten): inbound node 0 reads output 1 of layer sum (Add), which has one output (index 0)');
    // A layer that is never applied has no nodes to read.
    await expect(load((j) => { layer(j, 'conv_a').inbound_nodes = []; })).rejects.toThrow(
      'layer conv_b (Conv2D): inbound node 0 reads node 0 of layer conv_a (Conv2D), which has no inbound nodes (it is never applied)');
  });

  it('a cycle: an Error naming the layers on it, not a hang', async () => {
    await expect(load((j) => { layer(j, 'conv_a').inbound_nodes[0][0][0] = 'conv_b'; })).rejects.toThrow(
      'the inbound nodes form a cycle, so no layer order computes them: conv_a (node 0) needs conv_b (node 0) needs conv_a (node 0)');
    await expect(load((j) => { layer(j, 'conv_a').inbound_nodes[0][0][0] = 'sum'; })).rejects.toThrow(
      /cycle.*conv_a \(node 0\) needs sum \(node 0\) needs conv_a \(node 0\)/);
  });

  it('duplicate layer names', async () => {
    await expect(load((j) => { layer(j, 'conv_b').name = 'conv_a'; layer(j, 'conv_a').config.name = 'conv_a'; })).rejects.toThrow(
      'two layers are named conv_a (Conv2D and Conv2D); layer names must be unique');
  });

  it('an output that does not depend on the inputs', async () => {
    const stray = { name: 'stray', class_name: 'InputLayer', config: { batch_input_shape: [null, 4, 4, 1], dtype: 'float32', sparse: false, name: 'stray' }, inbound_nodes: [] };
    await expect(load((j) => { j.config.layers.unshift(stray); layer(j, 'conv_a').inbound_nodes[0][0][0] = 'stray'; })).rejects.toThrow(
      /layer conv_a reads stray, an input that is not among the model's inputs \(in\): the output is not connected to the given inputs/);
    await expect(load((j) => { j.config.layers.unshift(stray); j.config.output_layers.push(['stray', 0, 0]); })).rejects.toThrow(
      /an output is stray, an input that is not among the model's inputs/);
    await expect(load((j) => { j.config.input_layers = [['conv_a', 0, 0]]; })).rejects.toThrow('input_layers names conv_a (Conv2D), which is not an InputLayer');
  });

  it('unsupported layer classes: the message lists the supported ones', async () => {
    await expect(load((j) => { layer(j, 'sum').class_name = 'Attention'; })).rejects.toThrow(
      /cannot load layer sum \(Attention\): layer type Attention is not supported \(simdcnn loads InputLayer, Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, (\w+, )*and nested Model \/ Functional \/ Sequential models\)/);
  });

  it('a layer applied to the wrong number of inputs or shapes names the layer and the node', async () => {
    await expect(load((j) => { layer(j, 'sum').inbound_nodes[0].pop(); })).rejects.toThrow(/layer sum \(Add\), inbound node 0: .*merges at least 2 inputs, but was applied to 1/);
    await expect(load((j) => { layer(j, 'conv_b').config.filters = 3; })).rejects.toThrow(
      'layer sum (Add), inbound node 0: sum: Add inputs must have shapes that broadcast (aligned at the right, each dimension equal or 1), got [null,4,4,2], [null,4,4,3]');
  });

  it('a failed load leaves no model behind: heap and tensor counts are unchanged', async () => {
    const m0 = await load(() => {});
    m0.dispose();
    const before = sc.memory();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (const edit of [(j: any) => { layer(j, 'conv_a').inbound_nodes[0][0][0] = 'conv_b'; }, (j: any) => { layer(j, 'out').config.units = 3; }]) {
      await expect(load(edit)).rejects.toThrow();
    }
    warn.mockRestore();
    expect(sc.memory()).toEqual(before);
  });
});

describe('weights of nested and shared layers', () => {
  it('match by the inner layer name, also prefixed by the nested model name (Keras)', async () => {
    const spec = tfjsSpecs.find((s) => s.name.startsWith('nested'))!;
    const m = tfModel(spec);
    const a = await tfArtifacts(m);
    // Keras names a nested model's weights 'inner/dense_1/kernel'.
    const topo = a.modelTopology as { config: { layers: { name: string; config: { layers?: { name: string }[] } }[] } };
    const innerNames = topo.config.layers.find((l) => l.name === 'inner')!.config.layers!.map((l) => l.name);
    const renamed = { ...a, weightSpecs: a.weightSpecs!.map((w) => (innerNames.includes(w.name.split('/')[0]) ? { ...w, name: `inner/${w.name}` } : w)) };
    expect(renamed.weightSpecs.filter((w) => w.name.startsWith('inner/')).length).toBe(4);
    const loaded = await loadLayersModel({ load: async () => renamed as ModelArtifacts });
    expect(maxDiff(ourPredict(loaded, spec), tfPredict(m, spec))).toBeLessThanOrEqual(TOL);
    loaded.dispose();
  });

  it('a shared layer has one set of weights: a second set in the file is an Error', async () => {
    const spec = tfjsSpecs.find((s) => s.name.startsWith('a shared'))!;
    const m = tfModel(spec);
    const a = await tfArtifacts(m);
    const loaded = await loadLayersModel({ load: async () => a as ModelArtifacts });
    expect(loaded.weightList().filter((w) => w.layer.name === 'shared').map((w) => w.name)).toEqual(['shared/kernel', 'shared/bias']);
    loaded.dispose();
    const specs2 = [...a.weightSpecs!, { name: 'shared/kernel_1', shape: [5, 5], dtype: 'float32' as const }];
    const data = new Uint8Array((a.weightData as ArrayBuffer).byteLength + 100);
    data.set(new Uint8Array(a.weightData as ArrayBuffer));
    await expect(loadLayersModel({ load: async () => ({ ...a, weightSpecs: specs2, weightData: data.buffer }) as ModelArtifacts })).rejects.toThrow(
      /the weights manifest has weights the model does not use: shared\/kernel_1 \[5,5\]/);
  });
});
