// Keras/tfjs UpSampling2D over NHWC by integer factors [sh, sw]. 'nearest' repeats every pixel
// sh × sw times, which is a broadcast: x viewed as [B, H, 1, W, 1, C] to y [B, H, sh, W, sw, C]
// (row-major, that is [B, H·sh, W·sw, C]); its backward is the broadcast-axis sum. 'bilinear' is
// tfjs' resizeBilinear (alignCorners = halfPixelCenters = false: source = output index / factor),
// what tfjs 4.22's UpSampling2D runs, with its kernel; `halfPixelCenters: true` samples at
// (index + ½)/factor − ½ instead, as Keras 3's UpSampling2D and PyTorch's
// interpolate(align_corners=False) do (ONNX Resize 'half_pixel'; an imported U-Net needs it).

import type { BroadcastPlan, Buf, Kernels } from '../backend/kernels.js';
import { argError, pair } from '../errors.js';
import type { BilinearGeometry } from '../ops/shape.js';
import { Layer, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import { checkDataFormat, checkImageShape } from './shape-args.js';

export interface UpSampling2DArgs extends BaseLayerArgs {
  /** Factors [height, width] (or one for both): positive integers, default [2, 2]. */
  size?: number | [number, number];
  interpolation?: 'nearest' | 'bilinear';
  /** Bilinear only: sample at half-pixel centers (Keras 3, PyTorch align_corners=False); default false (tfjs). */
  halfPixelCenters?: boolean;
  dataFormat?: 'channelsLast';
}

interface UpBuffers extends LayerBuffers {
  spread: BroadcastPlan | undefined;
  reduce: BroadcastPlan | undefined;
  g: BilinearGeometry;
}

export class UpSampling2D extends Layer {
  readonly className = 'UpSampling2D';
  readonly size: [number, number];
  readonly interpolation: 'nearest' | 'bilinear';
  readonly halfPixelCenters: boolean;
  constructor(args: UpSampling2DArgs = {}) {
    super('up_sampling2d', args ?? {});
    checkDataFormat(this.name, args?.dataFormat);
    this.size = pair(this.name, 'size', args?.size ?? 2);
    const interp = args?.interpolation ?? 'nearest';
    if (interp !== 'nearest' && interp !== 'bilinear') throw argError(this.name, 'interpolation', interp, "'nearest' or 'bilinear'");
    this.interpolation = interp;
    const half = args?.halfPixelCenters ?? false;
    if (typeof half !== 'boolean') throw argError(this.name, 'halfPixelCenters', half, 'a boolean');
    if (half && interp !== 'bilinear') throw argError(this.name, 'halfPixelCenters', half, "false with interpolation 'nearest' (half-pixel centers apply to 'bilinear')");
    this.halfPixelCenters = half;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    checkImageShape(this.name, inShape);
    return [inShape[0] * this.size[0], inShape[1] * this.size[1], inShape[2]];
  }
  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): UpBuffers {
    const [h, w, c] = this.inShape, [sh, sw] = this.size;
    const g: BilinearGeometry = { n: batch, h, w, c, sh, sw, halfPixel: this.halfPixelCenters };
    let spread: BroadcastPlan | undefined, reduce: BroadcastPlan | undefined;
    if (this.interpolation === 'nearest') {
      const out = [batch, h, sh, w, sw, c], src = [batch, h, 1, w, 1, c];
      spread = k.broadcastPlan(out, src, src);
      if (training && io.dx !== undefined) reduce = k.broadcastPlan(out, src);
    }
    return { y: io.y, dx: io.dx, g, spread, reduce, free: () => { spread?.free(); reduce?.free(); } };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as UpBuffers;
    // max(x, x) = x: the broadcast copies each pixel exactly.
    if (b.spread) ctx.k.broadcastBinary('max', b.spread, x, x, b.y!);
    else ctx.k.bilinearForward(b.g, x, b.y!);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    const b = buf as UpBuffers;
    if (b.dx === undefined) return;
    if (b.reduce) ctx.k.broadcastReduce(b.reduce, dy, b.dx);
    else ctx.k.bilinearBackward(b.g, dy, b.dx);
  }
  override getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { ...super.getConfig(), size: this.size.slice(), data_format: 'channels_last', interpolation: this.interpolation };
    // Written only when set, so tfjs reads every other UpSampling2D config as its own.
    if (this.halfPixelCenters) c.half_pixel_centers = true;
    return c;
  }
}
