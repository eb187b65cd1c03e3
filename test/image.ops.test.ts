// sc.image against TensorFlow.js 4.22 (its CPU backend, the reference kernels): resizeBilinear and
// resizeNearestNeighbor over up- and downscales, odd sizes, 1-pixel sides, every coordinate mode,
// rank 3 and 4; fromPixels on pixel data; normalize against torchvision's formula written out;
// toNCHW / transpose against tfjs' transpose; and the argument errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as sc from '../src/index.js';
import { randn, rng } from './helpers/random.js';

const TOL = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

type Mode = [alignCorners: boolean, halfPixelCenters: boolean];
const MODES: Mode[] = [[false, false], [true, false], [false, true]];
// [input shape, new size]: up, down, mixed, non-integer ratios, 1-pixel in and out, channels 1..5.
const RESIZES: [number[], [number, number]][] = [
  [[4, 4, 1], [8, 8]], [[5, 7, 3], [3, 4]], [[2, 6, 5, 2], [7, 13]], [[3, 9, 11, 3], [224, 5]],
  [[1, 1, 4], [3, 2]], [[6, 5, 3], [1, 1]], [[1, 17, 3, 4], [17, 3]], [[2, 32, 24, 3], [11, 29]],
];

describe('image.resizeBilinear / resizeNearestNeighbor match tfjs 4.22', () => {
  const worst: Record<string, number> = {};
  for (const op of ['resizeBilinear', 'resizeNearestNeighbor'] as const) {
    for (const [shape, size] of RESIZES) {
      for (const [ac, hpc] of MODES) {
        it(`${op} [${shape}] → ${size.join('×')} alignCorners=${ac} halfPixelCenters=${hpc}`, () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const x = randn(n, n + size[0] * 7 + size[1], 100);
          const ours = sc.image[op](sc.tensor(x, shape), size, ac, hpc);
          const theirs = tf.image[op](tf.tensor(x, shape as never) as tf.Tensor4D, size as [number, number], ac, hpc);
          expect(ours.shape).toEqual(theirs.shape);
          const d = maxAbsDiff(ours.dataSync(), theirs.dataSync());
          worst[op] = Math.max(worst[op] ?? 0, d);
          expect(d).toBeLessThanOrEqual(TOL);
          ours.dispose();
          theirs.dispose();
        });
      }
    }
  }
  afterAll(() => {
    console.log(`max |ours − tfjs| over ${RESIZES.length * MODES.length} cases each: ${Object.entries(worst).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });

  it('integer factors without coordinate modes are what UpSampling2D(bilinear) computes', () => {
    const x = sc.tensor(randn(2 * 3 * 4 * 5, 9), [2, 3, 4, 5]);
    const up = sc.sequential({ layers: [sc.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear', inputShape: [3, 4, 5] })] });
    const a = (up.predict(x) as sc.Tensor).dataSync(), b = sc.image.resizeBilinear(x, [6, 12]).dataSync();
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-6);
  });

  it('argument errors name the argument, the value and what was expected', () => {
    const x = sc.zeros([4, 4, 3]);
    expect(() => sc.image.resizeBilinear(sc.zeros([4, 4]), [2, 2])).toThrow('resizeBilinear: images must be rank 3 [height, width, channels] or rank 4 [batch, height, width, channels], got tensor of shape [4, 4]');
    expect(() => sc.image.resizeBilinear(x, [2] as never)).toThrow('resizeBilinear: size must be [newHeight, newWidth], two positive integers, got [2]');
    expect(() => sc.image.resizeNearestNeighbor(x, [0, 2])).toThrow('resizeNearestNeighbor: size must be [newHeight, newWidth], two positive integers, got [0, 2]');
    expect(() => sc.image.resizeBilinear(x, [2, 2.5])).toThrow('got [2, 2.5]');
    expect(() => sc.image.resizeBilinear(x, [2, 2], true, true)).toThrow('resizeBilinear: alignCorners and halfPixelCenters are both true');
    expect(() => sc.image.resizeBilinear(x, [2, 2], 'yes' as never)).toThrow("resizeBilinear: alignCorners must be a boolean, got 'yes'");
    expect(() => sc.image.resizeBilinear(sc.zeros([0, 4, 3]), [2, 2])).toThrow('height, width and channels of at least 1, got tensor of shape [0, 4, 3]');
    expect(() => sc.image.resizeBilinear([[1]] as never, [2, 2])).toThrow('resizeBilinear: images must be a Tensor');
    x.dispose();
    expect(() => sc.image.resizeBilinear(x, [2, 2])).toThrow('resizeBilinear: the tensor of shape [4,4,3] was already disposed');
  });
});

describe('browser.fromPixels on pixel data', () => {
  it('matches tfjs for 1, 3 and 4 channels (values 0..255; float32 here, int32 in tfjs)', () => {
    const r = rng(5);
    const w = 7, h = 5;
    const data = Uint8Array.from({ length: w * h * 4 }, () => Math.floor(r() * 256));
    for (const c of [1, 3, 4]) {
      const ours = sc.browser.fromPixels({ data, width: w, height: h }, c);
      const theirs = tf.browser.fromPixels({ data, width: w, height: h }, c);
      expect(theirs.dtype).toBe('int32');
      expect(ours.dtype).toBe('float32');
      expect(ours.shape).toEqual([h, w, c]);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(theirs.dataSync()));
    }
    expect(sc.browser.fromPixels({ data, width: w, height: h }).shape).toEqual([h, w, 3]);
    // ImageData's Uint8ClampedArray, and the default numChannels = 3.
    const clamped = new Uint8ClampedArray(data);
    expect(Array.from(sc.browser.fromPixels({ data: clamped, width: w, height: h }).dataSync())).toEqual(Array.from(tf.browser.fromPixels({ data, width: w, height: h }).dataSync()));
  });

  it('bad input is an Error naming what was wrong', () => {
    const data = new Uint8Array(2 * 2 * 4);
    expect(() => sc.browser.fromPixels({ data, width: 2, height: 2 }, 2)).toThrow('fromPixels: numChannels must be 1 (red), 3 (RGB) or 4 (RGBA), got 2');
    expect(() => sc.browser.fromPixels({ data, width: 3, height: 2 })).toThrow('fromPixels: pixels.data must be RGBA bytes, 4 per pixel: 3·2·4 = 24, got 16 bytes');
    expect(() => sc.browser.fromPixels({ data, width: 0, height: 2 })).toThrow('fromPixels: pixels.width/height must be two positive integers, got [0, 2]');
    expect(() => sc.browser.fromPixels({ data: [1, 2, 3, 4], width: 1, height: 1 } as never)).toThrow('fromPixels: pixels must be ImageData, an HTMLImageElement');
    expect(() => sc.browser.fromPixels({ data: [1, 2, 3, 4], width: 1, height: 1 } as never)).toThrow('got a Object whose data is Array');
    expect(() => sc.browser.fromPixels(null as never)).toThrow('fromPixels: pixels must be ImageData');
    expect(() => sc.browser.fromPixels(new Map() as never)).toThrow('got a Map');
  });
});

describe('image.normalize', () => {
  it("'imagenet' is torchvision's ToTensor + Normalize on 0..255 RGB pixels", () => {
    const px = Float32Array.from(randn(2 * 3 * 4 * 3, 3, 1), (v) => Math.round((v + 1) * 127.5));
    const y = sc.image.normalize(sc.tensor(px, [2, 3, 4, 3]), 'imagenet').dataSync();
    const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
    // torchvision in float32: x/255, then (x − mean)/std.
    const f = Math.fround;
    let worst = 0;
    for (let i = 0; i < px.length; i++) worst = Math.max(worst, Math.abs(y[i]! - f(f(f(px[i]! / 255) - f(mean[i % 3]!)) / f(std[i % 3]!))));
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(sc.image.IMAGENET_MEAN).toEqual(mean);
  });

  it('{mean, std} per channel or shared, on the last axis', () => {
    const x = sc.tensor([10, 20, 30, 40, 50, 60], [1, 2, 3]);
    expect(Array.from(sc.image.normalize(x, { mean: [10, 20, 30], std: [1, 2, 5] }).dataSync())).toEqual([0, 0, 0, 30, 15, 6]);
    expect(Array.from(sc.image.normalize(x, { mean: 127.5, std: 127.5 }).dataSync()).map((v) => +v.toFixed(6))).toEqual([10, 20, 30, 40, 50, 60].map((v) => +((v - 127.5) / 127.5).toFixed(6)));
  });

  it('errors', () => {
    const x = sc.zeros([2, 2, 3]);
    expect(() => sc.image.normalize(x, { mean: [1, 2], std: 1 })).toThrow('normalize: mean must be a finite number or an array of 3 (one per channel: the images\' last axis has 3), got [1, 2]');
    expect(() => sc.image.normalize(x, { mean: 0, std: [1, 0, 1] })).toThrow('normalize: std must be a positive number or an array of 3');
    expect(() => sc.image.normalize(x, 'imagnet' as never)).toThrow("normalize: stats must be 'imagenet' or {mean, std} (each a number or 3 numbers, one per channel), got 'imagnet'");
    expect(() => sc.image.normalize(sc.zeros([2, 2, 1]), 'imagenet')).toThrow("normalize: images must be RGB images (3 channels on the last axis) for the 'imagenet' statistics, got tensor of shape [2, 2, 1]");
  });
});

describe('image.toNCHW and transpose match tfjs', () => {
  it('toNCHW is tf.transpose(x, [0, 3, 1, 2]) (rank 3: [2, 0, 1])', () => {
    const x = randn(2 * 3 * 4 * 5, 11);
    const ours = sc.image.toNCHW(sc.tensor(x, [2, 3, 4, 5]));
    expect(ours.shape).toEqual([2, 5, 3, 4]);
    expect(Array.from(ours.dataSync())).toEqual(Array.from(tf.transpose(tf.tensor(x, [2, 3, 4, 5]), [0, 3, 1, 2]).dataSync()));
    const x3 = x.subarray(0, 60);
    expect(Array.from(sc.image.toNCHW(sc.tensor(x3, [3, 4, 5])).dataSync())).toEqual(Array.from(tf.transpose(tf.tensor(x3, [3, 4, 5]), [2, 0, 1]).dataSync()));
    expect(() => sc.image.toNCHW(sc.zeros([2, 2]))).toThrow('toNCHW: images must be a tensor of rank 3 [height, width, channels] or rank 4 [batch, height, width, channels], got tensor of shape [2, 2]');
  });

  it('transpose: every permutation of a rank-4 tensor, the default reversal, ranks 0..6', () => {
    const shape = [2, 3, 4, 5];
    const x = randn(120, 12);
    const perms: number[][] = [];
    const rec = (p: number[]) => (p.length === 4 ? perms.push(p) : [0, 1, 2, 3].filter((a) => !p.includes(a)).forEach((a) => rec([...p, a])));
    rec([]);
    expect(perms).toHaveLength(24);
    for (const p of perms) {
      const ours = sc.transpose(sc.tensor(x, shape), p);
      const theirs = tf.transpose(tf.tensor(x, shape), p);
      expect(ours.shape).toEqual(theirs.shape);
      expect(Array.from(ours.dataSync()), `perm [${p}]`).toEqual(Array.from(theirs.dataSync()));
    }
    for (const s of [[], [7], [3, 4], [2, 1, 3, 2, 2], [2, 1, 2, 3, 1, 2]]) {
      const n = s.reduce((a, b) => a * b, 1), v = randn(n, 13);
      expect(Array.from(sc.transpose(sc.tensor(v, s)).dataSync()), `[${s}]`).toEqual(Array.from(tf.transpose(tf.tensor(v, s)).dataSync()));
    }
    expect(() => sc.transpose(sc.zeros([2, 3]), [0, 0])).toThrow('transpose: perm must be a permutation of [0,1] (one entry per axis of x, shape [2,3]), got [0, 0]');
    expect(() => sc.transpose(sc.zeros([1, 1, 1, 1, 1, 1, 2]))).toThrow('transpose: x must be a tensor of rank at most 6');
  });
});
