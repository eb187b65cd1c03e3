// Ground truth for the shape layers: float64 loops over NHWC images (flat row-major arrays), each
// backward written as the plain adjoint of its forward (a scatter over the outputs), not as the
// kernels' gathers.

type Pads = [[number, number], [number, number]];
export type Shape4 = [number, number, number, number];

const idx = (s: Shape4, b: number, i: number, j: number, c: number) => ((b * s[1] + i) * s[2] + j) * s[3] + c;

/** y [B, H+t+b, W+l+r, C]: x placed at (t, l), zeros around. */
export function refZeroPad(x: ArrayLike<number>, s: Shape4, [[t, bo], [l, r]]: Pads): Float64Array {
  const o: Shape4 = [s[0], s[1] + t + bo, s[2] + l + r, s[3]];
  const y = new Float64Array(o[0] * o[1] * o[2] * o[3]);
  for (let b = 0; b < s[0]; b++) for (let i = 0; i < s[1]; i++) for (let j = 0; j < s[2]; j++) for (let c = 0; c < s[3]; c++) {
    y[idx(o, b, i + t, j + l, c)] = x[idx(s, b, i, j, c)];
  }
  return y;
}
export function refZeroPadBackward(dy: ArrayLike<number>, s: Shape4, [[t, bo], [l, r]]: Pads): Float64Array {
  const o: Shape4 = [s[0], s[1] + t + bo, s[2] + l + r, s[3]];
  const dx = new Float64Array(s[0] * s[1] * s[2] * s[3]);
  for (let b = 0; b < s[0]; b++) for (let i = 0; i < s[1]; i++) for (let j = 0; j < s[2]; j++) for (let c = 0; c < s[3]; c++) {
    dx[idx(s, b, i, j, c)] += dy[idx(o, b, i + t, j + l, c)];
  }
  return dx;
}

/** y [B, H−t−b, W−l−r, C] = x's interior from (t, l). */
export function refCrop(x: ArrayLike<number>, s: Shape4, [[t, bo], [l, r]]: Pads): Float64Array {
  const o: Shape4 = [s[0], s[1] - t - bo, s[2] - l - r, s[3]];
  const y = new Float64Array(o[0] * o[1] * o[2] * o[3]);
  for (let b = 0; b < o[0]; b++) for (let i = 0; i < o[1]; i++) for (let j = 0; j < o[2]; j++) for (let c = 0; c < o[3]; c++) {
    y[idx(o, b, i, j, c)] = x[idx(s, b, i + t, j + l, c)];
  }
  return y;
}
export function refCropBackward(dy: ArrayLike<number>, s: Shape4, [[t, bo], [l, r]]: Pads): Float64Array {
  const o: Shape4 = [s[0], s[1] - t - bo, s[2] - l - r, s[3]];
  const dx = new Float64Array(s[0] * s[1] * s[2] * s[3]);
  for (let b = 0; b < o[0]; b++) for (let i = 0; i < o[1]; i++) for (let j = 0; j < o[2]; j++) for (let c = 0; c < o[3]; c++) {
    dx[idx(s, b, i + t, j + l, c)] += dy[idx(o, b, i, j, c)];
  }
  return dx;
}

/**
 * Per output (r, q) of an [sh, sw] upsampling: the taps (input row, column, weight). 'nearest':
 * (⌊r/sh⌋, ⌊q/sw⌋) weight 1; 'bilinear': tfjs resizeBilinear without corner alignment, source row
 * r·(H/outH) — or, with half-pixel centers, max(0, (r + ½)·(H/outH) − ½) — in float64, as tfjs'
 * CPU kernel computes it.
 */
function taps(mode: 'nearest' | 'bilinear', s: Shape4, sh: number, sw: number, r: number, q: number, half = false): [number, number, number][] {
  const [, H, W] = s;
  if (mode === 'nearest') return [[Math.floor(r / sh), Math.floor(q / sw), 1]];
  const src = (o: number, n: number, f: number) => (half ? Math.max(0, (o + 0.5) * (n / (n * f)) - 0.5) : o * (n / (n * f)));
  const sy = src(r, H, sh), sx = src(q, W, sw);
  const y0 = Math.floor(sy), x0 = Math.floor(sx);
  const y1 = Math.min(H - 1, Math.ceil(sy)), x1 = Math.min(W - 1, Math.ceil(sx));
  const fy = sy - y0, fx = sx - x0;
  return [[y0, x0, (1 - fy) * (1 - fx)], [y0, x1, (1 - fy) * fx], [y1, x0, fy * (1 - fx)], [y1, x1, fy * fx]];
}

export function refUpsample(x: ArrayLike<number>, s: Shape4, [sh, sw]: [number, number], mode: 'nearest' | 'bilinear', half = false): Float64Array {
  const o: Shape4 = [s[0], s[1] * sh, s[2] * sw, s[3]];
  const y = new Float64Array(o[0] * o[1] * o[2] * o[3]);
  for (let b = 0; b < o[0]; b++) for (let r = 0; r < o[1]; r++) for (let q = 0; q < o[2]; q++) {
    const tp = taps(mode, s, sh, sw, r, q, half);
    for (let c = 0; c < o[3]; c++) {
      let v = 0;
      for (const [i, j, w] of tp) v += w * x[idx(s, b, i, j, c)];
      y[idx(o, b, r, q, c)] = v;
    }
  }
  return y;
}
export function refUpsampleBackward(dy: ArrayLike<number>, s: Shape4, [sh, sw]: [number, number], mode: 'nearest' | 'bilinear', half = false): Float64Array {
  const o: Shape4 = [s[0], s[1] * sh, s[2] * sw, s[3]];
  const dx = new Float64Array(s[0] * s[1] * s[2] * s[3]);
  for (let b = 0; b < o[0]; b++) for (let r = 0; r < o[1]; r++) for (let q = 0; q < o[2]; q++) {
    const tp = taps(mode, s, sh, sw, r, q, half);
    for (let c = 0; c < o[3]; c++) for (const [i, j, w] of tp) dx[idx(s, b, i, j, c)] += w * dy[idx(o, b, r, q, c)];
  }
  return dx;
}

/** [B, C]: the mean ('avg') or the max over each image's pixels. */
export function refGlobalPool(x: ArrayLike<number>, s: Shape4, mode: 'avg' | 'max'): Float64Array {
  const [B, H, W, C] = s;
  const y = new Float64Array(B * C);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) {
    let v = mode === 'avg' ? 0 : -Infinity;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const e = x[idx(s, b, i, j, c)];
      v = mode === 'avg' ? v + e : Math.max(v, e);
    }
    y[b * C + c] = mode === 'avg' ? v / (H * W) : v;
  }
  return y;
}
/** The max's gradient goes to the first maximum (row-major) of each (image, channel). */
export function refGlobalPoolBackward(x: ArrayLike<number>, dy: ArrayLike<number>, s: Shape4, mode: 'avg' | 'max'): Float64Array {
  const [B, H, W, C] = s;
  const dx = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) {
    const g = dy[b * C + c];
    if (mode === 'avg') {
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) dx[idx(s, b, i, j, c)] = g / (H * W);
      continue;
    }
    let best = -1, v = -Infinity;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const p = idx(s, b, i, j, c);
      if (x[p] > v) { v = x[p]; best = p; }
    }
    dx[best] += g;
  }
  return dx;
}

/** Permute of full shape [B, ...inShape] by 1-based dims (output axis k+1 = input axis dims[k]). */
export function refPermute(x: ArrayLike<number>, batch: number, inShape: number[], dims: number[]): Float64Array {
  const out = dims.map((d) => inShape[d - 1]);
  const n = inShape.reduce((a, b) => a * b, 1);
  const y = new Float64Array(batch * n);
  const inStr: number[] = [];
  let acc = 1;
  for (let k = inShape.length - 1; k >= 0; k--) { inStr[k] = acc; acc *= inShape[k]; }
  for (let b = 0; b < batch; b++) for (let o = 0; o < n; o++) {
    let rest = o, src = 0;
    for (let k = out.length - 1; k >= 0; k--) {
      const i = rest % out[k];
      rest = Math.floor(rest / out[k]);
      src += i * inStr[dims[k] - 1];
    }
    y[b * n + o] = x[b * n + src];
  }
  return y;
}
/** Permute's backward: the inverse permutation applied to dy. */
export function refPermuteBackward(dy: ArrayLike<number>, batch: number, inShape: number[], dims: number[]): Float64Array {
  const out = dims.map((d) => inShape[d - 1]);
  const inv = inShape.map((_, a) => dims.indexOf(a + 1) + 1);
  return refPermute(dy, batch, out, inv);
}
