// The shape layers' test table (test/shape-layers.test.ts on wasm, test/webgpu.shape-layers.test.ts
// on WebGPU): one line per case, each with its float64 forward and backward reference.
import type { Layer } from '../../src/layers/layer.js';
import { layers } from '../../src/layers/index.js';
import {
  refCrop, refCropBackward, refGlobalPool, refGlobalPoolBackward, refPermute, refPermuteBackward, refUpsample,
  refUpsampleBackward, refZeroPad, refZeroPadBackward, type Shape4,
} from '../../src/reference/shape.js';

type Pads = [[number, number], [number, number]];
export interface ShapeCase {
  name: string;
  make: () => Layer;
  inShape: number[];
  batch: number;
  /** Reference forward (flat, batch included). */
  ref: (x: ArrayLike<number>) => Float64Array;
  /** Reference input gradient. */
  refBack: (x: ArrayLike<number>, dy: ArrayLike<number>) => Float64Array;
  /** Tolerance (max error relative to 1 + |ref|). */
  tol: number;
}

const s4 = (b: number, s: number[]): Shape4 => [b, s[0], s[1], s[2]];
const padsOf = (p: number | [number, number] | Pads): Pads =>
  typeof p === 'number' ? [[p, p], [p, p]] : typeof p[0] === 'number' ? [[p[0], p[0]], [p[1] as number, p[1] as number]] : (p as Pads);

const cases: ShapeCase[] = [];
const add = (c: ShapeCase) => cases.push(c);

// ZeroPadding2D: the three forms, asymmetric, odd sizes, channels 1/3/5/8.
for (const [inShape, padding, batch] of [
  [[3, 5, 1], 1, 1], [[4, 3, 3], [1, 2], 3], [[2, 2, 5], [[0, 2], [1, 0]], 3], [[3, 3, 8], [[2, 1], [0, 3]], 1],
] as [number[], number | [number, number] | Pads, number][]) {
  const p = padsOf(padding);
  add({ name: `zeroPadding2d ${JSON.stringify(padding)} [${inShape}] batch ${batch}`, make: () => layers.zeroPadding2d({ padding }),
    inShape, batch, tol: 0, ref: (x) => refZeroPad(x, s4(batch, inShape), p), refBack: (_x, dy) => refZeroPadBackward(dy, s4(batch, inShape), p) });
}
// Cropping2D.
for (const [inShape, cropping, batch] of [
  [[5, 7, 3], [[1, 2], [0, 3]], 3], [[4, 4, 1], 1, 1], [[5, 6, 5], [2, 1], 3], [[3, 5, 8], [[0, 2], [4, 0]], 1],
] as [number[], number | [number, number] | Pads, number][]) {
  const p = padsOf(cropping);
  add({ name: `cropping2D ${JSON.stringify(cropping)} [${inShape}] batch ${batch}`, make: () => layers.cropping2D({ cropping }),
    inShape, batch, tol: 0, ref: (x) => refCrop(x, s4(batch, inShape), p), refBack: (_x, dy) => refCropBackward(dy, s4(batch, inShape), p) });
}
// UpSampling2D: nearest and bilinear, sizes [2, 2] and [3, 1] (and 3 both ways for bilinear).
for (const interpolation of ['nearest', 'bilinear'] as const) {
  for (const [inShape, size, batch] of [
    [[3, 5, 1], [2, 2], 1], [[2, 3, 3], [3, 1], 3], [[3, 2, 5], [2, 2], 3], [[2, 3, 8], [3, 1], 1], [[3, 3, 5], [3, 3], 1],
  ] as [number[], [number, number], number][]) {
    add({ name: `upSampling2d ${interpolation} [${size}] [${inShape}] batch ${batch}`, make: () => layers.upSampling2d({ size, interpolation }),
      inShape, batch, tol: 1e-6,
      ref: (x) => refUpsample(x, s4(batch, inShape), size, interpolation),
      refBack: (_x, dy) => refUpsampleBackward(dy, s4(batch, inShape), size, interpolation) });
  }
}
// Bilinear with half-pixel centers (Keras 3 / PyTorch align_corners=False): factors 2, 3 and 1 (an
// axis left alone must be the identity), odd sizes and a 1-pixel axis (every tap clamped).
for (const [inShape, size, batch] of [
  [[3, 5, 1], [2, 2], 1], [[2, 3, 3], [3, 1], 3], [[4, 1, 5], [2, 3], 2], [[3, 3, 8], [3, 3], 1], [[1, 4, 2], [4, 2], 1],
] as [number[], [number, number], number][]) {
  add({ name: `upSampling2d bilinear halfPixelCenters [${size}] [${inShape}] batch ${batch}`,
    make: () => layers.upSampling2d({ size, interpolation: 'bilinear', halfPixelCenters: true }), inShape, batch, tol: 1e-6,
    ref: (x) => refUpsample(x, s4(batch, inShape), size, 'bilinear', true),
    refBack: (_x, dy) => refUpsampleBackward(dy, s4(batch, inShape), size, 'bilinear', true) });
}
// Global pooling, with and without keepDims.
for (const mode of ['avg', 'max'] as const) {
  for (const [inShape, keepDims, batch] of [
    [[3, 5, 1], false, 1], [[4, 3, 3], true, 3], [[5, 5, 5], false, 3], [[2, 7, 8], true, 1],
  ] as [number[], boolean, number][]) {
    const make = () => (mode === 'avg' ? layers.globalAveragePooling2d({ keepDims }) : layers.globalMaxPooling2d({ keepDims }));
    add({ name: `global ${mode} pooling keepDims ${keepDims} [${inShape}] batch ${batch}`, make, inShape, batch, tol: 1e-6,
      ref: (x) => refGlobalPool(x, s4(batch, inShape), mode), refBack: (x, dy) => refGlobalPoolBackward(x, dy, s4(batch, inShape), mode) });
  }
}
// Permute: all 6 orders of 3 axes, and rank 2 / 4.
const orders3 = [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];
for (const [i, dims] of orders3.entries()) {
  const inShape = [2, 3, 5], batch = i % 2 ? 3 : 1;
  add({ name: `permute [${dims}] [${inShape}] batch ${batch}`, make: () => layers.permute({ dims }), inShape, batch, tol: 0,
    ref: (x) => refPermute(x, batch, inShape, dims), refBack: (_x, dy) => refPermuteBackward(dy, batch, inShape, dims) });
}
for (const [inShape, dims, batch] of [[[3, 4], [2, 1], 3], [[2, 3, 1, 4], [4, 2, 3, 1], 3]] as [number[], number[], number][]) {
  add({ name: `permute [${dims}] [${inShape}] batch ${batch}`, make: () => layers.permute({ dims }), inShape, batch, tol: 0,
    ref: (x) => refPermute(x, batch, inShape, dims), refBack: (_x, dy) => refPermuteBackward(dy, batch, inShape, dims) });
}
// Rescaling.
for (const [inShape, scale, offset, batch] of [[[2, 3, 3], 1 / 255, -1, 3], [[5], 2, 0, 1], [[3, 1, 8], -0.5, 0.25, 3]] as [number[], number, number, number][]) {
  add({ name: `rescaling ${scale} ${offset} [${inShape}] batch ${batch}`, make: () => layers.rescaling({ scale, offset }), inShape, batch, tol: 1e-6,
    ref: (x) => Float64Array.from(x, (v) => v * scale + offset), refBack: (_x, dy) => Float64Array.from(dy, (v) => v * scale) });
}

export const SHAPE_CASES = cases;

/** Large enough to split over threads (the kernels' parallel paths), wasm only. */
export const THREADED_CASES: ShapeCase[] = [];
{
  const batch = 8, inShape = [64, 64, 8], p: Pads = [[3, 1], [2, 5]], up: [number, number] = [2, 2];
  THREADED_CASES.push(
    { name: `zeroPadding2d ${JSON.stringify(p)} [${inShape}] batch ${batch}`, make: () => layers.zeroPadding2d({ padding: p }), inShape, batch, tol: 0,
      ref: (x) => refZeroPad(x, s4(batch, inShape), p), refBack: (_x, dy) => refZeroPadBackward(dy, s4(batch, inShape), p) },
    { name: `cropping2D ${JSON.stringify(p)} [${inShape}] batch ${batch}`, make: () => layers.cropping2D({ cropping: p }), inShape, batch, tol: 0,
      ref: (x) => refCrop(x, s4(batch, inShape), p), refBack: (_x, dy) => refCropBackward(dy, s4(batch, inShape), p) },
    { name: `upSampling2d bilinear [${up}] [${inShape}] batch ${batch}`, make: () => layers.upSampling2d({ size: up, interpolation: 'bilinear' }),
      inShape, batch, tol: 1e-6, ref: (x) => refUpsample(x, s4(batch, inShape), up, 'bilinear'),
      refBack: (_x, dy) => refUpsampleBackward(dy, s4(batch, inShape), up, 'bilinear') },
    { name: `upSampling2d bilinear halfPixelCenters [${up}] [${inShape}] batch ${batch}`, make: () => layers.upSampling2d({ size: up, interpolation: 'bilinear', halfPixelCenters: true }),
      inShape, batch, tol: 1e-6, ref: (x) => refUpsample(x, s4(batch, inShape), up, 'bilinear', true),
      refBack: (_x, dy) => refUpsampleBackward(dy, s4(batch, inShape), up, 'bilinear', true) },
    { name: `permute [3,1,2] [${inShape}] batch ${batch}`, make: () => layers.permute({ dims: [3, 1, 2] }), inShape, batch, tol: 0,
      ref: (x) => refPermute(x, batch, inShape, [3, 1, 2]), refBack: (_x, dy) => refPermuteBackward(dy, batch, inShape, [3, 1, 2]) },
  );
}
