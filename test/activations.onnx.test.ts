// toONNX of the new activation names: the exported graph (Elu, Selu, Softplus, Softsign, HardSigmoid,
// relu6 as Clip, swish and mish composed of Mul/Sigmoid/Tanh/Softplus, gelu of Erf, gelu_new of
// Tanh) run by onnxruntime-web predicts what predict() does.
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { layers, sequential, tensor, type Tensor } from '../src/index.js';
import { randn } from './helpers/random.js';

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('toONNX with the new activations', () => {
  for (const a of ['elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'mish', 'relu6', 'gelu', 'gelu_new'] as const) {
    it(`${a} in dense and conv2d`, async () => {
      const m = sequential({ seed: 2, layers: [
        layers.conv2d({ filters: 3, kernelSize: 2, activation: a, inputShape: [4, 4, 2] }),
        layers.flatten(), layers.dense({ units: 4, activation: a }),
      ] });
      const x = randn(3 * 32, 5, 2);
      const session = await ort.InferenceSession.create(await m.toONNX());
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [3, 4, 4, 2]) });
      const got = out[session.outputNames[0]].data as Float32Array;
      const t = tensor(x, [3, 4, 4, 2]), want = m.predict(t) as Tensor, w = want.dataSync();
      let d = 0;
      for (let i = 0; i < w.length; i++) d = Math.max(d, Math.abs(got[i] - w[i]));
      expect(d).toBeLessThan(1e-5);
      await session.release();
      want.dispose(); t.dispose(); m.dispose();
    });
  }
});
