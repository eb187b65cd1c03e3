// Keras merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise over N ≥ 2
// inputs with numpy broadcasting of the per-example shapes, as Keras' _Merge: aligned at the right,
// each dimension equal or 1) and Concatenate (along any non-batch axis).
//
// Gradients: broadcast inputs get theirs summed over the broadcast axes. Maximum/Minimum hand each
// output's gradient to the FIRST input holding the max/min (ties go to the earliest input, as
// tfjs' maximum gradient, which routes to a where a >= b); a NaN input holds a NaN output.

import type { BroadcastPlan, Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import { broadcastShapes, planConcat, type MergeOp } from '../ops/merge.js';
import { sizeOfShape, type BaseLayerArgs, type StepContext } from './layer.js';
import { MergeLayer, type MergeBuffers, type MergeIO } from './merge-layer.js';

const shapesText = (shapes: number[][]) => shapes.map((s) => `[null,${s}]`).join(', ');

type Kind = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum';

interface Step {
  op: MergeOp;
  geom: BroadcastPlan;
  /** Input index of operand a, or -1: the output y itself. */
  a: number;
  b: number;
  accumulate: boolean;
}

interface ElementwiseBuffers extends MergeBuffers {
  steps: Step[];
  /** Per input: geometry of (output ← input) for the gradient reduction and max/min routing. */
  reduce: BroadcastPlan[];
  /** Per input: geometry of (output ← output, input) for multiply's products. */
  chain: BroadcastPlan[];
  /** Output-sized scratch (multiply, maximum, minimum with broadcast or gradient-free inputs). */
  scratch: Buf | undefined;
}

abstract class ElementwiseMerge extends MergeLayer {
  protected abstract readonly kind: Kind;

  protected mergeOutputShape(inShapes: number[][]): number[] {
    const out = broadcastShapes(inShapes);
    if (!out) {
      throw new Error(`${this.name}: ${this.className} inputs must have shapes that broadcast (aligned at the right, each dimension equal or 1), got ${shapesText(inShapes)}`);
    }
    return out;
  }

  planMerge(k: Kernels, batch: number, training: boolean, io: MergeIO): ElementwiseBuffers {
    const out = [batch, ...this.outShape];
    // A lower-rank input gains size-1 axes right after the batch (Keras expands dims at axis 1).
    const ins = this.inputShapes.map((s) => [batch, ...new Array<number>(this.outShape.length - s.length).fill(1), ...s]);
    const n = ins.length;
    const geoms: BroadcastPlan[] = [];
    const geom = (o: number[], a: number[], b?: number[]) => {
      const g = k.broadcastPlan(o, a, b);
      geoms.push(g);
      return g;
    };
    const op: MergeOp = this.kind === 'add' || this.kind === 'average' ? 'add'
      : this.kind === 'subtract' ? 'sub' : this.kind === 'multiply' ? 'mul' : this.kind === 'maximum' ? 'max' : 'min';
    const steps: Step[] = [{ op, geom: geom(out, ins[0], ins[1]), a: 0, b: 1, accumulate: false }];
    let i = 2;
    // Sums take inputs in pairs (y += x_k + x_{k+1}): half the passes over y.
    if (op === 'add') {
      for (; i + 1 < n; i += 2) steps.push({ op, geom: geom(out, ins[i], ins[i + 1]), a: i, b: i + 1, accumulate: true });
    }
    for (; i < n; i++) steps.push({ op, geom: geom(out, out, ins[i]), a: -1, b: i, accumulate: false });
    const reduce: BroadcastPlan[] = [], chain: BroadcastPlan[] = [];
    let scratch: Buf | undefined;
    if (training) {
      for (let j = 0; j < n; j++) reduce.push(geom(out, ins[j]));
      const routed = this.kind === 'maximum' || this.kind === 'minimum';
      if (this.kind === 'multiply') for (let j = 0; j < n; j++) chain.push(geom(out, out, ins[j]));
      const needsScratch = (this.kind === 'multiply' && reduce.some((g, j) => io.dxs[j] !== undefined && !g.aFull))
        || (routed && reduce.some((g, j) => io.dxs[j] === undefined || !g.aFull));
      if (needsScratch) scratch = k.alloc(sizeOfShape(out), `${this.name}/scratch`);
    }
    const free = () => {
      for (const g of geoms) g.free();
      if (scratch !== undefined) k.free(scratch);
    };
    return { y: io.y, dx: undefined, dxs: io.dxs, free, steps, reduce, chain, scratch };
  }

  forwardMerge(ctx: StepContext, buf: MergeBuffers, xs: Buf[]): void {
    const b = buf as ElementwiseBuffers;
    const last = b.steps.length - 1;
    // Average: the last pass also scales by 1/n.
    b.steps.forEach((s, i) => ctx.k.broadcastBinary(s.op, s.geom, s.a < 0 ? 'y' : xs[s.a], xs[s.b], b.y!, s.accumulate,
      this.kind === 'average' && i === last ? 1 / xs.length : 1));
  }

  backwardMerge(ctx: StepContext, buf: MergeBuffers, xs: Buf[], dy: Buf): void {
    const b = buf as ElementwiseBuffers;
    const k = ctx.k;
    const n = xs.length;
    const dxs = b.dxs;
    switch (this.kind) {
      case 'add':
      case 'subtract':
      case 'average':
        for (let i = 0; i < n; i++) {
          if (dxs[i] === undefined) continue;
          const scale = this.kind === 'average' ? 1 / n : this.kind === 'subtract' && i === 1 ? -1 : 1;
          k.broadcastReduce(b.reduce[i], dy, dxs[i]!, scale);
        }
        return;
      case 'multiply':
        for (let i = 0; i < n; i++) {
          const dx = dxs[i];
          if (dx === undefined) continue;
          // t = dy · Π_{j≠i} x_j, written straight into dx_i when x_i is not broadcast.
          const t = b.reduce[i].aFull ? dx : b.scratch!;
          let first = true;
          for (let j = 0; j < n; j++) {
            if (j === i) continue;
            k.broadcastBinary('mul', b.chain[j], first ? dy : 'y', xs[j], t);
            first = false;
          }
          if (t !== dx) k.broadcastReduce(b.reduce[i], t, dx);
        }
        return;
      case 'maximum':
      case 'minimum': {
        // r = dy: each input in order claims the gradient where it holds the output (first wins ties).
        let last = -1;
        for (let i = 0; i < n; i++) if (dxs[i] !== undefined) last = i;
        for (let i = 0; i <= last; i++) {
          const dx = dxs[i];
          const direct = dx !== undefined && b.reduce[i].aFull;
          const g = direct ? dx : b.scratch!;
          k.routeGrad(b.reduce[i], xs[i], b.y!, dy, g);
          if (dx !== undefined && !direct) k.broadcastReduce(b.reduce[i], g, dx);
        }
      }
    }
  }
}

export class Add extends ElementwiseMerge {
  readonly className = 'Add';
  protected readonly kind = 'add';
  constructor(args: BaseLayerArgs = {}) {
    super('add', args ?? {});
  }
}

/** Keras' Subtract (tfjs has none): exactly two inputs, x0 − x1. */
export class Subtract extends ElementwiseMerge {
  readonly className = 'Subtract';
  protected readonly kind = 'subtract';
  constructor(args: BaseLayerArgs = {}) {
    super('subtract', args ?? {});
  }
  protected override mergeOutputShape(inShapes: number[][]): number[] {
    if (inShapes.length !== 2) {
      throw new Error(`${this.name}: a Subtract layer takes exactly 2 inputs, got ${inShapes.length} (shapes ${shapesText(inShapes)})`);
    }
    return super.mergeOutputShape(inShapes);
  }
}

export class Multiply extends ElementwiseMerge {
  readonly className = 'Multiply';
  protected readonly kind = 'multiply';
  constructor(args: BaseLayerArgs = {}) {
    super('multiply', args ?? {});
  }
}

export class Average extends ElementwiseMerge {
  readonly className = 'Average';
  protected readonly kind = 'average';
  constructor(args: BaseLayerArgs = {}) {
    super('average', args ?? {});
  }
}

export class Maximum extends ElementwiseMerge {
  readonly className = 'Maximum';
  protected readonly kind = 'maximum';
  constructor(args: BaseLayerArgs = {}) {
    super('maximum', args ?? {});
  }
}

export class Minimum extends ElementwiseMerge {
  readonly className = 'Minimum';
  protected readonly kind = 'minimum';
  constructor(args: BaseLayerArgs = {}) {
    super('minimum', args ?? {});
  }
}

export interface ConcatenateArgs extends BaseLayerArgs {
  /** Axis to join along, counting the batch as axis 0 (Keras): default −1, the last. */
  axis?: number;
}

interface ConcatBuffers extends MergeBuffers {
  plan: ReturnType<typeof planConcat>;
}

export class Concatenate extends MergeLayer {
  readonly className = 'Concatenate';
  readonly axis: number;
  constructor(args: ConcatenateArgs = {}) {
    super('concatenate', args ?? {});
    const axis = args?.axis ?? -1;
    if (!Number.isInteger(axis)) throw argError(this.name, 'axis', axis, 'an integer (−1: the last axis; the batch is axis 0)');
    this.axis = axis;
  }

  /** The axis in a full shape (batch = 0) of rank `rank`, validated. */
  private fullAxis(rank: number, inShapes: number[][]): number {
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a <= 0 || a >= rank) {
      const why = a === 0 ? 'the batch axis (0) cannot be concatenated' : `out of range for inputs of rank ${rank} (batch included)`;
      throw new Error(`${this.name}: Concatenate axis ${this.axis} is ${why}; inputs ${shapesText(inShapes)}`);
    }
    return a;
  }

  protected mergeOutputShape(inShapes: number[][]): number[] {
    const rank = inShapes[0].length + 1;
    if (inShapes.some((s) => s.length + 1 !== rank)) {
      throw new Error(`${this.name}: Concatenate inputs must have the same rank, got ${shapesText(inShapes)}`);
    }
    const a = this.fullAxis(rank, inShapes) - 1;
    const bad = inShapes.some((s) => s.some((d, k) => k !== a && d !== inShapes[0][k]));
    if (bad) {
      throw new Error(`${this.name}: Concatenate along axis ${this.axis} needs inputs whose other dimensions match, got ${shapesText(inShapes)}`);
    }
    const out = inShapes[0].slice();
    out[a] = inShapes.reduce((t, s) => t + s[a], 0);
    return out;
  }

  planMerge(_k: Kernels, batch: number, _training: boolean, io: MergeIO): ConcatBuffers {
    const full = this.inputShapes.map((s) => [batch, ...s]);
    const plan = planConcat(full, this.fullAxis(full[0].length, this.inputShapes));
    return { y: io.y, dx: undefined, dxs: io.dxs, free: () => {}, plan };
  }

  /** Each input's block goes to its offset within every output block (and back for the gradients). */
  forwardMerge(ctx: StepContext, buf: MergeBuffers, xs: Buf[]): void {
    const p = (buf as ConcatBuffers).plan;
    xs.forEach((x, i) => ctx.k.blockCopy(p.outer, p.blocks[i], x, p.blocks[i], ctx.k.at(buf.y!, p.offsets[i]), p.outBlock));
  }

  backwardMerge(ctx: StepContext, buf: MergeBuffers, _xs: Buf[], dy: Buf): void {
    const p = (buf as ConcatBuffers).plan;
    buf.dxs.forEach((dx, i) => {
      if (dx !== undefined) ctx.k.blockCopy(p.outer, p.blocks[i], ctx.k.at(dy, p.offsets[i]), p.outBlock, dx, p.blocks[i]);
    });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}

/** tfjs-style factories (tf.layers.add(args) …): they construct the layer; layer.apply([a, b]) applies it. */
export const mergeLayers = {
  add: (args?: BaseLayerArgs) => new Add(args),
  subtract: (args?: BaseLayerArgs) => new Subtract(args),
  multiply: (args?: BaseLayerArgs) => new Multiply(args),
  average: (args?: BaseLayerArgs) => new Average(args),
  maximum: (args?: BaseLayerArgs) => new Maximum(args),
  minimum: (args?: BaseLayerArgs) => new Minimum(args),
  concatenate: (args?: ConcatenateArgs) => new Concatenate(args),
};
