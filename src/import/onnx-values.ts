// The values an ONNX graph computes while it is converted: constants (initializers, Constant nodes
// and the shape arithmetic exporters emit, folded here at load) and symbolic tensors (our layers'
// outputs). A symbolic tensor keeps its ONNX shape and a layout: `perm[i]` is the ONNX axis held
// by our internal axis i, so an NCHW activation lives as NHWC (perm [0, 2, 3, 1]) and a Transpose,
// Squeeze or Unsqueeze changes the bookkeeping, not the data. Shape arithmetic may involve the
// batch size, unknown until predict: an integer element is then a multiple of it (BatchDim).

import type { SymbolicTensor } from '../layers/layer.js';

/** k · batch: a shape element that depends on the (free) batch size. */
export interface BatchDim {
  batch: number;
}
export type IntEl = number | BatchDim;
export const isBatchDim = (v: unknown): v is BatchDim => typeof v === 'object' && v !== null && 'batch' in v;
export const showEl = (v: IntEl): string => (isBatchDim(v) ? (v.batch === 1 ? 'batch' : `${v.batch}·batch`) : String(v));

export interface Const {
  kind: 'const';
  dims: number[];
  /** float tensors: Float32Array; integer and bool tensors: Numbers (or batch multiples). */
  data: Float32Array | IntEl[];
}

export interface Sym {
  kind: 'sym';
  st: SymbolicTensor;
  /** The ONNX shape; shape[0] (the batch) is −1. */
  shape: number[];
  /** Internal axis i holds ONNX axis perm[i]; perm[0] = 0 (the batch stays first). */
  perm: number[];
  /**
   * A flatten whose features are still in the internal order: this tensor is [N, F] with F in the
   * order of `shape` laid out by `perm` (e.g. HWC), while ONNX numbers them in `shape`'s own order
   * (CHW). A Gemm after it permutes its weight rows once instead of the data every step.
   */
  flat?: { shape: number[]; perm: number[] };
  /** Every element is ≥ 0 (ReLU, sigmoid…): zero padding then equals max pooling's −∞ padding. */
  nonNeg: boolean;
}

export type Value = Const | Sym;

export const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
export const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
export const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
/** NHWC's internal order of an NCHW tensor. */
export const NHWC = [0, 2, 3, 1];

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let k = dims.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= dims[k];
  }
  return s;
}

/** The internal (per-example) shape of an ONNX shape laid out by perm. */
export const internalShape = (shape: readonly number[], perm: readonly number[]): number[] => perm.slice(1).map((a) => shape[a]);

/** For each element of the internal layout (row-major), the index of the same element in ONNX's row-major order (batch excluded). */
export function onnxIndexOfInternal(shape: readonly number[], perm: readonly number[]): Int32Array {
  const dims = internalShape(shape, perm);
  const onnxStrides = stridesOf(shape.slice(1));
  const s = perm.slice(1).map((a) => onnxStrides[a - 1]);
  const n = size(dims);
  const out = new Int32Array(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let f = 0; f < n; f++) {
    let o = 0;
    for (let k = 0; k < dims.length; k++) o += idx[k] * s[k];
    out[f] = o;
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** data (row-major over dims) transposed: output axis j is input axis perm[j]. */
export function transposeData<T extends Float32Array | IntEl[]>(data: T, dims: readonly number[], perm: readonly number[]): T {
  const outDims = perm.map((a) => dims[a]);
  const inS = stridesOf(dims);
  const s = perm.map((a) => inS[a]);
  const n = size(outDims);
  const out = (data instanceof Float32Array ? new Float32Array(n) : new Array<IntEl>(n)) as T;
  const idx = new Array<number>(outDims.length).fill(0);
  for (let f = 0; f < n; f++) {
    let o = 0;
    for (let k = 0; k < outDims.length; k++) o += idx[k] * s[k];
    out[f] = data[o];
    for (let k = outDims.length - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** numpy broadcasting of two shapes, or undefined. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The flat index into a tensor of dims `from` for each element of the broadcast shape `to`. */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const r = to.length;
  const padded = [...new Array<number>(r - from.length).fill(1), ...from];
  const s = stridesOf(padded).map((x, i) => (padded[i] === 1 ? 0 : x));
  const n = size(to);
  const out = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let f = 0; f < n; f++) {
    let o = 0;
    for (let k = 0; k < r; k++) o += idx[k] * s[k];
    out[f] = o;
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < to[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}
