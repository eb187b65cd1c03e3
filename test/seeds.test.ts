// The worked examples of the teaching notes (/work/shared/seeds/003_*.txt, "Day 20": filters,
// stride, padding), run through conv2d. The notes slide the filter without flipping it
// (cross-correlation, as every DL library does), so their numbers are conv2d's numbers.
import { describe, expect, it } from 'vitest';
import { conv2d, convOutputSize, tensor, type Tensor } from '../src/index.js';

const image5 = [[1, 2, 3, 0, 1], [0, 1, 2, 3, 1], [1, 0, 1, 2, 0], [2, 1, 0, 1, 2], [1, 2, 1, 0, 1]];
const verticalEdge = [[1, 0, -1], [1, 0, -1], [1, 0, -1]];

/** An H×W grey image as [1, H, W, 1] and a KH×KW filter as [KH, KW, 1, 1]. */
const img = (rows: number[][]) => tensor(rows, [1, rows.length, rows[0].length, 1]);
const filt = (rows: number[][]) => tensor(rows, [rows.length, rows[0].length, 1, 1]);

/** Runs conv2d and returns the single feature map as rows. */
function featureMap(image: number[][], filter: number[][], strides: number, pad: Parameters<typeof conv2d>[3]): number[][] {
  const x = img(image), f = filt(filter);
  const y: Tensor = conv2d(x, f, strides, pad);
  const [, h, w] = y.shape;
  const d = y.dataSync();
  x.dispose(); f.dispose(); y.dispose();
  return Array.from({ length: h }, (_, i) => Array.from(d.subarray(i * w, (i + 1) * w)));
}

describe('teaching notes: convolution worked examples', () => {
  it('5×5 image, vertical-edge filter, no padding → the 3×3 feature map', () => {
    expect(featureMap(image5, verticalEdge, 1, 'valid')).toEqual([[-4, -2, 4], [0, -4, 0], [2, 0, -1]]);
  });

  it('same image zero-padded by 1 → the 5×5 feature map of the padded example', () => {
    const want = [[-3, -4, 0, 3, 3], [-3, -4, -2, 4, 5], [-2, 0, -4, 0, 6], [-3, 2, 0, -1, 3], [-3, 2, 2, -2, 1]];
    expect(featureMap(image5, verticalEdge, 1, 1)).toEqual(want);
    expect(featureMap(image5, verticalEdge, 1, [[0, 0], [1, 1], [1, 1], [0, 0]])).toEqual(want);
    // 'same' with a 3×3 filter and stride 1 is exactly padding 1: size kept, same values.
    expect(featureMap(image5, verticalEdge, 1, 'same')).toEqual(want);
  });

  it('3×3 image with the 2×2 filter [[1,0],[0,-1]] → all −4', () => {
    expect(featureMap([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]], 1, 'valid')).toEqual([[-4, -4], [-4, -4]]);
  });

  it('stride 2 on the 5×5 image with a 3×3 filter → 2×2 (patches at columns 0–2 and 2–4)', () => {
    const y = featureMap(image5, verticalEdge, 2, 'valid');
    // Stride 2 keeps every other window of the stride-1 map.
    expect(y).toEqual([[-4, 4], [2, -1]]);
  });

  it("'same' keeps 5×5 with a 3×3 filter", () => {
    expect(featureMap(image5, verticalEdge, 1, 'same').map((r) => r.length)).toEqual([5, 5, 5, 5, 5]);
  });
});

describe('teaching notes: output size (N − F + 2P) / S + 1', () => {
  // | N | F | S | P | O |
  const table: [number, number, number, number, number][] = [[7, 3, 1, 1, 7], [7, 3, 2, 4, 7], [5, 5, 1, 2, 5], [5, 3, 1, 0, 3]];
  for (const [n, f, s, p, o] of table) {
    it(`N=${n} F=${f} S=${s} P=${p} → O=${o}`, () => {
      expect(convOutputSize(n, f, s, 2 * p)).toBe(o);
      const x = tensor(new Float32Array(n * n), [1, n, n, 1]), k = tensor(new Float32Array(f * f), [f, f, 1, 1]);
      const y = conv2d(x, k, s, p);
      expect(y.shape).toEqual([1, o, o, 1]);
      x.dispose(); k.dispose(); y.dispose();
    });
  }
  it('no padding, stride 1: N − F + 1', () => {
    expect(convOutputSize(5, 3, 1, 0)).toBe(3);
    expect(convOutputSize(28, 3, 1, 0)).toBe(26);
  });
});
