import type { Buf, ConvPlan, EpilogueAct, Kernels } from '../backend/kernels.js';
import { argError, assertPositiveInt, pair } from '../errors.js';
import { conv2dGeometry, type Conv2DGeometry } from '../ops/conv.js';
import { poolGeometry } from '../ops/pool.js';
import { activationJson, checkActivation, needsInput, type ActivationName } from './activation-fns.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { regularizerJson, resolveRegularizer, type Regularizer, type RegularizerArg } from './regularizers.js';
import { Layer, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import type { MaxPooling2D, PoolBuffers } from './pooling.js';

export interface Conv2DArgs extends BaseLayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  dataFormat?: 'channelsLast';
  dilationRate?: number | [number, number];
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: RegularizerArg;
  biasRegularizer?: RegularizerArg;
}

interface ConvBuffers extends LayerBuffers {
  /** The backend's plan of this geometry (scratch, thread slices; a fused max pooling). */
  conv: ConvPlan;
  /** The activation the convolution's epilogue applies (the rest: a pass of its own). */
  epi: EpilogueAct;
  /** Where a separate activation pass reads the convolution's output (y itself where the backend works in place). */
  pre: Buf | undefined;
  ownsPre: boolean;
}

/** 2-D convolution over NHWC input with an HWIO kernel [kh, kw, inC, filters], as tfjs.layers.conv2d. */
export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  readonly biasRegularizer?: Regularizer;
  /**
   * @internal Set by the planner's fusion rule before planning this node: the max pooling right
   * after it, whose work the convolution passes take over (its window runs on each chunk's output
   * while it is in cache). Only with ReLU or no activation (max commutes with them).
   */
  pooledBy?: MaxPooling2D;

  constructor(args: Conv2DArgs) {
    super('conv2d', args ?? {});
    if (!args || typeof args !== 'object') throw argError('conv2d', 'args', args, 'an object like {filters: 32, kernelSize: 3}');
    this.filters = assertPositiveInt(this.name, 'filters', args.filters);
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
    this.kernelInitializer = checkInitializer(this.name, 'kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = checkInitializer(this.name, 'biasInitializer', args.biasInitializer ?? 'zeros');
    this.kernelRegularizer = resolveRegularizer(this.name, 'kernelRegularizer', args.kernelRegularizer);
    this.biasRegularizer = resolveRegularizer(this.name, 'biasRegularizer', args.biasRegularizer);
  }

  private geometry(batch: number, inShape: number[]): Conv2DGeometry {
    if (inShape.length !== 3) throw argError(this.name, 'input shape', inShape, '[height, width, channels] (rank 3 per example)');
    return conv2dGeometry(this.name, [batch, ...inShape], [...this.kernelSize, inShape[2], this.filters],
      this.strides, this.padding, this.dilationRate);
  }

  protected computeOutputShape(inShape: number[]): number[] {
    // Said in the layer's own terms (kernelSize), before the op-level geometry speaks of 'filter'.
    if (inShape.length === 3 && this.padding === 'valid') {
      const [sh, sw] = this.kernelSize.map((k, i) => (k - 1) * this.dilationRate[i] + 1);
      if (sh > inShape[0] || sw > inShape[1]) {
        const dilated = this.dilationRate.some((d) => d > 1) ? ` (dilated by [${this.dilationRate.join(', ')}] it spans ${sh}×${sw})` : '';
        throw argError(this.name, 'kernelSize', this.kernelSize, `at most the input's [height, width] = [${inShape[0]}, ${inShape[1]}] with padding 'valid'${dilated}`);
      }
    }
    const g = this.geometry(1, inShape);
    return [g.outH, g.outW, this.filters];
  }

  protected override weightShapes(inShape: number[]) {
    const w = [{ name: 'kernel', shape: [...this.kernelSize, inShape[2], this.filters], init: this.kernelInitializer, regularizer: this.kernelRegularizer }];
    if (this.useBias) w.push({ name: 'bias', shape: [this.filters], init: this.biasInitializer, regularizer: this.biasRegularizer });
    return w;
  }

  /**
   * @internal Set by the planner's fusion rule around plan(): the zero padding before this
   * ('valid') layer, [[top, bottom], [left, right]], taken into the convolution's own padding.
   */
  padOverride?: [[number, number], [number, number]];

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): ConvBuffers {
    const o = this.padOverride;
    const g = o
      ? conv2dGeometry(this.name, [batch, this.inShape[0] - o[0][0] - o[0][1], this.inShape[1] - o[1][0] - o[1][1], this.inShape[2]],
        [...this.kernelSize, this.inShape[2], this.filters], this.strides, [[0, 0], o[0], o[1], [0, 0]], this.dilationRate)
      : this.geometry(batch, this.inShape);
    const pool = this.pooledBy && (this.activation === 'relu' || this.activation === 'linear')
      ? poolGeometry(this.pooledBy.name, [batch, g.outH, g.outW, g.outC], this.pooledBy.poolSize, this.pooledBy.strides, this.pooledBy.padding)
      : undefined;
    const conv = k.convPlan(g, training, pool);
    // ReLU (and ReLU6 where the backend has it) runs in the passes' epilogue; other activations are
    // a pass of their own over the output.
    // Swish only in inference: its gradient needs the pre-activation, which the fused pass never writes.
    const epi = (k.epilogueActs as readonly string[]).includes(this.activation) && !(training && this.activation === 'swish') ? this.activation as EpilogueAct : 'linear';
    const separate = epi !== this.activation;
    const ownsPre = separate && (!k.inPlace || (training && needsInput(this.activation)));
    const pre = ownsPre ? k.alloc(g.M * g.outC, `${this.name}/pre`) : io.y;
    return { y: io.y, dx: io.dx, conv, epi, pre, ownsPre, free: () => { conv.free(); if (ownsPre) k.free(pre!); } };
  }

  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { conv, pre, epi } = buf as ConvBuffers;
    const k = ctx.k;
    const bias = this.useBias ? this.param(ctx, 1) : undefined;
    k.convForward(conv, x, this.param(ctx, 0), bias, pre!, epi, undefined, undefined, undefined, ctx.weightsVersion);
    if (epi !== this.activation) k.activation(this.activation, conv.g.M, this.filters, pre!, buf.y!);
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const { conv, pre, epi } = buf as ConvBuffers;
    const k = ctx.k;
    const relu = this.activation === 'relu';
    // ReLU's mask is applied by the convolution's backward (inside the wasm passes); others here
    // (from y: ReLU6's mask needs no pre-activation input; `pre` is y itself then).
    if (!relu && this.activation !== 'linear') k.activationBackward(this.activation, conv.g.M, this.filters, buf.y!, dy, epi === this.activation ? undefined : pre);
    k.convBackward(conv, x, this.param(ctx, 0), buf.y!, dy, relu, buf.dx, this.grad(ctx, 0), this.useBias ? this.grad(ctx, 1) : undefined);
  }

  /** @internal Whether a max pooling after this layer can run inside its passes (see src/model/fusion.ts). */
  canFusePool(): boolean {
    return (this.activation === 'relu' || this.activation === 'linear') && !this.geometry(1, this.inShape).colIsInput;
  }

  /** @internal Whether this plan fuses the following max pooling (forwardPooled / backwardPooled). */
  fusesPool(buf: LayerBuffers): boolean {
    return (buf as ConvBuffers).conv.pooled;
  }

  /** @internal Forward of this layer and the following max pooling: writes the pool's y (and argmax when training). */
  forwardPooled(ctx: StepContext, buf: LayerBuffers, x: Buf, poolBuf: LayerBuffers): void {
    const { conv } = buf as ConvBuffers;
    const pb = poolBuf as PoolBuffers;
    const bias = this.useBias ? this.param(ctx, 1) : undefined;
    ctx.k.convForward(conv, x, this.param(ctx, 0), bias, 0, this.activation === 'relu' ? 'relu' : 'linear', { y: pb.y!, argmax: ctx.training ? pb.argmax : undefined },
      undefined, undefined, ctx.weightsVersion);
  }

  /** @internal Backward of the max pooling and this layer, from dyPooled (the gradient of the pool's output). */
  backwardPooled(ctx: StepContext, buf: LayerBuffers, x: Buf, dyPooled: Buf, poolBuf: LayerBuffers): void {
    const { conv } = buf as ConvBuffers;
    const pb = poolBuf as PoolBuffers;
    ctx.k.convBackward(conv, x, this.param(ctx, 0), 0, dyPooled, this.activation === 'relu', buf.dx, this.grad(ctx, 0),
      this.useBias ? this.grad(ctx, 1) : undefined, { y: pb.y!, argmax: pb.argmax! });
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), filters: this.filters, kernel_size: this.kernelSize, strides: this.strides,
      padding: this.padding, data_format: 'channels_last', dilation_rate: this.dilationRate,
      activation: activationJson(this.activation), use_bias: this.useBias,
      kernel_initializer: initializerJson(this.kernelInitializer), bias_initializer: initializerJson(this.biasInitializer),
      kernel_regularizer: regularizerJson(this.kernelRegularizer), bias_regularizer: regularizerJson(this.biasRegularizer),
      activity_regularizer: regularizerJson(this.activityRegularizer),
      kernel_constraint: null, bias_constraint: null,
    };
  }
}
