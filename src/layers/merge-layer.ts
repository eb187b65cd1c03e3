// The contract of layers that take several inputs (add, concatenate, …): the planner gives their
// node one output buffer and one input-gradient buffer per input (0 where none is needed), and
// calls forwardMerge / backwardMerge with the inputs' addresses in the order they were applied.

import type { Buf, Kernels } from '../backend/kernels.js';
import { Layer, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

export interface MergeIO extends PlanIO {
  /** Gradient buffer per input ([batch, ...inShapes[i]]), undefined where the input needs none. */
  dxs: (Buf | undefined)[];
}

export interface MergeBuffers extends LayerBuffers {
  dxs: (Buf | undefined)[];
}

export abstract class MergeLayer extends Layer {
  protected inputShapes: number[][] = [];

  override get inShapes(): number[][] {
    return this.inputShapes;
  }

  /** Validates the input shapes (naming the layer and every shape) and returns the output shape. */
  protected abstract mergeOutputShape(inShapes: number[][]): number[];

  protected computeOutputShape(): number[] {
    return this.mergeOutputShape(this.inputShapes);
  }

  override buildFrom(inShapes: number[][], nodeLabel = this.name): void {
    if (inShapes.length < 2) {
      throw new Error(`${nodeLabel}: a ${this.className} layer merges at least 2 inputs, but was applied to ${inShapes.length} (shape${inShapes.length === 1 ? '' : 's'} ${inShapes.map((s) => `[null,${s}]`).join(', ') || 'none'})`);
    }
    if (!this.built) {
      this.inputShapes = inShapes.map((s) => s.slice());
      this.build(inShapes[0]);
      return;
    }
    const same = inShapes.length === this.inputShapes.length && inShapes.every((s, i) => s.join() === this.inputShapes[i].join());
    if (!same) {
      throw new Error(`${nodeLabel}: layer ${this.name} was built for inputs ${this.inputShapes.map((s) => `[null,${s}]`).join(', ')} and is applied to ${inShapes.map((s) => `[null,${s}]`).join(', ')}; a shared layer takes the same input shapes`);
    }
  }

  abstract planMerge(k: Kernels, batch: number, training: boolean, io: MergeIO): MergeBuffers;
  /** y ← merge(xs). */
  abstract forwardMerge(ctx: StepContext, buf: MergeBuffers, xs: Buf[]): void;
  /** Overwrites every defined buf.dxs[i] with ∂L/∂xs[i] (broadcast inputs: summed over the broadcast axes). May clobber dy. */
  abstract backwardMerge(ctx: StepContext, buf: MergeBuffers, xs: Buf[], dy: Buf): void;

  plan(): LayerBuffers {
    throw new Error(`${this.name}: internal error: a merge layer is planned with planMerge`);
  }
  forward(): void {
    throw new Error(`${this.name}: internal error: a merge layer runs with forwardMerge`);
  }
  backward(): void {
    throw new Error(`${this.name}: internal error: a merge layer runs with backwardMerge`);
  }
}
