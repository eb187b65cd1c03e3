// Keras Reshape (a view: NHWC data is row-major, so only the shape changes) and Permute (a strided
// copy; dims are 1-based over the non-batch axes, as Keras).

import type { Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import { STRIDED_COPY_RANK } from '../ops/shape.js';
import { Layer, noExtras, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';
import { stridesOf } from './shape-args.js';

export interface ReshapeArgs extends BaseLayerArgs {
  /** The per-example output shape; one entry may be −1 (inferred). */
  targetShape: number[];
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];
  constructor(args: ReshapeArgs) {
    super('reshape', args ?? ({} as ReshapeArgs));
    const t = args?.targetShape;
    const expected = 'an array of positive integers (without the batch dimension), at most one of them −1';
    if (!Array.isArray(t) || t.length === 0 || t.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || t.filter((d) => d === -1).length > 1) {
      throw argError(this.name, 'targetShape', t, expected);
    }
    this.targetShape = t.slice();
  }
  protected computeOutputShape(inShape: number[]): number[] {
    const n = sizeOfShape(inShape);
    const known = sizeOfShape(this.targetShape.filter((d) => d !== -1));
    const free = this.targetShape.indexOf(-1);
    const out = this.targetShape.slice();
    if (free >= 0 && n % known === 0) out[free] = n / known;
    if (sizeOfShape(out) !== n || out.some((d) => d < 1)) {
      throw new Error(`${this.name}: targetShape [${this.targetShape}] does not fit the input shape [${inShape}] `
        + `(${n} values per example${free >= 0 ? `, not a multiple of ${known}` : `, the target holds ${known}`})`);
    }
    return out;
  }
  override readonly outputIsInput = true;
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(): void {}
  backward(): void {}
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), target_shape: this.targetShape.slice() };
  }
}

export interface PermuteArgs extends BaseLayerArgs {
  /** A permutation of 1..rank (the batch axis, 0, stays first): output axis i is input axis dims[i]. */
  dims: number[];
}

export class Permute extends Layer {
  readonly className = 'Permute';
  readonly dims: number[];
  constructor(args: PermuteArgs) {
    super('permute', args ?? ({} as PermuteArgs));
    const d = args?.dims;
    const ok = Array.isArray(d) && d.length > 0 && d.every((x) => Number.isInteger(x)) && [...d].sort((a, b) => a - b).every((x, i) => x === i + 1);
    if (!ok) throw argError(this.name, 'dims', d, 'a permutation of 1..rank (1-based, the batch axis excluded), e.g. [2, 1]');
    if (d.length > STRIDED_COPY_RANK - 1) throw argError(this.name, 'dims', d, `a permutation of at most ${STRIDED_COPY_RANK - 1} axes`);
    this.dims = d.slice();
  }
  protected computeOutputShape(inShape: number[]): number[] {
    if (inShape.length !== this.dims.length) {
      throw argError(this.name, 'dims', this.dims, `a permutation of 1..${inShape.length} for the input shape [${inShape}]`);
    }
    return this.dims.map((d) => inShape[d - 1]);
  }
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  /** Over the output's index space: the input's strides permuted, the output's own. */
  private geometry(batch: number) {
    const inS = stridesOf(this.inShape), n = sizeOfShape(this.inShape);
    return {
      dims: [batch, ...this.outShape],
      inStrides: [n, ...this.dims.map((d) => inS[d - 1])],
      outStrides: [n, ...stridesOf(this.outShape)],
    };
  }
  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const g = this.geometry(ctx.batch);
    ctx.k.stridedCopy(g.dims, x, g.inStrides, buf.y!, g.outStrides);
  }
  backward(ctx: StepContext, buf: LayerBuffers, _x: Buf, dy: Buf): void {
    if (buf.dx === undefined) return;
    const g = this.geometry(ctx.batch);
    ctx.k.stridedCopy(g.dims, dy, g.outStrides, buf.dx, g.inStrides);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dims: this.dims.slice() };
  }
}
