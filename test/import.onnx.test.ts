// sc.loadOnnx: PyTorch-exported ONNX models (test/fixtures/onnx/, made by
// scripts/make-onnx-fixtures.py: reduced-width torchvision architectures with random weights) must
// predict what PyTorch computed for the same input, taking and returning NCHW tensors while the
// layers run NHWC; the imported model must then save, reload, export and train like any other.
// The error cases are built here with our own protobuf writer.
import * as ort from 'onnxruntime-web';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as sc from '../src/index.js';
import { ProtoWriter } from '../src/export/protobuf.js';
import { SUPPORTED_OPS } from '../src/import/onnx-convert.js';

const dir = join(import.meta.dirname, 'fixtures', 'onnx');
const f32 = (file: string) => {
  const b = readFileSync(join(dir, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const meta = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as {
  input: { name: string; shape: number[] }; output: { name: string; shape: number[] }; opset: number; batchNormNodes: boolean;
};

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

/** max |got − want|, and the bound the issue sets: 1e-4 + 1e-3·max|want|. */
function compare(got: Float32Array, want: Float32Array): { diff: number; bound: number } {
  expect(got.length).toBe(want.length);
  let diff = 0, max = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    max = Math.max(max, Math.abs(want[i]));
  }
  return { diff, bound: 1e-4 + 1e-3 * max };
}

// name, opset, and what the conversion must look like: the layer classes it maps to (so a fixture
// cannot pass through some other route), and the number of Permute layers — the graph's input
// (and a 4-D output) plus one per explicit data transpose, never one per layer.
const FIXTURES: [name: string, opset: number, mustUse: string[], permutes: number][] = [
  ['resnet_basic', 13, ['Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Add', 'GlobalAveragePooling2D', 'Dense'], 1],
  ['resnet_bottleneck', 13, ['Conv2D', 'MaxPooling2D', 'Add', 'Dense'], 1],
  ['mobilenet_v2', 13, ['DepthwiseConv2D', 'Conv2D', 'Add', 'Dense'], 1],
  ['mobilenet_v3_small', 17, ['DepthwiseConv2D', 'Multiply', 'Rescaling', 'ReLU'], 1],
  ['shufflenet_v2', 13, ['DepthwiseConv2D', 'Cropping2D', 'Concatenate'], 1 + 6],
  ['squeezenet', 13, ['Conv2D', 'MaxPooling2D', 'Concatenate', 'GlobalAveragePooling2D'], 1],
  ['densenet', 13, ['BatchNormalization', 'Concatenate', 'AveragePooling2D', 'Dense'], 1],
  ['efficientnet_b0', 13, ['DepthwiseConv2D', 'Activation', 'Multiply', 'GlobalAveragePooling2D'], 1],
  ['googlenet', 13, ['Cropping2D', 'Rescaling', 'Concatenate', 'MaxPooling2D'], 1],
  ['activations', 13, ['LeakyReLU', 'PReLU', 'ELU', 'Softmax', 'Multiply', 'Subtract'], 2],
  ['shapes', 13, ['ZeroPadding2D', 'AveragePooling2D', 'UpSampling2D', 'Cropping2D', 'DepthwiseConv2D', 'Dense'], 2],
  // Grouped convolutions: per group a channel slice (Cropping2D) and a Conv2D, then a Concatenate.
  ['resnext', 13, ['Conv2D', 'Cropping2D', 'Concatenate', 'Add', 'Dense'], 1],
  // ConvTranspose: Conv2DTranspose, cropped to ONNX's pads where TensorFlow's 'same' is not them.
  ['unet', 13, ['Conv2DTranspose', 'Cropping2D', 'Concatenate', 'MaxPooling2D', 'Add', 'UpSampling2D'], 2],
];

describe('loadOnnx: PyTorch exports predict what PyTorch computed', () => {
  it.each(FIXTURES)('%s (opset %i)', async (name, opset, mustUse, permutes) => {
    const m = meta(name);
    const model = await sc.loadOnnx(join(dir, `${name}.onnx`));
    try {
      expect(model.opset).toBe(opset);
      expect(model.producer).toMatch(/^pytorch/);
      expect(model.onnxInputs).toEqual([{ name: 'input', shape: ['batch', ...m.input.shape.slice(1)] }]);
      expect(model.onnxOutputs).toEqual([{ name: 'output', shape: ['batch', ...m.output.shape.slice(1)] }]);
      expect(model.inputs[0].shape).toEqual([null, ...m.input.shape.slice(1)]);
      expect(model.outputNames).toEqual(['output']);
      const classes = new Set(model.layers.map((l) => l.className));
      for (const c of mustUse) expect(classes, `${name} maps to ${c}`).toContain(c);
      expect(model.layers.filter((l) => l.className === 'Permute').length).toBe(permutes);
      if (m.batchNormNodes) expect(model.layers.filter((l) => l.className === 'BatchNormalization').length).toBeGreaterThan(0);

      const x = sc.tensor(f32(`${name}.in.bin`), m.input.shape);
      const y = model.predict(x) as sc.Tensor;
      expect(y.shape).toEqual(m.output.shape);
      const { diff, bound } = compare(y.dataSync(), f32(`${name}.out.bin`));
      console.log(`${name}: max |diff| ${diff.toExponential(2)} (bound ${bound.toExponential(2)})`);
      expect(diff).toBeLessThanOrEqual(bound);

      // The batch is free: one example alone gives its row; inputs by name give the same.
      const per = m.input.shape.slice(1).reduce((a, b) => a * b, 1), outPer = y.size / m.input.shape[0];
      const one = model.predict(sc.tensor(f32(`${name}.in.bin`).subarray(per, 2 * per), [1, ...m.input.shape.slice(1)])) as sc.Tensor;
      expect(compare(one.dataSync(), y.dataSync().subarray(outPer, 2 * outPer)).diff).toBeLessThan(1e-6);
      const named = model.predict({ input: x }) as sc.Tensor;
      expect(Array.from(named.dataSync())).toEqual(Array.from(y.dataSync()));
      sc.dispose([x, y, one, named]);
    } finally {
      model.dispose();
    }
  });
});

describe('an imported model is a LayersModel', () => {
  it.each(['shufflenet_v2', 'resnext', 'unet'])('%s: summary, save → loadLayersModel, and toONNX → onnxruntime give the same predictions', async (name) => {
    const m = meta(name);
    const model = await sc.loadOnnx(`file://${join(dir, `${name}.onnx`)}`);
    const lines: string[] = [];
    model.summary(undefined, undefined, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/Total params: [\d,]+/);
    const xData = f32(`${name}.in.bin`);
    const y = (model.predict(sc.tensor(xData, m.input.shape)) as sc.Tensor).dataSync().slice();
    const out = mkdtempSync(join(tmpdir(), 'simdcnn-onnx-import-'));
    try {
      await model.save(`file://${out}`);
      const back = await sc.loadLayersModel(`file://${out}/model.json`);
      expect(compare((back.predict(sc.tensor(xData, m.input.shape)) as sc.Tensor).dataSync(), y).diff).toBe(0);
      back.dispose();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    const session = await ort.InferenceSession.create(await model.toONNX());
    const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', xData, m.input.shape) });
    expect(compare(r[session.outputNames[0]].data as Float32Array, y).diff).toBeLessThan(1e-5);
    model.dispose();
  });

  it('the bytes load as well as the path (Uint8Array and ArrayBuffer)', async () => {
    const bytes = readFileSync(join(dir, 'squeezenet.onnx'));
    const a = await sc.loadOnnx(new Uint8Array(bytes));
    const b = await sc.loadOnnx(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const x = sc.tensor(f32('squeezenet.in.bin'), meta('squeezenet').input.shape);
    expect(Array.from((a.predict(x) as sc.Tensor).dataSync())).toEqual(Array.from((b.predict(x) as sc.Tensor).dataSync()));
    a.dispose();
    b.dispose();
  });

  it('fine-tunes: frozen features, a new head, and fit lowers the loss', async () => {
    const name = 'resnet_basic';
    const m = meta(name);
    const base = await sc.loadOnnx(join(dir, `${name}.onnx`), { seed: 3 });
    const head = base.layers[base.layers.length - 1];
    expect(head.className).toBe('Dense');
    for (const l of base.layers) l.trainable = false;
    const features = head.input as sc.SymbolicTensor;
    const logits = sc.layers.dense({ units: 3, activation: 'softmax', name: 'new_head' }).apply(features);
    const tuned = sc.model({ inputs: base.inputs, outputs: logits, seed: 3 });
    tuned.compile({ optimizer: sc.train.adam(0.05), loss: 'sparseCategoricalCrossentropy' });
    const n = 16, per = m.input.shape.slice(1).reduce((a, b) => a * b, 1);
    let s = 1;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    // A learnable task for frozen random features: the class sets the images' brightness.
    const x = sc.tensor(Float32Array.from({ length: n * per }, (_, i) => rand() + (Math.floor(i / per) % 3) - 1), [n, ...m.input.shape.slice(1)]);
    const labels = sc.tensor(Float32Array.from({ length: n }, (_, i) => i % 3), [n]);
    const frozenBefore = base.getWeights().map((w) => w.dataSync().slice());
    const h = await tuned.fit(x, labels, { epochs: 10, batchSize: 8, shuffle: false, verbose: 0 });
    const loss = h.history.loss as number[];
    console.log(`fine-tuning loss: ${loss[0].toFixed(4)} → ${loss[loss.length - 1].toFixed(4)}`);
    // Random frozen features are small, so the head learns slowly; a gradient path broken
    // somewhere in the imported graph would leave the loss where it started.
    expect(loss[loss.length - 1]).toBeLessThan(loss[0] * 0.95);
    // The frozen ONNX weights (BatchNormalization's moving statistics too) did not move.
    tuned.acquire();
    base.acquire();
    base.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(frozenBefore[i])));
    tuned.dispose();
    base.dispose();
  });

  it('trains end to end through grouped convolutions and transposed convolutions (resnext, unet)', async () => {
    // The logits and the U-Net's map regressed onto a fixed target (the imports end without a softmax).
    for (const name of ['resnext', 'unet']) {
      const m = meta(name);
      const model = await sc.loadOnnx(join(dir, `${name}.onnx`), { seed: 3 });
      model.compile({ optimizer: sc.train.adam(0.01), loss: 'meanSquaredError' });
      const x = sc.tensor(f32(`${name}.in.bin`), m.input.shape);
      // A learnable target: PyTorch's output shifted and doubled.
      const y = sc.tensor(f32(`${name}.out.bin`).map((v) => 0.5 + 2 * v), m.output.shape);
      const before = model.getWeights().map((w) => w.dataSync().slice());
      const h = await model.fit(x, y, { epochs: 8, batchSize: 2, shuffle: false, verbose: 0 });
      const l = h.history.loss as number[];
      console.log(`${name} training loss: ${l[0].toFixed(4)} → ${l[l.length - 1].toFixed(4)}`);
      expect(l[l.length - 1]).toBeLessThan(l[0] * 0.9);
      // Every weight moved: a gradient path cut at a slice, crop or concatenation would leave some as loaded.
      model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync()), `${name} weight ${i}`).not.toEqual(Array.from(before[i])));
      sc.dispose([x, y]);
      model.dispose();
    }
  });
});

// ---- hand-built ONNX files (our writer, src/export/protobuf.ts; ONNX field numbers) ----

function valueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, 1).message(2, shape)));
}
function node(op: string, inputs: string[], outputs: string[], name: string): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  return n.string(3, name).string(4, op);
}
function modelBytes(nodes: ProtoWriter[], inputs: ProtoWriter[], outputs: ProtoWriter[], initializers: ProtoWriter[] = [], opset = 13): Uint8Array {
  const g = new ProtoWriter();
  for (const n of nodes) g.message(1, n);
  g.string(2, 'test_graph');
  for (const t of initializers) g.message(5, t);
  for (const i of inputs) g.message(11, i);
  for (const o of outputs) g.message(12, o);
  return new ProtoWriter().int(1, 7).string(2, 'simdcnn-test').message(7, g).message(8, new ProtoWriter().string(1, '').int(2, opset)).finish();
}
function floatInit(name: string, dims: number[], values: number[]): ProtoWriter {
  const raw = new Uint8Array(new Float32Array(values).buffer);
  return new ProtoWriter().packedInts(1, dims).int(2, 1).string(8, name).bytes(9, raw);
}

describe('several inputs and outputs, NCHW both ways', () => {
  // c = conv1x1(a) + b (NCHW, [N, 2, 2, 2]); y = Gemm(flatten(c)): the flatten of a 4-D tensor that
  // lives as NHWC goes straight into the Gemm, whose weight rows are reordered at load instead.
  const W = [1, 2, 3, -4]; // [out 2, in 2, 1, 1]
  const G = Array.from({ length: 3 * 8 }, (_, i) => ((i * 7) % 11) - 5); // [3, 8], transB
  const Cb = [0.5, -1, 2];
  const gemm = node('Gemm', ['f', 'G', 'Cb'], ['y'], 'fc').message(5, new ProtoWriter().string(1, 'transB').int(20, 2).int(3, 1));
  const bytes = modelBytes(
    [node('Conv', ['a', 'W'], ['conv'], 'conv'), node('Add', ['conv', 'b'], ['c'], 'add'), node('Flatten', ['c'], ['f'], 'flat'), gemm],
    [valueInfo('a', ['N', 2, 2, 2]), valueInfo('b', ['N', 2, 2, 2])], [valueInfo('y', ['N', 3]), valueInfo('c', ['N', 2, 2, 2])],
    [floatInit('W', [2, 2, 1, 1], W), floatInit('G', [3, 8], G), floatInit('Cb', [3], Cb)]);
  // The same computation straight from ONNX's definitions, in NCHW.
  function reference(a: number[], b: number[]): { c: number[]; y: number[] } {
    const c: number[] = [];
    for (let o = 0; o < 2; o++) for (let p = 0; p < 4; p++) c.push(W[o * 2] * a[p] + W[o * 2 + 1] * a[4 + p] + b[o * 4 + p]);
    return { c, y: Cb.map((bias, m) => c.reduce((s, v, k) => s + v * G[m * 8 + k], bias)) };
  }

  it('predict takes an object keyed by input name or an array, and returns every output in ONNX layout', async () => {
    const model = await sc.loadOnnx(bytes);
    expect(model.inputNames).toEqual(['a', 'b']);
    expect(model.outputNames).toEqual(['y', 'c']);
    expect(model.onnxOutputs).toEqual([{ name: 'y', shape: ['N', 3] }, { name: 'c', shape: ['N', 2, 2, 2] }]);
    const a = [1, -2, 3, 0.5, 2, 1, -1, 4], b = [0.25, 0, 1, -3, 2, 2, -0.5, 1];
    const want = reference(a, b);
    const byName = model.predict({ b: sc.tensor(b, [1, 2, 2, 2]), a: sc.tensor(a, [1, 2, 2, 2]) }) as sc.Tensor[];
    const byOrder = model.predict([sc.tensor(a, [1, 2, 2, 2]), sc.tensor(b, [1, 2, 2, 2])]) as sc.Tensor[];
    for (const [y, c] of [byName, byOrder]) {
      expect(y.shape).toEqual([1, 3]);
      expect(c.shape).toEqual([1, 2, 2, 2]);
      Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.y[i], 4));
      Array.from(c.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.c[i], 5));
    }
    // One Permute per input, one for the 4-D output; the flatten before the Gemm needs none.
    expect(model.layers.filter((l) => l.className === 'Permute').length).toBe(3);
    model.dispose();
  });
});

const strAttr = (n: string, v: string) => new ProtoWriter().string(1, n).int(20, 3).string(4, v);
const intAttr = (n: string, v: number) => new ProtoWriter().string(1, n).int(20, 2).int(3, v);
const intsAttr = (n: string, v: number[]) => new ProtoWriter().string(1, n).int(20, 7).packedInts(8, v);
/** A float initializer of the given shape with deterministic values in (−0.5, 0.5). */
const filled = (name: string, dims: number[], seed = 0) => floatInit(name, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5));
/** A node with attributes. */
const withAttrs = (n: ProtoWriter, ...attrs: ProtoWriter[]) => attrs.reduce((m, a) => m.message(5, a), n);
/** ConvTranspose x·W(+B) → y with the given attributes. */
const convT = (bias: boolean, ...attrs: ProtoWriter[]) => withAttrs(node('ConvTranspose', bias ? ['x', 'W', 'B'] : ['x', 'W'], ['y'], 'up'), ...attrs);

describe('hand-built graphs agree with onnxruntime', () => {
  // [name, nodes, initializers, input shape, output shape]: operators and attribute forms PyTorch's
  // exports above do not reach, each checked against ONNX Runtime's reading of the same file.
  const CASES: [string, ProtoWriter[], ProtoWriter[], number[], number[]][] = [
    ['Resize linear, asymmetric (tfjs bilinear)', [node('Resize', ['x', '', 's'], ['y'], 'up').message(5, strAttr('mode', 'linear')).message(5, strAttr('coordinate_transformation_mode', 'asymmetric'))],
      [floatInit('s', [4], [1, 1, 2, 3])], [2, 3, 4, 5], [2, 3, 8, 15]],
    // PyTorch's interpolate(mode='bilinear', align_corners=False): half-pixel centers, clamped at the edges.
    ['Resize linear, half_pixel (the opset-13 default)', [node('Resize', ['x', '', 's'], ['y'], 'up').message(5, strAttr('mode', 'linear'))],
      [floatInit('s', [4], [1, 1, 2, 3])], [2, 3, 4, 5], [2, 3, 8, 15]],
    ['Resize linear, pytorch_half_pixel, factor 1 on one axis', [node('Resize', ['x', '', 's'], ['y'], 'up').message(5, strAttr('mode', 'linear')).message(5, strAttr('coordinate_transformation_mode', 'pytorch_half_pixel'))],
      [floatInit('s', [4], [1, 1, 4, 1])], [2, 3, 3, 5], [2, 3, 12, 5]],
    ['Clip to [−1, 0.5]', [node('Clip', ['x', 'lo', 'hi'], ['y'], 'clip')], [floatInit('lo', [], [-1]), floatInit('hi', [], [0.5])], [2, 3, 4, 5], [2, 3, 4, 5]],
    ['Clip with only a max', [node('Clip', ['x', '', 'hi'], ['y'], 'clip')], [floatInit('hi', [], [0.5])], [2, 3, 4, 5], [2, 3, 4, 5]],
    ['Mul by a per-channel constant, then Sub one', [node('Mul', ['x', 'k'], ['m'], 'mul'), node('Sub', ['m', 'o'], ['y'], 'sub')],
      [floatInit('k', [3, 1, 1], [2, -1, 0.5]), floatInit('o', [1, 3, 1, 1], [1, 2, 3])], [2, 3, 4, 5], [2, 3, 4, 5]],
    ['Transpose, then Reshape across the moved axes', [
      node('Transpose', ['x'], ['t'], 'tr').message(5, new ProtoWriter().string(1, 'perm').int(20, 7).packedInts(8, [0, 2, 3, 1])),
      node('Reshape', ['t', 'shape'], ['y'], 'rs')], [new ProtoWriter().packedInts(1, [3]).int(2, 7).string(8, 'shape').bytes(9, new Uint8Array(new BigInt64Array([0n, 20n, 3n]).buffer))],
      [2, 3, 4, 5], [2, 20, 3]],
    ['Softmax over the channels, before opset 13', [node('Softmax', ['x'], ['y'], 'sm').message(5, new ProtoWriter().string(1, 'axis').int(20, 2).int(3, 1))], [], [2, 7, 1, 1], [2, 7, 1, 1]],
    ['Conv with group 2 (not depthwise), stride 2, asymmetric pads, bias',
      [withAttrs(node('Conv', ['x', 'W', 'B'], ['y'], 'grouped'), intAttr('group', 2), intsAttr('strides', [2, 2]), intsAttr('pads', [1, 0, 2, 1]))],
      [filled('W', [6, 2, 3, 3]), filled('B', [6], 1)], [2, 4, 7, 6], [2, 6, 4, 3]],
    ['Conv with group 3, then Relu (fused into every group)',
      [withAttrs(node('Conv', ['x', 'W', 'B'], ['c'], 'grouped'), intAttr('group', 3), intsAttr('pads', [1, 1, 1, 1])), node('Relu', ['c'], ['y'], 'relu')],
      [filled('W', [9, 2, 3, 3]), filled('B', [9], 2)], [2, 6, 5, 5], [2, 9, 5, 5]],
    ['ConvTranspose k3 s2 p1 output_padding 1 (PyTorch\'s 2× upsampling), then Relu',
      [withAttrs(node('ConvTranspose', ['x', 'W', 'B'], ['c'], 'up'), intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1]), intsAttr('output_padding', [1, 1])), node('Relu', ['c'], ['y'], 'relu')],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 8, 10]],
    ['ConvTranspose k4 s2 p1 without bias (DCGAN)', [convT(false, intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1]))],
      [filled('W', [3, 4, 4, 4])], [2, 3, 4, 5], [2, 4, 8, 10]],
    ['ConvTranspose output_padding past the end padding (bias-only rows at the end)',
      [convT(true, intsAttr('strides', [2, 2]), intsAttr('pads', [0, 1, 0, 0]), intsAttr('output_padding', [1, 1]))],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 10, 11]],
    ['ConvTranspose kernel smaller than the stride, asymmetric pads',
      [convT(true, intsAttr('strides', [3, 3]), intsAttr('pads', [1, 0, 0, 2]), intsAttr('output_padding', [1, 2]))],
      [filled('W', [3, 2, 2, 2]), filled('B', [2], 1)], [2, 3, 4, 5], [2, 2, 11, 14]],
    ['ConvTranspose auto_pad SAME_UPPER (an odd total padding)', [convT(true, intsAttr('strides', [2, 2]), strAttr('auto_pad', 'SAME_UPPER'))],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 8, 10]],
    ['ConvTranspose auto_pad SAME_LOWER (an odd total padding)', [convT(true, intsAttr('strides', [2, 2]), strAttr('auto_pad', 'SAME_LOWER'))],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 8, 10]],
    ['ConvTranspose output_shape (even and odd total padding)', [convT(true, intsAttr('strides', [2, 2]), intsAttr('output_shape', [9, 10]))],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 9, 10]],
    ['ConvTranspose stride 1, pads 1 (a transposed "same" 3×3)', [convT(true, intsAttr('pads', [1, 1, 1, 1]))],
      [filled('W', [3, 4, 3, 3]), filled('B', [4], 1)], [2, 3, 4, 5], [2, 4, 4, 5]],
  ];
  it.each(CASES)('%s', async (_label, nodes, inits, inShape, outShape) => {
    const opset = _label.includes('before opset 13') ? 11 : 13;
    const bytes = modelBytes(nodes, [valueInfo('x', ['N', ...inShape.slice(1)])], [valueInfo('y', ['N', ...outShape.slice(1)])], inits, opset);
    const n = inShape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 2);
    const session = await ort.InferenceSession.create(bytes);
    const want = (await session.run({ x: new ort.Tensor('float32', x, inShape) })).y;
    expect(want.dims).toEqual(outShape);
    const model = await sc.loadOnnx(bytes);
    const got = model.predict(sc.tensor(x, inShape)) as sc.Tensor;
    expect(got.shape).toEqual(outShape);
    expect(compare(got.dataSync(), want.data as Float32Array).diff).toBeLessThan(1e-5);
    model.dispose();
  });
});

describe('loadOnnx errors name what is wrong', () => {
  it('an unsupported operator: the node, its op type, the opset and the supported list', async () => {
    const bytes = modelBytes([node('Relu', ['x'], ['r'], 'first'), node('FancyNorm', ['r'], ['y'], 'my_fancy_norm')],
      [valueInfo('x', ['N', 4])], [valueInfo('y', ['N', 4])]);
    const err = await sc.loadOnnx(bytes).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("node 'my_fancy_norm' (FancyNorm, opset 13)");
    expect((err as Error).message).toContain(`supported: ${SUPPORTED_OPS.join(', ')}`);
    // The same graph without the unknown node loads and runs.
    const ok = await sc.loadOnnx(modelBytes([node('Relu', ['x'], ['y'], 'first')], [valueInfo('x', ['N', 4])], [valueInfo('y', ['N', 4])]));
    expect(Array.from((ok.predict(sc.tensor([-1, 2, -3, 4], [1, 4])) as sc.Tensor).dataSync())).toEqual([0, 2, 0, 4]);
    ok.dispose();
  });

  it('a truncated file: the byte offset where it stops', async () => {
    const bytes = readFileSync(join(dir, 'resnet_basic.onnx'));
    for (const cut of [bytes.length - 7, Math.floor(bytes.length / 2), 100]) {
      const err = await sc.loadOnnx(new Uint8Array(bytes.subarray(0, cut))).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const m = /truncated or corrupt protobuf: .* at byte offset (\d+)/.exec((err as Error).message);
      expect(m, (err as Error).message).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(cut);
      expect((err as Error).message).toContain(`${cut} bytes`);
    }
  });

  it('external-data tensors (models over 2 GB) are not supported, and it says so', async () => {
    const external = new ProtoWriter().packedInts(1, [4, 4]).int(2, 1).string(8, 'W')
      .message(13, new ProtoWriter().string(1, 'location').string(2, 'weights.bin')).int(14, 1);
    const bytes = modelBytes([node('MatMul', ['x', 'W'], ['y'], 'mm')], [valueInfo('x', ['N', 4])], [valueInfo('y', ['N', 4])], [external]);
    await expect(sc.loadOnnx(bytes)).rejects.toThrow(/tensor 'W' is stored in an external data file \(data_location EXTERNAL.*not supported/);
  });

  it('symbolic image sizes need inputShapes; given, the model runs at them', async () => {
    const w = floatInit('W', [2, 1, 1, 1], [2, -1]);
    const conv = node('Conv', ['x', 'W'], ['y'], 'conv');
    const bytes = modelBytes([conv], [valueInfo('x', ['N', 1, 'H', 'W'])], [valueInfo('y', ['N', 2, 'H', 'W'])], [w]);
    await expect(sc.loadOnnx(bytes)).rejects.toThrow(/input 'x' has shape \[N,1,H,W\] with dim 2 symbolic \(H\); pass loadOnnx\(source, \{inputShapes: \{'x': \[1,\?,\?\]\}\}\)/);
    const model = await sc.loadOnnx(bytes, { inputShapes: { x: [1, 2, 3] } });
    expect(model.onnxInputs).toEqual([{ name: 'x', shape: ['N', 1, 2, 3] }]);
    const y = model.predict(sc.tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3])) as sc.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(y.dataSync())).toEqual([2, 4, 6, 8, 10, 12, -1, -2, -3, -4, -5, -6]);
    model.dispose();
  });

  it('linear resizing with align_corners is an Error naming the mode, not a silently different upsampling', async () => {
    const scales = floatInit('scales', [4], [1, 1, 2, 2]);
    const resize = node('Resize', ['x', '', 'scales'], ['y'], 'up');
    resize.message(5, new ProtoWriter().string(1, 'mode').int(20, 3).string(4, 'linear'));
    resize.message(5, new ProtoWriter().string(1, 'coordinate_transformation_mode').int(20, 3).string(4, 'align_corners'));
    const bytes = modelBytes([resize], [valueInfo('x', ['N', 1, 2, 2])], [valueInfo('y', ['N', 1, 4, 4])], [scales]);
    await expect(sc.loadOnnx(bytes)).rejects.toThrow(/node 'up' \(Resize, opset 13\): linear resizing with coordinate_transformation_mode 'align_corners' is not supported \(asymmetric .* or half_pixel/);
  });

  it('a grouped convolution whose channels do not divide into its groups is an Error naming them', async () => {
    const grouped = (group: number, wDims: number[], C: number) => modelBytes([withAttrs(node('Conv', ['x', 'W'], ['y'], 'grouped'), intAttr('group', group))],
      [valueInfo('x', ['N', C, 3, 3])], [valueInfo('y', ['N', wDims[0], 3, 3])], [filled('W', wDims)]);
    // W's dim 1 is not C / group.
    await expect(sc.loadOnnx(grouped(2, [4, 3, 1, 1], 4))).rejects.toThrow(
      /node 'grouped' \(Conv, opset 13\): group 2 with 4 input channels and W \[4,3,1,1\] \(4 output channels, 3 input channels per group\): .*W's dim 1 must be 4 \/ 2/);
    // The input channels do not divide into the groups.
    await expect(sc.loadOnnx(grouped(3, [6, 2, 1, 1], 4))).rejects.toThrow(/group 3 with 4 input channels and W \[6,2,1,1\].*must both divide into 3 groups/);
    // The output channels do not.
    await expect(sc.loadOnnx(grouped(2, [5, 2, 1, 1], 4))).rejects.toThrow(/group 2 with 4 input channels and W \[5,2,1,1\] \(5 output channels/);
  });

  it('ConvTranspose with groups or dilations is an Error naming them', async () => {
    const up = (attr: ProtoWriter, wDims: number[], out: number[]) => modelBytes([convT(false, attr)],
      [valueInfo('x', ['N', 4, 3, 3])], [valueInfo('y', ['N', ...out])], [filled('W', wDims)]);
    await expect(sc.loadOnnx(up(intAttr('group', 2), [4, 1, 3, 3], [2, 5, 5]))).rejects.toThrow(
      /node 'up' \(ConvTranspose, opset 13\): group 2: only group 1 is supported for ConvTranspose/);
    await expect(sc.loadOnnx(up(intsAttr('dilations', [2, 2]), [4, 2, 3, 3], [2, 7, 7]))).rejects.toThrow(
      /node 'up' \(ConvTranspose, opset 13\): dilations \[2,2\]: only 1 is supported/);
  });

  it('not an ONNX file, a missing file, a bad source', async () => {
    await expect(sc.loadOnnx(new Uint8Array(0))).rejects.toThrow(/the file is empty/);
    await expect(sc.loadOnnx(new TextEncoder().encode('{"modelTopology": {}}'))).rejects.toThrow(/byte offset \d+/);
    await expect(sc.loadOnnx(join(dir, 'no-such-model.onnx'))).rejects.toThrow(/loadOnnx: cannot read .*no-such-model\.onnx/);
    await expect(sc.loadOnnx(42 as unknown as string)).rejects.toThrow(/loadOnnx: source must be a Uint8Array, an ArrayBuffer, a path, a file:\/\/ URL or an http\(s\) URL, got number/);
  });
});
