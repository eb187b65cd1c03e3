// The WGSL merge kernels (src/webgpu/kernels/merge.ts) through their dispatch builders
// (src/webgpu/merge-dispatches.ts) against the float64 references in src/reference/merge.ts, on a
// real WebGPU device (see webgpu.kernels.test.ts: no adapter FAILS this file). Small shapes:
// SwiftShader is slow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import { refConcat, refConcatBackward, refMergeBackward, refMergeForward, type RefMergeOp } from '../src/reference/merge.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import {
  compileMergeKernels, concatBackward, concatForward, gpuConcatPlan, gpuMergeBackward, gpuMergeForward, planGpuMerge,
} from '../src/webgpu/merge-dispatches.js';
import { maxRelErr, randn } from './helpers/random.js';

let ctx: GpuContext;

beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
  await compileMergeKernels(ctx);
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
function upload(values: Float32Array, n = values.length): GPUBuffer {
  const b = ctx.buffer(n);
  ctx.write(b, values);
  return b;
}
const read = (b: GPUBuffer, n: number) => ctx.read('test', b, n);
function run(ds: Dispatch[]) {
  ctx.submit(ds);
  for (const d of ds) d.uniform.destroy();
}
function fullShapes(shapes: number[][], batch: number): number[][] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return shapes.map((s) => [batch, ...new Array<number>(rank - s.length).fill(1), ...s]);
}

const ALL: RefMergeOp[] = ['add', 'subtract', 'multiply', 'average', 'maximum', 'minimum'];
const NARY: RefMergeOp[] = ['add', 'multiply', 'average', 'maximum', 'minimum'];
// One line per case: ops, per-example shapes, batch.
const cases: [RefMergeOp[], number[][], number][] = [
  [ALL, [[2, 2, 8], [2, 2, 8]], 3],
  [ALL, [[2, 3, 8], [1, 1, 8]], 1],
  [ALL, [[8], [2, 2, 8]], 3],
  [ALL, [[2, 1, 7], [1, 5, 7]], 3],
  [ALL, [[3, 3, 7], [3, 3, 1]], 1],
  [NARY, [[2, 2, 8], [1, 1, 8], [2, 2, 1]], 3],
  [NARY, [[5], [1], [5], [5]], 2],
];

describe('webgpu merge kernels vs float64 reference', () => {
  for (const [ops, shapes, batch] of cases) {
    for (const op of ops) {
      it(`${op} ${shapes.map((s) => `[${s}]`).join(' ')} batch ${batch}`, async () => {
        const full = fullShapes(shapes, batch);
        const seed = full.flat().reduce((a, b) => a * 3 + b, op.length);
        const xs = full.map((s, i) => {
          const x = randn(size(s), seed + i, 2);
          // Ties for maximum/minimum: values in halves.
          if (op === 'maximum' || op === 'minimum') for (let k = 0; k < x.length; k++) x[k] = Math.round(x[k] * 2) / 2;
          return x;
        });
        const ref = refMergeForward(op, full, xs);
        const dy = randn(ref.y.length, seed + 99);
        const out = ref.shape;
        const plan = planGpuMerge(ctx, op, out, full, true);
        const bx = xs.map((x) => upload(x));
        const y = ctx.buffer(ref.y.length), bdy = upload(dy);
        const bdx = full.map((s) => upload(new Float32Array(size(s)).fill(1234.5)));
        const refs = bx.map((buf) => ({ buf, off: 0 }));
        run(gpuMergeForward(ctx, plan, refs, y));
        run(gpuMergeBackward(ctx, plan, refs, y, bdy, bdx));
        expect(maxRelErr(await read(y, ref.y.length), ref.y)).toBeLessThan(1e-6);
        const dref = refMergeBackward(op, full, xs, dy);
        for (let i = 0; i < full.length; i++) expect(maxRelErr(await read(bdx[i], dref[i].length), dref[i]), `dx${i}`).toBeLessThan(1e-5);
        expect(Array.from(await read(bdy, dy.length))).toEqual(Array.from(dy));
        plan.destroy();
        for (const b of [...bx, y, bdy, ...bdx]) b.destroy();
      });
    }
  }

  it('maximum ties go to the first input; a gradient-free input still claims its ties', async () => {
    const x0 = new Float32Array([1, 2, 3, 5, 0]), x1 = new Float32Array([1, 3, 3, 4, 1]);
    const dy = new Float32Array([1, 2, 3, 4, 5]);
    const plan = planGpuMerge(ctx, 'maximum', [1, 5], [[1, 5], [1, 5]], true);
    const a = upload(x0), b = upload(x1), y = ctx.buffer(5), g = upload(dy), d0 = ctx.buffer(5), d1 = ctx.buffer(5);
    const refs = [{ buf: a, off: 0 }, { buf: b, off: 0 }];
    run(gpuMergeForward(ctx, plan, refs, y));
    run(gpuMergeBackward(ctx, plan, refs, y, g, [d0, d1]));
    expect(Array.from(await read(d0, 5))).toEqual([1, 0, 3, 4, 0]);
    expect(Array.from(await read(d1, 5))).toEqual([0, 2, 0, 0, 5]);
    run(gpuMergeBackward(ctx, plan, refs, y, g, [undefined, d1]));
    expect(Array.from(await read(d1, 5))).toEqual([0, 2, 0, 0, 5]);
    plan.destroy();
    for (const buf of [a, b, y, g, d0, d1]) buf.destroy();
  });

  it('add([x, x]): the same buffer twice', async () => {
    const x = randn(12, 5), dy = randn(12, 6);
    const plan = planGpuMerge(ctx, 'multiply', [3, 4], [[3, 4], [3, 4]], true);
    const bx = upload(x), y = ctx.buffer(12), g = upload(dy), d0 = ctx.buffer(12), d1 = ctx.buffer(12);
    const refs = [{ buf: bx, off: 0 }, { buf: bx, off: 0 }];
    run(gpuMergeForward(ctx, plan, refs, y));
    run(gpuMergeBackward(ctx, plan, refs, y, g, [d0, d1]));
    expect(maxRelErr(await read(y, 12), Array.from(x, (v) => v * v))).toBeLessThan(1e-6);
    const want = Array.from(x, (v, i) => v * dy[i]);
    expect(maxRelErr(await read(d0, 12), want)).toBeLessThan(1e-6);
    expect(maxRelErr(await read(d1, 12), want)).toBeLessThan(1e-6);
    plan.destroy();
    for (const buf of [bx, y, g, d0, d1]) buf.destroy();
  });
});

describe('webgpu concatenate (block copy) vs float64 reference', () => {
  const concatCases: [number, number[][], number][] = [
    [-1, [[2, 2, 3], [2, 2, 5]], 3],
    [1, [[3, 2, 5], [2, 2, 5]], 1],
    [2, [[2, 3, 5], [2, 5, 5]], 3],
    [-1, [[2, 3], [2, 5], [2, 1]], 2],
  ];
  for (const [axis, shapes, batch] of concatCases) {
    it(`axis ${axis} ${shapes.map((s) => `[${s}]`).join(' ')} batch ${batch}`, async () => {
      const full = shapes.map((s) => [batch, ...s]);
      const a = axis < 0 ? axis + full[0].length : axis;
      const xs = full.map((s, i) => randn(size(s), 40 + i));
      const ref = refConcat(full, a, xs);
      const dy = randn(ref.y.length, 50);
      const plan = gpuConcatPlan(full, a);
      const bx = xs.map((x) => upload(x)), y = ctx.buffer(ref.y.length), g = upload(dy);
      const bdx = full.map((s) => ctx.buffer(size(s)));
      run(concatForward(ctx, plan, bx.map((buf) => ({ buf, off: 0 })), y));
      run(concatBackward(ctx, plan, g, bdx));
      expect(Array.from(await read(y, ref.y.length))).toEqual(Array.from(ref.y, Math.fround));
      const dref = refConcatBackward(full, a, dy);
      for (let i = 0; i < full.length; i++) expect(Array.from(await read(bdx[i], dref[i].length))).toEqual(Array.from(dref[i], Math.fround));
      for (const b of [...bx, y, g, ...bdx]) b.destroy();
    });
  }
});
