// The advanced activation layers, with tfjs' names and Keras' semantics: ReLU (maxValue,
// negativeSlope, threshold), LeakyReLU, PReLU (a trainable alpha, broadcast along sharedAxes),
// ELU, ThresholdedReLU and Softmax (any axis). All are elementwise passes through the shared
// activation kernels (ctx.k.activation / activationBackward, src/layers/activation-fns.ts); their
// backward reads the layer's input x where the derivative needs it (the planner keeps every
// forward tensor while training) and leaves dx in dy's buffer. PReLU composes its forward and
// backward from the activation and broadcast kernels, so both backends run it unchanged.

import type { Buf, BroadcastPlan, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import type { KernelAct } from './activation-fns.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { Layer, noExtras, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

const finite = (layer: string, arg: string, v: unknown, fallback: number, min = -Infinity): number => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw argError(layer, arg, v, min === -Infinity ? 'a finite number' : `a finite number ≥ ${min}`);
  }
  return v;
};

/** An elementwise activation layer: y = f(x) over the whole tensor. */
abstract class ActivationLayerBase extends Layer {
  override readonly dxInPlace = true;
  /** What the kernels apply. */
  abstract kernelAct(): KernelAct;
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  /** rows × cols the kernels see (rows·cols = the batch's elements). */
  protected grid(batch: number): [number, number] {
    const last = this.inShape[this.inShape.length - 1] ?? 1;
    return [batch * (sizeOfShape(this.inShape) / last), last];
  }
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const [r, c] = this.grid(ctx.batch);
    ctx.k.activation(this.kernelAct(), r, c, x, buf.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    if (buf.dx === undefined) return;
    const [r, c] = this.grid(ctx.batch);
    ctx.k.activationBackward(this.kernelAct(), r, c, buf.y!, dy, x);
  }
}

export interface ReLUArgs extends BaseLayerArgs {
  /** Upper clip (none by default). */
  maxValue?: number | null;
  /** Slope below the threshold (Keras; default 0). */
  negativeSlope?: number;
  /** Below it, negativeSlope·(x − threshold) (Keras; default 0). */
  threshold?: number;
}

/** tf.layers.reLU: min(maxValue, x) for x ≥ threshold, negativeSlope·(x − threshold) below (Keras' ReLU layer). */
export class ReLU extends ActivationLayerBase {
  readonly className = 'ReLU';
  readonly maxValue: number | undefined;
  readonly negativeSlope: number;
  readonly threshold: number;
  constructor(args: ReLUArgs = {}) {
    super('re_lu', args ?? {});
    const a = args ?? {};
    this.maxValue = a.maxValue === undefined || a.maxValue === null ? undefined : finite(this.name, 'maxValue', a.maxValue, 0, 0);
    this.negativeSlope = finite(this.name, 'negativeSlope', a.negativeSlope, 0, 0);
    this.threshold = finite(this.name, 'threshold', a.threshold, 0);
  }
  kernelAct(): KernelAct {
    if (this.negativeSlope === 0 && this.threshold === 0) {
      if (this.maxValue === undefined) return 'relu';
      if (this.maxValue === 6) return 'relu6';
    }
    return { op: 'reluX', negativeSlope: this.negativeSlope, maxValue: this.maxValue ?? Infinity, threshold: this.threshold };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), max_value: this.maxValue ?? null, negative_slope: this.negativeSlope, threshold: this.threshold };
  }
}

/** tf.layers.leakyReLU: x for x > 0, alpha·x otherwise (alpha default 0.3, as tfjs and Keras 2). */
export class LeakyReLU extends ActivationLayerBase {
  readonly className = 'LeakyReLU';
  readonly alpha: number;
  constructor(args: BaseLayerArgs & { alpha?: number } = {}) {
    super('leaky_re_lu', args ?? {});
    this.alpha = finite(this.name, 'alpha', args?.alpha, 0.3);
  }
  kernelAct(): KernelAct {
    return { op: 'leakyRelu', alpha: this.alpha };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

/** tf.layers.elu: x for x > 0, alpha·(eˣ − 1) otherwise (any alpha; tfjs 4.22 itself accepts only 1). */
export class ELU extends ActivationLayerBase {
  readonly className = 'ELU';
  readonly alpha: number;
  constructor(args: BaseLayerArgs & { alpha?: number } = {}) {
    super('elu', args ?? {});
    this.alpha = finite(this.name, 'alpha', args?.alpha, 1);
  }
  kernelAct(): KernelAct {
    return { op: 'elu', alpha: this.alpha };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

/** tf.layers.thresholdedReLU: x for x > theta, else 0 (theta default 1). */
export class ThresholdedReLU extends ActivationLayerBase {
  readonly className = 'ThresholdedReLU';
  readonly theta: number;
  constructor(args: BaseLayerArgs & { theta?: number } = {}) {
    super('thresholded_re_lu', args ?? {});
    this.theta = finite(this.name, 'theta', args?.theta, 1);
  }
  kernelAct(): KernelAct {
    return { op: 'thresholdedRelu', theta: this.theta };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), theta: this.theta };
  }
}

/**
 * tf.layers.softmax: softmax along `axis` (default −1, as Keras; counted over the full shape with
 * the batch as axis 0, so 1 is the first per-example axis). A middle axis of NHWC runs the strided
 * softmax kernel.
 */
export class Softmax extends ActivationLayerBase {
  readonly className = 'Softmax';
  readonly axis: number;
  constructor(args: BaseLayerArgs & { axis?: number | number[] } = {}) {
    super('softmax', args ?? {});
    let axis = args?.axis ?? -1;
    if (Array.isArray(axis)) {
      if (axis.length !== 1) throw argError(this.name, 'axis', args?.axis, 'one axis (softmax over several axes at once is not supported)');
      axis = axis[0];
    }
    if (!Number.isInteger(axis) || axis === 0) throw argError(this.name, 'axis', args?.axis, 'a nonzero integer axis (0 is the batch)');
    this.axis = axis;
  }
  /** The axis as an index into the per-example shape. */
  private axisIndex(rank: number): number {
    const full = rank + 1;
    const a = this.axis < 0 ? this.axis + full : this.axis;
    if (a < 1 || a >= full) throw argError(this.name, 'axis', this.axis, `an axis in [1, ${rank}] or [−${rank}, −1] for inputs of shape [null,${this.inShape}]`);
    return a - 1;
  }
  protected override computeOutputShape(inShape: number[]): number[] {
    this.inShape = inShape.slice();
    this.axisIndex(inShape.length);
    return inShape.slice();
  }
  private dims(batch: number): { outer: number; len: number; inner: number } {
    const k = this.axisIndex(this.inShape.length);
    return { outer: batch * sizeOfShape(this.inShape.slice(0, k)), len: this.inShape[k], inner: sizeOfShape(this.inShape.slice(k + 1)) };
  }
  kernelAct(): KernelAct {
    const { inner } = this.dims(1);
    return inner === 1 ? 'softmax' : { op: 'softmaxAxis', inner };
  }
  protected override grid(batch: number): [number, number] {
    const { outer, len } = this.dims(batch);
    return [outer, len];
  }
  /** 'softmax' over the last axis (then a cross-entropy loss may fuse it, as for dense/activation). */
  get activation(): 'softmax' | 'softmaxAxis' {
    return this.dims(1).inner === 1 ? 'softmax' : 'softmaxAxis';
  }
  /** Set by the model when this softmax feeds a cross-entropy loss: the loss applies it. */
  fusedSoftmax = false;
  override forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    if (!(this.fusedSoftmax && ctx.logits)) return super.forward(ctx, buf, x);
    const [r, c] = this.grid(ctx.batch);
    ctx.k.activation('linear', r, c, x, buf.y!);
  }
  override backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    // Fused: dy is already the gradient of the logits.
    if (!this.fusedSoftmax) super.backward(ctx, buf, x, dy);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}

export interface PReLUArgs extends BaseLayerArgs {
  alphaInitializer?: InitializerName;
  /** 1-based axes of the per-example shape alpha is shared along (its gradient summed over them). */
  sharedAxes?: number | number[] | null;
}

interface PReLUBuffers extends LayerBuffers {
  /** min(x, 0), kept for alpha's gradient. */
  neg: Buf;
  /** Scratch: relu(x) in the forward, products in the backward. */
  tmp: Buf;
  /** out = [batch, ...inShape] ← (a = [1, ...alphaShape], b = out). */
  g: BroadcastPlan;
}

/** min(x, 0) and its mask (x < 0) as one parametric activation: Keras ReLU with slope 1, max 0. */
const NEG_PART: KernelAct = { op: 'reluX', negativeSlope: 1, maxValue: 0, threshold: 0 };

/** tf.layers.pReLU: x for x > 0, alpha·x otherwise, alpha a trainable weight of the per-example shape (1 along sharedAxes). */
export class PReLU extends Layer {
  readonly className = 'PReLU';
  override readonly dxInPlace = true;
  readonly alphaInitializer: InitializerName;
  readonly sharedAxes: number[] | undefined;
  constructor(args: PReLUArgs = {}) {
    super('p_re_lu', args ?? {});
    const a = args ?? {};
    this.alphaInitializer = checkInitializer(this.name, 'alphaInitializer', a.alphaInitializer ?? 'zeros');
    const s = a.sharedAxes;
    if (s === undefined || s === null) this.sharedAxes = undefined;
    else {
      const list = typeof s === 'number' ? [s] : s;
      if (!Array.isArray(list) || list.some((v) => !Number.isInteger(v) || v < 1)) {
        throw argError(this.name, 'sharedAxes', s, 'a positive integer or an array of them (1-based axes of the per-example shape)');
      }
      this.sharedAxes = list.slice();
    }
  }
  alphaShape(inShape = this.inShape): number[] {
    const shape = inShape.slice();
    for (const ax of this.sharedAxes ?? []) shape[ax - 1] = 1;
    return shape;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    for (const ax of this.sharedAxes ?? []) {
      if (ax > inShape.length) throw argError(this.name, 'sharedAxes', this.sharedAxes, `axes in [1, ${inShape.length}] for inputs of shape [null,${inShape}]`);
    }
    return inShape.slice();
  }
  protected override weightShapes(inShape: number[]) {
    return [{ name: 'alpha', shape: this.alphaShape(inShape), init: this.alphaInitializer }];
  }
  private grid(batch: number): [number, number] {
    const last = this.inShape[this.inShape.length - 1];
    return [batch * (sizeOfShape(this.inShape) / last), last];
  }
  plan(k: Kernels, batch: number, _training: boolean, io: PlanIO): PReLUBuffers {
    const n = batch * sizeOfShape(this.inShape);
    const full = [batch, ...this.inShape];
    const g = k.broadcastPlan(full, [1, ...this.alphaShape()], full);
    const neg = k.alloc(n, `${this.name}/neg`), tmp = k.alloc(n, `${this.name}/tmp`);
    return { y: io.y, dx: io.dx, neg, tmp, g, free: () => { k.free(neg); k.free(tmp); g.free(); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { neg, tmp, g } = buf as PReLUBuffers;
    const k = ctx.k, [r, c] = this.grid(ctx.batch);
    k.activation(NEG_PART, r, c, x, neg); // min(x, 0)
    k.broadcastBinary('mul', g, this.param(ctx, 0), neg, buf.y!); // alpha · min(x, 0)
    k.activation('relu', r, c, x, tmp);
    k.addInto(r * c, tmp, buf.y!); // + max(x, 0)
  }
  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const { neg, tmp, g } = buf as PReLUBuffers;
    const k = ctx.k, [r, c] = this.grid(ctx.batch);
    // dalpha = Σ over the batch and sharedAxes of dy · min(x, 0).
    k.mulMask(r * c, dy, neg, tmp);
    k.broadcastReduce(g, tmp, this.grad(ctx, 0));
    if (buf.dx === undefined) return;
    // dx = dy·[x > 0] + alpha·dy·[x < 0], left in dy.
    k.broadcastBinary('mul', g, this.param(ctx, 0), dy, tmp);
    k.activationBackward(NEG_PART, r, c, neg, tmp, x); // · [x < 0]
    k.activationBackward('relu', r, c, x, dy); // · [x > 0] (relu's backward reads its argument's sign)
    k.addInto(r * c, tmp, dy);
  }
  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), alpha_initializer: initializerJson(this.alphaInitializer), alpha_regularizer: null,
      alpha_constraint: null, shared_axes: this.sharedAxes ?? null,
    };
  }
}

export const activationLayers = {
  reLU: (args: ReLUArgs = {}) => new ReLU(args),
  leakyReLU: (args: BaseLayerArgs & { alpha?: number } = {}) => new LeakyReLU(args),
  pReLU: (args: PReLUArgs = {}) => new PReLU(args),
  /** tfjs' spelling. */
  prelu: (args: PReLUArgs = {}) => new PReLU(args),
  elu: (args: BaseLayerArgs & { alpha?: number } = {}) => new ELU(args),
  thresholdedReLU: (args: BaseLayerArgs & { theta?: number } = {}) => new ThresholdedReLU(args),
  softmax: (args: BaseLayerArgs & { axis?: number | number[] } = {}) => new Softmax(args),
};
