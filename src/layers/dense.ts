import type { Buf, Kernels } from '../backend/kernels.js';
import { argError, assertPositiveInt } from '../errors.js';
import { activationJson, checkActivation, needsInput, type ActivationName } from './activation-fns.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { regularizerJson, resolveRegularizer, type Regularizer, type RegularizerArg } from './regularizers.js';
import { Layer, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

interface DenseBuffers extends LayerBuffers {
  /** Where a separate activation pass reads the GEMM's output (y itself where the backend works in place). */
  pre: Buf | undefined;
}

export interface DenseArgs extends BaseLayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: RegularizerArg;
  biasRegularizer?: RegularizerArg;
  inputDim?: number;
}

/** y = f(x·W + b) over the last axis; W is [in, units] as in tfjs. */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  readonly biasRegularizer?: Regularizer;

  constructor(args: DenseArgs) {
    super('dense', args?.inputDim !== undefined && args.inputShape === undefined ? { ...args, inputShape: [args.inputDim] } : args ?? {});
    if (!args || typeof args !== 'object') throw argError('dense', 'args', args, 'an object like {units: 10}');
    this.units = assertPositiveInt(this.name, 'units', args.units);
    this.activation = checkActivation(this.name, args.activation);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = checkInitializer(this.name, 'kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = checkInitializer(this.name, 'biasInitializer', args.biasInitializer ?? 'zeros');
    this.kernelRegularizer = resolveRegularizer(this.name, 'kernelRegularizer', args.kernelRegularizer);
    this.biasRegularizer = resolveRegularizer(this.name, 'biasRegularizer', args.biasRegularizer);
  }

  protected computeOutputShape(inShape: number[]): number[] {
    if (inShape.length < 1) throw argError(this.name, 'input shape', inShape, 'at least rank 1 (add a flatten() layer before dense)');
    return [...inShape.slice(0, -1), this.units];
  }

  protected override weightShapes(inShape: number[]) {
    const w = [{ name: 'kernel', shape: [inShape[inShape.length - 1], this.units], init: this.kernelInitializer, regularizer: this.kernelRegularizer }];
    if (this.useBias) w.push({ name: 'bias', shape: [this.units], init: this.biasInitializer, regularizer: this.biasRegularizer });
    return w;
  }

  /** Rows of the GEMM per example: dense acts on the last axis. */
  private rowsPer(): number {
    return sizeOfShape(this.inShape.slice(0, -1));
  }

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): DenseBuffers {
    // ReLU runs in the GEMM's epilogue; other activations are a pass of their own over the output,
    // from a pre-activation buffer where the backend cannot work in place or the backward needs x.
    const separate = this.activation !== 'relu' && this.activation !== 'linear';
    const ownsPre = separate && (!k.inPlace || (training && needsInput(this.activation)));
    const pre = ownsPre ? k.alloc(batch * sizeOfShape(this.outShape), `${this.name}/pre`) : io.y;
    return { y: io.y, dx: io.dx, pre, free: () => { if (ownsPre) k.free(pre!); } };
  }

  /** With `fusedSoftmax`, the model's loss applies the softmax: this layer then outputs logits. */
  fusedSoftmax = false;

  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { pre } = buf as DenseBuffers;
    const m = ctx.batch * this.rowsPer(), kd = this.inShape[this.inShape.length - 1];
    const logits = this.fusedSoftmax && ctx.logits;
    const act = this.activation === 'relu' || this.activation === 'linear' || logits ? 'linear' : this.activation;
    const bias = this.useBias ? this.param(ctx, 1) : undefined;
    // Logits wanted and no separate pass: the GEMM writes y directly.
    const out = act === 'linear' ? buf.y! : pre!;
    ctx.k.gemm(m, this.units, kd, x, false, this.param(ctx, 0), false, out, { bias, relu: this.activation === 'relu' });
    if (act !== 'linear') ctx.k.activation(act, m, this.units, pre!, buf.y!);
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const k = ctx.k;
    const m = ctx.batch * this.rowsPer(), kd = this.inShape[this.inShape.length - 1];
    if (!(this.fusedSoftmax && this.activation === 'softmax') && this.activation !== 'linear') k.activationBackward(this.activation, m, this.units, buf.y!, dy, (buf as DenseBuffers).pre);
    k.gemm(kd, this.units, m, x, true, dy, false, this.grad(ctx, 0));
    if (this.useBias) k.biasGrad(m, this.units, dy, this.grad(ctx, 1));
    if (buf.dx !== undefined) k.gemm(m, kd, this.units, dy, false, this.param(ctx, 0), true, buf.dx);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), units: this.units, activation: activationJson(this.activation), use_bias: this.useBias,
      kernel_initializer: initializerJson(this.kernelInitializer), bias_initializer: initializerJson(this.biasInitializer),
      kernel_regularizer: regularizerJson(this.kernelRegularizer), bias_regularizer: regularizerJson(this.biasRegularizer),
      activity_regularizer: regularizerJson(this.activityRegularizer),
      kernel_constraint: null, bias_constraint: null,
    };
  }
}
