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

/** A buffer of float32 values: a heap byte address (wasm) or a GPU buffer and float offset (WebGPU). */
export type Buf = number | { readonly buf: unknown; readonly off: number };

/** Activations a kernel applies on its own (linear copies, softmax is row-wise over the last axis). */
export type KernelActivation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';

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

  /** A buffer of `floats` floats for a plan's lifetime (scratch, slots, masks). */
  alloc(floats: number, label: string): Buf;
  free(b: Buf): void;
  /** The buffer `floats` floats into b. */
  at(b: Buf, floats: number): Buf;
  /** Per batch: values = gen() written into b (n floats), before the steps after it read them. */
  hostFill(n: number, b: Buf, gen: (values: Float32Array) => void): void;

  /** C[m×n] (+)= op(A)·op(B) (+ bias) (ReLU): A [m×k] (or [k×m] transposed), B [k×n] (or [n×k]). */
  gemm(m: number, n: number, k: number, a: Buf, transposeA: boolean, b: Buf, transposeB: boolean, c: Buf,
    opts?: { bias?: Buf; relu?: boolean; accumulate?: boolean }): void;
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
  /** dy ← dy · act'(x), in place, from the forward output y. */
  activationBackward(act: KernelActivation, rows: number, cols: number, y: Buf, dy: Buf): void;

  maxPoolForward(g: PoolGeometry, x: Buf, y: Buf, argmax: Buf | undefined): void;
  /** dx = the max pool's input gradient (overwritten), through the forward's argmax. */
  maxPoolBackward(g: PoolGeometry, dy: Buf, argmax: Buf, dx: Buf): void;
  avgPoolForward(g: PoolGeometry, x: Buf, y: Buf): void;
  avgPoolBackward(g: PoolGeometry, dy: Buf, dx: Buf): void;

  /** Plans one convolution geometry (a max pooling after it: only where fusesConvPool). */
  convPlan(g: Conv2DGeometry, training: boolean, pool?: PoolGeometry): ConvPlan;
  /** y = conv(x, w) (+ bias) (ReLU); with a pooled plan, pooled.y (and pooled.argmax when training) instead of y. */
  convForward(p: ConvPlan, x: Buf, w: Buf, bias: Buf | undefined, y: Buf, relu: boolean, pooled?: { y: Buf; argmax: Buf | undefined }): void;
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
}
