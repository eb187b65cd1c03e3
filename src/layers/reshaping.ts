// Layers that move no numbers: flatten (NHWC is already row-major, so it is a view) and the
// standalone activation / dropout layers.

import type { Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import type { Rng } from '../data/batches.js';
import { activationChoices, activationJson, checkActivation, type ActivationName } from './activation-fns.js';
import { Layer, noExtras, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: BaseLayerArgs & { dataFormat?: 'channelsLast' } = {}) {
    super('flatten', args);
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return [sizeOfShape(inShape)];
  }
  override readonly outputIsInput = true;
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(): void {}
  backward(): void {}
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), data_format: 'channels_last' };
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: ActivationName;
  /** Set by the model when this softmax feeds a cross-entropy loss: the loss applies it. */
  fusedSoftmax = false;
  constructor(args: BaseLayerArgs & { activation: ActivationName }) {
    super('activation', args ?? {});
    // checkActivation reads a missing activation as 'linear' (the dense/conv default); this layer has no default.
    if (args?.activation == null) throw argError(this.name, 'activation', args?.activation, activationChoices());
    this.activation = checkActivation(this.name, args?.activation);
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  private rows(batch: number) {
    return [batch * sizeOfShape(this.inShape.slice(0, -1)), this.inShape[this.inShape.length - 1]];
  }
  override readonly dxInPlace = true;
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const [r, c] = this.rows(ctx.batch);
    ctx.k.activation(this.fusedSoftmax && ctx.logits ? 'linear' : this.activation, r, c, x, buf.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    if (this.fusedSoftmax || this.activation === 'linear') return;
    const [r, c] = this.rows(ctx.batch);
    // x: the layer's input, kept by the planner while training (activations whose derivative needs it).
    ctx.k.activationBackward(this.activation, r, c, buf.y!, dy, x);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: activationJson(this.activation) };
  }
}

interface DropoutBuffers extends LayerBuffers { mask: Buf | undefined }

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  /** The model's RNG (seeded), set when the model is built. */
  rng?: Rng;
  constructor(args: BaseLayerArgs & { rate: number; seed?: number }) {
    super('dropout', args ?? {});
    const rate = args?.rate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw argError(this.name, 'rate', rate, 'a number in [0, 1)');
    this.rate = rate;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  override readonly dxInPlace = true;
  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): DropoutBuffers {
    const mask = training && this.rate > 0 ? k.alloc(batch * sizeOfShape(this.inShape), `${this.name}/mask`) : undefined;
    return { y: io.y, mask, dx: io.dx, free: () => { if (mask !== undefined) k.free(mask); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const { mask } = buf as DropoutBuffers;
    const n = ctx.batch * sizeOfShape(this.inShape);
    if (!ctx.training || this.rate === 0 || mask === undefined) {
      ctx.k.copy(n, x, buf.y!);
      return;
    }
    const rng = this.rng;
    if (!rng) throw new Error(`${this.name}: internal error: no RNG (the layer was not built by a model)`);
    // Inverted dropout, as Keras: kept units are scaled by 1/(1-rate) so inference needs no change.
    // The mask is drawn per batch (the backend runs hostFill every step), in element order.
    const keep = 1 / (1 - this.rate), rate = this.rate;
    ctx.k.hostFill(n, mask, (v) => {
      for (let i = 0; i < n; i++) v[i] = rng.nextFloat() >= rate ? keep : 0;
    });
    ctx.k.mulMask(n, x, mask, buf.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    // Rate 0 is the identity and its forward writes no mask: dy passes through unchanged.
    const { mask } = buf as DropoutBuffers;
    if (buf.dx === undefined || mask === undefined) return;
    ctx.k.mulMask(ctx.batch * sizeOfShape(this.inShape), dy, mask, dy);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noise_shape: null, seed: null };
  }
}
