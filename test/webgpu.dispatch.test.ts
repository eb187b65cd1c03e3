// The public ops follow the backend: after setBackend('webgpu') they return GPU tensors (read
// with await data(); dataSync() says so), and setBackend('wasm') brings back wasm tensors.
import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, GpuTensor, matMul, relu, setBackend, tensor, Tensor } from '../src/index.js';
import { maxRelErr, randn } from './helpers/random.js';

describe('public ops route through the backend', () => {
  afterAll(async () => { await setBackend('wasm'); });

  it('matMul, conv2d and relu run on WebGPU after setBackend and agree with wasm', async () => {
    const a = tensor(randn(7 * 13, 1), [7, 13]), b = tensor(randn(13 * 9, 2), [13, 9]);
    const x = tensor(randn(2 * 6 * 6 * 3, 3), [2, 6, 6, 3]), f = tensor(randn(3 * 3 * 3 * 4, 4), [3, 3, 3, 4]);
    await setBackend('wasm');
    const want = [matMul(a, b).dataSync(), conv2d(x, f, 1, 'same').dataSync(), relu(a).dataSync()];
    expect(await setBackend('webgpu')).toBe('webgpu');
    const got = [matMul(a, b), conv2d(x, f, 1, 'same'), relu(a)];
    for (let i = 0; i < got.length; i++) {
      expect(got[i]).toBeInstanceOf(GpuTensor);
      expect(() => got[i].dataSync()).toThrow(/await .*data\(\)/);
      expect(maxRelErr(await got[i].data(), want[i])).toBeLessThan(1e-4);
      got[i].dispose();
    }
    await setBackend('wasm');
    const back = matMul(a, b);
    expect(back).toBeInstanceOf(Tensor);
    expect(back).not.toBeInstanceOf(GpuTensor);
    expect(Array.from(back.dataSync())).toEqual(Array.from(want[0]));
    for (const t of [a, b, x, f, back]) t.dispose();
  });
});
