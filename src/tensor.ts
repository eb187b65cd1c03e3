// A float32 tensor whose values live in the wasm heap, so ops hand addresses straight to the
// kernels with no copy. Memory is explicit, as in TensorFlow.js: dispose() or tidy().

import { runtime } from './backend/runtime.js';
import { argError, describe } from './errors.js';

export type Shape = number[];
export type Rank = 0 | 1 | 2 | 3 | 4 | number;

const scopes: Set<Tensor>[] = [];
let liveTensors = 0;
let liveBytes = 0;

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  readonly dtype = 'float32' as const;
  /** @internal byte address of the values in the wasm heap. */
  readonly ptr: number;
  private disposed = false;

  /** @internal use tensor() / ops; takes ownership of `ptr` (size floats). */
  constructor(shape: Shape, ptr: number) {
    this.shape = shape.slice();
    this.size = sizeOf(shape);
    this.ptr = ptr;
    liveTensors++;
    liveBytes += this.size * 4;
    scopes[scopes.length - 1]?.add(this);
  }

  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal throws if the tensor was disposed. */
  check(op: string): this {
    if (this.disposed) throw new Error(`${op}: the tensor of shape [${this.shape}] was already disposed`);
    return this;
  }

  /** A copy of the values, row-major. */
  dataSync(): Float32Array {
    this.check('dataSync');
    return runtime().heap.readF32(this.ptr, this.size);
  }
  async data(): Promise<Float32Array> {
    return this.dataSync();
  }
  /** The values as nested arrays. */
  arraySync(): unknown {
    const d = this.dataSync();
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return d[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }
  async array(): Promise<unknown> {
    return this.arraySync();
  }

  /** Same values, new shape (one dimension may be -1). Copies, so both tensors own their memory. */
  reshape(shape: Shape): Tensor {
    this.check('reshape');
    const resolved = resolveShape('reshape', shape, this.size);
    const out = allocTensor(resolved);
    runtime().heap.f32.copyWithin(out.ptr >>> 2, this.ptr >>> 2, (this.ptr >>> 2) + this.size);
    return out;
  }
  flatten(): Tensor {
    return this.reshape([this.size]);
  }
  clone(): Tensor {
    return this.reshape(this.shape);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
    liveTensors--;
    liveBytes -= this.size * 4;
    for (const s of scopes) s.delete(this);
  }

  /** @internal frees the storage of the values (a GPU tensor releases its buffer instead). */
  protected release(): void {
    runtime().heap.free(this.ptr);
  }

  toString(): string {
    return `Tensor float32 [${this.shape}] ${describe(Array.from(this.dataSync().slice(0, 16)))}${this.size > 16 ? '…' : ''}`;
  }
  print(): void {
    console.log(this.toString());
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function resolveShape(op: string, shape: Shape, size: number): Shape {
  if (!Array.isArray(shape)) throw argError(op, 'shape', shape, 'an array of non-negative integers');
  const unknown = shape.filter((d) => d === -1).length;
  for (const d of shape) {
    if (d !== -1 && (!Number.isInteger(d) || d < 0)) throw argError(op, 'shape', shape, 'an array of non-negative integers (at most one -1)');
  }
  if (unknown > 1) throw argError(op, 'shape', shape, 'at most one -1');
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || size % known !== 0) throw argError(op, 'shape', shape, `a shape whose size divides ${size}`);
    return shape.map((d) => (d === -1 ? size / known : d));
  }
  if (sizeOf(shape) !== size) throw argError(op, 'shape', shape, `a shape of size ${size}`);
  return shape;
}

/** @internal a tensor with uninitialised values. */
export function allocTensor(shape: Shape): Tensor {
  return new Tensor(shape, runtime().heap.alloc(sizeOf(shape) * 4));
}

type NestedArray = number | NestedArray[];

function inferShape(values: NestedArray): Shape {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] as NestedArray;
  }
  return shape;
}

function flattenValues(values: NestedArray | ArrayLike<number>, out: number[]): void {
  if (typeof values === 'number') {
    out.push(values);
  } else if (Array.isArray(values)) {
    for (const v of values) flattenValues(v, out);
  } else {
    for (let i = 0; i < values.length; i++) out.push(values[i]);
  }
}

/** tf.tensor: from nested arrays, a flat array or a typed array, with an optional shape. */
export function tensor(values: NestedArray | ArrayLike<number>, shape?: Shape): Tensor {
  let flat: ArrayLike<number>;
  if (ArrayBuffer.isView(values)) {
    flat = values as unknown as ArrayLike<number>;
  } else {
    const out: number[] = [];
    flattenValues(values as NestedArray, out);
    flat = out;
  }
  const inferred = Array.isArray(values) ? inferShape(values as NestedArray) : [flat.length];
  if (shape === undefined) {
    if (sizeOf(inferred) !== flat.length) throw argError('tensor', 'values', values, 'a rectangular nested array');
    shape = inferred;
  } else {
    shape = resolveShape('tensor', shape, flat.length);
  }
  const t = allocTensor(shape);
  runtime().heap.writeF32(t.ptr, flat);
  return t;
}

function rankTensor(rank: number, name: string) {
  return (values: NestedArray | ArrayLike<number>, shape?: Shape): Tensor => {
    const t = tensor(values, shape);
    if (t.rank !== rank) {
      t.dispose();
      throw argError(name, 'values', values, `rank ${rank} (or give a shape of rank ${rank})`);
    }
    return t;
  };
}
export const scalar = (v: number): Tensor => tensor([v], []);
export const tensor1d = rankTensor(1, 'tensor1d');
export const tensor2d = rankTensor(2, 'tensor2d');
export const tensor3d = rankTensor(3, 'tensor3d');
export const tensor4d = rankTensor(4, 'tensor4d');

export function fill(shape: Shape, value: number): Tensor {
  const t = allocTensor(resolveShape('fill', shape, sizeOf(shape)));
  runtime().heap.f32.fill(value, t.ptr >>> 2, (t.ptr >>> 2) + t.size);
  return t;
}
export const zeros = (shape: Shape): Tensor => fill(shape, 0);
export const ones = (shape: Shape): Tensor => fill(shape, 1);

/** tf.tidy: disposes every tensor created in fn except those it returns (or keep()s). */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  for (const t of kept) if (scope.has(t)) scopes[scopes.length - 1]?.add(t);
  return result;
}

function collect(v: unknown, into: Set<Tensor>): void {
  if (v instanceof Tensor) into.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, into);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, into);
}

/** tf.keep: exempts a tensor from the enclosing tidy(). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

export function dispose(x: Tensor | Tensor[] | Record<string, Tensor>): void {
  const all = new Set<Tensor>();
  collect(x, all);
  for (const t of all) t.dispose();
}

/** tf.memory(): live tensors and their bytes. */
export function memory(): { numTensors: number; numBytes: number; numBytesInHeap: number } {
  return { numTensors: liveTensors, numBytes: liveBytes, numBytesInHeap: runtime().heap.bytesInUse };
}
