// model.save / loadLayersModel: tfjs layers-model files, round trips, crash safety, and errors that
// name the weight or layer at fault. The fixture in test/fixtures/tfjs-model was written by real
// TensorFlow.js 4.22.0 (see its expected.json).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, truncate, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layers, loadLayersModel, sequential, tensor, train, type Sequential, type Tensor } from '../src/index.js';
import { VERSION, type ModelArtifacts } from '../src/model/save-load.js';
import { optimizerFromConfig } from '../src/model/deserialize.js';

// Lets a test make one rename fail, to check that a failed save keeps the old model.
const fault = vi.hoisted(() => ({ renameTarget: undefined as string | undefined }));
vi.mock('node:fs/promises', async (orig) => {
  const real = await orig<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (fault.renameTarget !== undefined && to.endsWith(fault.renameTarget)) throw Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' });
      return real.rename(from, to);
    },
  };
});

const FIXTURE = fileURLToPath(new URL('./fixtures/tfjs-model/', import.meta.url));
const N = 12;
const SHAPE = [10, 10, 2];

function smallNet(seed: number): Sequential {
  return sequential({
    seed,
    name: 'small',
    layers: [
      layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same', inputShape: SHAPE }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 5, kernelSize: [2, 3], strides: [1, 2], activation: 'tanh', kernelInitializer: 'heNormal' }),
      layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      layers.flatten(),
      layers.dropout({ rate: 0.25 }),
      layers.dense({ units: 7, activation: 'sigmoid' }),
      layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}

const xValues = new Float32Array(N * 200).map((_, i) => Math.sin(i * 0.31) * 0.8);
const labels = Array.from({ length: N }, (_, i) => i % 3);
let x: Tensor;
let model: Sequential;
let dir: string;
const tmpDirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'simdcnn-save-'));
  tmpDirs.push(d);
  return d;
}

beforeAll(async () => {
  x = tensor(xValues, [N, ...SHAPE]);
  model = smallNet(3);
  model.compile({ optimizer: train.adam(0.01, 0.8, 0.99, 1e-6), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x, labels, { epochs: 2, batchSize: 4 });
  dir = await tempDir();
});

afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const bits = (t: Tensor) => new Uint32Array(t.dataSync().slice().buffer);

describe('model.save', () => {
  it('writes model.json + weights.bin in the tfjs layers-model format and returns a SaveResult', async () => {
    const r = await model.save(`file://${dir}`);
    const info = r.modelArtifactsInfo;
    expect(info.dateSaved).toBeInstanceOf(Date);
    expect(info.modelTopologyType).toBe('JSON');
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const bin = await readFile(join(dir, 'weights.bin'));
    expect(info.weightDataBytes).toBe(bin.length);
    expect(info.modelTopologyBytes).toBe(JSON.stringify(json.modelTopology).length);
    expect(info.weightSpecsBytes).toBe(JSON.stringify(json.weightsManifest[0].weights).length);
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toBe(`simdcnn ${VERSION}`);
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology).toEqual(model.toJSON());
    expect(json.modelTopology.class_name).toBe('Sequential');
    expect(json.modelTopology.config.name).toBe('small');
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(
      ['Conv2D', 'MaxPooling2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Dense', 'Dense']);
    expect(json.weightsManifest).toEqual([{
      paths: ['weights.bin'],
      weights: model.weightList().map(({ name, spec }) => ({ name, shape: spec.shape, dtype: 'float32' })),
    }]);
    expect(json.weightsManifest[0].weights[0].name).toBe(`${model.layers[0].name}/kernel`);
    expect(json.trainingConfig).toEqual({
      loss: 'sparse_categorical_crossentropy', metrics: ['acc'],
      optimizer_config: { class_name: 'Adam', config: { learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 } },
    });
    // Weights are the float32 values in manifest order, little-endian, unpadded.
    const first = model.getWeights()[0];
    expect(new Float32Array(bin.buffer, bin.byteOffset, first.size)).toEqual(first.dataSync());
  });

  it('VERSION follows package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});

describe('loadLayersModel', () => {
  it('round trip: same topology, bit-identical weights and predictions, compiled from the training config', async () => {
    for (const source of [`file://${dir}/model.json`, dir, join(dir, 'model.json')]) {
      const loaded = await loadLayersModel(source);
      expect(loaded.toJSON()).toEqual(model.toJSON());
      const a = model.getWeights(), b = loaded.getWeights();
      expect(b.length).toBe(a.length);
      a.forEach((t, i) => {
        expect(b[i].shape).toEqual(t.shape);
        expect(bits(b[i])).toEqual(bits(t));
      });
      expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
      expect(loaded.trainingConfig()).toEqual(model.trainingConfig());
      const [l0, a0] = model.evaluate(x, labels) as Tensor[];
      const [l1, a1] = loaded.evaluate(x, labels) as Tensor[];
      expect(l1.dataSync()[0]).toBe(l0.dataSync()[0]);
      expect(a1.dataSync()[0]).toBe(a0.dataSync()[0]);
      // Training continues (fresh optimizer state).
      await loaded.fit(x, labels, { epochs: 1, batchSize: 6 });
      loaded.dispose();
    }
  });

  it('saves to and loads from tfjs-style IOHandlers', async () => {
    let saved: ModelArtifacts | undefined;
    const r = await model.save({ save: async (a) => { saved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; } });
    expect(r.modelArtifactsInfo).toBeTruthy();
    expect(saved!.weightSpecs!.map((s) => s.name)).toEqual(model.weightList().map((w) => w.name));
    const loaded = await loadLayersModel({ load: async () => saved! });
    expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
    loaded.dispose();
  });

  it('a failed save leaves the previous model loadable', async () => {
    const d = await tempDir();
    await model.save(d);
    const before = await readFile(join(d, 'weights.bin'));
    const other = smallNet(99);
    fault.renameTarget = 'model.json'; // weights.bin is already replaced when model.json fails: it must be rolled back
    try {
      await expect(other.save(d)).rejects.toThrow(/failed replacing model\.json; the previous files were kept/);
    } finally {
      fault.renameTarget = undefined;
    }
    expect(await readFile(join(d, 'weights.bin'))).toEqual(before);
    const loaded = await loadLayersModel(d);
    expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
    loaded.dispose();
    other.dispose();
  });

  it('weights file of the wrong size: names the weight and the byte counts', async () => {
    const d = await tempDir();
    await model.save(d);
    const wb = join(d, 'weights.bin');
    const size = (await readFile(wb)).length;
    const last = model.weightList().at(-1)!;
    await truncate(wb, size - 4);
    await expect(loadLayersModel(d)).rejects.toThrow(new RegExp(`weight "${last.name}" \\[3\\] float32 needs 12 bytes at offset ${size - 12}, but the weight data has only ${size - 4} bytes`));
    await model.save(d);
    await appendFile(wb, new Uint8Array(8));
    await expect(loadLayersModel(d)).rejects.toThrow(`weight data has ${size + 8} bytes but the manifest's 8 weights need ${size}`);
  });

  async function editedModel(edit: (json: any) => void, bin?: (b: Buffer) => Buffer): Promise<string> {
    const d = await tempDir();
    await model.save(d);
    const json = JSON.parse(await readFile(join(d, 'model.json'), 'utf8'));
    edit(json);
    await writeFile(join(d, 'model.json'), JSON.stringify(json));
    if (bin) await writeFile(join(d, 'weights.bin'), bin(await readFile(join(d, 'weights.bin'))));
    return d;
  }

  it('manifest that does not match the topology: missing weight, wrong shape, extra weight', async () => {
    const names = model.weightList().map((w) => w.name);
    // Drop the last bias from the manifest and the file.
    let d = await editedModel((j) => j.weightsManifest[0].weights.pop(), (b) => b.subarray(0, b.length - 12));
    await expect(loadLayersModel(d)).rejects.toThrow(`weight ${names.at(-1)} (shape [3]) is missing from the weights manifest, which has ${names.slice(0, -1).join(', ')}`);
    // Same byte count, different shape.
    d = await editedModel((j) => { j.weightsManifest[0].weights[0].shape = [9, 1, 2, 4]; });
    await expect(loadLayersModel(d)).rejects.toThrow(`weight ${names[0]} has shape [9,1,2,4] in the weights file, but layer ${model.layers[0].name} (Conv2D) needs [3,3,2,4] for ${names[0]}`);
    // A weight the model has no place for.
    d = await editedModel((j) => j.weightsManifest[0].weights.push({ name: 'stray/kernel', shape: [2], dtype: 'float32' }), (b) => Buffer.concat([b, Buffer.alloc(8)]));
    await expect(loadLayersModel(d)).rejects.toThrow('the weights manifest has weights the model does not use: stray/kernel [2]');
  });

  it('unsupported layers and topologies name the layer and the class', async () => {
    let d = await editedModel((j) => { j.modelTopology.config.layers[4].class_name = 'LSTM'; });
    await expect(loadLayersModel(d)).rejects.toThrow(`cannot load layer ${model.layers[4].name} (LSTM): layer type LSTM is not supported`);
    d = await editedModel((j) => { j.modelTopology.config.layers[0].config.data_format = 'channels_first'; });
    await expect(loadLayersModel(d)).rejects.toThrow(/data_format "channels_first" is not supported/);
    d = await editedModel((j) => { j.modelTopology.config.layers[6].config.activation = 'hard_silu'; });
    await expect(loadLayersModel(d)).rejects.toThrow(new RegExp(`cannot load layer ${model.layers[6].name} \\(Dense\\): ${model.layers[6].name}: activation must be one of`));
    d = await editedModel((j) => { j.modelTopology.class_name = 'Graph'; });
    await expect(loadLayersModel(d)).rejects.toThrow(/model class "Graph" is not supported/);
    d = await editedModel((j) => { delete j.modelTopology.config.layers[0].config.batch_input_shape; });
    await expect(loadLayersModel(d)).rejects.toThrow(/has no batch_input_shape, and there is no InputLayer/);
    await expect(loadLayersModel(join(d, 'nope'))).rejects.toThrow(/nope.* does not exist/);
  });

  it('accepts InputLayer, Keras 3 nesting/batch_shape, tfjs name suffixes and class aliases', async () => {
    const d = await editedModel((j) => {
      const ls = j.modelTopology.config.layers;
      const first = ls[0].config;
      const shape = first.batch_input_shape;
      delete first.batch_input_shape;
      ls.unshift({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: shape, name: 'input' }, registered_name: null });
      ls[1] = { module: 'keras.layers', class_name: 'Conv2D', registered_name: null, config: { ...first, kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null } }, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } } } };
      ls[2].class_name = 'MaxPool2D';
      ls[4].class_name = 'AvgPool2D';
      // tfjs-style suffixed variable names and a TF ':0'.
      j.weightsManifest[0].weights[0].name = `${first.name}_Conv2D1/kernel`;
      j.weightsManifest[0].weights[1].name = `${first.name}/bias:0`;
      j.trainingConfig = { loss: { module: 'keras.losses', class_name: 'SparseCategoricalCrossentropy', config: {} }, metrics: [['sparse_categorical_accuracy']], optimizer_config: { class_name: 'SGD', config: { learning_rate: 0.05, momentum: 0.5, nesterov: true } } };
    });
    const loaded = await loadLayersModel(d);
    expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
    expect(loaded.layers.map((l) => l.className)).toEqual(model.layers.map((l) => l.className));
    expect(loaded.trainingConfig()).toEqual({ loss: 'sparse_categorical_crossentropy', metrics: ['acc'], optimizer_config: { class_name: 'Momentum', config: { learningRate: 0.05, momentum: 0.5, useNesterov: true } } });
    loaded.dispose();
  });

  it('loads a single-chain Functional model; a rewired one loads its graph and then names the weight that no longer fits', async () => {
    const toFunctional = (j: any, branch: boolean) => {
      const ls = j.modelTopology.config.layers;
      const shape = ls[0].config.batch_input_shape;
      delete ls[0].config.batch_input_shape;
      const all = [{ class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: shape }, inbound_nodes: [] }, ...ls];
      all.forEach((l: any, i: number) => {
        l.name = l.config.name;
        if (i > 0) l.inbound_nodes = [[[all[branch && i === 3 ? 1 : i - 1].config.name, 0, 0, {}]]];
      });
      j.modelTopology = { class_name: 'Functional', config: { name: 'f', layers: all, input_layers: [['in', 0, 0]], output_layers: [[all.at(-1).config.name, 0, 0]] } };
    };
    let d = await editedModel((j) => toFunctional(j, false));
    const loaded = await loadLayersModel(d);
    expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
    loaded.dispose();
    d = await editedModel((j) => toFunctional(j, true));
    // The second conv now reads the first conv's 10×10 output: the graph builds, the first Dense's kernel is then [120,7], not [15,7].
    const dense = model.layers[6].name;
    await expect(loadLayersModel(d)).rejects.toThrow(`weight ${dense}/kernel has shape [15,7] in the weights file, but layer ${dense} (Dense) needs [120,7]`);
  });

  it('an unsupported optimizer loads the model uncompiled, with a warning', async () => {
    const d = await editedModel((j) => { j.trainingConfig.optimizer_config = { class_name: 'RMSProp', config: { learningRate: 0.001 } }; });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const loaded = await loadLayersModel(d);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/loaded without compiling \(optimizer RMSProp is not supported/));
    warn.mockRestore();
    expect(bits(loaded.predict(x) as Tensor)).toEqual(bits(model.predict(x)));
    expect(() => loaded.evaluate(x, labels)).toThrow(/compile the model first/);
    loaded.dispose();
    expect(optimizerFromConfig({ class_name: 'SGD', config: { learningRate: 0.1 } })).toMatchObject({ className: 'SGD', learningRate: 0.1 });
    expect(optimizerFromConfig({ class_name: 'Momentum', config: { learningRate: 0.1, momentum: 0.8 } })).toMatchObject({ className: 'Momentum', momentum: 0.8, useNesterov: false });
  });

  it('loads the model saved by TensorFlow.js 4.22.0 and reproduces its predictions and evaluation', async () => {
    const expected = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8'));
    expect(existsSync(join(FIXTURE, 'weights.bin'))).toBe(true);
    const m = await loadLayersModel(`file://${FIXTURE}model.json`);
    expect(m.layers.map((l) => l.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Dense', 'Dense']);
    expect(m.layers[0].name).toBe('conv2d_Conv2D1');
    const n = expected.inputShape.reduce((a: number, b: number) => a * b, 1);
    const xf = tensor(new Float32Array(n).map((_, i) => (Math.sin(i * 0.7) + 1) / 2), expected.inputShape);
    const p = (m.predict(xf) as Tensor).dataSync();
    expect(p.length).toBe(expected.predictions.length);
    let diff = 0;
    p.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - expected.predictions[i])); });
    expect(diff).toBeLessThan(1e-6);
    // Compiled from tfjs' training config (Adam 0.005): evaluate works straight away.
    expect(m.trainingConfig()).toMatchObject({ loss: 'sparse_categorical_crossentropy', optimizer_config: { class_name: 'Adam', config: { learningRate: 0.005 } } });
    const [loss, acc] = m.evaluate(xf, expected.labels) as Tensor[];
    expect(loss.dataSync()[0]).toBeCloseTo(expected.loss, 5);
    expect(acc.dataSync()[0]).toBeCloseTo(expected.accuracy, 6);
    m.dispose();
  });
});
