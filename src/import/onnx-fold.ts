// Constant folding: the operators an exporter uses for shape arithmetic (x.view(x.size(0), -1),
// channel_shuffle's x.size() / groups, chunk's split points) and for constants, evaluated at load
// on constant inputs. Integer elements may be multiples of the batch size (BatchDim): Shape of a
// symbolic tensor starts with one, and arithmetic carries it where the result stays a multiple;
// anything else about the batch (batch + 1, batch²) is an Error, since the model must run at any
// batch size.

import { broadcastDims, broadcastIndex, isBatchDim, showEl, size, stridesOf, transposeData, type BatchDim, type Const, type IntEl } from './onnx-values.js';

export const isFloatConst = (c: Const): c is Const & { data: Float32Array } => c.data instanceof Float32Array;

export function floatConst(dims: number[], data: ArrayLike<number>): Const {
  return { kind: 'const', dims, data: Float32Array.from(data) };
}
export function intConst(dims: number[], data: IntEl[]): Const {
  return { kind: 'const', dims, data };
}

/** The elements as plain Numbers; an Error (naming `what`) where one depends on the batch. */
export function numbersOf(c: Const, what: string): number[] {
  const out: number[] = [];
  const data = c.data as ArrayLike<IntEl>;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (isBatchDim(v)) throw new Error(`${what} depends on the batch size (${showEl(v)}); it must be a constant`);
    out.push(v);
  }
  return out;
}

type Op = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Equal' | 'Less' | 'Greater' | 'Pow' | 'Max' | 'Min' | 'Mod';

function intOp(op: Op, a: IntEl, b: IntEl, where: string): IntEl {
  const A = isBatchDim(a), B = isBatchDim(b);
  if (!A && !B) {
    const x = a as number, y = b as number;
    switch (op) {
      case 'Add': return x + y;
      case 'Sub': return x - y;
      case 'Mul': return x * y;
      // ONNX integer division truncates (C semantics), as numpy's for the non-negative sizes shape arithmetic divides.
      case 'Div':
        if (y === 0) throw new Error(`${where}: integer division by zero`);
        return Math.trunc(x / y);
      case 'Mod':
        if (y === 0) throw new Error(`${where}: integer modulo by zero`);
        return x - y * Math.floor(x / y);
      case 'Equal': return x === y ? 1 : 0;
      case 'Less': return x < y ? 1 : 0;
      case 'Greater': return x > y ? 1 : 0;
      case 'Pow': return x ** y;
      case 'Max': return Math.max(x, y);
      case 'Min': return Math.min(x, y);
    }
  }
  const bad = () => new Error(`${where}: ${showEl(a)} ${op} ${showEl(b)} depends on the batch size in a way a model run at any batch size cannot fold`);
  if (op === 'Mul' && A !== B) {
    const [s, n] = A ? [a as BatchDim, b as number] : [b as BatchDim, a as number];
    return n === 0 ? 0 : { batch: s.batch * n };
  }
  if (op === 'Div' && A && !B) {
    const n = b as number;
    if (n !== 0 && (a as BatchDim).batch % n === 0) return { batch: (a as BatchDim).batch / n };
    throw bad();
  }
  if (op === 'Div' && A && B && (a as BatchDim).batch % (b as BatchDim).batch === 0) return (a as BatchDim).batch / (b as BatchDim).batch;
  if ((op === 'Add' || op === 'Sub') && A && B) {
    const k = op === 'Add' ? (a as BatchDim).batch + (b as BatchDim).batch : (a as BatchDim).batch - (b as BatchDim).batch;
    return k === 0 ? 0 : { batch: k };
  }
  if (op === 'Equal' && A && B) return (a as BatchDim).batch === (b as BatchDim).batch ? 1 : 0;
  throw bad();
}

function floatOp(op: Op, x: number, y: number): number {
  switch (op) {
    case 'Add': return x + y;
    case 'Sub': return x - y;
    case 'Mul': return x * y;
    case 'Div': return x / y;
    case 'Mod': return x - y * Math.trunc(x / y);
    case 'Equal': return x === y ? 1 : 0;
    case 'Less': return x < y ? 1 : 0;
    case 'Greater': return x > y ? 1 : 0;
    case 'Pow': return x ** y;
    case 'Max': return Math.max(x, y);
    case 'Min': return Math.min(x, y);
  }
}

/** An elementwise binary op with numpy broadcasting on constants. Comparisons give integer (bool) tensors. */
export function foldBinary(op: Op, a: Const, b: Const, where: string): Const {
  const dims = broadcastDims(a.dims, b.dims);
  if (!dims) throw new Error(`${where}: shapes [${a.dims}] and [${b.dims}] do not broadcast`);
  const ia = broadcastIndex(a.dims, dims), ib = broadcastIndex(b.dims, dims);
  const n = size(dims);
  const cmp = op === 'Equal' || op === 'Less' || op === 'Greater';
  if (isFloatConst(a) || isFloatConst(b)) {
    if (!(isFloatConst(a) && isFloatConst(b))) throw new Error(`${where}: mixes a float and an integer tensor (ONNX requires one type)`);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = floatOp(op, a.data[ia[i]], b.data[ib[i]]);
    return cmp ? intConst(dims, out) : floatConst(dims, out);
  }
  const out = new Array<IntEl>(n);
  for (let i = 0; i < n; i++) out[i] = intOp(op, (a.data as IntEl[])[ia[i]], (b.data as IntEl[])[ib[i]], where);
  return intConst(dims, out);
}

export function foldWhere(cond: Const, a: Const, b: Const, where: string): Const {
  const d1 = broadcastDims(cond.dims, a.dims), dims = d1 && broadcastDims(d1, b.dims);
  if (!dims) throw new Error(`${where}: shapes [${cond.dims}], [${a.dims}] and [${b.dims}] do not broadcast`);
  const ic = broadcastIndex(cond.dims, dims), ia = broadcastIndex(a.dims, dims), ib = broadcastIndex(b.dims, dims);
  const c = numbersOf(cond, `${where}: the condition`);
  const n = size(dims);
  const pick = (i: number) => (c[ic[i]] ? (a.data as ArrayLike<IntEl>)[ia[i]] : (b.data as ArrayLike<IntEl>)[ib[i]]);
  if (isFloatConst(a)) return floatConst(dims, Array.from({ length: n }, (_, i) => pick(i) as number));
  return intConst(dims, Array.from({ length: n }, (_, i) => pick(i)));
}

const normAxis = (axis: number, rank: number, where: string): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
};
export { normAxis };

function make(like: Const, dims: number[], data: IntEl[] | number[]): Const {
  return isFloatConst(like) ? floatConst(dims, data as number[]) : intConst(dims, data as IntEl[]);
}

export function foldConcat(parts: Const[], axis: number, where: string): Const {
  const rank = parts[0].dims.length;
  const a = normAxis(axis, rank, where);
  for (const p of parts) {
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== a && d !== parts[0].dims[i])) {
      throw new Error(`${where}: cannot concatenate shapes ${parts.map((q) => `[${q.dims}]`).join(', ')} along axis ${axis}`);
    }
  }
  const outer = size(parts[0].dims.slice(0, a)), inner = size(parts[0].dims.slice(a + 1));
  const out: IntEl[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.dims[a] * inner;
      for (let i = 0; i < block; i++) out.push((p.data as ArrayLike<IntEl>)[o * block + i]);
    }
  }
  const dims = parts[0].dims.slice();
  dims[a] = parts.reduce((s, p) => s + p.dims[a], 0);
  return make(parts.find(isFloatConst) ?? parts[0], dims, out);
}

export function foldGather(data: Const, indices: number[], indexDims: number[], axis: number, where: string): Const {
  const a = normAxis(axis, data.dims.length, where);
  const len = data.dims[a];
  const outer = size(data.dims.slice(0, a)), inner = size(data.dims.slice(a + 1));
  const out: IntEl[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices) {
      const i = raw < 0 ? raw + len : raw;
      if (i < 0 || i >= len) throw new Error(`${where}: index ${raw} is out of range for axis ${axis} of length ${len}`);
      for (let k = 0; k < inner; k++) out.push((data.data as ArrayLike<IntEl>)[(o * len + i) * inner + k]);
    }
  }
  return make(data, [...data.dims.slice(0, a), ...indexDims, ...data.dims.slice(a + 1)], out);
}

/** Slice bounds per ONNX (negative = from the end, clamped; steps may be negative). */
export function sliceRange(start: number, end: number, step: number, len: number): number[] {
  if (step === 0) throw new Error('Slice: a step of 0');
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + len : start, e = end < 0 ? end + len : end;
  if (step > 0) {
    s = clamp(s, 0, len);
    e = clamp(e, 0, len);
  } else {
    s = clamp(s, -1, len - 1);
    e = clamp(e, -1, len - 1);
  }
  const idx: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) idx.push(i);
  return idx;
}

export function foldSlice(data: Const, starts: number[], ends: number[], axes: number[], steps: number[], where: string): Const {
  let cur = data;
  axes.forEach((ax, k) => {
    const a = normAxis(ax, cur.dims.length, where);
    const idx = sliceRange(starts[k], ends[k], steps[k] ?? 1, cur.dims[a]);
    cur = foldGather(cur, idx, [idx.length], a, where);
  });
  return cur;
}

export function foldTranspose(c: Const, perm: number[]): Const {
  return { kind: 'const', dims: perm.map((a) => c.dims[a]), data: transposeData(c.data, c.dims, perm) };
}

export function foldExpand(c: Const, shape: number[], where: string): Const {
  const dims = broadcastDims(c.dims, shape);
  if (!dims) throw new Error(`${where}: cannot expand [${c.dims}] to [${shape}]`);
  const idx = broadcastIndex(c.dims, dims);
  return make(c, dims, Array.from(idx, (i) => (c.data as ArrayLike<IntEl>)[i]));
}

export function reshapeDims(from: number[], target: number[], allowZero: boolean, where: string): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? from[i] : d));
  const free = out.indexOf(-1);
  const n = size(from);
  if (free >= 0) {
    const known = size(out.filter((_, i) => i !== free));
    if (known === 0 || n % known !== 0) throw new Error(`${where}: cannot reshape [${from}] to [${target}]`);
    out[free] = n / known;
  }
  if (size(out) !== n || out.some((d) => d < 0)) throw new Error(`${where}: cannot reshape [${from}] (${n} elements) to [${target}]`);
  return out;
}

export { stridesOf };
