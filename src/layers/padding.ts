// Keras ZeroPadding2D and Cropping2D over NHWC. Both are a fill and a strided copy: padding fills
// y with zeros and copies x into its interior (backward: dx is dy's interior), cropping copies x's
// interior (backward: dx is zeros with dy copied into its interior).

import type { Buf, Kernels } from '../backend/kernels.js';
import { Layer, sizeOfShape, noExtras, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import { checkDataFormat, checkImageShape, padPairs } from './shape-args.js';

type Pads = [[number, number], [number, number]];

export interface ZeroPadding2DArgs extends BaseLayerArgs {
  /** A number (all sides), [height, width] (symmetric) or [[top, bottom], [left, right]]; default 1. */
  padding?: number | [number, number] | [[number, number], [number, number]];
  dataFormat?: 'channelsLast';
}
export interface Cropping2DArgs extends BaseLayerArgs {
  /** A number (all sides), [height, width] (symmetric) or [[top, bottom], [left, right]]; default 0. */
  cropping?: number | [number, number] | [[number, number], [number, number]];
  dataFormat?: 'channelsLast';
}

/**
 * The interior copy between the big image [B, H, W, C] and the small one [B, h, w, C] placed at
 * (top, left): dims, the big image's float offset and strides, the small one's strides.
 */
function interior(batch: number, big: number[], small: number[], top: number, left: number) {
  const [H, W, C] = big, [h, w] = small;
  return {
    dims: [batch, h, w * C],
    bigOff: (top * W + left) * C,
    bigStrides: [H * W * C, W * C, 1],
    smallStrides: [h * w * C, w * C, 1],
  };
}

export class ZeroPadding2D extends Layer {
  readonly className = 'ZeroPadding2D';
  readonly padding: Pads;
  constructor(args: ZeroPadding2DArgs = {}) {
    super('zero_padding2d', args ?? {});
    checkDataFormat(this.name, args?.dataFormat);
    this.padding = padPairs(this.name, 'padding', args?.padding ?? 1);
  }
  protected computeOutputShape(inShape: number[]): number[] {
    checkImageShape(this.name, inShape);
    const [[t, b], [l, r]] = this.padding;
    return [inShape[0] + t + b, inShape[1] + l + r, inShape[2]];
  }
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const k = ctx.k, c = interior(ctx.batch, this.outShape, this.inShape, this.padding[0][0], this.padding[1][0]);
    k.fill(ctx.batch * sizeOfShape(this.outShape), 0, buf.y!);
    k.stridedCopy(c.dims, x, c.smallStrides, k.at(buf.y!, c.bigOff), c.bigStrides);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    if (buf.dx === undefined) return;
    const k = ctx.k, c = interior(ctx.batch, this.outShape, this.inShape, this.padding[0][0], this.padding[1][0]);
    k.stridedCopy(c.dims, k.at(dy, c.bigOff), c.bigStrides, buf.dx, c.smallStrides);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), padding: this.padding.map((p) => p.slice()), data_format: 'channels_last' };
  }
}

export class Cropping2D extends Layer {
  readonly className = 'Cropping2D';
  readonly cropping: Pads;
  constructor(args: Cropping2DArgs = {}) {
    super('cropping2d', args ?? {});
    checkDataFormat(this.name, args?.dataFormat);
    this.cropping = padPairs(this.name, 'cropping', args?.cropping ?? 0);
  }
  protected computeOutputShape(inShape: number[]): number[] {
    checkImageShape(this.name, inShape);
    const [[t, b], [l, r]] = this.cropping;
    if (t + b >= inShape[0] || l + r >= inShape[1]) {
      throw new Error(`${this.name}: cropping [[${t}, ${b}], [${l}, ${r}]] removes at least the whole input (input shape [${inShape}]: `
        + `top + bottom must be less than the height ${inShape[0]} and left + right less than the width ${inShape[1]})`);
    }
    return [inShape[0] - t - b, inShape[1] - l - r, inShape[2]];
  }
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const k = ctx.k, c = interior(ctx.batch, this.inShape, this.outShape, this.cropping[0][0], this.cropping[1][0]);
    k.stridedCopy(c.dims, k.at(x, c.bigOff), c.bigStrides, buf.y!, c.smallStrides);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    if (buf.dx === undefined) return;
    const k = ctx.k, c = interior(ctx.batch, this.inShape, this.outShape, this.cropping[0][0], this.cropping[1][0]);
    k.fill(ctx.batch * sizeOfShape(this.inShape), 0, buf.dx);
    k.stridedCopy(c.dims, dy, c.smallStrides, k.at(buf.dx, c.bigOff), c.bigStrides);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), cropping: this.cropping.map((p) => p.slice()), data_format: 'channels_last' };
  }
}
