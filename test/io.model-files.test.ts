import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildModelJson, decodeWeights, encodeWeights, type ModelJson } from '../src/io/model-files.js';
import { loadModelFiles, saveModelFiles } from '../src/io/file-node.js';

// The shape tfjs-layers' Sequential.toJSON() produces (what the model code will pass in).
const topology = {
  class_name: 'Sequential',
  config: {
    name: 'sequential_1',
    layers: [{ class_name: 'Dense', config: { units: 2, activation: 'linear', use_bias: true, name: 'dense_Dense1', batch_input_shape: [null, 3], dtype: 'float32' } }],
  },
  keras_version: 'tfjs-layers 4.22.0',
  backend: 'tensor_flow.js',
};

const kernel = new Float32Array([1, -2, 0.5, 3, 1e-3, -0]);
const bias = new Float32Array([0.25, -1]);

let tmp: string;
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'simdcnn-io-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('encodeWeights / decodeWeights', () => {
  it('concatenates little-endian float32 data in spec order', () => {
    const { weightSpecs, data } = encodeWeights([
      { name: 'dense_Dense1/kernel', shape: [3, 2], data: kernel },
      { name: 'dense_Dense1/bias', shape: [2], data: bias },
    ]);
    expect(weightSpecs).toEqual([
      { name: 'dense_Dense1/kernel', shape: [3, 2], dtype: 'float32' },
      { name: 'dense_Dense1/bias', shape: [2], dtype: 'float32' },
    ]);
    expect(data.byteLength).toBe(32);
    // 1.0f = 0x3f800000, -2.0f = 0xc0000000, stored little-endian.
    expect(Array.from(new Uint8Array(data, 0, 8))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    const back = decodeWeights(weightSpecs, data);
    expect(back.map((w) => w.name)).toEqual(['dense_Dense1/kernel', 'dense_Dense1/bias']);
    expect(Array.from(back[0]!.data)).toEqual(Array.from(kernel));
    expect(Object.is(back[0]!.data[5], -0)).toBe(true);
    expect(back[1]!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(back[1]!.data)).toEqual([0.25, -1]);
  });

  it('handles int32 weights, scalars and views at odd offsets', () => {
    const { weightSpecs, data } = encodeWeights([
      { name: 'step', shape: [], data: new Int32Array([7]) },
      { name: 'w', shape: [2], data: new Float32Array([1.5, 2.5]) },
    ]);
    expect(weightSpecs[0]).toEqual({ name: 'step', shape: [], dtype: 'int32' });
    const odd = new Uint8Array(data.byteLength + 1);
    odd.set(new Uint8Array(data), 1);
    const back = decodeWeights(weightSpecs, odd.subarray(1));
    expect(back[0]!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(back[0]!.data)).toEqual([7]);
    expect(Array.from(back[1]!.data)).toEqual([1.5, 2.5]);
  });

  it('names the weight and the sizes when data and specs disagree', () => {
    const specs = [
      { name: 'conv/kernel', shape: [3, 3, 1, 8], dtype: 'float32' as const },
      { name: 'conv/bias', shape: [8], dtype: 'float32' as const },
    ];
    expect(() => decodeWeights(specs, new ArrayBuffer(300))).toThrow(
      'weight "conv/bias" [8] float32 needs 32 bytes at offset 288, but the weight data has only 300 bytes (the manifest needs 320)',
    );
    expect(() => decodeWeights(specs, new ArrayBuffer(324))).toThrow(
      "weight data has 324 bytes but the manifest's 2 weights need 320",
    );
    expect(() => decodeWeights([{ name: 'q', shape: [1], dtype: 'float16' as 'float32' }], new ArrayBuffer(2))).toThrow(
      'weight "q": dtype "float16" is not supported; expected "float32" or "int32"',
    );
    expect(() => encodeWeights([{ name: 'a', shape: [2, 2], data: new Float32Array(3) }])).toThrow(
      'encodeWeights: weight "a": shape [2, 2] holds 4 elements but data has 3',
    );
    expect(() => encodeWeights([{ name: 'a', shape: [1], data: new Float64Array(1) as unknown as Float32Array }])).toThrow(
      'encodeWeights: weight "a": data must be a Float32Array or Int32Array, got Float64Array',
    );
    expect(() => encodeWeights([{ name: 'a', shape: [1], data: bias.subarray(0, 1) }, { name: 'a', shape: [1], data: bias.subarray(1) }]))
      .toThrow('encodeWeights: duplicate weight name "a"');
  });
});

describe('buildModelJson', () => {
  it('produces exactly the tfjs model.json layout', () => {
    const { weightSpecs } = encodeWeights([{ name: 'dense_Dense1/kernel', shape: [3, 2], data: kernel }]);
    const trainingConfig = { loss: 'categorical_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } } };
    const j = buildModelJson({ modelTopology: topology, weightSpecs, generatedBy: 'simdcnn 0.1.0', trainingConfig });
    expect(j).toEqual({
      format: 'layers-model',
      generatedBy: 'simdcnn 0.1.0',
      convertedBy: null,
      modelTopology: topology,
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'dense_Dense1/kernel', shape: [3, 2], dtype: 'float32' }] }],
      trainingConfig,
    });
    expect(Object.keys(buildModelJson({ modelTopology: topology, weightSpecs }))).toEqual(
      ['format', 'generatedBy', 'convertedBy', 'modelTopology', 'weightsManifest'],
    );
    expect(() => buildModelJson({ modelTopology: topology, weightSpecs, weightsPath: '../w.bin' })).toThrow(
      'buildModelJson: weightsPath must be a plain file name other than model.json, got "../w.bin"',
    );
  });
});

function sampleModel(scale = 1): { json: ModelJson; data: ArrayBuffer } {
  const { weightSpecs, data } = encodeWeights([
    { name: 'dense_Dense1/kernel', shape: [3, 2], data: kernel.map((x) => x * scale) },
    { name: 'dense_Dense1/bias', shape: [2], data: bias.map((x) => x * scale) },
  ]);
  return { json: buildModelJson({ modelTopology: topology, weightSpecs }), data };
}

describe('saveModelFiles / loadModelFiles', () => {
  it('round-trips through file:// URLs and plain paths, with extra files', async () => {
    const dir = join(tmp, 'a', 'nested', 'model');
    const { json, data } = sampleModel();
    const res = await saveModelFiles('file://' + dir, json, data, { 'curve.svg': '<svg/>', 'raw.bin': new Uint8Array([1, 2]) });
    expect(res.files).toEqual(['model.json', 'weights.bin', 'curve.svg', 'raw.bin'].map((f) => join(dir, f)));
    expect(res.weightDataBytes).toBe(32);
    expect((await readdir(dir)).sort()).toEqual(['curve.svg', 'model.json', 'raw.bin', 'weights.bin']);
    expect(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'))).toEqual(json);
    expect(Buffer.from(await readFile(join(dir, 'weights.bin'))).equals(Buffer.from(data))).toBe(true);
    for (const where of ['file://' + join(dir, 'model.json'), join(dir, 'model.json'), dir, pathToFileURL(join(dir, 'model.json'))]) {
      const m = await loadModelFiles(where);
      expect(m.modelJson).toEqual(json);
      expect(m.weightSpecs).toEqual(json.weightsManifest[0]!.weights);
      expect(Buffer.from(m.weightData).equals(Buffer.from(data))).toBe(true);
      expect(Array.from(m.weights[1]!.data)).toEqual([0.25, -1]);
    }
  });

  it('reads several manifest groups and shards in order, like converted Keras models', async () => {
    const dir = join(tmp, 'sharded');
    await mkdir(dir);
    const k = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7, 8]);
    const kb = new Uint8Array(k.buffer);
    await writeFile(join(dir, 'group1-shard1of2.bin'), kb.subarray(0, 10));
    await writeFile(join(dir, 'group1-shard2of2.bin'), kb.subarray(10));
    await writeFile(join(dir, 'group2-shard1of1.bin'), new Uint8Array(b.buffer));
    await writeFile(join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model', generatedBy: 'keras v2.15.0', convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: topology },
      weightsManifest: [
        { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [{ name: 'k', shape: [3, 2], dtype: 'float32' }] },
        { paths: ['group2-shard1of1.bin'], weights: [{ name: 'b', shape: [2], dtype: 'float32' }] },
      ],
    }));
    const m = await loadModelFiles(dir);
    expect(m.weightSpecs.map((s) => s.name)).toEqual(['k', 'b']);
    expect(Array.from(m.weights[0]!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(m.weights[1]!.data)).toEqual([7, 8]);
  });

  it('replaces an existing model', async () => {
    const dir = join(tmp, 'replace');
    await saveModelFiles(dir, sampleModel(1).json, sampleModel(1).data);
    await saveModelFiles(dir, sampleModel(2).json, sampleModel(2).data);
    const m = await loadModelFiles(dir);
    expect(Array.from(m.weights[1]!.data)).toEqual([0.5, -2]);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('keeps the old model when a rename fails halfway, and leaves no temporary files', async () => {
    const dir = join(tmp, 'rename-fails');
    const old = sampleModel(1);
    await saveModelFiles(dir, old.json, old.data);
    const before = [await readFile(join(dir, 'model.json')), await readFile(join(dir, 'weights.bin'))];
    // A non-empty folder where an extra file should go: weights.bin is renamed first, then this fails.
    await mkdir(join(dir, 'curve.svg', 'x'), { recursive: true });
    const next = sampleModel(3);
    await expect(saveModelFiles(dir, next.json, next.data, { 'curve.svg': '<svg/>' })).rejects.toThrow(
      `saving model to ${dir} failed replacing curve.svg; the previous files were kept`,
    );
    expect((await readdir(dir)).sort()).toEqual(['curve.svg', 'model.json', 'weights.bin']);
    expect((await readFile(join(dir, 'model.json'))).equals(before[0]!)).toBe(true);
    expect((await readFile(join(dir, 'weights.bin'))).equals(before[1]!)).toBe(true);
  });

  it('keeps the old model when a write fails (file size limit: EFBIG) and removes the temporary files', async () => {
    // A real failing write: run the save in a child process with RLIMIT_FSIZE at 8 KiB; model.json
    // fits, the 160 KB weights file does not. Node ignores SIGXFSZ, so write() returns EFBIG.
    const work = join(tmp, 'efbig');
    const dir = join(work, 'model');
    await mkdir(work);
    await build({
      entryPoints: [fileURLToPath(new URL('../src/io/file-node.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', outfile: join(work, 'file-node.mjs'), logLevel: 'silent',
    });
    const small = sampleModel(1);
    await saveModelFiles(dir, small.json, small.data);
    const before = [await readFile(join(dir, 'model.json')), await readFile(join(dir, 'weights.bin'))];
    const big = encodeWeights([{ name: 'big', shape: [40000], data: new Float32Array(40000).fill(1) }]);
    await writeFile(join(work, 'model.json'), JSON.stringify(buildModelJson({ modelTopology: topology, weightSpecs: big.weightSpecs })));
    await writeFile(join(work, 'weights.bin'), new Uint8Array(big.data));
    await writeFile(join(work, 'child.mjs'), `
      import { readFileSync } from 'node:fs';
      import { saveModelFiles } from './file-node.mjs';
      const json = JSON.parse(readFileSync(${JSON.stringify(join(work, 'model.json'))}, 'utf8'));
      const data = readFileSync(${JSON.stringify(join(work, 'weights.bin'))});
      try { await saveModelFiles(${JSON.stringify(dir)}, json, data, { 'notes.txt': 'hi' }); console.log('saved'); }
      catch (e) { console.log(e.message); }
    `);
    const r = spawnSync('bash', ['-c', 'ulimit -f 8 && exec "$0" "$1"', process.execPath, join(work, 'child.mjs')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(new RegExp(`^saving model to ${dir} failed writing weights\\.bin \\(160000 bytes\\): .*EFBIG`));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await readFile(join(dir, 'model.json'))).equals(before[0]!)).toBe(true);
    expect((await readFile(join(dir, 'weights.bin'))).equals(before[1]!)).toBe(true);
  });

  it('refuses to save weight data that does not match the manifest', async () => {
    const { json } = sampleModel();
    const dir = join(tmp, 'mismatch');
    await expect(saveModelFiles(dir, json, new ArrayBuffer(28))).rejects.toThrow(
      'weight "dense_Dense1/bias" [2] float32 needs 8 bytes at offset 24, but the weight data has only 28 bytes (the manifest needs 32)',
    );
    await expect(saveModelFiles(dir, json, new ArrayBuffer(32), { 'a/b': 'x' })).rejects.toThrow(
      'saveModelFiles: extra file name: "a/b" must be a plain file name (no folders)',
    );
    await expect(saveModelFiles(dir, json, new ArrayBuffer(32), { 'weights.bin': 'x' })).rejects.toThrow(/clashes/);
    await expect(saveModelFiles('https://example.com/m', json, new ArrayBuffer(32))).rejects.toThrow(
      'model location https://example.com/m: only file:// URLs and paths are supported here',
    );
  });

  it('explains unreadable models: missing, bad JSON, wrong format, missing or short weights', async () => {
    const dir = join(tmp, 'broken');
    const { json, data } = sampleModel();
    await saveModelFiles(dir, json, data);
    const mj = join(dir, 'model.json');
    await expect(loadModelFiles(join(tmp, 'nope'))).rejects.toThrow(`model file ${join(tmp, 'nope')} does not exist`);
    await writeFile(mj, '{"format": "layers-model",');
    await expect(loadModelFiles(dir)).rejects.toThrow(new RegExp(`^model file ${mj} is not valid JSON: `));
    await writeFile(mj, JSON.stringify({ ...json, format: 'graph-model' }));
    await expect(loadModelFiles(dir)).rejects.toThrow(`model file ${mj}: format is "graph-model"; expected "layers-model"`);
    await writeFile(mj, JSON.stringify({ ...json, weightsManifest: undefined }));
    await expect(loadModelFiles(dir)).rejects.toThrow(`model file ${mj}: weightsManifest is missing or not an array`);
    await writeFile(mj, JSON.stringify({ ...json, weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] }));
    await expect(loadModelFiles(dir)).rejects.toThrow(/weights path "\.\.\/\.\.\/etc\/passwd" points outside the model folder/);
    await writeFile(mj, JSON.stringify(json));
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(20));
    await expect(loadModelFiles(dir)).rejects.toThrow(
      `model ${mj}: weight "dense_Dense1/kernel" [3, 2] float32 needs 24 bytes at offset 0, but the weight data has only 20 bytes (the manifest needs 32)`,
    );
    await rm(join(dir, 'weights.bin'));
    await expect(loadModelFiles(dir)).rejects.toThrow(`weights file ${join(dir, 'weights.bin')} listed in ${mj} does not exist`);
  });
});
