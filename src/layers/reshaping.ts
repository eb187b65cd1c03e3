// Layers that move no numbers: flatten (NHWC is already row-major, so it is a view) and the
// standalone activation / dropout layers.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import type { Rng } from '../data/batches.js';
import { ACTIVATIONS, activationBackward, activationForward, checkActivation, type ActivationName } from './activation-fns.js';
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
  plan(_batch: number, _training: boolean, io: PlanIO): LayerBuffers {
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
    if (args?.activation == null) throw argError(this.name, 'activation', args?.activation, `one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`);
    this.activation = checkActivation(this.name, args?.activation);
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  private rows(batch: number) {
    return [batch * sizeOfShape(this.inShape.slice(0, -1)), this.inShape[this.inShape.length - 1]];
  }
  override readonly dxInPlace = true;
  plan(_batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: number): void {
    const [r, c] = this.rows(ctx.batch);
    if (this.fusedSoftmax && ctx.logits) activationForward('linear', r, c, x, buf.y);
    else activationForward(this.activation, r, c, x, buf.y);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: number, dy: number): void {
    if (this.fusedSoftmax) return;
    const [r, c] = this.rows(ctx.batch);
    activationBackward(this.activation, r, c, buf.y, dy, dy);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }
}

interface DropoutBuffers extends LayerBuffers { mask: number }

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
  plan(batch: number, training: boolean, io: PlanIO): DropoutBuffers {
    const heap = runtime().heap;
    const mask = training && this.rate > 0 ? heap.alloc(batch * sizeOfShape(this.inShape) * 4) : 0;
    return { y: io.y, mask, dx: io.dx, free: () => { if (mask) heap.free(mask); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: number): void {
    const { mask } = buf as DropoutBuffers;
    const n = ctx.batch * sizeOfShape(this.inShape);
    const f = runtime().heap.f32;
    const xo = x >>> 2, yo = buf.y >>> 2, mo = mask >>> 2;
    if (!ctx.training || this.rate === 0) {
      f.copyWithin(yo, xo, xo + n);
      return;
    }
    if (!this.rng) throw new Error(`${this.name}: internal error: no RNG (the layer was not built by a model)`);
    // Inverted dropout, as Keras: kept units are scaled by 1/(1-rate) so inference needs no change.
    const keep = 1 / (1 - this.rate);
    for (let i = 0; i < n; i++) {
      const m = this.rng.nextFloat() >= this.rate ? keep : 0;
      f[mo + i] = m;
      f[yo + i] = f[xo + i] * m;
    }
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: number, dy: number): void {
    // Rate 0 is the identity and its forward writes no mask: dy passes through unchanged.
    if (!buf.dx || this.rate === 0) return;
    const { mask } = buf as DropoutBuffers;
    const n = ctx.batch * sizeOfShape(this.inShape);
    const f = runtime().heap.f32;
    const go = dy >>> 2, mo = mask >>> 2;
    for (let i = 0; i < n; i++) f[go + i] *= f[mo + i];
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noise_shape: null, seed: null };
  }
}
