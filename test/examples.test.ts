// uint8Images batches are widened to f32 in wasm (bytes staged into the heap, u8ToF32). The values
// must be exactly what the JavaScript formula Float32Array.of(byte * scale) gives, for any scale,
// any order of examples and any size (including sizes that are not a multiple of 4).
import { describe, expect, it } from 'vitest';
import { runtime } from '../src/backend/runtime.js';
import { toExamples, uint8Images } from '../src/model/examples.js';
import { rng } from './helpers/random.js';

describe('uint8Images gather', () => {
  const cases: [string, number[], number, number][] = [
    ['MNIST-like, scale 1/255', [28, 28, 1], 1 / 255, 37],
    ['5 bytes per example, scale 1', [5], 1, 9],
    ['3×3×3, scale 0.1 (inexact in f32)', [3, 3, 3], 0.1, 13],
    ['negative scale', [2, 3], -1 / 3, 7],
  ];
  for (const [name, shape, scale, count] of cases) {
    it(name, () => {
      const per = shape.reduce((a, b) => a * b, 1);
      const r = rng(count);
      const data = Uint8Array.from({ length: count * per }, () => Math.floor(r() * 256));
      data[0] = 255;
      data[1 % data.length] = 0;
      const ex = toExamples('test', 'x', uint8Images(data, shape, scale));
      const idx = Int32Array.from({ length: count }, (_, i) => (i * 5 + 3) % count);
      const { heap } = runtime();
      const n = count - 2, dst = heap.alloc(n * per * 4);
      ex.gather(idx, 1, n, dst);
      const got = heap.readF32(dst, n * per);
      const want = new Float32Array(n * per);
      for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) want[i * per + j] = data[idx[1 + i] * per + j] * scale;
      expect(Array.from(got)).toEqual(Array.from(want));
      heap.free(dst);
    });
  }
});
