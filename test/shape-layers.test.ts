// The shape layers (global pooling, zero padding, cropping, upsampling, reshape, permute,
// rescaling, spatial dropout) driven directly through the layer contract (buildFrom, plan,
// forward, backward) on the wasm kernels, against the float64 references in
// src/reference/shape.ts (table: test/helpers/shape-cases.ts), plus their argument errors.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, runtime, setThreads } from '../src/backend/runtime.js';
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { createRng } from '../src/data/batches.js';
import { layers } from '../src/layers/index.js';
import type { Layer, StepContext } from '../src/layers/layer.js';
import { SpatialDropout2D } from '../src/layers/preprocessing.js';
import { SHAPE_CASES, THREADED_CASES } from './helpers/shape-cases.js';
import { maxRelErr, randn } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);

/** Builds, plans (training), runs forward then backward; y and dx start as garbage (they must be overwritten). */
function runLayer(layer: Layer, inShape: number[], batch: number, x: Float32Array, dy: Float32Array, training = true) {
  const { heap } = runtime();
  layer.buildFrom([inShape]);
  const outN = batch * size(layer.outShape), inN = batch * size(inShape);
  const px = heapArray(x), py = heapArray(new Float32Array(outN).fill(NaN)), pdx = heapArray(new Float32Array(inN).fill(1234.5));
  const pdy = heapArray(dy);
  const ctx: StepContext = { k: wasmKernels, params: 0, grads: 0, batch, training, logits: false, weightsVersion: 0 };
  const buf = layer.plan(wasmKernels, batch, training, { y: py, dx: pdx });
  layer.forward(ctx, buf, px);
  const y = read(py, outN);
  layer.backward(ctx, buf, px, pdy);
  const dx = read(pdx, inN);
  buf.free();
  for (const p of [px, py, pdx, pdy]) heap.free(p);
  return { y, dx };
}

describe('shape layers vs float64 reference (wasm)', () => {
  for (const c of SHAPE_CASES) {
    it(c.name, () => {
      const inN = c.batch * size(c.inShape);
      const x = randn(inN, inN * 7 + c.name.length, 2);
      const yRef = c.ref(x);
      const dy = randn(yRef.length, inN + 13);
      const run = runLayer(c.make(), c.inShape, c.batch, x, dy);
      expect(run.y.length).toBe(yRef.length);
      expect(maxRelErr(run.y, yRef)).toBeLessThanOrEqual(c.tol);
      expect(maxRelErr(run.dx, c.refBack(x, dy))).toBeLessThanOrEqual(c.tol);
    });
  }
});

describe('shape layers split over threads: same bits as one thread, and the reference', () => {
  afterAll(() => setThreads(2));
  for (const c of THREADED_CASES) {
    it(c.name, () => {
      const inN = c.batch * size(c.inShape);
      const x = randn(inN, 11, 2);
      const yRef = c.ref(x);
      const dy = randn(yRef.length, 12);
      setThreads(1);
      const one = runLayer(c.make(), c.inShape, c.batch, x, dy);
      setThreads(4);
      expect(getThreads()).toBe(4);
      const four = runLayer(c.make(), c.inShape, c.batch, x, dy);
      expect(four.y).toEqual(one.y);
      expect(four.dx).toEqual(one.dx);
      expect(maxRelErr(four.y, yRef)).toBeLessThanOrEqual(c.tol);
      expect(maxRelErr(four.dx, c.refBack(x, dy))).toBeLessThanOrEqual(c.tol);
    });
  }
});

describe('reshape', () => {
  it.each([
    [[2, 3, 4], [-1, 4], [6, 4]], [[2, 3, 4], [4, 3, 2], [4, 3, 2]], [[12], [2, -1, 3], [2, 2, 3]], [[5, 1, 3], [-1], [15]],
  ])('[%j] to %j is %j, a view', (inShape, targetShape, out) => {
    const l = layers.reshape({ targetShape });
    l.buildFrom([inShape]);
    expect(l.outShape).toEqual(out);
    expect(l.outputIsInput).toBe(true);
  });
  it('a size mismatch names both shapes', () => {
    const l = layers.reshape({ targetShape: [5, -1] });
    expect(() => l.buildFrom([[2, 3, 4]])).toThrow(/targetShape \[5,-1\] does not fit the input shape \[2,3,4\]/);
    const l2 = layers.reshape({ targetShape: [5, 5] });
    expect(() => l2.buildFrom([[2, 3, 4]])).toThrow(/\[5,5\].*\[2,3,4\]/);
  });
});

describe('spatialDropout2d', () => {
  it('drops whole channels per example, scales kept ones by 1/(1-rate), and routes dy through the same mask', () => {
    const rate = 0.5, inShape = [3, 4, 5], batch = 3;
    const l = new SpatialDropout2D({ rate });
    l.rng = createRng(7);
    const x = randn(batch * size(inShape), 5, 2), dy = randn(x.length, 6);
    const { y, dx } = runLayer(l, inShape, batch, x, dy);
    let dropped = 0, kept = 0;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < 5; c++) {
        const f: number[] = [];
        for (let p = 0; p < 12; p++) {
          const i = (b * 12 + p) * 5 + c;
          f.push(y[i] === 0 ? 0 : y[i] / x[i]);
          expect(dx[i]).toBeCloseTo(dy[i] * (y[i] === 0 ? 0 : 2), 6);
        }
        expect(new Set(f.map((v) => v.toFixed(5))).size).toBe(1);
        if (f[0] === 0) dropped++; else { kept++; expect(f[0]).toBeCloseTo(2, 6); }
      }
    }
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
  });
  it('is the identity in inference', () => {
    const l = new SpatialDropout2D({ rate: 0.4 });
    const x = randn(2 * 18, 3);
    const { y } = runLayer(l, [3, 3, 2], 2, x, x, false);
    expect(Array.from(y)).toEqual(Array.from(x));
  });
});

describe('shape layer argument errors', () => {
  it.each([
    ['channels_first', () => layers.zeroPadding2d({ dataFormat: 'channelsFirst' as never }), /zero_padding2d.*dataFormat.*NHWC only.*got 'channelsFirst'/],
    ['channels_first (upsampling)', () => layers.upSampling2d({ dataFormat: 'channels_first' as never }), /dataFormat.*channels_first/],
    ['padding form', () => layers.zeroPadding2d({ padding: [1, 2, 3] as never }), /padding must be .*got \[1, 2, 3\]/],
    ['negative padding', () => layers.zeroPadding2d({ padding: -1 }), /padding must be a non-negative integer/],
    ['size 0', () => layers.upSampling2d({ size: 0 }), /up_sampling2d.*size must be a positive integer.*got 0/],
    ['size negative', () => layers.upSampling2d({ size: [2, -1] }), /size must be a positive integer.*got -1/],
    ['interpolation', () => layers.upSampling2d({ interpolation: 'bicubic' as never }), /interpolation must be 'nearest' or 'bilinear', got 'bicubic'/],
    ['halfPixelCenters type', () => layers.upSampling2d({ interpolation: 'bilinear', halfPixelCenters: 1 as never }), /halfPixelCenters must be a boolean, got 1/],
    ['halfPixelCenters with nearest', () => layers.upSampling2d({ halfPixelCenters: true }), /halfPixelCenters must be false with interpolation 'nearest'.*got true/],
    ['permute not a permutation', () => layers.permute({ dims: [1, 1, 2] }), /permute.*dims must be a permutation of 1..rank.*got \[1, 1, 2\]/],
    ['permute 0-based', () => layers.permute({ dims: [0, 1] }), /dims must be a permutation/],
    ['two -1', () => layers.reshape({ targetShape: [-1, -1] }), /targetShape must be .*at most one of them −1/],
    ['rate', () => layers.spatialDropout2d({ rate: 1 }), /rate must be a number in \[0, 1\)/],
    ['scale', () => layers.rescaling({ scale: 'x' as never }), /scale must be a finite number/],
  ])('%s', (_what, make, re) => {
    expect(make).toThrow(re);
  });
  it('cropping more than the input names the layer, the cropping and the input shape', () => {
    const l = layers.cropping2D({ name: 'crop', cropping: [[2, 3], [0, 0]] });
    expect(() => l.buildFrom([[5, 4, 3]])).toThrow(/crop: cropping \[\[2, 3\], \[0, 0\]\].*input shape \[5,4,3\]/);
    expect(() => layers.cropping2d({ cropping: [1, 2] }).buildFrom([[6, 4, 1]])).toThrow(/cropping \[\[1, 1\], \[2, 2\]\].*\[6,4,1\]/);
  });
  it('permute of the wrong rank and image layers on non-images', () => {
    expect(() => layers.permute({ dims: [2, 1] }).buildFrom([[2, 3, 4]])).toThrow(/dims.*1..3.*\[2,3,4\]/);
    expect(() => layers.globalMaxPooling2d().buildFrom([[4, 4]])).toThrow(/input shape must be \[height, width, channels\]/);
  });
});
