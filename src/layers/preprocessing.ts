// Keras Rescaling (y = x·scale + offset, so input normalization can live in the model) and
// SpatialDropout2D (drops whole channels: one keep/drop draw per (example, channel), kept channels
// scaled by 1/(1 − rate); the identity in inference).

import type { BroadcastPlan, Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import type { Rng } from '../data/batches.js';
import { Layer, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import { checkDataFormat, checkImageShape } from './shape-args.js';

export interface RescalingArgs extends BaseLayerArgs {
  scale: number;
  offset?: number;
}

interface RescalingBuffers extends LayerBuffers {
  /** [scale, offset] as a 2-float buffer (the broadcast kernels read operands from buffers). */
  consts: Buf;
  g: BroadcastPlan;
}

export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;
  constructor(args: RescalingArgs) {
    super('rescaling', args ?? ({} as RescalingArgs));
    if (typeof args?.scale !== 'number' || !Number.isFinite(args.scale)) throw argError(this.name, 'scale', args?.scale, 'a finite number');
    const offset = args.offset ?? 0;
    if (typeof offset !== 'number' || !Number.isFinite(offset)) throw argError(this.name, 'offset', args.offset, 'a finite number');
    this.scale = args.scale;
    this.offset = offset;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  plan(k: Kernels, batch: number, _training: boolean, io: PlanIO): RescalingBuffers {
    const n = batch * sizeOfShape(this.inShape);
    const consts = k.alloc(2, `${this.name}/consts`);
    const g = k.broadcastPlan([n], [n], [1]);
    return { y: io.y, dx: io.dx, consts, g, free: () => { g.free(); k.free(consts); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as RescalingBuffers, k = ctx.k;
    // Written every step (two floats): the values then live in whatever buffer the backend gave.
    k.fill(1, this.scale, b.consts);
    k.fill(1, this.offset, k.at(b.consts, 1));
    // tfjs: add(mul(x, scale), offset), two roundings, as here.
    k.broadcastBinary('mul', b.g, x, b.consts, b.y!);
    if (this.offset !== 0) k.broadcastBinary('add', b.g, 'y', k.at(b.consts, 1), b.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as RescalingBuffers;
    if (b.dx !== undefined) ctx.k.broadcastBinary('mul', b.g, dy, b.consts, b.dx);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

export interface SpatialDropout2DArgs extends BaseLayerArgs {
  rate: number;
  seed?: number;
  dataFormat?: 'channelsLast';
}

interface SpatialDropoutBuffers extends LayerBuffers {
  mask: Buf | undefined;
  g: BroadcastPlan | undefined;
}

export class SpatialDropout2D extends Layer {
  readonly className = 'SpatialDropout2D';
  readonly rate: number;
  /** The model's RNG (seeded), set when the model is built. */
  rng?: Rng;
  constructor(args: SpatialDropout2DArgs) {
    super('spatial_dropout2d', args ?? ({} as SpatialDropout2DArgs));
    const rate = args?.rate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw argError(this.name, 'rate', rate, 'a number in [0, 1)');
    checkDataFormat(this.name, args.dataFormat);
    this.rate = rate;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    checkImageShape(this.name, inShape);
    return inShape.slice();
  }
  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): SpatialDropoutBuffers {
    if (!training || this.rate === 0) return { y: io.y, dx: io.dx, mask: undefined, g: undefined, free: () => {} };
    const [h, w, c] = this.inShape;
    const mask = k.alloc(batch * c, `${this.name}/mask`);
    const g = k.broadcastPlan([batch, h, w, c], [batch, h, w, c], [batch, 1, 1, c]);
    return { y: io.y, dx: io.dx, mask, g, free: () => { g.free(); k.free(mask); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as SpatialDropoutBuffers;
    if (!ctx.training || b.mask === undefined) {
      ctx.k.copy(ctx.batch * sizeOfShape(this.inShape), x, b.y!);
      return;
    }
    const rng = this.rng;
    if (!rng) throw new Error(`${this.name}: internal error: no RNG (the layer was not built by a model)`);
    const n = ctx.batch * this.inShape[2], keep = 1 / (1 - this.rate), rate = this.rate;
    // One draw per (example, channel), in that order, per batch (hostFill runs every step).
    ctx.k.hostFill(n, b.mask, (v) => {
      for (let i = 0; i < n; i++) v[i] = rng.nextFloat() >= rate ? keep : 0;
    });
    ctx.k.broadcastBinary('mul', b.g!, x, b.mask, b.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as SpatialDropoutBuffers;
    if (b.dx === undefined) return;
    if (b.mask === undefined) ctx.k.copy(ctx.batch * sizeOfShape(this.inShape), dy, b.dx);
    else ctx.k.broadcastBinary('mul', b.g!, dy, b.mask, b.dx);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, seed: null, data_format: 'channels_last' };
  }
}
