import type { Buf, Kernels } from '../backend/kernels.js';
import { argError, pair } from '../errors.js';
import { poolGeometry } from '../ops/pool.js';
import { Layer, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

export interface Pooling2DArgs extends BaseLayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  dataFormat?: 'channelsLast';
}

type PoolGeometry = ReturnType<typeof poolGeometry>;
export interface PoolBuffers extends LayerBuffers {
  g: PoolGeometry;
  /** Max pooling while training: the winning input index per output element, recorded by the forward. */
  argmax: Buf | undefined;
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';

  constructor(snake: string, args: Pooling2DArgs) {
    super(snake, args ?? {});
    args ??= {};
    this.poolSize = pair(this.name, 'poolSize', args.poolSize ?? 2);
    // Keras: strides default to the pool size.
    this.strides = pair(this.name, 'strides', args.strides ?? this.poolSize);
    const padding = args.padding ?? 'valid';
    if (padding !== 'valid' && padding !== 'same') throw argError(this.name, 'padding', padding, "'valid' or 'same'");
    this.padding = padding;
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw argError(this.name, 'dataFormat', args.dataFormat, "'channelsLast'");
    }
  }

  protected geometry(batch: number, inShape: number[]): PoolGeometry {
    if (inShape.length !== 3) throw argError(this.name, 'input shape', inShape, '[height, width, channels] (rank 3 per example)');
    return poolGeometry(this.name, [batch, ...inShape], this.poolSize, this.strides, this.padding);
  }

  protected computeOutputShape(inShape: number[]): number[] {
    // Said in the layer's own terms (poolSize), before the op-level geometry speaks of 'filterSize'.
    if (inShape.length === 3 && this.padding === 'valid' && (this.poolSize[0] > inShape[0] || this.poolSize[1] > inShape[1])) {
      throw argError(this.name, 'poolSize', this.poolSize, `at most the input's [height, width] = [${inShape[0]}, ${inShape[1]}] with padding 'valid'`);
    }
    const g = this.geometry(1, inShape);
    return [g.outH, g.outW, inShape[2]];
  }

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): PoolBuffers {
    const g = this.geometry(batch, this.inShape);
    // Max pooling records the winning input per output while training (backward routes through it).
    const argmax = this.className === 'MaxPooling2D' && training ? k.alloc(batch * sizeOfShape(this.outShape), `${this.name}/argmax`) : undefined;
    return { y: io.y, dx: io.dx, g, argmax, free: () => { if (argmax !== undefined) k.free(argmax); } };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), pool_size: this.poolSize, padding: this.padding, strides: this.strides, data_format: 'channels_last' };
  }
}

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  constructor(args: Pooling2DArgs = {}) {
    super('max_pooling2d', args);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as PoolBuffers;
    // Inference needs no argmax: skipping the index stores saves a third of the pass.
    ctx.k.maxPoolForward(b.g, x, b.y!, ctx.training ? b.argmax : undefined);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as PoolBuffers;
    if (b.dx !== undefined) ctx.k.maxPoolBackward(b.g, dy, b.argmax!, b.dx);
  }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  constructor(args: Pooling2DArgs = {}) {
    super('average_pooling2d', args);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as PoolBuffers;
    ctx.k.avgPoolForward(b.g, x, b.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as PoolBuffers;
    if (b.dx !== undefined) ctx.k.avgPoolBackward(b.g, dy, b.dx);
  }
}
