// The real architectures bench/models.mjs times (bench/models/keras-models.mjs), built by real tfjs
// 4.22: Keras' published parameter counts, layer names and multiply-add counts; the files
// saveTfjsModel writes load in simdcnn (and back in tfjs) with tfjs-cpu's predictions; and the
// depthwise gradient kernels the bench supplies to tfjs-wasm agree with tfjs-cpu's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sc from '../src/index.js';
import { forwardFlops, loadTfjsModel, mobileNetV2, randomizeBatchNorms, resNet20, resNet50, saveTfjsModel } from '../bench/models/keras-models.mjs';
import { checkDepthwiseAgainstCpu, registerDepthwiseGrads } from '../bench/peers/tfjs-conv-grad.mjs';
import { randn } from './helpers/random.js';

let work: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'simdcnn-keras-models-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('bench/models/keras-models.mjs', () => {
  it("ResNet50: keras.applications' 25,636,712 parameters, its layer names, 3.86 G multiply-adds", () => {
    const m = resNet50(tf);
    expect(m.countParams()).toBe(25_636_712);
    const names = m.layers.map((l) => l.name);
    for (const n of ['conv1_pad', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad', 'pool1_pool', 'conv2_block1_0_conv', 'conv2_block1_1_conv',
      'conv2_block1_add', 'conv2_block1_out', 'conv3_block4_out', 'conv4_block6_out', 'conv5_block3_3_bn', 'avg_pool', 'predictions']) expect(names).toContain(n);
    expect(names.filter((n) => n.endsWith('_0_conv'))).toEqual(['conv2_block1_0_conv', 'conv3_block1_0_conv', 'conv4_block1_0_conv', 'conv5_block1_0_conv']);
    expect((m.getLayer('conv1_bn') as unknown as { epsilon: number }).epsilon).toBe(1.001e-5);
    expect(m.outputs[0]!.shape).toEqual([null, 1000]);
    expect(forwardFlops(m) / 2).toBe(3_857_973_248);
    m.dispose();
  });

  it("MobileNetV2: 3,538,984 parameters and 300 M multiply-adds at 1.0/224; alpha, size and classes are parameters", () => {
    const big = mobileNetV2(tf);
    expect(big.countParams()).toBe(3_538_984);
    expect(forwardFlops(big) / 2).toBe(300_774_272);
    big.dispose();
    const small = mobileNetV2(tf, { alpha: 0.35, size: 96, classes: 10 });
    expect(small.inputs[0]!.shape).toEqual([null, 96, 96, 3]);
    expect(small.outputs[0]!.shape).toEqual([null, 10]);
    expect(small.getLayer('Conv1').getWeights()[0]!.shape).toEqual([3, 3, 3, 16]);
    expect(small.getLayer('Conv_1').getWeights()[0]!.shape).toEqual([1, 1, 112, 1280]);
    small.dispose();
    expect(() => mobileNetV2(tf, { size: 16 })).toThrow('mobileNetV2: size must be at least 32 (five stride-2 stages), got 16');
    expect(() => mobileNetV2(tf, { alpha: 0 })).toThrow('mobileNetV2: alpha must be a positive number, got 0');
    expect(() => resNet50(tf, { classes: 2.5 })).toThrow('resNet50: classes must be a positive integer, got 2.5');
  });

  it('ResNet-20: 274,042 parameters, 40.8 M multiply-adds; saved files load in simdcnn and back in tfjs with the same predictions', async () => {
    const m = resNet20(tf);
    randomizeBatchNorms(tf, m, 3);
    // 274,042 with the batch norms' moving statistics, as Keras counts them.
    expect(m.countParams()).toBe(274_042);
    expect(m.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(21);
    expect(forwardFlops(m) / 2).toBe(40_813_184);
    const dir = join(work, 'resnet20');
    const saved = await saveTfjsModel(tf, m, dir);
    expect(saved.weightBytes).toBe((await readFile(join(dir, 'weights.bin'))).length);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const x = randn(3 * 32 * 32 * 3, 11);
    const want = (m.predict(tf.tensor(x, [3, 32, 32, 3])) as tf.Tensor).dataSync();
    const s = await sc.loadLayersModel(dir);
    expect(s.countParams()).toBe(m.countParams());
    const got = (s.predict(sc.tensor(x, [3, 32, 32, 3])) as sc.Tensor).dataSync();
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5);
    const back = await loadTfjsModel(tf, dir);
    expect(maxAbsDiff((back.predict(tf.tensor(x, [3, 32, 32, 3])) as tf.Tensor).dataSync(), want)).toBe(0);
    s.dispose();
    back.dispose();
    m.dispose();
  }, 120_000);

  it("the bench's tfjs-wasm depthwise gradients (tfjs-backend-wasm 4.22 has none) agree with tfjs-cpu's", async () => {
    await tf.setBackend('wasm');
    try {
      registerDepthwiseGrads(tf, 'wasm');
      expect(await checkDepthwiseAgainstCpu(tf)).toBeLessThan(1e-5);
      // And through tfjs' own gradient of the op, on a stride-2 'same' case (MobileNetV2's).
      const x = tf.randomUniform([2, 9, 9, 3], -1, 1, 'float32', 1), f = tf.randomUniform([3, 3, 3, 1], -1, 1, 'float32', 2);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').square().sum());
      const [gx, gf] = grads([x, f]).map((t) => t.dataSync());
      await tf.setBackend('cpu');
      const xc = tf.tensor(x.dataSync(), x.shape), fc = tf.tensor(f.dataSync(), f.shape);
      const [cx, cf] = grads([xc, fc]).map((t) => t.dataSync());
      expect(maxAbsDiff(gx!, cx!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(gf!, cf!)).toBeLessThan(1e-4);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
