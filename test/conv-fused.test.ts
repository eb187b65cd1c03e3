// The direct per-thread passes (micro-kernel over the images, chunk by chunk) against the float64 reference, on one
// and two threads, with batches that split unevenly across threads and chunks.
import { afterAll, describe, expect, it } from 'vitest';
import { runtime, setThreads } from '../src/backend/runtime.js';
import { conv2dGeometry, type Padding } from '../src/ops/conv.js';
import { convBackwardFused, convForwardFused, planConvSlices } from '../src/ops/conv-fused.js';
import type { KernelExports } from '../src/backend/kernel-exports.js';
import { refConv2d, refConv2dBackpropFilter, refConv2dBackpropInput } from '../src/reference/conv.js';
import { maxRelErr, randn } from './helpers/random.js';

type Case = [name: string, x: number[], f: number[], strides: number | [number, number], pad: Padding, dil?: number];
const cases: Case[] = [
  ['conv2 of the CNN, batch 5', [5, 13, 13, 32], [3, 3, 32, 64], 1, 'valid'],
  ['conv1 of the CNN, batch 3', [3, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'],
  ['same, stride 2, batch 7', [7, 9, 8, 3], [4, 4, 3, 5], 2, 'same'],
  ['dilation 2, batch 1', [1, 9, 9, 2], [3, 3, 2, 3], 1, 'same', 2],
  ['big images: several chunks per thread', [9, 40, 40, 8], [3, 3, 8, 4], 1, 'same'],
  ['stride larger than the kernel, outC 16', [3, 11, 10, 4], [2, 2, 4, 16], 3, 'valid'],
  ['one channel, 5×5 same, outC 8', [4, 12, 12, 1], [5, 5, 1, 8], 1, 'same'],
  ['1×2 kernel, stride [2, 1], dilation 3', [2, 10, 9, 6], [1, 2, 6, 7], [2, 1], 'same', 3],
  // Batch-1 inference splits output rows into bands (each pads only the input rows it reads).
  ['batch 1, 3×3 stride 2 same (the MobileNet stem): row bands', [1, 15, 13, 3], [3, 3, 3, 8], 2, 'same'],
  ['batch 1, 5×5 valid, 7 rows: uneven bands', [1, 11, 6, 2], [5, 5, 2, 9], 1, 'valid'],
  // ... or, with fewer output pixels than channels (ResNet's last stages), the channels into
  // groups of whole 8-wide panels, the last one ragged.
  ['batch 1, 25 pixels, 40 channels: channel groups', [1, 5, 5, 16], [3, 3, 16, 40], 1, 'same'],
  ['batch 1, 2 pixels, 70 channels: channel groups', [1, 3, 4, 8], [3, 3, 8, 70], 1, 'valid'],
];

const relu = (v: Float64Array) => v.map((e) => Math.max(0, e));

// The forward's epilogues the planner fuses: ReLU6, and a residual (laid out as y) added before the
// activation, on one and two threads; with the kernel packed per call, or once (packWeights:
// what inference plans do).
describe.each([[1, false], [2, false], [1, true], [2, true]] as const)('direct conv forward epilogues on %i thread(s), prepacked %s', (threads, prepacked) => {
  afterAll(() => setThreads(2));
  for (const [name, xs, fs, strides, pad, dil] of cases) {
    for (const act of ['relu6', 'linear', 'swish'] as const) {
      it(`${name}: ${act}(conv × scale + bias + residual)`, () => {
        setThreads(threads);
        const { heap } = runtime();
        const g = conv2dGeometry('test', xs, fs, strides, pad, dil ?? 1);
        const p = { batch: g.batch, inH: g.inH, inW: g.inW, inC: g.inC, kh: g.kh, kw: g.kw, outC: g.outC, strideH: g.strideH,
          strideW: g.strideW, dilH: g.dilH, dilW: g.dilW, padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW };
        const xv = randn(g.batch * g.inH * g.inW * g.inC, 1), wv = randn(g.K * g.outC, 2, 0.3), bv = randn(g.outC, 3), rv = randn(g.M * g.outC, 5, 4);
        const put = (v: Float32Array) => { const ptr = heap.alloc(v.length * 4); heap.writeF32(ptr, v); return ptr; };
        const sv = randn(g.outC, 6, 2);
        const x = put(xv), w = put(wv), b = put(bv), r = put(rv), sc = put(sv), y = heap.alloc(g.M * g.outC * 4);
        const s = planConvSlices(g, false, undefined, undefined, prepacked);
        // The case names say which split the plan took (geom[27]: channel groups).
        if (threads === 2) expect(heap.i32[(s.geom >>> 2) + 27]).toBe(name.includes('channel groups') ? 2 : 1);
        let wp = w;
        if (prepacked) {
          wp = heap.alloc(Math.ceil(g.outC / 8) * 8 * g.K * 4);
          (runtime().kernels as KernelExports).packWeights(w, g.K, g.outC, wp);
        }
        convForwardFused(g, s, x, wp, b, y, act, undefined, r, sc);
        if (wp !== w) heap.free(wp);
        const conv = refConv2d(p as never, xv, wv);
        const sum = conv.map((v, i) => v * sv[i % g.outC] + bv[i % g.outC] + rv[i]);
        const want = act === 'relu6' ? sum.map((v) => Math.min(6, Math.max(0, v))) : act === 'swish' ? sum.map((v) => v / (1 + Math.exp(-v))) : sum;
        expect(maxRelErr(heap.readF32(y, want.length), want)).toBeLessThan(1e-5 * g.K);
        s.free();
        for (const ptr of [x, w, b, r, sc, y]) heap.free(ptr);
      });
    }
  }
});

// Budgets for the backward's gradient partials: the default (one chunk per claim), and tiny ones
// that force groups of several chunks per claim (the path big layers at big batches take).
describe.each([[1, undefined], [2, undefined], [2, 3000], [2, 1]] as const)('direct conv passes on %i thread(s), partials budget %s', (threads, budget) => {
  afterAll(() => setThreads(2));
  for (const [name, xs, fs, strides, pad, dil] of cases) {
    it(name, () => {
      setThreads(threads);
      const { heap } = runtime();
      const g = conv2dGeometry('test', xs, fs, strides, pad, dil ?? 1);
      const p = { batch: g.batch, inH: g.inH, inW: g.inW, inC: g.inC, kh: g.kh, kw: g.kw, outC: g.outC, strideH: g.strideH,
        strideW: g.strideW, dilH: g.dilH, dilW: g.dilW, padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW };
      const xv = randn(g.batch * g.inH * g.inW * g.inC, 1), wv = randn(g.K * g.outC, 2, 0.3), bv = randn(g.outC, 3), gv = randn(g.M * g.outC, 4);
      const put = (v: Float32Array) => { const ptr = heap.alloc(v.length * 4); heap.writeF32(ptr, v); return ptr; };
      const x = put(xv), w = put(wv), b = put(bv), dy = put(gv);
      const y = heap.alloc(g.M * g.outC * 4), dx = heap.alloc(xv.length * 4), dw = heap.alloc(wv.length * 4), db = heap.alloc(g.outC * 4);
      const s = planConvSlices(g, true, undefined, budget);
      convForwardFused(g, s, x, w, b, y, 'relu');
      const want = relu(refConv2d(p as never, xv, wv, bv));
      expect(maxRelErr(heap.readF32(y, want.length), want)).toBeLessThan(1e-5 * g.K);
      convBackwardFused(g, s, x, w, y, dy, true, dx, dw, db);
      // The reference gradient of relu(conv): mask dy where the output was clamped.
      const masked = Float64Array.from(gv, (v, i) => (want[i] > 0 ? v : 0));
      expect(maxRelErr(heap.readF32(dw, wv.length), refConv2dBackpropFilter(p as never, xv, masked))).toBeLessThan(1e-5 * g.M);
      expect(maxRelErr(heap.readF32(dx, xv.length), refConv2dBackpropInput(p as never, masked, wv))).toBeLessThan(1e-5 * g.outC * g.kh * g.kw);
      const dbWant = new Float64Array(g.outC);
      masked.forEach((v, i) => { dbWant[i % g.outC] += v; });
      expect(maxRelErr(heap.readF32(db, g.outC), dbWant)).toBeLessThan(1e-5 * g.M);
      s.free();
      for (const ptr of [x, w, b, dy, y, dx, dw, db]) heap.free(ptr);
    });
  }
});
