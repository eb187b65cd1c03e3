// Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) driven directly
// through the MergeLayer contract (buildFrom, planMerge, forwardMerge, backwardMerge), forward and
// backward against the float64 references in src/reference/merge.ts, which are themselves checked
// against central finite differences.
import { wasmKernels } from '../src/backend/wasm-kernels.js';
import { afterAll, describe, expect, it } from 'vitest';
import { runtime, setThreads } from '../src/backend/runtime.js';
import type { StepContext } from '../src/layers/layer.js';
import type { MergeLayer } from '../src/layers/merge-layer.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, mergeLayers } from '../src/layers/merge.js';
import {
  refConcat, refConcatBackward, refMergeBackward, refMergeForward, type RefMergeOp,
} from '../src/reference/merge.js';
import { maxRelErr, randn, rng } from './helpers/random.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function heapArray(values: ArrayLike<number>): number {
  const { heap } = runtime();
  const p = heap.alloc(Math.max(values.length, 1) * 4);
  heap.writeF32(p, values);
  return p;
}
const read = (p: number, n: number) => runtime().heap.readF32(p, n);

interface Run { y: Float32Array; dxs: (Float32Array | undefined)[]; outShape: number[] }

/**
 * Builds the layer for `shapes` (per example), runs forward and backward at `batch` with the given
 * inputs and dy. alias[i] = j passes input j's address as input i (the same tensor twice);
 * needDx[i] = false passes dxs[i] = undefined. Gradient buffers start filled with garbage (they must be overwritten).
 */
function runLayer(layer: MergeLayer, shapes: number[][], batch: number, xs: Float32Array[], dy: Float32Array | undefined,
  opts: { alias?: number[]; needDx?: boolean[] } = {}): Run {
  const { heap } = runtime();
  layer.buildFrom(shapes);
  const outShape = layer.outShape;
  const outN = batch * size(outShape);
  const ptrs = xs.map((x) => heapArray(x));
  const addr = ptrs.map((p, i) => (opts.alias?.[i] !== undefined ? ptrs[opts.alias[i]] : p));
  const y = heapArray(new Float32Array(outN).fill(NaN));
  const dxs = shapes.map((s, i) => (opts.needDx?.[i] === false ? undefined : heapArray(new Float32Array(batch * size(s)).fill(1234.5))));
  const ctx: StepContext = { k: wasmKernels, params: 0, grads: 0, batch, training: true, logits: false, weightsVersion: 0 };
  const buf = layer.planMerge(wasmKernels, batch, true, { y, dx: undefined, dxs });
  layer.forwardMerge(ctx, buf, addr);
  const yOut = read(y, outN);
  let dxOut: (Float32Array | undefined)[] = [];
  let pdy = 0;
  if (dy) {
    pdy = heapArray(dy);
    layer.backwardMerge(ctx, buf, addr, pdy);
    dxOut = dxs.map((p, i) => (p ? read(p, batch * size(shapes[i])) : undefined));
  }
  buf.free();
  for (const p of [...ptrs, y, ...dxs, pdy]) if (p) heap.free(p);
  return { y: yOut, dxs: dxOut, outShape };
}

/** Full shapes for the reference: batch first, lower-rank inputs padded with 1s after it (Keras). */
function fullShapes(shapes: number[][], batch: number): number[][] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return shapes.map((s) => [batch, ...new Array<number>(rank - s.length).fill(1), ...s]);
}

type Ctor = new (args?: { name?: string }) => MergeLayer;
const layerOf: Record<RefMergeOp, Ctor> = {
  add: Add, subtract: Subtract, multiply: Multiply, average: Average, maximum: Maximum, minimum: Minimum,
};

// One line per case: op(s), per-example input shapes. Every case runs at batch 1 and 3.
const ALL: RefMergeOp[] = ['add', 'subtract', 'multiply', 'average', 'maximum', 'minimum'];
const NARY: RefMergeOp[] = ['add', 'multiply', 'average', 'maximum', 'minimum'];
const cases: [RefMergeOp[], number[][]][] = [
  [ALL, [[4, 4, 8], [4, 4, 8]]],
  [ALL, [[4, 4, 8], [1, 1, 8]]],
  [ALL, [[1, 1, 8], [4, 4, 8]]],
  [ALL, [[8], [4, 4, 8]]],
  [ALL, [[4, 4, 8], [8]]],
  [ALL, [[4, 1, 8], [1, 5, 8]]],
  [ALL, [[7], [7]]],
  [ALL, [[1, 1, 7], [1, 1, 7]]],
  [ALL, [[3, 3, 7], [3, 3, 1]]],
  [ALL, [[3, 1, 7], [1]]],
  [ALL, [[1, 1, 1], [1, 1, 1]]],
  [ALL, [[5, 6], [5, 1]]],
  [NARY, [[4, 4, 8], [4, 4, 8], [4, 4, 8]]],
  [NARY, [[4, 4, 8], [1, 1, 8], [4, 4, 1]]],
  [NARY, [[2, 3, 5], [3, 1], [2, 1, 5]]],
  [NARY, [[7], [1], [7]]],
  [NARY, [[6], [6], [6], [6]]],
  [NARY, [[3, 6], [1], [3, 6], [6], [3, 1]]],
];

function checkCase(op: RefMergeOp, shapes: number[][], batch: number, quantized: boolean, seed: number): void {
  const r = rng(seed);
  // Quantized inputs (−2…2 in halves) make ties common for maximum/minimum.
  const xs = shapes.map((s, i) => {
    const x = randn(batch * size(s), seed * 31 + i + 1, 2);
    if (quantized) for (let k = 0; k < x.length; k++) x[k] = Math.round(x[k] * 2) / 2;
    return x;
  });
  const full = fullShapes(shapes, batch);
  const ref = refMergeForward(op, full, xs);
  const dy = randn(ref.y.length, seed + 7 + Math.floor(r() * 1000));
  const layer = new layerOf[op]();
  const run = runLayer(layer, shapes, batch, xs, dy);
  expect(run.outShape).toEqual(ref.shape.slice(1));
  expect(maxRelErr(run.y, ref.y)).toBeLessThan(1e-6);
  const dref = refMergeBackward(op, full, xs, dy);
  dref.forEach((d, i) => {
    expect(run.dxs[i]!.length).toBe(d.length);
    expect(maxRelErr(run.dxs[i]!, d), `dx${i}`).toBeLessThan(1e-5);
  });
}

describe('elementwise merge layers vs float64 reference (forward and backward)', () => {
  let seed = 1;
  for (const [ops, shapes] of cases) {
    for (const op of ops) {
      for (const batch of [1, 3]) {
        const s = seed++;
        it(`${op} ${shapes.map((x) => `[${x}]`).join(' ')} batch ${batch}`, () => {
          checkCase(op, shapes, batch, false, s);
          if (op === 'maximum' || op === 'minimum') checkCase(op, shapes, batch, true, s + 1000);
        });
      }
    }
  }
});

describe('elementwise merge special cases', () => {
  it('maximum/minimum ties go to the first input holding the max/min', () => {
    const x0 = new Float32Array([1, 2, 3, 5, -1, 0, 0]);
    const x1 = new Float32Array([1, 3, 3, 4, -1, -0, 1]);
    const x2 = new Float32Array([1, 3, 2, 5, -1, 0, -1]);
    const dy = new Float32Array([1, 2, 3, 4, 5, 6, 7]);
    const mx = runLayer(new Maximum(), [[7], [7], [7]], 1, [x0, x1, x2], dy);
    expect(Array.from(mx.y)).toEqual([1, 3, 3, 5, -1, 0, 1]);
    expect(Array.from(mx.dxs[0]!)).toEqual([1, 0, 3, 4, 5, 6, 0]);
    expect(Array.from(mx.dxs[1]!)).toEqual([0, 2, 0, 0, 0, 0, 7]);
    expect(Array.from(mx.dxs[2]!)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    const mn = runLayer(new Minimum(), [[7], [7], [7]], 1, [x0, x1, x2], dy);
    expect(Array.from(mn.y)).toEqual([1, 2, 2, 4, -1, -0, -1]); // min(0, −0) = −0 (IEEE)
    expect(Array.from(mn.dxs[0]!)).toEqual([1, 2, 0, 0, 5, 6, 0]);
    expect(Array.from(mn.dxs[1]!)).toEqual([0, 0, 0, 4, 0, 0, 0]);
    expect(Array.from(mn.dxs[2]!)).toEqual([0, 0, 3, 0, 0, 0, 7]);
  });

  it('a gradient-free first input still claims its ties (maximum, dxs[0] = 0)', () => {
    const x0 = new Float32Array([2, 2, 0, 9, 1]), x1 = new Float32Array([2, 1, 3, 9, 1]);
    const dy = new Float32Array([1, 2, 3, 4, 5]);
    const run = runLayer(new Maximum(), [[5], [5]], 1, [x0, x1], dy, { needDx: [false, true] });
    expect(run.dxs[0]).toBeUndefined();
    expect(Array.from(run.dxs[1]!)).toEqual([0, 0, 3, 0, 0]);
  });

  it('maximum propagates NaN and hands its gradient to the NaN input', () => {
    const x0 = new Float32Array([1, 5, 2, 0, 0, 0, 0, 0, 0]), x1 = new Float32Array([NaN, 3, NaN, 0, 0, 0, 0, 0, 0]);
    const dy = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const run = runLayer(new Maximum(), [[9], [9]], 1, [x0, x1], dy);
    expect(Array.from(run.y)).toEqual([NaN, 5, NaN, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(run.dxs[0]!)).toEqual([0, 2, 0, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(run.dxs[1]!)).toEqual([1, 0, 3, 0, 0, 0, 0, 0, 0]);
  });

  it('add([x, x]) and friends: the same address twice, distinct dx buffers', () => {
    const batch = 3, shape = [2, 2, 5], n = batch * size(shape);
    const x = randn(n, 77), dy = randn(n, 78);
    const add = runLayer(new Add(), [shape, shape], batch, [x, x], dy, { alias: [0, 0] });
    expect(maxRelErr(add.y, Array.from(x, (v) => 2 * v))).toBe(0);
    expect(Array.from(add.dxs[0]!)).toEqual(Array.from(dy));
    expect(Array.from(add.dxs[1]!)).toEqual(Array.from(dy));
    const mul = runLayer(new Multiply(), [shape, shape], batch, [x, x], dy, { alias: [0, 0] });
    expect(maxRelErr(mul.y, Array.from(x, (v) => v * v))).toBeLessThan(1e-7);
    expect(maxRelErr(mul.dxs[0]!, Array.from(x, (v, i) => v * dy[i]))).toBeLessThan(1e-7);
    expect(maxRelErr(mul.dxs[1]!, Array.from(x, (v, i) => v * dy[i]))).toBeLessThan(1e-7);
    const mx = runLayer(new Maximum(), [shape, shape], batch, [x, x], dy, { alias: [0, 0] });
    expect(Array.from(mx.dxs[0]!)).toEqual(Array.from(dy));
    expect(Array.from(mx.dxs[1]!)).toEqual(new Array(n).fill(0));
    const sub = runLayer(new Subtract(), [shape, shape], batch, [x, x], dy, { alias: [0, 0] });
    expect(Array.from(sub.y)).toEqual(new Array(n).fill(0));
    expect(Array.from(sub.dxs[1]!)).toEqual(Array.from(dy, (v) => -v));
    const cat = runLayer(new Concatenate({ axis: -1 }), [shape, shape], batch, [x, x], dy, { alias: [0, 0] });
    const ref = refConcat([[batch, ...shape], [batch, ...shape]], 3, [x, x]);
    expect(Array.from(cat.y)).toEqual(Array.from(ref.y));
  });

  it('skips dxs[i] = 0 and leaves other gradients right (multiply, broadcast)', () => {
    const shapes = [[4, 4, 8], [1, 1, 8], [4, 4, 1]], batch = 3;
    const xs = shapes.map((s, i) => randn(batch * size(s), 90 + i));
    const full = fullShapes(shapes, batch);
    const dy = randn(batch * 128, 95);
    const run = runLayer(new Multiply(), shapes, batch, xs, dy, { needDx: [true, false, true] });
    const dref = refMergeBackward('multiply', full, xs, dy);
    expect(run.dxs[1]).toBeUndefined();
    expect(maxRelErr(run.dxs[0]!, dref[0])).toBeLessThan(1e-5);
    expect(maxRelErr(run.dxs[2]!, dref[2])).toBeLessThan(1e-5);
  });

  it('results do not depend on the thread count (large, split calls)', () => {
    const shapes = [[32, 32, 16], [1, 32, 16], [16]], batch = 8;
    const xs = shapes.map((s, i) => randn(batch * size(s), 200 + i));
    const dy = randn(batch * 32 * 32 * 16, 210);
    const runAll = () => [Add, Multiply, Maximum].map((C) => runLayer(new C(), shapes, batch, xs, dy))
      .concat([runLayer(new Concatenate({ axis: 1 }), [[32, 32, 16], [8, 32, 16]], batch, [xs[0], randn(batch * 8 * 32 * 16, 211)], randn(batch * 40 * 32 * 16, 212))]);
    setThreads(1);
    const one = runAll();
    setThreads(4);
    const four = runAll();
    for (let k = 0; k < one.length; k++) {
      expect(Buffer.from(four[k].y.buffer).equals(Buffer.from(one[k].y.buffer))).toBe(true);
      four[k].dxs.forEach((d, i) => expect(Buffer.from(d!.buffer).equals(Buffer.from(one[k].dxs[i]!.buffer))).toBe(true));
    }
    // And right: the multiply against the reference.
    const full = fullShapes(shapes, batch);
    expect(maxRelErr(four[1].y, refMergeForward('multiply', full, xs).y)).toBeLessThan(1e-6);
    refMergeBackward('multiply', full, xs, dy).forEach((d, i) => expect(maxRelErr(four[1].dxs[i]!, d)).toBeLessThan(1e-4));
  });
  afterAll(() => setThreads(2));
});

// One line per case: axis (Keras, batch = 0), per-example shapes. Every case runs at batch 1 and 3.
const concatCases: [number, number[][]][] = [
  [-1, [[4, 4, 3], [4, 4, 5]]],
  [3, [[4, 4, 3], [4, 4, 5]]],
  [1, [[3, 4, 5], [5, 4, 5]]],
  [2, [[4, 3, 5], [4, 5, 5]]],
  [-2, [[4, 3, 5], [4, 5, 5]]],
  [-1, [[2, 3], [2, 5], [2, 1]]],
  [1, [[3], [5]]],
  [-1, [[1, 1, 7], [1, 1, 1]]],
  [1, [[1, 1, 7], [2, 1, 7], [3, 1, 7]]],
];

describe('Concatenate vs float64 reference (forward and backward)', () => {
  let seed = 500;
  for (const [axis, shapes] of concatCases) {
    for (const batch of [1, 3]) {
      const s = seed++;
      it(`axis ${axis} ${shapes.map((x) => `[${x}]`).join(' ')} batch ${batch}`, () => {
        const xs = shapes.map((sh, i) => randn(batch * size(sh), s * 13 + i));
        const full = shapes.map((sh) => [batch, ...sh]);
        const a = axis < 0 ? axis + full[0].length : axis;
        const ref = refConcat(full, a, xs);
        const dy = randn(ref.y.length, s + 3);
        const run = runLayer(new Concatenate({ axis }), shapes, batch, xs, dy);
        expect(run.outShape).toEqual(ref.shape.slice(1));
        expect(Array.from(run.y)).toEqual(Array.from(ref.y, Math.fround));
        refConcatBackward(full, a, dy).forEach((d, i) => expect(Array.from(run.dxs[i]!)).toEqual(Array.from(d, Math.fround)));
      });
    }
  }
});

describe('the references against central finite differences', () => {
  // L = Σ y·dy; ∂L/∂x_i[j] by central differences of the float64 forward.
  const fd = (f: (xs: Float64Array[]) => Float64Array, xs: Float64Array[], dy: ArrayLike<number>, i: number, j: number) => {
    const eps = 1e-6;
    const L = (d: number) => {
      const p = xs.map((x) => x.slice());
      p[i][j] += d;
      return f(p).reduce((s, v, k) => s + v * dy[k], 0);
    };
    return (L(eps) - L(-eps)) / (2 * eps);
  };
  const elementwise: [RefMergeOp, number[][]][] = [
    ['multiply', [[3, 4, 4, 3], [3, 1, 1, 3], [3, 4, 4, 1]]],
    ['average', [[2, 3, 5], [2, 1, 5], [2, 3, 1]]],
    ['subtract', [[2, 4, 3], [2, 1, 3]]],
    ['maximum', [[2, 3, 5], [2, 1, 5], [2, 3, 1]]],
    ['minimum', [[2, 3, 5], [2, 3, 5]]],
    ['add', [[2, 4, 3], [2, 4, 1], [2, 1, 3]]],
  ];
  for (const [op, full] of elementwise) {
    it(`${op} ${full.map((x) => `[${x}]`).join(' ')}`, () => {
      const xs = full.map((s, i) => Float64Array.from(randn(size(s), 300 + i, 2)));
      const f = (p: Float64Array[]) => refMergeForward(op, full, p).y;
      const dy = randn(f(xs).length, 310);
      const dref = refMergeBackward(op, full, xs, dy);
      for (let i = 0; i < xs.length; i++) {
        for (let j = 0; j < xs[i].length; j++) {
          const num = fd(f, xs, dy, i, j);
          expect(Math.abs(dref[i][j] - num), `dx${i}[${j}]`).toBeLessThan(1e-6 * (1 + Math.abs(num)));
        }
      }
    });
  }
  it('concatenate axis 2', () => {
    const full = [[2, 3, 2, 2], [2, 3, 4, 2]];
    const xs = full.map((s, i) => Float64Array.from(randn(size(s), 320 + i)));
    const f = (p: Float64Array[]) => refConcat(full, 2, p).y;
    const dy = randn(f(xs).length, 330);
    const dref = refConcatBackward(full, 2, dy);
    for (let i = 0; i < 2; i++) for (let j = 0; j < xs[i].length; j++) expect(Math.abs(dref[i][j] - fd(f, xs, dy, i, j))).toBeLessThan(1e-6);
  });
});

describe('merge layer errors and config', () => {
  const message = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };
  it('incompatible shapes name the layer and every input shape', () => {
    for (const C of [Add, Subtract, Multiply, Average, Maximum, Minimum]) {
      const m = message(() => new C({ name: 'my_merge' }).buildFrom([[4, 4, 8], [4, 3, 8]]));
      expect(m).toContain('my_merge');
      expect(m).toContain('[null,4,4,8]');
      expect(m).toContain('[null,4,3,8]');
    }
    const m = message(() => new Add({ name: 'add3' }).buildFrom([[4, 8], [1, 8], [3, 8]]));
    for (const s of ['add3', '[null,4,8]', '[null,1,8]', '[null,3,8]']) expect(m).toContain(s);
    expect(message(() => new Add({ name: 'a7' }).buildFrom([[7], [8]]))).toMatch(/a7.*\[null,7\].*\[null,8\]/);
  });
  it('subtract takes exactly 2 inputs', () => {
    const m = message(() => new Subtract({ name: 'sub3' }).buildFrom([[4], [4], [4]]));
    expect(m).toContain('sub3');
    expect(m).toContain('exactly 2');
    expect(m).toContain('[null,4], [null,4], [null,4]');
  });
  it('concatenate: batch axis, out-of-range axis, mismatched dims, mismatched ranks', () => {
    let m = message(() => new Concatenate({ name: 'cat0', axis: 0 }).buildFrom([[4, 3], [4, 5]]));
    for (const s of ['cat0', 'batch', '[null,4,3]', '[null,4,5]']) expect(m).toContain(s);
    m = message(() => new Concatenate({ name: 'cat_neg', axis: -3 }).buildFrom([[4, 3], [4, 5]]));
    expect(m).toContain('cat_neg');
    m = message(() => new Concatenate({ name: 'cat5', axis: 3 }).buildFrom([[4, 3], [4, 5]]));
    for (const s of ['cat5', '[null,4,3]', '[null,4,5]']) expect(m).toContain(s);
    m = message(() => new Concatenate({ name: 'catm' }).buildFrom([[4, 4, 3], [4, 5, 3], [4, 4, 2]]));
    for (const s of ['catm', '[null,4,4,3]', '[null,4,5,3]', '[null,4,4,2]']) expect(m).toContain(s);
    m = message(() => new Concatenate({ name: 'catr', axis: 1 }).buildFrom([[4, 3], [4]]));
    for (const s of ['catr', '[null,4,3]', '[null,4]']) expect(m).toContain(s);
    expect(() => new Concatenate({ axis: 1.5 })).toThrow(/axis/);
  });
  it('a merge applied to one input', () => {
    for (const f of Object.values(mergeLayers)) {
      const layer = f({ name: 'lonely' });
      const m = message(() => layer.buildFrom([[4, 4]]));
      expect(m).toContain('lonely');
      expect(m).toContain('[null,4,4]');
    }
  });
  it('a built layer refuses other shapes', () => {
    const l = new Add({ name: 'shared' });
    l.buildFrom([[4], [4]]);
    expect(() => l.buildFrom([[4], [1]])).toThrow(/shared/);
  });
  it('factories, classNames and getConfig as tfjs writes them', () => {
    const expected = { add: 'Add', subtract: 'Subtract', multiply: 'Multiply', average: 'Average', maximum: 'Maximum', minimum: 'Minimum', concatenate: 'Concatenate' };
    for (const [k, cls] of Object.entries(expected)) {
      const l = mergeLayers[k as keyof typeof mergeLayers]({ name: `n_${k}` });
      expect(l.className).toBe(cls);
      expect(l.name).toBe(`n_${k}`);
      const cfg = l.getConfig();
      expect(cfg).toMatchObject({ name: `n_${k}`, trainable: true, dtype: 'float32' });
      if (k === 'concatenate') expect(cfg.axis).toBe(-1);
      else expect(cfg).not.toHaveProperty('axis');
    }
    expect(mergeLayers.concatenate({ axis: 1 }).getConfig().axis).toBe(1);
    expect(new Add().name).toMatch(/^add(_\d+)?$/);
    const l = new Add();
    l.buildFrom([[8], [4, 4, 8]]);
    expect(l.outShape).toEqual([4, 4, 8]);
    expect(l.inShapes).toEqual([[8], [4, 4, 8]]);
    expect(l.paramCount).toBe(0);
  });
});
