// Argument parsing shared by the shape layers (global pooling, padding, cropping, upsampling,
// reshape, permute, spatial dropout): NHWC only, Keras' padding/cropping forms.

import { argError } from '../errors.js';

/** Accepts channels-last (either spelling) or nothing; channels_first is an Error saying so. */
export function checkDataFormat(layer: string, v: unknown): void {
  if (v === undefined || v === null || v === 'channelsLast' || v === 'channels_last') return;
  throw argError(layer, 'dataFormat', v, "'channelsLast' (simdcnn runs NHWC only; channels_first is not supported)");
}

/** The per-example input must be [height, width, channels]. */
export function checkImageShape(layer: string, inShape: number[]): void {
  if (inShape.length !== 3) throw argError(layer, 'input shape', inShape, '[height, width, channels] (rank 3 per example)');
}

/** [[top, bottom], [left, right]] from a number, [h, w] or [[top, bottom], [left, right]] (non-negative integers). */
export function padPairs(layer: string, arg: string, v: unknown): [[number, number], [number, number]] {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  const expected = 'a non-negative integer, [height, width] or [[top, bottom], [left, right]] of non-negative integers';
  if (ok(v)) return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    if (ok(v[0]) && ok(v[1])) return [[v[0], v[0]], [v[1], v[1]]];
    const [a, b] = v as unknown[];
    if (Array.isArray(a) && Array.isArray(b) && a.length === 2 && b.length === 2 && [...a, ...b].every(ok)) {
      return [[a[0], a[1]], [b[0], b[1]]];
    }
  }
  throw argError(layer, arg, v, expected);
}

/** Row-major strides of a shape. */
export function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
}
