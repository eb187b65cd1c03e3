// Merge-layer kernels (Keras Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate):
// elementwise binary ops with numpy broadcasting, the broadcast-axis sum their backward passes
// need, max/min gradient routing, and the strided block copy of concatenation.
//
// Broadcast geometry. TypeScript (src/ops/merge.ts) aligns every shape to the output's at the
// right, drops the output's size-1 axes and merges adjacent axes along which every operand is
// either contiguous or broadcast alike, then writes an i32 table `geom` of 3·rank entries in the
// heap (4-byte aligned): dims[0..rank) | aStrides[0..rank) | bStrides[0..rank), strides in floats,
// 0 along an axis an operand is broadcast on. rank ≥ 1. The output, and every operand said to be
// "contiguous", is row-major over dims; the strided operands (a, b) are read at Σ index·stride.
// The last axis is the inner SIMD loop: its strides must be 0 or 1 (4 floats per f32x4, scalar
// tail for dims[rank−1] % 4). A call covers the slab of the output whose index along axis 0 lies
// in [start, start + count) (rank 1: a range of elements); every pointer is the base of the whole
// array, the kernel offsets it. Disjoint slabs write disjoint outputs, which is how a thread pool
// splits a call (broadcastReduce only when dx is not broadcast along axis 0).
//
// All pointers are byte addresses of f32 arrays, 4-byte aligned (the heap's 64 is faster).

/** Op codes of broadcastBinary (mirrored in src/ops/merge.ts). */
const ADD = 0;
const SUB = 1;
const MUL = 2;
const MAX = 3;
const MIN = 4;

// wasm f32.max / f32x4.max propagate NaN, so the scalar tail and the vector body agree.
// @ts-ignore: decorator
@inline function vop(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  if (op == MAX) return f32x4.max(x, y);
  return f32x4.min(x, y);
}
// @ts-ignore: decorator
@inline function sop(op: i32, x: f32, y: f32): f32 {
  if (op == ADD) return x + y;
  if (op == SUB) return x - y;
  if (op == MUL) return x * y;
  if (op == MAX) return max(x, y);
  return min(x, y);
}

// One inner row for a constant op (inlined per op so the op test folds away): y (+)= op(a, b)
// over n floats, a read at stride ai ∈ {0, 1}, b at bi ∈ {0, 1}.
// @ts-ignore: decorator
@inline function rowOp(op: i32, acc: i32, n: i32, a: usize, ai: i32, b: usize, bi: i32, y: usize): void {
  const n4 = n & ~3;
  let i = 0;
  if (ai && bi) {
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      let r = vop(op, v128.load(a + o), v128.load(b + o));
      if (acc) r = f32x4.add(v128.load(y + o), r);
      v128.store(y + o, r);
    }
  } else if (ai) {
    const bv = v128.load32_splat(b);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      let r = vop(op, v128.load(a + o), bv);
      if (acc) r = f32x4.add(v128.load(y + o), r);
      v128.store(y + o, r);
    }
  } else if (bi) {
    const av = v128.load32_splat(a);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      let r = vop(op, av, v128.load(b + o));
      if (acc) r = f32x4.add(v128.load(y + o), r);
      v128.store(y + o, r);
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let r = sop(op, load<f32>(a + (<usize>(i * ai) << 2)), load<f32>(b + (<usize>(i * bi) << 2)));
    if (acc) r = load<f32>(y + o) + r;
    store<f32>(y + o, r);
  }
}

function binaryRow(op: i32, acc: i32, n: i32, a: usize, ai: i32, b: usize, bi: i32, y: usize): void {
  if (op == ADD) rowOp(ADD, acc, n, a, ai, b, bi, y);
  else if (op == SUB) rowOp(SUB, acc, n, a, ai, b, bi, y);
  else if (op == MUL) rowOp(MUL, acc, n, a, ai, b, bi, y);
  else if (op == MAX) rowOp(MAX, acc, n, a, ai, b, bi, y);
  else rowOp(MIN, acc, n, a, ai, b, bi, y);
}

// Floats of the output per index of axis 0: dims[1]·…·dims[rank−1].
function slabSize(rank: i32, geom: usize): i32 {
  let s = 1;
  for (let d = 1; d < rank; d++) s *= load<i32>(geom + (<usize>d << 2));
  return s;
}

// Row-major walk of axes d..rank−1 (axis d over [lo, hi)); returns the next output address.
function binaryWalk(op: i32, acc: i32, rank: i32, geom: usize, d: i32, lo: i32, hi: i32, a: usize, b: usize, y: usize): usize {
  const sa = load<i32>(geom + (<usize>(rank + d) << 2));
  const sb = load<i32>(geom + (<usize>(2 * rank + d) << 2));
  a += <usize>(lo * sa) << 2;
  b += <usize>(lo * sb) << 2;
  if (d == rank - 1) {
    binaryRow(op, acc, hi - lo, a, sa, b, sb, y);
    return y + (<usize>(hi - lo) << 2);
  }
  const next = load<i32>(geom + (<usize>(d + 1) << 2));
  const da = <usize>sa << 2, db = <usize>sb << 2;
  for (let i = lo; i < hi; i++) {
    y = binaryWalk(op, acc, rank, geom, d + 1, 0, next, a, b, y);
    a += da;
    b += db;
  }
  return y;
}

/**
 * y (+)= op(a, b) elementwise with broadcasting, op 0 add, 1 sub (a − b), 2 mul, 3 max, 4 min
 * (max/min propagate NaN); accumulate = 1 adds to y instead of overwriting it. a is read at
 * geom's aStrides, b at its bStrides, y is contiguous over dims; the slab [start, start + count)
 * of axis 0 is computed (see the top of this file). y may equal a (or b) when that operand is
 * contiguous over the same dims (in place); otherwise y must not overlap a or b.
 */
export function broadcastBinary(op: i32, accumulate: i32, rank: i32, geom: usize, start: i32, count: i32,
  a: usize, b: usize, y: usize): void {
  if (count <= 0) return;
  const y0 = y + (<usize>start * <usize>slabSize(rank, geom) << 2);
  binaryWalk(op, accumulate, rank, geom, 0, start, start + count, a, b, y0);
}

// dx (+)= scale·g along one inner row: dx stride xi ∈ {0, 1} (0: the row sums into dx[0]).
function reduceRow(n: i32, g: usize, dx: usize, xi: i32, scale: f32, overwrite: i32): void {
  const n4 = n & ~3;
  let i = 0;
  if (xi) {
    const s = f32x4.splat(scale);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      let r = f32x4.mul(v128.load(g + o), s);
      if (!overwrite) r = f32x4.add(v128.load(dx + o), r);
      v128.store(dx + o, r);
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const r = load<f32>(g + o) * scale;
      store<f32>(dx + o, overwrite ? r : load<f32>(dx + o) + r);
    }
    return;
  }
  let v = f32x4.splat(0);
  for (; i < n4; i += 4) v = f32x4.add(v, v128.load(g + (<usize>i << 2)));
  let t: f32 = (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
  for (; i < n; i++) t += load<f32>(g + (<usize>i << 2));
  store<f32>(dx, overwrite ? t * scale : load<f32>(dx) + t * scale);
}

function reduceWalk(rank: i32, geom: usize, d: i32, lo: i32, hi: i32, g: usize, dx: usize, scale: f32, overwrite: i32): usize {
  const sx = load<i32>(geom + (<usize>(rank + d) << 2));
  dx += <usize>(lo * sx) << 2;
  if (d == rank - 1) {
    reduceRow(hi - lo, g, dx, sx, scale, overwrite);
    return g + (<usize>(hi - lo) << 2);
  }
  const next = load<i32>(geom + (<usize>(d + 1) << 2));
  const dd = <usize>sx << 2;
  for (let i = lo; i < hi; i++) {
    g = reduceWalk(rank, geom, d + 1, 0, next, g, dx, scale, overwrite);
    dx += dd;
  }
  return g;
}

/**
 * dx[off(o)] += scale·g[o] for every output index o of the slab [start, start + count) of axis 0:
 * sums g (contiguous over dims) over the axes dx is broadcast on (dx read and written at geom's
 * aStrides; bStrides are ignored), in row-major order of o. The caller zeroes dx first, or passes
 * overwrite = 1 (dx = scale·g) when no aStride is 0. Rows along a broadcast inner axis are summed
 * in four f32x4 lanes, then added to dx. g and dx must not overlap.
 */
export function broadcastReduce(rank: i32, geom: usize, start: i32, count: i32, g: usize, dx: usize,
  scale: f32, overwrite: i32): void {
  if (count <= 0) return;
  const g0 = g + (<usize>start * <usize>slabSize(rank, geom) << 2);
  reduceWalk(rank, geom, 0, start, start + count, g0, dx, scale, overwrite);
}

// One inner row of routeGrad: x at stride xi ∈ {0, 1}; y, r, g contiguous.
function routeRow(n: i32, x: usize, xi: i32, y: usize, r: usize, g: usize): void {
  const n4 = n & ~3;
  let i = 0;
  if (xi) {
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o);
      const m = v128.or(f32x4.eq(xv, v128.load(y + o)), f32x4.ne(xv, xv));
      const rv = v128.load(r + o);
      v128.store(g + o, v128.and(rv, m));
      v128.store(r + o, v128.andnot(rv, m));
    }
  } else {
    const xv = v128.load32_splat(x);
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      const m = v128.or(f32x4.eq(xv, v128.load(y + o)), f32x4.ne(xv, xv));
      const rv = v128.load(r + o);
      v128.store(g + o, v128.and(rv, m));
      v128.store(r + o, v128.andnot(rv, m));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const xs = load<f32>(x + (<usize>(i * xi) << 2));
    if (xs == load<f32>(y + o) || xs != xs) {
      store<f32>(g + o, load<f32>(r + o));
      store<f32>(r + o, 0);
    } else {
      store<f32>(g + o, 0);
    }
  }
}

function routeWalk(rank: i32, geom: usize, d: i32, lo: i32, hi: i32, x: usize, o: usize, y: usize, r: usize, g: usize): usize {
  const sx = load<i32>(geom + (<usize>(rank + d) << 2));
  x += <usize>(lo * sx) << 2;
  if (d == rank - 1) {
    routeRow(hi - lo, x, sx, y + o, r + o, g + o);
    return o + (<usize>(hi - lo) << 2);
  }
  const next = load<i32>(geom + (<usize>(d + 1) << 2));
  const dd = <usize>sx << 2;
  for (let i = lo; i < hi; i++) {
    o = routeWalk(rank, geom, d + 1, 0, next, x, o, y, r, g);
    x += dd;
  }
  return o;
}

/**
 * Maximum/Minimum backward for one input x (read at geom's aStrides) of the forward output y,
 * over the slab [start, start + count) of axis 0: where x == y (or x is NaN, which the forward
 * propagated) g = r and r = 0, elsewhere g = 0. r starts as dy; calling this for the inputs in
 * order hands each output's gradient to the FIRST input holding the max/min (ties) and leaves r
 * zero where it was claimed. y, r and g are contiguous over dims and must not overlap; g is then
 * dx (x not broadcast) or summed into it (broadcastReduce).
 */
export function routeGrad(rank: i32, geom: usize, start: i32, count: i32, x: usize, y: usize, r: usize, g: usize): void {
  if (count <= 0) return;
  const o = <usize>start * <usize>slabSize(rank, geom) << 2;
  routeWalk(rank, geom, 0, start, start + count, x, o, y, r, g);
}

/**
 * Strided block copy: for o in [0, outer), the `block` floats at src + o·srcStride go to
 * dst + o·dstStride (strides in floats). Concatenation along an axis is one call per input (src =
 * the input, block = its floats from the axis on, dst = the output at the input's offset along the
 * axis, dstStride = the output's floats from the axis on); its backward is the same call with src
 * and dst swapped. Blocks must not overlap. memory.copy per block (bulk memory: vectorised by the
 * engine, any alignment).
 */
export function blockCopy(outer: i32, block: i32, src: usize, srcStride: i32, dst: usize, dstStride: i32): void {
  const bytes = <usize>block << 2;
  const ss = <usize>srcStride << 2, ds = <usize>dstStride << 2;
  for (let o = 0; o < outer; o++) {
    memory.copy(dst, src, bytes);
    src += ss;
    dst += ds;
  }
}
