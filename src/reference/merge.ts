// Ground truth for the merge layers: float64 loops over every output element, numpy broadcasting
// by explicit multi-indices. Shapes here are full (batch included); inputs are flat row-major.

export type RefMergeOp = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum';

/** Numpy broadcasting: right-aligned, each dim equal or 1. Throws when the shapes do not broadcast. */
export function refBroadcastShape(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + k] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) throw new Error(`shapes ${shapes.map((s) => `[${s}]`).join(', ')} do not broadcast`);
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** For every output index o, the flat index into each input (broadcast axes read index 0). */
function indexMaps(out: number[], shapes: number[][]): Int32Array[] {
  const maps = shapes.map(() => new Int32Array(size(out)));
  const idx = new Array<number>(out.length).fill(0);
  for (let o = 0; o < size(out); o++) {
    let rest = o;
    for (let k = out.length - 1; k >= 0; k--) {
      idx[k] = rest % out[k];
      rest = Math.floor(rest / out[k]);
    }
    shapes.forEach((s, i) => {
      let f = 0;
      for (let k = 0; k < s.length; k++) f = f * s[k] + (s[k] === 1 ? 0 : idx[out.length - s.length + k]);
      maps[i][o] = f;
    });
  }
  return maps;
}

function combine(op: RefMergeOp, v: number[]): number {
  switch (op) {
    case 'add': return v.reduce((a, b) => a + b, 0);
    case 'subtract': return v[0] - v[1];
    case 'multiply': return v.reduce((a, b) => a * b, 1);
    case 'average': return v.reduce((a, b) => a + b, 0) / v.length;
    case 'maximum': return v.some((x) => Number.isNaN(x)) ? NaN : Math.max(...v);
    case 'minimum': return v.some((x) => Number.isNaN(x)) ? NaN : Math.min(...v);
  }
}

export function refMergeForward(op: RefMergeOp, shapes: number[][], xs: ArrayLike<number>[]): { shape: number[]; y: Float64Array } {
  const shape = refBroadcastShape(shapes);
  const maps = indexMaps(shape, shapes);
  const y = new Float64Array(size(shape));
  for (let o = 0; o < y.length; o++) y[o] = combine(op, xs.map((x, i) => x[maps[i][o]]));
  return { shape, y };
}

/**
 * ∂L/∂x_i for every input given dy: add 1, subtract ±1, average 1/N, multiply Π_{j≠i} x_j,
 * maximum/minimum 1 for the FIRST input equal to the output (ties; a NaN input holds a NaN
 * output), each summed over the axes the input is broadcast on.
 */
export function refMergeBackward(op: RefMergeOp, shapes: number[][], xs: ArrayLike<number>[], dy: ArrayLike<number>): Float64Array[] {
  const { shape, y } = refMergeForward(op, shapes, xs);
  const maps = indexMaps(shape, shapes);
  const dxs = shapes.map((s) => new Float64Array(size(s)));
  for (let o = 0; o < y.length; o++) {
    const v = xs.map((x, i) => x[maps[i][o]]);
    let winner = -1;
    if (op === 'maximum' || op === 'minimum') winner = v.findIndex((x) => x === y[o] || Number.isNaN(x));
    for (let i = 0; i < xs.length; i++) {
      let d: number;
      switch (op) {
        case 'add': d = 1; break;
        case 'subtract': d = i === 0 ? 1 : -1; break;
        case 'average': d = 1 / xs.length; break;
        case 'multiply': d = v.reduce((p, x, j) => (j === i ? p : p * x), 1); break;
        default: d = i === winner ? 1 : 0;
      }
      dxs[i][maps[i][o]] += d * dy[o];
    }
  }
  return dxs;
}

/** Concatenation of full shapes along axis (non-negative, 0 = batch). */
export function refConcat(shapes: number[][], axis: number, xs: ArrayLike<number>[]): { shape: number[]; y: Float64Array } {
  const shape = shapes[0].slice();
  shape[axis] = shapes.reduce((a, s) => a + s[axis], 0);
  const outer = size(shape.slice(0, axis)), inner = size(shape.slice(axis + 1));
  const y = new Float64Array(size(shape));
  for (let o = 0; o < outer; o++) {
    let at = 0;
    shapes.forEach((s, i) => {
      for (let a = 0; a < s[axis]; a++, at++) {
        for (let j = 0; j < inner; j++) y[(o * shape[axis] + at) * inner + j] = xs[i][(o * s[axis] + a) * inner + j];
      }
    });
  }
  return { shape, y };
}

export function refConcatBackward(shapes: number[][], axis: number, dy: ArrayLike<number>): Float64Array[] {
  const total = shapes.reduce((a, s) => a + s[axis], 0);
  const outer = size(shapes[0].slice(0, axis)), inner = size(shapes[0].slice(axis + 1));
  const dxs = shapes.map((s) => new Float64Array(size(s)));
  for (let o = 0; o < outer; o++) {
    let at = 0;
    shapes.forEach((s, i) => {
      for (let a = 0; a < s[axis]; a++, at++) {
        for (let j = 0; j < inner; j++) dxs[i][(o * s[axis] + a) * inner + j] = dy[(o * total + at) * inner + j];
      }
    });
  }
  return dxs;
}
