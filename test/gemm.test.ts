import { describe, expect, it } from 'vitest';
import { matMul, tensor, memory } from '../src/index.js';
import { gemm } from '../src/ops/matmul.js';
import { runtime } from '../src/backend/runtime.js';
import { refGemm } from '../src/reference/gemm.js';
import { maxRelErr, randn } from './helpers/random.js';

// Shapes around the 6×8 tile and the KC/MC/NC blocks: 1s, non-multiples, K splits, the CNN's shapes.
const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 8, 1], [6, 8, 1], [7, 9, 3], [5, 7, 2], [6, 8, 16], [13, 17, 19], [1, 64, 1600],
  [32, 64, 1600], [121, 64, 288], [64, 10, 64], [3, 1000, 5], [130, 3, 700], [241, 129, 321],
  [600, 520, 33], [2, 2, 641],
];

describe('sgemm matches the reference', () => {
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`${m}x${n}x${k} transposeA=${ta} transposeB=${tb}`, () => {
        const a = randn(m * k, m * 31 + k), b = randn(k * n, n * 17 + k);
        const A = tensor(a, ta ? [k, m] : [m, k]);
        const B = tensor(b, tb ? [n, k] : [k, n]);
        const C = matMul(A, B, ta, tb);
        const want = refGemm(m, n, k, a, ta, b, tb);
        // float32 rounding grows with K (sqrt(K) typical, K worst case).
        expect(maxRelErr(C.dataSync(), want)).toBeLessThan(1e-6 * k + 1e-6);
        A.dispose(); B.dispose(); C.dispose();
      });
    }
  }
});

describe('sgemm epilogue', () => {
  for (const [m, n, k] of [[5, 7, 3], [6, 8, 9], [37, 70, 650], [121, 64, 288]] as const) {
    it(`bias + relu + accumulate ${m}x${n}x${k}`, () => {
      const { heap } = runtime();
      const a = randn(m * k, 1), b = randn(k * n, 2), bias = randn(n, 3), c0 = randn(m * n, 4);
      const pa = heap.alloc(a.length * 4), pb = heap.alloc(b.length * 4), pbias = heap.alloc(n * 4), pc = heap.alloc(m * n * 4);
      heap.writeF32(pa, a); heap.writeF32(pb, b); heap.writeF32(pbias, bias); heap.writeF32(pc, c0);
      gemm(m, n, k, pa, false, pb, false, pc, { bias: pbias, relu: true, accumulate: true });
      const want = refGemm(m, n, k, a, false, b, false, { bias, relu: true, c: c0 });
      expect(maxRelErr(heap.readF32(pc, m * n), want)).toBeLessThan(1e-6 * k);
      gemm(m, n, k, pa, false, pb, false, pc, { bias: pbias });
      expect(maxRelErr(heap.readF32(pc, m * n), refGemm(m, n, k, a, false, b, false, { bias }))).toBeLessThan(1e-6 * k);
      for (const p of [pa, pb, pbias, pc]) heap.free(p);
    });
  }
});

// The epilogue the planner fuses a CNN block into (ResNet/MobileNetV2: conv → BN → add → ReLU6):
// C = act(A·B × scale + bias + R), R laid out as C (or C itself where K is one block), on one and two
// threads, across K blocks.
describe('sgemm scale + residual + activation epilogue', () => {
  const acts = { linear: (e: number) => e, relu: (e: number) => Math.max(0, e), relu6: (e: number) => Math.min(6, Math.max(0, e)) };
  for (const [m, n, k] of [[1, 8, 3], [5, 7, 3], [6, 8, 9], [37, 70, 650], [196, 96, 576], [121, 13, 288]] as const) {
    for (const act of ['linear', 'relu', 'relu6'] as const) {
      it(`${act}(A·B × scale + bias + R) ${m}x${n}x${k}`, () => {
        const { heap } = runtime();
        const a = randn(m * k, 1), b = randn(k * n, 2), bias = randn(n, 3), r = randn(m * n, 4, 3), scale = randn(n, 5, 2);
        const put = (v: Float32Array) => { const p = heap.alloc(v.length * 4); heap.writeF32(p, v); return p; };
        const pa = put(a), pb = put(b), pbias = put(bias), pr = put(r), ps = put(scale), pc = heap.alloc(m * n * 4);
        const prod = refGemm(m, n, k, a, false, b, false);
        const want = Float64Array.from(prod, (v, i) => acts[act](v * scale[i % n] + bias[i % n] + r[i]));
        gemm(m, n, k, pa, false, pb, false, pc, { bias: pbias, scale: ps, act, res: pr });
        expect(maxRelErr(heap.readF32(pc, m * n), want)).toBeLessThan(2e-6 * k + 1e-6);
        if (act === 'relu6') expect(Math.max(...heap.readF32(pc, m * n))).toBeLessThanOrEqual(6);
        // Without the scale; and in place (the residual is the output buffer) where K is one block.
        const plain = Float64Array.from(prod, (v, i) => acts[act](v + bias[i % n] + r[i]));
        if (k <= 320) {
          gemm(m, n, k, pa, false, pb, false, pr, { bias: pbias, act, res: pr });
          expect(maxRelErr(heap.readF32(pr, m * n), plain)).toBeLessThan(1e-6 * k + 1e-6);
        } else {
          expect(() => gemm(m, n, k, pa, false, pb, false, pr, { bias: pbias, act, res: pr })).toThrow(/in-place residual/);
          gemm(m, n, k, pa, false, pb, false, pc, { bias: pbias, act, res: pr });
          expect(maxRelErr(heap.readF32(pc, m * n), plain)).toBeLessThan(1e-6 * k + 1e-6);
        }
        for (const p of [pa, pb, pbias, pc, pr, ps]) heap.free(p);
      });
    }
  }
});

describe('matMul errors', () => {
  it('names mismatched inner dimensions', () => {
    const a = tensor(new Float32Array(6), [2, 3]), b = tensor(new Float32Array(8), [4, 2]);
    expect(() => matMul(a, b)).toThrow(/matMul: inner dimensions must agree: op\(a\) is \[2, 3\] and op\(b\) is \[4, 2\]/);
    expect(() => matMul(a, tensor([1, 2, 3]))).toThrow(/matMul: b must be a rank-2 tensor, got tensor of shape \[3\]/);
    a.dispose(); b.dispose();
  });
  it('rejects disposed tensors', () => {
    const a = tensor([[1]]);
    a.dispose();
    expect(() => matMul(a, a)).toThrow(/disposed/);
  });
  it('does not leak', () => {
    const before = memory().numTensors;
    const a = tensor([[1, 2]]), b = tensor([[3], [4]]);
    const c = matMul(a, b);
    expect(Array.from(c.dataSync())).toEqual([11]);
    a.dispose(); b.dispose(); c.dispose();
    expect(memory().numTensors).toBe(before);
  });
});

describe('wasm build selection', () => {
  it('runs the build this project asked for (relaxed SIMD by default in Node, via the V8 flag)', async () => {
    const { wasmVariant } = await import('../src/index.js');
    expect(wasmVariant()).toBe(process.env.SIMDCNN_WASM || 'relaxed');
  });
});

// Inference plans pack a layer's weights once (packWeights: full-K 8-wide panels) and hand sgemm
// the panels (packedB): every K block, ragged last panel, row and column thread split, with the
// fused epilogue, must give the row-major result.
describe('sgemm with B packed once (packWeights)', () => {
  // [4, 200, 400]: few rows, so two threads split the columns (panel offsets into the packed B).
  for (const [m, n, k] of [[1, 8, 3], [5, 7, 3], [12, 20, 700], [37, 70, 650], [196, 96, 576], [3, 1000, 5], [600, 40, 33], [4, 200, 400]] as const) {
    it(`relu6(A·packed(B) × scale + bias + R) ${m}x${n}x${k}`, () => {
      const { heap, kernels } = runtime();
      const a = randn(m * k, 1), b = randn(k * n, 2), bias = randn(n, 3), r = randn(m * n, 4, 3), scale = randn(n, 5, 2);
      const put = (v: Float32Array) => { const p = heap.alloc(v.length * 4); heap.writeF32(p, v); return p; };
      const pa = put(a), pb = put(b), pbias = put(bias), pr = put(r), ps = put(scale), pc = heap.alloc(m * n * 4);
      const packed = heap.alloc(Math.ceil(n / 8) * 8 * k * 4);
      kernels.packWeights(pb, k, n, packed);
      const prod = refGemm(m, n, k, a, false, b, false);
      const want = Float64Array.from(prod, (v, i) => Math.min(6, Math.max(0, v * scale[i % n] + bias[i % n] + r[i])));
      gemm(m, n, k, pa, false, packed, false, pc, { bias: pbias, scale: ps, act: 'relu6', res: pr, packedB: true });
      expect(maxRelErr(heap.readF32(pc, m * n), want)).toBeLessThan(2e-6 * k + 1e-6);
      gemm(m, n, k, pa, false, packed, false, pc, { packedB: true });
      expect(maxRelErr(heap.readF32(pc, m * n), prod)).toBeLessThan(1e-6 * k + 1e-6);
      for (const p of [pa, pb, pbias, pc, pr, ps, packed]) heap.free(p);
    });
  }
});

// Swish (EfficientNet's SiLU) fused into the epilogue, inference only: applied over each finished
// block, so every K block, edge tile and thread split must still give x·sigmoid(x) of the result.
describe('sgemm with swish fused', () => {
  for (const [m, n, k] of [[1, 8, 3], [5, 7, 3], [37, 70, 650], [196, 96, 576], [130, 600, 40], [4, 200, 400]] as const) {
    it(`swish(A·B × scale + bias) ${m}x${n}x${k}, B row-major and packed`, () => {
      const { heap, kernels } = runtime();
      const a = randn(m * k, 11), b = randn(k * n, 12, 0.3), bias = randn(n, 13), scale = randn(n, 14, 2);
      const put = (v: Float32Array) => { const p = heap.alloc(v.length * 4); heap.writeF32(p, v); return p; };
      const pa = put(a), pb = put(b), pbias = put(bias), ps = put(scale), pc = heap.alloc(m * n * 4);
      const packed = heap.alloc(Math.ceil(n / 8) * 8 * k * 4);
      kernels.packWeights(pb, k, n, packed);
      const prod = refGemm(m, n, k, a, false, b, false);
      const want = Float64Array.from(prod, (v, i) => { const z = v * scale[i % n] + bias[i % n]; return z / (1 + Math.exp(-z)); });
      gemm(m, n, k, pa, false, pb, false, pc, { bias: pbias, scale: ps, act: 'swish' });
      expect(maxRelErr(heap.readF32(pc, m * n), want)).toBeLessThan(2e-6 * k + 1e-6);
      gemm(m, n, k, pa, false, packed, false, pc, { bias: pbias, scale: ps, act: 'swish', packedB: true });
      expect(maxRelErr(heap.readF32(pc, m * n), want)).toBeLessThan(2e-6 * k + 1e-6);
      for (const p of [pa, pb, pbias, pc, ps, packed]) heap.free(p);
    });
  }
});
