// The seam between layers and backends. A layer describes its computation once, as calls to these
// kernels over opaque buffers; each backend implements the kernels, not the layers (as tfjs'
// backends and XNNPACK's operators do):
// - wasm (src/backend/wasm-kernels.ts): buffers are heap byte addresses and every call runs now;
// - WebGPU (src/webgpu/gpu-kernels.ts): buffers are (GPUBuffer, float offset) and every call
//   records a dispatch, so the planner's program is recorded once per plan and replayed per batch.
// A program step therefore calls kernels with the same arguments on every replay: anything that
// changes per batch (dropout masks) goes through `hostFill`, which each backend runs per batch.

import type { Conv2DGeometry } from '../ops/conv.js';
import type { PoolGeometry } from '../ops/pool.js';
import type { CollapsedGeom, MergeOp } from '../ops/merge.js';
import type { KernelAct } from '../layers/activation-fns.js';
import type { DepthwiseActivation, DepthwiseGeometry } from '../ops/depthwise.js';
import type { EpilogueAct } from './kernel-exports.js';

export type { EpilogueAct };

/** A backend's plan for one depthwise convolution geometry (tables, gradient partials). */
export interface DepthwisePlan {
  g: DepthwiseGeometry;
  free(): void;
}
import type { BilinearGeometry } from '../ops/shape.js';

/** A buffer of float32 values: a heap byte address (wasm) or a GPU buffer and float offset (WebGPU). */
export type Buf = number | { readonly buf: unknown; readonly off: number };

/**
 * Activations a kernel applies on its own (linear copies, softmax is row-wise over the last axis):
 * the registry's names and the activation layers' parametric forms (src/layers/activation-fns.ts).
 */
export type KernelActivation = KernelAct;

/** A backend's plan for one convolution geometry (scratch, thread slices, im2col buffer). */
export interface ConvPlan {
  g: Conv2DGeometry;
  /** A max pooling runs inside the passes (planned with one: wasm only, see fusesConvPool). */
  pooled: boolean;
  free(): void;
}

/** Broadcast geometry of out ← (a, b), collapsed (src/ops/merge.ts), held where the backend needs it. */
export interface BroadcastPlan extends CollapsedGeom {
  free(): void;
}

export interface Kernels {
  readonly backend: 'wasm' | 'webgpu';
  /** Whether activation(x → y) may run with y = x (WebGPU binds a buffer once per dispatch). */
  readonly inPlace: boolean;
  /** Whether convPlan takes a max pooling to run inside the convolution passes. */
  readonly fusesConvPool: boolean;
  /** The activations convForward applies in its epilogue (others: a pass of their own after it). */
  readonly epilogueActs: readonly EpilogueAct[];

  /** A buffer of `floats` floats for a plan's lifetime (scratch, slots, masks). */
  alloc(floats: number, label: string): Buf;
  free(b: Buf): void;
  /** The buffer `floats` floats into b. */
  at(b: Buf, floats: number): Buf;
  /** Per batch: values = gen() written into b (n floats), before the steps after it read them. */
  hostFill(n: number, b: Buf, gen: (values: Float32Array) => void): void;

  /**
   * C[m×n] (+)= act(op(A)·op(B) (+ bias) (+ res)): A [m×k] (or [k×m] transposed), B [k×n] (or
   * [n×k]); res a residual laid out as C (not with accumulate); act ReLU (relu: true) or ReLU6.
   */
  gemm(m: number, n: number, k: number, a: Buf, transposeA: boolean, b: Buf, transposeB: boolean, c: Buf,
    opts?: { bias?: Buf; scale?: Buf; relu?: boolean; act?: EpilogueAct; res?: Buf; accumulate?: boolean }): void;
  /** y = x over n floats (x ≠ y). */
  copy(n: number, x: Buf, y: Buf): void;
  /** y += x over n floats. */
  addInto(n: number, x: Buf, y: Buf): void;
  /** y = x · mask elementwise over n floats (y may be x where inPlace; mulMask(n, dy, mask, dy) always may). */
  mulMask(n: number, x: Buf, mask: Buf, y: Buf): void;
  /** db[j] = Σ_i dy[i][j], dy [rows×cols]. */
  biasGrad(rows: number, cols: number, dy: Buf, db: Buf): void;
  /** y = act(x) over rows×cols (softmax per row); y = x only where inPlace. */
  activation(act: KernelActivation, rows: number, cols: number, x: Buf, y: Buf): void;
  /**
   * dy ← dy · act'(x), in place, from the forward output y; where needsInput(act) (activation-fns.ts)
   * from the forward input x instead, which must then be given (the layer keeps it).
   */
  activationBackward(act: KernelActivation, rows: number, cols: number, y: Buf, dy: Buf, x?: Buf): void;

  maxPoolForward(g: PoolGeometry, x: Buf, y: Buf, argmax: Buf | undefined): void;
  /** dx = the max pool's input gradient (overwritten), through the forward's argmax. */
  maxPoolBackward(g: PoolGeometry, dy: Buf, argmax: Buf, dx: Buf): void;
  avgPoolForward(g: PoolGeometry, x: Buf, y: Buf): void;
  avgPoolBackward(g: PoolGeometry, dy: Buf, dx: Buf): void;

  /** Plans one convolution geometry (a max pooling after it: only where fusesConvPool). */
  convPlan(g: Conv2DGeometry, training: boolean, pool?: PoolGeometry): ConvPlan;
  /**
   * y = act(conv(x, w) (× scale) (+ bias) (+ res)): a per-channel scale (a folded batch norm), the
   * activation (ReLU or ReLU6) and a residual laid out as y in the epilogue; with a pooled plan (act
   * linear or ReLU, no res or scale), pooled.y (and pooled.argmax when training) instead of y.
   * wVersion: the version of w's contents (StepContext.weightsVersion): an inference plan may keep
   * a copy of w in its own layout while (w, wVersion) stay the same; undefined: w is read afresh.
   */
  convForward(p: ConvPlan, x: Buf, w: Buf, bias: Buf | undefined, y: Buf, act: EpilogueAct,
    pooled?: { y: Buf; argmax: Buf | undefined }, res?: Buf, scale?: Buf, wVersion?: number): void;
  /**
   * From dy (of the pooled output with a pooled plan; masked by y > 0 first when relu): dw and db
   * overwritten, dx overwritten when given. dy may be clobbered.
   */
  convBackward(p: ConvPlan, x: Buf, w: Buf, y: Buf, dy: Buf, relu: boolean, dx: Buf | undefined, dw: Buf, db: Buf | undefined,
    pooled?: { y: Buf; argmax: Buf }): void;

  /** Geometry of out ← (a, b) (full shapes, batch included; b defaults to out). */
  broadcastPlan(out: number[], a: number[], b?: number[]): BroadcastPlan;
  /** y = scale·(op(a, b) (+ y when accumulating)); a = 'y' reads y itself (in place). */
  broadcastBinary(op: MergeOp, g: BroadcastPlan, a: Buf | 'y', b: Buf, y: Buf, accumulate?: boolean, scale?: number): void;
  /** dx = scale · (grad summed over the axes operand a is broadcast on); overwrites dx. */
  broadcastReduce(g: BroadcastPlan, grad: Buf, dx: Buf, scale?: number): void;
  /** Max/min routing for input x of output y: gOut = r where x == y (then r = 0), else 0. */
  routeGrad(g: BroadcastPlan, x: Buf, y: Buf, r: Buf, gOut: Buf): void;
  /** For o < outer: block floats from src + o·srcStride to dst + o·dstStride (floats). */
  blockCopy(outer: number, block: number, src: Buf, srcStride: number, dst: Buf, dstStride: number): void;

  // Depthwise / separable / transposed convolutions (src/layers/depthwise.ts; assembly/depthwise.ts).
  /** Plans one depthwise geometry (x [N, H, W, C], kernel [kh, kw, C, dm], y [N, outH, outW, C·dm]). */
  depthwisePlan(g: DepthwiseGeometry, training: boolean): DepthwisePlan;
  /** y = act(depthwise(x, w) (+ bias)), the activation fused. */
  depthwiseForward(p: DepthwisePlan, x: Buf, w: Buf, bias: Buf | undefined, y: Buf, act: DepthwiseActivation): void;
  /** From dy (masked by act'(y) first; dy is clobbered): dw overwritten, db and dx overwritten when given. */
  depthwiseBackward(p: DepthwisePlan, x: Buf, w: Buf, y: Buf, dy: Buf, act: DepthwiseActivation,
    dx: Buf | undefined, dw: Buf, db: Buf | undefined): void;
  /** dx = the convolution's input gradient from dy (overwritten; dy and w untouched). */
  convInputGrad(p: ConvPlan, dy: Buf, w: Buf, dx: Buf): void;
  /** dw = the convolution's filter gradient from x and dy (overwritten; x and dy untouched). */
  convFilterGrad(p: ConvPlan, x: Buf, dy: Buf, dw: Buf): void;

  // Shape layers (src/layers/padding.ts, reshape.ts, upsampling.ts; kernels in assembly/shape.ts).
  /** y = value over n floats. */
  fill(n: number, value: number, y: Buf): void;
  /**
   * Strided copy over at most 6 axes: for every index i over dims, dst[Σ i_k·dstStrides_k] =
   * src[Σ i_k·srcStrides_k] (floats). Distinct indices must reach distinct destinations; src ≠ dst.
   */
  stridedCopy(dims: number[], src: Buf, srcStrides: number[], dst: Buf, dstStrides: number[]): void;
  /** y [n, h·sh, w·sw, c] = bilinear upsampling of x [n, h, w, c] (tfjs resizeBilinear, no corner alignment, no half-pixel centers). */
  bilinearForward(g: BilinearGeometry, x: Buf, y: Buf): void;
  /** dx (overwritten) = bilinearForward's input gradient from dy. */
  bilinearBackward(g: BilinearGeometry, dy: Buf, dx: Buf): void;

  /**
   * L1/L2 regularization over n floats of x: out[0] (+)= l1·Σ|x| + l2·Σx² when out is given
   * (accumulate adds to it), and g += l1·sign(x) + 2·l2·x when g is given.
   */
  regularize(n: number, x: Buf, g: Buf | undefined, l1: number, l2: number, out: Buf | undefined, accumulate: boolean): void;

  // Batch normalization (src/layers/batch-norm.ts; assembly/batchnorm.ts): x viewed as
  // [outer, C, inner] (C: the normalized axis); per-channel vectors are C floats.
  /** A geometry's plan (reduction scratch). */
  bnPlan(outer: number, C: number, inner: number): BnPlan;
  /** stats = [mean | biased variance] (2C floats) of x per channel over outer × inner. */
  bnStats(p: BnPlan, x: Buf, stats: Buf): void;
  /** coef = [invStd | a | b] (3C): invStd = 1/√(variance + eps), a = gamma·invStd, b = beta − mean·a (no gamma: 1, no beta: 0). coef ≠ the others' buffers. */
  bnCoeffs(C: number, mean: Buf, variance: Buf, gamma: Buf | undefined, beta: Buf | undefined, eps: number, coef: Buf): void;
  /** moving ← moving − (moving − batch)·(1 − momentum) over C floats (tfjs' moving average); batch ≠ moving's buffer. */
  bnMovingUpdate(C: number, batch: Buf, momentum: number, moving: Buf): void;
  /** y = act(x·a[c] + b[c]), a, b from coef (bnCoeffs); y ≠ x. */
  bnAffine(p: BnPlan, act: 'linear' | 'relu' | 'relu6', x: Buf, coef: Buf, y: Buf): void;
  /**
   * From dy and the forward's mean and coef (invStd): dgamma = Σ dy·x̂, dbeta = Σ dy (overwritten when
   * given; one buffer), dx (overwritten when given) = the full batch-statistics backward when
   * training, else dy·gamma·invStd. dx ≠ dy.
   */
  bnBackward(p: BnPlan, training: boolean, x: Buf, dy: Buf, mean: Buf, coef: Buf, gamma: Buf | undefined,
    dx: Buf | undefined, dgamma: Buf | undefined, dbeta: Buf | undefined): void;
}

/** A backend's plan for one batch-norm geometry [outer, C, inner]. */
export interface BnPlan {
  readonly outer: number;
  readonly C: number;
  readonly inner: number;
  free(): void;
}
