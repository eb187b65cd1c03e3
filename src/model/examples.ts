// What fit/evaluate/predict accept as x and y, reduced to one interface the training loop reads
// batches from: a Tensor, or uint8 images normalized per batch (so MNIST stays 47 MB of bytes
// instead of 188 MB of floats), and labels as a Tensor or a plain/typed array of class ids.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { Tensor } from '../tensor.js';

/** uint8 images [count, ...sampleShape], scaled by `scale` (default 1/255) when batched. */
export class Uint8Images {
  readonly count: number;
  constructor(readonly data: Uint8Array, readonly sampleShape: number[], readonly scale = 1 / 255) {
    if (!(data instanceof Uint8Array)) throw argError('uint8Images', 'data', data, 'a Uint8Array');
    if (!Array.isArray(sampleShape) || !sampleShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw argError('uint8Images', 'sampleShape', sampleShape, 'an array of positive integers, e.g. [28, 28, 1]');
    }
    const per = sampleShape.reduce((a, b) => a * b, 1);
    if (data.length % per !== 0) throw argError('uint8Images', 'data', `${data.length} bytes`, `a multiple of ${per} (one [${sampleShape}] image)`);
    this.count = data.length / per;
  }
  get shape(): number[] {
    return [this.count, ...this.sampleShape];
  }
}

/** Wraps uint8 images so fit/evaluate/predict normalize them per batch (pixels·scale, 1/255 by default). */
export function uint8Images(data: Uint8Array, sampleShape: number[], scale = 1 / 255): Uint8Images {
  return new Uint8Images(data, sampleShape, scale);
}

export type XInput = Tensor | Uint8Images;
export type YInput = Tensor | ArrayLike<number>;

/** A source of examples: gathers rows by index into heap buffers. */
export interface Examples {
  count: number;
  sampleShape: number[];
  /** Writes examples idx[start..start+n) into `dst` (byte address, n × sample floats). */
  gather(idx: Int32Array, start: number, n: number, dst: number): void;
  /** A view of examples [from, to) (for validationSplit). */
  slice(from: number, to: number): Examples;
}

function tensorExamples(t: Tensor, from = 0, to = t.shape[0]): Examples {
  const sampleShape = t.shape.slice(1);
  const per = sampleShape.reduce((a, b) => a * b, 1);
  return {
    count: to - from,
    sampleShape,
    gather(idx, start, n, dst) {
      t.check('fit');
      const f = runtime().heap.f32;
      const base = (t.ptr >>> 2) + from * per;
      for (let i = 0; i < n; i++) {
        const s = base + idx[start + i] * per;
        f.copyWithin((dst >>> 2) + i * per, s, s + per);
      }
    },
    slice: (a, b) => tensorExamples(t, from + a, from + b),
  };
}

function uint8Examples(x: Uint8Images, from = 0, to = x.count): Examples {
  const per = x.sampleShape.reduce((a, b) => a * b, 1);
  return {
    count: to - from,
    sampleShape: x.sampleShape,
    gather(idx, start, n, dst) {
      // The batch's bytes are copied into the heap (native copies) and widened there by a SIMD
      // kernel: a JavaScript per-pixel loop took ~0.4 ms per 128 MNIST images, 2% of a step.
      const st = staging(n * per);
      const u8 = runtime().heap.u8;
      for (let i = 0; i < n; i++) {
        const s = (from + idx[start + i]) * per;
        u8.set(x.data.subarray(s, s + per), st + i * per);
      }
      (runtime().kernels as unknown as { u8ToF32(n: number, src: number, dst: number, scale: number): void }).u8ToF32(n * per, st, dst, x.scale);
    },
    slice: (a, b) => uint8Examples(x, from + a, from + b),
  };
}

/** The heap bytes uint8 batches are staged in, grown as needed and kept (one per process). */
let stagingPtr = 0;
let stagingBytes = 0;
function staging(bytes: number): number {
  if (bytes > stagingBytes) {
    const { heap } = runtime();
    if (stagingPtr) heap.free(stagingPtr);
    stagingPtr = heap.alloc(bytes);
    stagingBytes = bytes;
  }
  return stagingPtr;
}

export function toExamples(op: string, arg: string, x: unknown): Examples {
  if (x instanceof Tensor) {
    x.check(op);
    if (x.rank < 1) throw argError(op, arg, x, 'a tensor with a batch dimension first');
    return tensorExamples(x);
  }
  if (x instanceof Uint8Images) return uint8Examples(x);
  throw argError(op, arg, x, 'a Tensor or uint8Images(...)');
}

/** Labels as floats per example: sparse (1 value) or dense (classes values). */
export interface Labels {
  count: number;
  /** Floats per example. */
  width: number;
  values: Float32Array;
  slice(from: number, to: number): Labels;
  gather(idx: Int32Array, start: number, n: number, dst: number): void;
}

function labelsFrom(values: Float32Array, width: number): Labels {
  return {
    count: values.length / width,
    width,
    values,
    slice: (a, b) => labelsFrom(values.subarray(a * width, b * width), width),
    gather(idx, start, n, dst) {
      const f = runtime().heap.f32;
      const d0 = dst >>> 2;
      if (width === 1) {
        for (let i = 0; i < n; i++) f[d0 + i] = values[idx[start + i]];
      } else {
        for (let i = 0; i < n; i++) f.set(values.subarray(idx[start + i] * width, idx[start + i] * width + width), d0 + i * width);
      }
    },
  };
}

export function toLabels(op: string, y: unknown): Labels {
  if (y instanceof Tensor) {
    y.check(op);
    const width = y.rank <= 1 ? 1 : y.shape.slice(1).reduce((a, b) => a * b, 1);
    return labelsFrom(y.dataSync(), width);
  }
  if (Array.isArray(y) && y.length > 0 && y[0] !== null && typeof y[0] === 'object') {
    // Rows as nested arrays (one-hot or probabilities, [[0, 1, 0], …]), as tf.tensor2d would take them.
    const width = (y[0] as ArrayLike<number>).length;
    const bad = y.findIndex((r) => !r || typeof r !== 'object' || (r as ArrayLike<number>).length !== width);
    if (width < 1 || bad >= 0) {
      throw argError(op, 'y', `row ${Math.max(bad, 0)} of length ${(y[Math.max(bad, 0)] as ArrayLike<number> | null)?.length}`, `rows of one length ≥ 1 (row 0 has ${width})`);
    }
    const values = new Float32Array(y.length * width);
    y.forEach((r, i) => values.set(r as ArrayLike<number>, i * width));
    return labelsFrom(values, width);
  }
  if (y && typeof y === 'object' && typeof (y as ArrayLike<number>).length === 'number') {
    return labelsFrom(Float32Array.from(y as ArrayLike<number>), 1);
  }
  throw argError(op, 'y', y, 'a Tensor of labels or an array of class ids');
}
