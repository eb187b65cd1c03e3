import { argError, assertPositiveInt } from '../errors.js';
import { biasGrad } from '../ops/activations.js';
import { gemm } from '../ops/matmul.js';
import { activationBackward, activationForward, checkActivation, type ActivationName } from './activation-fns.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { Layer, noExtras, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

export interface DenseArgs extends BaseLayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
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

  constructor(args: DenseArgs) {
    super('dense', args?.inputDim !== undefined && args.inputShape === undefined ? { ...args, inputShape: [args.inputDim] } : args ?? {});
    if (!args || typeof args !== 'object') throw argError('dense', 'args', args, 'an object like {units: 10}');
    this.units = assertPositiveInt(this.name, 'units', args.units);
    this.activation = checkActivation(this.name, args.activation);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = checkInitializer(this.name, 'kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = checkInitializer(this.name, 'biasInitializer', args.biasInitializer ?? 'zeros');
  }

  protected computeOutputShape(inShape: number[]): number[] {
    if (inShape.length < 1) throw argError(this.name, 'input shape', inShape, 'at least rank 1 (add a flatten() layer before dense)');
    return [...inShape.slice(0, -1), this.units];
  }

  protected override weightShapes(inShape: number[]) {
    const w = [{ name: 'kernel', shape: [inShape[inShape.length - 1], this.units], init: this.kernelInitializer }];
    if (this.useBias) w.push({ name: 'bias', shape: [this.units], init: this.biasInitializer });
    return w;
  }

  /** Rows of the GEMM per example: dense acts on the last axis. */
  private rowsPer(): number {
    return sizeOfShape(this.inShape.slice(0, -1));
  }

  plan(_batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }

  /** With `fusedSoftmax`, the model's loss applies the softmax: this layer then outputs logits. */
  fusedSoftmax = false;

  forward(ctx: StepContext, buf: LayerBuffers, x: number): void {
    const m = ctx.batch * this.rowsPer(), k = this.inShape[this.inShape.length - 1];
    const w = ctx.params + this.weights[0].offset * 4;
    const bias = this.useBias ? ctx.params + this.weights[1].offset * 4 : 0;
    gemm(m, this.units, k, x, false, w, false, buf.y, { bias, relu: this.activation === 'relu' });
    if (this.activation !== 'relu' && this.activation !== 'linear' && !(this.fusedSoftmax && ctx.logits)) {
      activationForward(this.activation, m, this.units, buf.y, buf.y);
    }
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: number, dy: number): void {
    const m = ctx.batch * this.rowsPer(), k = this.inShape[this.inShape.length - 1];
    if (!(this.fusedSoftmax && this.activation === 'softmax')) activationBackward(this.activation, m, this.units, buf.y, dy, dy);
    const w = ctx.params + this.weights[0].offset * 4;
    gemm(k, this.units, m, x, true, dy, false, ctx.grads + this.weights[0].offset * 4);
    if (this.useBias) {
      biasGrad(m, this.units, dy, ctx.grads + this.weights[1].offset * 4);
    }
    if (buf.dx) gemm(m, k, this.units, dy, false, w, true, buf.dx);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), units: this.units, activation: this.activation, use_bias: this.useBias,
      kernel_initializer: initializerJson(this.kernelInitializer), bias_initializer: initializerJson(this.biasInitializer),
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, bias_constraint: null,
    };
  }
}
