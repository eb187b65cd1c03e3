// model.toONNX(): the exported graph, run by onnxruntime-web (wasm, one thread) in Node, must give
// model.predict's numbers — layouts (NHWC↔NCHW, HWIO→OIHW, flatten order), 'same' padding split,
// pooling pads and every activation are all visible in the outputs.
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { Layer, layers, sequential, tensor, uint8Images, type Sequential } from '../src/index.js';
import { ProtoWriter } from '../src/export/protobuf.js';
import { randn } from './helpers/random.js';
import { referenceCnn } from './helpers/cnn.js';


beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

async function maxDiffVsOrt(model: Sequential, x: Float32Array, opset?: number): Promise<number> {
  const shape = [x.length / model.inputShape.reduce((a, b) => a * b, 1), ...model.inputShape];
  const session = await ort.InferenceSession.create(await model.toONNX(opset ? { opset } : undefined));
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  const got = out[session.outputNames[0]];
  const want = model.predict(tensor(x, shape));
  expect(got.dims).toEqual(want.shape);
  const a = got.data as Float32Array, b = want.dataSync();
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  want.dispose();
  await session.release();
  return d;
}

describe('toONNX', () => {
  it('reference CNN trained a bit: onnxruntime-web matches predict (opset 13 and 17)', async () => {
    const model = referenceCnn(3);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const n = 96;
    const images = Uint8Array.from(randn(n * 784, 7), (v) => Math.floor((v + 1) * 127.5));
    await model.fit(uint8Images(images, [28, 28, 1]), Uint8Array.from({ length: n }, (_, i) => i % 10), { epochs: 1, batchSize: 32 });
    const x = randn(5 * 784, 11, 0.5).map((v) => v + 0.5);
    expect(await maxDiffVsOrt(model, x)).toBeLessThan(1e-5);
    expect(await maxDiffVsOrt(model, x.subarray(0, 784), 17)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("'same' padding (asymmetric split), even kernels, stride 2, dilation, avg pool, sigmoid/tanh, dropout, no bias", async () => {
    const model = sequential({
      seed: 5,
      layers: [
        layers.conv2d({ filters: 5, kernelSize: [4, 2], strides: 2, padding: 'same', activation: 'tanh', inputShape: [13, 11, 3] }),
        layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        layers.conv2d({ filters: 6, kernelSize: 2, padding: 'same', activation: 'sigmoid', useBias: false }),
        layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
        layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' }),
        layers.averagePooling2d({ poolSize: 2, strides: 3 }),
        layers.dropout({ rate: 0.3 }),
        layers.flatten(),
        layers.dense({ units: 7, activation: 'tanh' }),
        layers.dense({ units: 5, activation: 'sigmoid', useBias: false }),
        layers.activation({ activation: 'softmax' }),
      ],
    });
    expect(await maxDiffVsOrt(model, randn(3 * 13 * 11 * 3, 21))).toBeLessThan(1e-5);
    model.dispose();
  });

  it('dense on a feature map (MatMul + Add) and softmax over channels stay channel-last; conv output is NHWC', async () => {
    const a = sequential({
      seed: 8,
      layers: [
        layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 5, 2] }),
        layers.dense({ units: 4, activation: 'relu' }),
        layers.conv2d({ filters: 3, kernelSize: 2, padding: 'same' }),
        layers.activation({ activation: 'softmax' }),
      ],
    });
    expect(await maxDiffVsOrt(a, randn(2 * 6 * 5 * 2, 9))).toBeLessThan(1e-5);
    a.dispose();
    const b = sequential({ seed: 2, layers: [layers.dense({ units: 6, activation: 'relu', inputShape: [10] }), layers.dense({ units: 3 })] });
    expect(await maxDiffVsOrt(b, randn(4 * 10, 4))).toBeLessThan(1e-5);
    b.dispose();
  });

  it('errors name the unsupported layer, and a bad opset', async () => {
    class Lstm extends Layer {
      readonly className = 'LSTM';
      constructor() { super('lstm', {}); }
      protected computeOutputShape(s: number[]) { return s.slice(); }
      plan() { return { y: 0, dx: 0, free() {} }; }
      forward() {}
      backward() {}
    }
    const model = sequential({ seed: 1, layers: [layers.dense({ units: 2, inputShape: [3] }), new Lstm()] });
    await expect(model.toONNX()).rejects.toThrow(/toONNX: layer 'lstm(_\d+)?' \(LSTM\) has no ONNX export; supported layers: Conv2D, Dense/);
    const ok = sequential({ seed: 1, layers: [layers.dense({ units: 2, inputShape: [3] })] });
    await expect(ok.toONNX({ opset: 11 })).rejects.toThrow('toONNX: opset must be an integer from 13 to 21, got 11');
    ok.dispose();
    model.dispose();
    await expect(model.toONNX()).rejects.toThrow(/disposed/);
  });

  it('protobuf writer: varints, negative int64, packed ints, floats', () => {
    const w = new ProtoWriter().int(1, 300).int(3, -1).packedInts(8, [1, 128]).float(2, 1.5).string(4, 'ab');
    expect(Array.from(w.finish())).toEqual([
      0x08, 0xac, 0x02,
      0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x42, 0x03, 0x01, 0x80, 0x01,
      0x15, 0x00, 0x00, 0xc0, 0x3f,
      0x22, 0x02, 0x61, 0x62,
    ]);
  });
});
