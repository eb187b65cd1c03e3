// Depthwise, separable and transposed 2-D convolutions (tf.layers.depthwiseConv2d,
// separableConv2d, conv2dTranspose), NHWC, Keras semantics and weight names. They compute only
// through the kernel interface (src/backend/kernels.ts):
// - DepthwiseConv2D: depthwisePlan/Forward/Backward (ReLU and ReLU6 fused into the pass);
// - SeparableConv2D: the depthwise pass, then the 1×1 pointwise convolution as one GEMM
//   [N·H·W, C·dm] × [C·dm, filters] (bias and ReLU in its epilogue);
// - Conv2DTranspose: the input gradient of the convolution that maps its output shape to its
//   input shape (convInputGrad); its backward is that convolution's forward (dx) and filter
//   gradient with the roles of x and dy swapped (dw).

import type { Buf, BroadcastPlan, ConvPlan, DepthwisePlan, KernelActivation, Kernels } from '../backend/kernels.js';
import { argError, assertPositiveInt, pair } from '../errors.js';
import { conv2dGeometry, type Conv2DGeometry } from '../ops/conv.js';
import { depthwiseGeometry, type DepthwiseActivation, type DepthwiseGeometry } from '../ops/depthwise.js';
import { activationJson, checkActivation, needsInput, type ActivationName } from './activation-fns.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { Layer, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

interface CommonConvArgs extends BaseLayerArgs {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  dataFormat?: 'channelsLast';
  dilationRate?: number | [number, number];
  activation?: ActivationName;
  useBias?: boolean;
  biasInitializer?: InitializerName;
}

export interface DepthwiseConv2DArgs extends CommonConvArgs {
  depthMultiplier?: number;
  depthwiseInitializer?: InitializerName;
}
export interface SeparableConv2DArgs extends DepthwiseConv2DArgs {
  filters: number;
  pointwiseInitializer?: InitializerName;
}
export interface Conv2DTransposeArgs extends CommonConvArgs {
  filters: number;
  kernelInitializer?: InitializerName;
}

/** Activations the depthwise pass applies itself ('relu6' only where the activation registry has it). */
const fusedDw = (a: string): a is DepthwiseActivation => a === 'linear' || a === 'relu' || a === 'relu6';
/** ... and swish too in inference where the backend's epilogues have it (EfficientNet's SiLU). */
const fusedIn = (a: string, k: Kernels, training: boolean): DepthwiseActivation | undefined =>
  fusedDw(a) ? a : a === 'swish' && !training && (k.epilogueActs as readonly string[]).includes('swish') ? 'swish' : undefined;

/** The argument checks every convolution layer here shares. */
abstract class ConvBase extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly biasInitializer: InitializerName;

  constructor(snake: string, args: CommonConvArgs, example: string) {
    super(snake, args ?? ({} as CommonConvArgs));
    if (!args || typeof args !== 'object') throw argError(snake, 'args', args, `an object like ${example}`);
    this.kernelSize = pair(this.name, 'kernelSize', args.kernelSize);
    this.strides = pair(this.name, 'strides', args.strides ?? 1);
    this.dilationRate = pair(this.name, 'dilationRate', args.dilationRate ?? 1);
    const padding = args.padding ?? 'valid';
    if (padding !== 'valid' && padding !== 'same') throw argError(this.name, 'padding', padding, "'valid' or 'same'");
    this.padding = padding;
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw argError(this.name, 'dataFormat', args.dataFormat, "'channelsLast' (NHWC; the only layout simdcnn uses)");
    }
    this.activation = checkActivation(this.name, args.activation);
    this.useBias = args.useBias ?? true;
    this.biasInitializer = checkInitializer(this.name, 'biasInitializer', args.biasInitializer ?? 'zeros');
  }

  /** An Error in the layer's terms (kernelSize) when a 'valid' kernel exceeds the input. */
  protected checkInput(inShape: number[]): void {
    if (inShape.length !== 3) throw argError(this.name, 'input shape', inShape, '[height, width, channels] (rank 3 per example)');
    if (this.padding !== 'valid') return;
    const [sh, sw] = this.kernelSize.map((k, i) => (k - 1) * this.dilationRate[i] + 1);
    if (sh > inShape[0] || sw > inShape[1]) {
      const dilated = this.dilationRate.some((d) => d > 1) ? ` (dilated by [${this.dilationRate.join(', ')}] it spans ${sh}×${sw})` : '';
      throw argError(this.name, 'kernelSize', this.kernelSize, `at most the input's [height, width] = [${inShape[0]}, ${inShape[1]}] with padding 'valid'${dilated}`);
    }
  }

  protected baseConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), kernel_size: this.kernelSize, strides: this.strides, padding: this.padding,
      data_format: 'channels_last', dilation_rate: this.dilationRate, activation: activationJson(this.activation), use_bias: this.useBias,
      bias_initializer: initializerJson(this.biasInitializer), bias_regularizer: null, activity_regularizer: null, bias_constraint: null,
    };
  }
}

function depthMultiplierOf(name: string, v: unknown): number {
  return assertPositiveInt(name, 'depthMultiplier', v ?? 1);
}

interface DepthwiseBuffers extends LayerBuffers {
  dw: DepthwisePlan;
  /** Where the pass writes before a separate activation (y itself where the backend works in place). */
  pre: Buf | undefined;
  /** The activation the pass applies itself; undefined: a separate pass after it. */
  fused?: DepthwiseActivation;
}

/** Depthwise 2-D convolution, kernel [kh, kw, inC, depthMultiplier], as tf.layers.depthwiseConv2d. */
export class DepthwiseConv2D extends ConvBase {
  readonly className: string = 'DepthwiseConv2D';
  readonly depthMultiplier: number;
  readonly depthwiseInitializer: InitializerName;

  constructor(args: DepthwiseConv2DArgs, snake = 'depthwise_conv2d') {
    super(snake, args, '{kernelSize: 3}');
    this.depthMultiplier = depthMultiplierOf(this.name, args.depthMultiplier);
    this.depthwiseInitializer = checkInitializer(this.name, 'depthwiseInitializer', args.depthwiseInitializer ?? 'glorotUniform');
  }

  protected dwGeometry(batch: number, inShape: number[]): DepthwiseGeometry {
    return depthwiseGeometry(this.name, [batch, ...inShape], [...this.kernelSize, inShape[2], this.depthMultiplier],
      this.strides, this.padding, this.dilationRate);
  }

  protected computeOutputShape(inShape: number[]): number[] {
    this.checkInput(inShape);
    const g = this.dwGeometry(1, inShape);
    return [g.outH, g.outW, g.outC];
  }

  protected override weightShapes(inShape: number[]) {
    const w = [{ name: 'depthwise_kernel', shape: [...this.kernelSize, inShape[2], this.depthMultiplier], init: this.depthwiseInitializer }];
    if (this.useBias) w.push({ name: 'bias', shape: [inShape[2] * this.depthMultiplier], init: this.biasInitializer });
    return w;
  }

  /** @internal As Conv2D.padOverride: a zero padding before this ('valid') layer, taken into its own padding. */
  padOverride?: [[number, number], [number, number]];

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): DepthwiseBuffers {
    const o = this.padOverride;
    const g = o
      ? depthwiseGeometry(this.name, [batch, this.inShape[0] - o[0][0] - o[0][1], this.inShape[1] - o[1][0] - o[1][1], this.inShape[2]],
        [...this.kernelSize, this.inShape[2], this.depthMultiplier], this.strides, [[0, 0], o[0], o[1], [0, 0]] as never, this.dilationRate)
      : this.dwGeometry(batch, this.inShape);
    const dw = k.depthwisePlan(g, training);
    const fused = fusedIn(this.activation, k, training);
    const own = !fused && (!k.inPlace || (training && needsInput(this.activation)));
    const pre = own ? k.alloc(dw.g.M * dw.g.outC, `${this.name}/pre`) : io.y;
    return { y: io.y, dx: io.dx, dw, pre, fused, free: () => { dw.free(); if (own) k.free(pre!); } };
  }

  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { dw, pre, fused } = buf as DepthwiseBuffers;
    ctx.k.depthwiseForward(dw, x, this.param(ctx, 0), this.useBias ? this.param(ctx, 1) : undefined, pre!, fused ?? 'linear');
    if (!fused) ctx.k.activation(this.activation as KernelActivation, dw.g.M, dw.g.outC, pre!, buf.y!);
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const { dw, pre } = buf as DepthwiseBuffers;
    const a = this.activation;
    if (!fusedDw(a)) ctx.k.activationBackward(a as KernelActivation, dw.g.M, dw.g.outC, buf.y!, dy, pre);
    ctx.k.depthwiseBackward(dw, x, this.param(ctx, 0), buf.y!, dy, fusedDw(a) ? a : 'linear', buf.dx, this.grad(ctx, 0),
      this.useBias ? this.grad(ctx, 1) : undefined);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(), depth_multiplier: this.depthMultiplier,
      depthwise_initializer: initializerJson(this.depthwiseInitializer), depthwise_regularizer: null, depthwise_constraint: null,
    };
  }
}

interface SeparableBuffers extends LayerBuffers {
  dw: DepthwisePlan;
  /** The depthwise output [M, C·dm] (kept for the pointwise weight gradient), and its gradient. */
  mid: Buf;
  dmid: Buf | undefined;
  pre: Buf | undefined;
}

/** Depthwise convolution then a 1×1 pointwise one, as tf.layers.separableConv2d. */
export class SeparableConv2D extends DepthwiseConv2D {
  override readonly className: string = 'SeparableConv2D';
  readonly filters: number;
  readonly pointwiseInitializer: InitializerName;

  constructor(args: SeparableConv2DArgs) {
    super(args, 'separable_conv2d');
    this.filters = assertPositiveInt(this.name, 'filters', args.filters);
    this.pointwiseInitializer = checkInitializer(this.name, 'pointwiseInitializer', args.pointwiseInitializer ?? 'glorotUniform');
  }

  protected override computeOutputShape(inShape: number[]): number[] {
    const [h, w] = super.computeOutputShape(inShape);
    return [h, w, this.filters];
  }

  protected override weightShapes(inShape: number[]) {
    const cdm = inShape[2] * this.depthMultiplier;
    const w = [
      { name: 'depthwise_kernel', shape: [...this.kernelSize, inShape[2], this.depthMultiplier], init: this.depthwiseInitializer },
      { name: 'pointwise_kernel', shape: [1, 1, cdm, this.filters], init: this.pointwiseInitializer },
    ];
    if (this.useBias) w.push({ name: 'bias', shape: [this.filters], init: this.biasInitializer });
    return w;
  }

  override plan(k: Kernels, batch: number, training: boolean, io: PlanIO): SeparableBuffers {
    const dw = k.depthwisePlan(this.dwGeometry(batch, this.inShape), training);
    const midFloats = dw.g.M * dw.g.outC;
    const mid = k.alloc(midFloats, `${this.name}/depthwise`);
    const dmid = training ? k.alloc(midFloats, `${this.name}/depthwise grad`) : undefined;
    const own = this.activation !== 'relu' && this.activation !== 'linear' && (!k.inPlace || (training && needsInput(this.activation)));
    const pre = own ? k.alloc(dw.g.M * this.filters, `${this.name}/pre`) : io.y;
    return {
      y: io.y, dx: io.dx, dw, mid, dmid, pre,
      free: () => { dw.free(); k.free(mid); if (dmid !== undefined) k.free(dmid); if (own) k.free(pre!); },
    };
  }

  override forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { dw, mid, pre } = buf as SeparableBuffers;
    const k = ctx.k, g = dw.g, a = this.activation;
    k.depthwiseForward(dw, x, this.param(ctx, 0), undefined, mid, 'linear');
    k.gemm(g.M, this.filters, g.outC, mid, false, this.param(ctx, 1), false, pre!,
      { bias: this.useBias ? this.param(ctx, 2) : undefined, relu: a === 'relu' });
    if (a !== 'relu' && a !== 'linear') k.activation(a as KernelActivation, g.M, this.filters, pre!, buf.y!);
  }

  override backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const { dw, mid, dmid, pre } = buf as SeparableBuffers;
    const k = ctx.k, g = dw.g, a = this.activation;
    if (a !== 'linear') k.activationBackward(a as KernelActivation, g.M, this.filters, buf.y!, dy, pre);
    if (this.useBias) k.biasGrad(g.M, this.filters, dy, this.grad(ctx, 2));
    // pointwise: dWp = midᵀ·dy, dmid = dy·Wpᵀ.
    k.gemm(g.outC, this.filters, g.M, mid, true, dy, false, this.grad(ctx, 1));
    k.gemm(g.M, g.outC, this.filters, dy, false, this.param(ctx, 1), true, dmid!);
    k.depthwiseBackward(dw, x, this.param(ctx, 0), mid, dmid!, 'linear', buf.dx, this.grad(ctx, 0), undefined);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), filters: this.filters,
      pointwise_initializer: initializerJson(this.pointwiseInitializer), pointwise_regularizer: null, pointwise_constraint: null,
    };
  }
}

interface TransposeBuffers extends LayerBuffers {
  conv: ConvPlan;
  bias: BroadcastPlan | undefined;
  pre: Buf | undefined;
}

/** Transposed convolution, kernel [kh, kw, filters, inC] as tfjs stores it, as tf.layers.conv2dTranspose. */
export class Conv2DTranspose extends ConvBase {
  readonly className = 'Conv2DTranspose';
  readonly filters: number;
  readonly kernelInitializer: InitializerName;

  constructor(args: Conv2DTransposeArgs) {
    super('conv2d_transpose', args, '{filters: 8, kernelSize: 3}');
    this.filters = assertPositiveInt(this.name, 'filters', args.filters);
    this.kernelInitializer = checkInitializer(this.name, 'kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    if (this.dilationRate[0] !== 1 || this.dilationRate[1] !== 1) {
      throw argError(this.name, 'dilationRate', this.dilationRate, '1 (a dilated transposed convolution is not supported, as in tfjs)');
    }
  }

  /** Output size along one axis (Keras deconv_output_length without output_padding). */
  private outLength(n: number, k: number, s: number): number {
    return this.padding === 'same' ? n * s : n * s + Math.max(k - s, 0);
  }

  /** The convolution whose input gradient this layer computes: x = our output, y = our input. */
  private geometry(batch: number, inShape: number[]): Conv2DGeometry {
    if (inShape.length !== 3) throw argError(this.name, 'input shape', inShape, '[height, width, channels] (rank 3 per example)');
    const [kh, kw] = this.kernelSize, [sh, sw] = this.strides;
    const g = conv2dGeometry(this.name, [batch, this.outLength(inShape[0], kh, sh), this.outLength(inShape[1], kw, sw), this.filters],
      [kh, kw, this.filters, inShape[2]], this.strides, this.padding);
    if (g.outH !== inShape[0] || g.outW !== inShape[1]) {
      throw new Error(`${this.name}: internal error: the transposed geometry maps [${g.inH}, ${g.inW}] to [${g.outH}, ${g.outW}], not the input's [${inShape[0]}, ${inShape[1]}]`);
    }
    return g;
  }

  protected computeOutputShape(inShape: number[]): number[] {
    const g = this.geometry(1, inShape);
    return [g.inH, g.inW, this.filters];
  }

  protected override weightShapes(inShape: number[]) {
    const w = [{ name: 'kernel', shape: [...this.kernelSize, this.filters, inShape[2]], init: this.kernelInitializer }];
    if (this.useBias) w.push({ name: 'bias', shape: [this.filters], init: this.biasInitializer });
    return w;
  }

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): TransposeBuffers {
    const g = this.geometry(batch, this.inShape);
    // Planned for training always: the forward is a backward pass (its plan needs the gradient partials).
    const conv = k.convPlan(g, true);
    const rows = batch * g.inH * g.inW;
    const bias = this.useBias ? k.broadcastPlan([rows, this.filters], [rows, this.filters], [1, this.filters]) : undefined;
    const own = this.activation !== 'linear' && (!k.inPlace || (training && needsInput(this.activation)));
    const pre = own ? k.alloc(rows * this.filters, `${this.name}/pre`) : io.y;
    return { y: io.y, dx: io.dx, conv, bias, pre, free: () => { conv.free(); bias?.free(); if (own) k.free(pre!); } };
  }

  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { conv, bias, pre } = buf as TransposeBuffers;
    const k = ctx.k, g = conv.g;
    k.convInputGrad(conv, x, this.param(ctx, 0), pre!);
    if (bias) k.broadcastBinary('add', bias, 'y', this.param(ctx, 1), pre!);
    if (this.activation !== 'linear') k.activation(this.activation as KernelActivation, g.batch * g.inH * g.inW, this.filters, pre!, buf.y!);
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const { conv, pre } = buf as TransposeBuffers;
    const k = ctx.k, g = conv.g, rows = g.batch * g.inH * g.inW;
    if (this.activation !== 'linear') k.activationBackward(this.activation as KernelActivation, rows, this.filters, buf.y!, dy, pre);
    if (this.useBias) k.biasGrad(rows, this.filters, dy, this.grad(ctx, 1));
    k.convFilterGrad(conv, dy, x, this.grad(ctx, 0));
    if (buf.dx !== undefined) k.convForward(conv, dy, this.param(ctx, 0), undefined, buf.dx, 'linear');
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(), filters: this.filters, kernel_initializer: initializerJson(this.kernelInitializer),
      kernel_regularizer: null, kernel_constraint: null,
    };
  }
}
