// Keras GlobalAveragePooling2D / GlobalMaxPooling2D over NHWC: one value per (example, channel),
// [C] (or [1, 1, C] with keepDims). Both are existing kernels: the average is the broadcast-axis
// reduction (sum over height and width, scaled by 1/(h·w)) and its backward the broadcast back;
// the max is a max pooling whose window is the whole image (argmax recorded while training, so the
// gradient goes to the first maximum of each channel, as our MaxPooling2D; tfjs' max gradient
// gives it to every tied maximum instead: they differ only on exact ties).

import type { BroadcastPlan, Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import { poolGeometry } from '../ops/pool.js';
import { Layer, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import { checkDataFormat, checkImageShape } from './shape-args.js';

export interface GlobalPooling2DArgs extends BaseLayerArgs {
  dataFormat?: 'channelsLast';
  /** Output [1, 1, C] instead of [C] (Keras keepdims). */
  keepDims?: boolean;
}

abstract class GlobalPooling2D extends Layer {
  readonly keepDims: boolean;
  constructor(snake: string, args: GlobalPooling2DArgs) {
    super(snake, args ?? {});
    args ??= {};
    checkDataFormat(this.name, args.dataFormat);
    if (args.keepDims !== undefined && typeof args.keepDims !== 'boolean') throw argError(this.name, 'keepDims', args.keepDims, 'a boolean');
    this.keepDims = args.keepDims ?? false;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    checkImageShape(this.name, inShape);
    const c = inShape[2];
    return this.keepDims ? [1, 1, c] : [c];
  }
  override getConfig(): Record<string, unknown> {
    const cfg: Record<string, unknown> = { ...super.getConfig(), data_format: 'channels_last' };
    if (this.keepDims) cfg.keepdims = true;
    return cfg;
  }
}

interface AvgBuffers extends LayerBuffers {
  /** out [B,H,W,C] ← a [B,1,1,C]: the forward's reduction. */
  reduce: BroadcastPlan;
  /** out [B,H,W,C] ← (a, b) both [B,1,1,C]: the backward's broadcast (training). */
  spread: BroadcastPlan | undefined;
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  readonly className = 'GlobalAveragePooling2D';
  constructor(args: GlobalPooling2DArgs = {}) {
    super('global_average_pooling2d', args);
  }
  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): AvgBuffers {
    const [h, w, c] = this.inShape;
    const full = [batch, h, w, c], pooled = [batch, 1, 1, c];
    const reduce = k.broadcastPlan(full, pooled);
    const spread = training && io.dx !== undefined ? k.broadcastPlan(full, pooled, pooled) : undefined;
    return { y: io.y, dx: io.dx, reduce, spread, free: () => { reduce.free(); spread?.free(); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const [h, w] = this.inShape;
    ctx.k.broadcastReduce((buf as AvgBuffers).reduce, x, buf.y!, 1 / (h * w));
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as AvgBuffers;
    if (b.dx === undefined) return;
    const [h, w] = this.inShape;
    // dx[b,i,j,c] = dy[b,c] / (h·w): max(dy, dy) broadcast is dy itself, exactly.
    ctx.k.broadcastBinary('max', b.spread!, dy, dy, b.dx, false, 1 / (h * w));
  }
}

interface MaxBuffers extends LayerBuffers {
  g: ReturnType<typeof poolGeometry>;
  argmax: Buf | undefined;
}

export class GlobalMaxPooling2D extends GlobalPooling2D {
  readonly className = 'GlobalMaxPooling2D';
  constructor(args: GlobalPooling2DArgs = {}) {
    super('global_max_pooling2d', args);
  }
  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): MaxBuffers {
    const [h, w, c] = this.inShape;
    const g = poolGeometry(this.name, [batch, h, w, c], [h, w], [h, w], 'valid');
    const argmax = training ? k.alloc(batch * c, `${this.name}/argmax`) : undefined;
    return { y: io.y, dx: io.dx, g, argmax, free: () => { if (argmax !== undefined) k.free(argmax); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as MaxBuffers;
    ctx.k.maxPoolForward(b.g, x, b.y!, ctx.training ? b.argmax : undefined);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as MaxBuffers;
    if (b.dx !== undefined) ctx.k.maxPoolBackward(b.g, dy, b.argmax!, b.dx);
  }
}
