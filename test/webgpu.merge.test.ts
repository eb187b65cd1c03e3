// The merge layers (src/layers/merge.ts) on the WebGPU backend: the same layer code the wasm
// suite (merge.test.ts) runs, its kernels recorded by the GPU kernel set (src/webgpu/gpu-kernels.ts:
// WGSL from src/webgpu/kernels/merge.ts), against the float64 references in src/reference/merge.ts,
// on a real WebGPU device (see webgpu.kernels.test.ts: no adapter FAILS this file). Small shapes:
// SwiftShader is slow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeGpu, setBackend } from '../src/backend/backend.js';
import type { Buf } from '../src/backend/kernels.js';
import { layers } from '../src/layers/index.js';
import type { StepContext } from '../src/layers/layer.js';
import type { MergeLayer } from '../src/layers/merge-layer.js';
import { refConcat, refConcatBackward, refMergeBackward, refMergeForward, type RefMergeOp } from '../src/reference/merge.js';
import type { Dispatch, GpuContext } from '../src/webgpu/context.js';
import { GpuKernels } from '../src/webgpu/gpu-kernels.js';
import { maxRelErr, randn } from './helpers/random.js';

let ctx: GpuContext;

beforeAll(async () => {
  await setBackend('webgpu');
  ctx = activeGpu()!;
});
afterAll(async () => {
  await setBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
function fullShapes(shapes: number[][], batch: number): number[][] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return shapes.map((s) => [batch, ...new Array<number>(rank - s.length).fill(1), ...s]);
}

const LAYER: Record<RefMergeOp, () => MergeLayer> = {
  add: () => layers.add(), subtract: () => layers.subtract(), multiply: () => layers.multiply(),
  average: () => layers.average(), maximum: () => layers.maximum(), minimum: () => layers.minimum(),
};

/**
 * Plans and runs a merge layer on the GPU kernels: per-example shapes, inputs (alias[i] = j: input i
 * is input j's buffer), dy; needDx[i] = false passes no gradient buffer. Returns y and the dxs.
 */
async function runGpu(layer: MergeLayer, shapes: number[][], batch: number, xs: Float32Array[], dy: Float32Array,
  opts: { alias?: number[]; needDx?: boolean[] } = {}) {
  layer.buildFrom(shapes);
  const gk = new GpuKernels(ctx);
  const outN = batch * size(layer.outShape);
  const upload = (v: Float32Array) => {
    const b = gk.alloc(v.length, 'test input');
    ctx.write((b as { buf: GPUBuffer }).buf, v);
    return b;
  };
  const bx = xs.map(upload);
  const addr = bx.map((b, i) => (opts.alias?.[i] !== undefined ? bx[opts.alias[i]] : b));
  const y = gk.alloc(outN, 'y'), g = upload(dy);
  const dxs: (Buf | undefined)[] = shapes.map((s, i) => (opts.needDx?.[i] === false ? undefined : upload(new Float32Array(batch * size(s)).fill(1234.5))));
  const step: StepContext = { k: gk, params: y, grads: y, batch, training: true, logits: false, weightsVersion: 0 };
  const buf = layer.planMerge(gk, batch, true, { y, dx: undefined, dxs });
  const fwd: Dispatch[] = [], bwd: Dispatch[] = [];
  gk.target = fwd;
  layer.forwardMerge(step, buf, addr);
  gk.target = bwd;
  layer.backwardMerge(step, buf, addr, g);
  ctx.submit(fwd);
  const yOut = await ctx.read('test', (y as { buf: GPUBuffer }).buf, outN);
  ctx.submit(bwd);
  const dxOut = await Promise.all(dxs.map((d, i) => (d === undefined ? undefined : ctx.read('test', (d as { buf: GPUBuffer }).buf, batch * size(shapes[i])))));
  buf.free();
  gk.dispose();
  return { y: yOut, dxs: dxOut };
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
        const run = await runGpu(LAYER[op](), shapes, batch, xs, dy);
        expect(maxRelErr(run.y, ref.y)).toBeLessThan(1e-6);
        const dref = refMergeBackward(op, full, xs, dy);
        for (let i = 0; i < full.length; i++) expect(maxRelErr(run.dxs[i]!, dref[i]), `dx${i}`).toBeLessThan(1e-5);
      });
    }
  }

  it('maximum ties go to the first input; a gradient-free input still claims its ties', async () => {
    const x0 = new Float32Array([1, 2, 3, 5, 0]), x1 = new Float32Array([1, 3, 3, 4, 1]);
    const dy = new Float32Array([1, 2, 3, 4, 5]);
    const both = await runGpu(layers.maximum(), [[5], [5]], 1, [x0, x1], dy);
    expect(Array.from(both.dxs[0]!)).toEqual([1, 0, 3, 4, 0]);
    expect(Array.from(both.dxs[1]!)).toEqual([0, 2, 0, 0, 5]);
    const second = await runGpu(layers.maximum(), [[5], [5]], 1, [x0, x1], dy, { needDx: [false, true] });
    expect(second.dxs[0]).toBeUndefined();
    expect(Array.from(second.dxs[1]!)).toEqual([0, 2, 0, 0, 5]);
  });

  it('multiply([x, x]): the same buffer twice', async () => {
    const x = randn(12, 5), dy = randn(12, 6);
    const run = await runGpu(layers.multiply(), [[4], [4]], 3, [x, x], dy, { alias: [0, 0] });
    expect(maxRelErr(run.y, Array.from(x, (v) => v * v))).toBeLessThan(1e-6);
    const want = Array.from(x, (v, i) => v * dy[i]);
    expect(maxRelErr(run.dxs[0]!, want)).toBeLessThan(1e-6);
    expect(maxRelErr(run.dxs[1]!, want)).toBeLessThan(1e-6);
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
      const run = await runGpu(layers.concatenate({ axis }), shapes, batch, xs, dy);
      expect(Array.from(run.y)).toEqual(Array.from(ref.y, Math.fround));
      const dref = refConcatBackward(full, a, dy);
      for (let i = 0; i < full.length; i++) expect(Array.from(run.dxs[i]!)).toEqual(Array.from(dref[i], Math.fround));
    });
  }
});
