// Keras merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise over N ≥ 2
// inputs with numpy broadcasting of the per-example shapes, as Keras' _Merge: aligned at the right,
// each dimension equal or 1) and Concatenate (along any non-batch axis).
//
// Gradients: broadcast inputs get theirs summed over the broadcast axes. Maximum/Minimum hand each
// output's gradient to the FIRST input holding the max/min (ties go to the earliest input, as
// tfjs' maximum gradient, which routes to a where a >= b); a NaN input holds a NaN output.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import {
  broadcastBinary, broadcastReduce, broadcastShapes, concatBackward, concatForward, freeGeom, planBroadcast, planConcat,
  routeGrad, scaleSlices, type BroadcastGeom, type MergeOp,
} from '../ops/merge.js';
import { sizeOfShape, type BaseLayerArgs, type StepContext } from './layer.js';
import { MergeLayer, type MergeBuffers, type MergeIO } from './merge-layer.js';

const shapesText = (shapes: number[][]) => shapes.map((s) => `[null,${s}]`).join(', ');

type Kind = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'minimum';

interface Step {
  op: MergeOp;
  geom: BroadcastGeom;
  /** Input index of operand a, or -1: the output y itself. */
  a: number;
  b: number;
  accumulate: boolean;
}

interface ElementwiseBuffers extends MergeBuffers {
  steps: Step[];
  /** Per input: geometry of (output ← input) for the gradient reduction and max/min routing. */
  reduce: BroadcastGeom[];
  /** Per input: geometry of (output ← output, input) for multiply's products. */
  chain: BroadcastGeom[];
  /** Output-sized scratch (multiply, maximum, minimum with broadcast or gradient-free inputs), or 0. */
  scratch: number;
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

  planMerge(batch: number, training: boolean, io: MergeIO): ElementwiseBuffers {
    const out = [batch, ...this.outShape];
    // A lower-rank input gains size-1 axes right after the batch (Keras expands dims at axis 1).
    const ins = this.inputShapes.map((s) => [batch, ...new Array<number>(this.outShape.length - s.length).fill(1), ...s]);
    const n = ins.length;
    const geoms: BroadcastGeom[] = [];
    const geom = (o: number[], a: number[], b?: number[]) => {
      const g = planBroadcast(o, a, b);
      geoms.push(g);
      return g;
    };
    const op: MergeOp = this.kind === 'add' || this.kind === 'average' ? 'add'
      : this.kind === 'subtract' ? 'sub' : this.kind === 'multiply' ? 'mul' : this.kind === 'maximum' ? 'max' : 'min';
    const steps: Step[] = [{ op, geom: geom(out, ins[0], ins[1]), a: 0, b: 1, accumulate: false }];
    let k = 2;
    // Sums take inputs in pairs (y += x_k + x_{k+1}): half the passes over y.
    if (op === 'add') {
      for (; k + 1 < n; k += 2) steps.push({ op, geom: geom(out, ins[k], ins[k + 1]), a: k, b: k + 1, accumulate: true });
    }
    for (; k < n; k++) steps.push({ op, geom: geom(out, out, ins[k]), a: -1, b: k, accumulate: false });
    const reduce: BroadcastGeom[] = [], chain: BroadcastGeom[] = [];
    let scratch = 0;
    if (training) {
      for (let i = 0; i < n; i++) reduce.push(geom(out, ins[i]));
      const routed = this.kind === 'maximum' || this.kind === 'minimum';
      if (this.kind === 'multiply') for (let i = 0; i < n; i++) chain.push(geom(out, out, ins[i]));
      const needsScratch = (this.kind === 'multiply' && reduce.some((g, i) => io.dxs[i] && !g.aFull))
        || (routed && reduce.some((g, i) => !io.dxs[i] || !g.aFull));
      if (needsScratch) scratch = runtime().heap.alloc(sizeOfShape(out) * 4);
    }
    const free = () => {
      for (const g of geoms) freeGeom(g);
      if (scratch) runtime().heap.free(scratch);
    };
    return { y: io.y, dx: 0, dxs: io.dxs, free, steps, reduce, chain, scratch };
  }

  forwardMerge(_ctx: StepContext, buf: MergeBuffers, xs: number[]): void {
    const b = buf as ElementwiseBuffers;
    for (const s of b.steps) broadcastBinary(s.op, s.geom, s.a < 0 ? b.y : xs[s.a], xs[s.b], b.y, s.accumulate);
    if (this.kind === 'average') scaleSlices(b.steps[0].geom.size, 1 / xs.length, b.y, b.y);
  }

  backwardMerge(_ctx: StepContext, buf: MergeBuffers, xs: number[], dy: number): void {
    const b = buf as ElementwiseBuffers;
    const n = xs.length;
    const dxs = b.dxs;
    switch (this.kind) {
      case 'add':
      case 'subtract':
      case 'average':
        for (let i = 0; i < n; i++) {
          if (!dxs[i]) continue;
          const scale = this.kind === 'average' ? 1 / n : this.kind === 'subtract' && i === 1 ? -1 : 1;
          broadcastReduce(b.reduce[i], dy, dxs[i], scale);
        }
        return;
      case 'multiply':
        for (let i = 0; i < n; i++) {
          if (!dxs[i]) continue;
          // t = dy · Π_{j≠i} x_j, written straight into dx_i when x_i is not broadcast.
          const t = b.reduce[i].aFull ? dxs[i] : b.scratch;
          let src = dy;
          for (let j = 0; j < n; j++) {
            if (j === i) continue;
            broadcastBinary('mul', b.chain[j], src, xs[j], t);
            src = t;
          }
          if (t !== dxs[i]) broadcastReduce(b.reduce[i], t, dxs[i]);
        }
        return;
      case 'maximum':
      case 'minimum': {
        // r = dy: each input in order claims the gradient where it holds the output (first wins ties).
        let last = -1;
        for (let i = 0; i < n; i++) if (dxs[i]) last = i;
        for (let i = 0; i <= last; i++) {
          const direct = dxs[i] && b.reduce[i].aFull;
          const g = direct ? dxs[i] : b.scratch;
          routeGrad(b.reduce[i], xs[i], b.y, dy, g);
          if (dxs[i] && !direct) broadcastReduce(b.reduce[i], g, dxs[i]);
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

  planMerge(batch: number, _training: boolean, io: MergeIO): ConcatBuffers {
    const full = this.inputShapes.map((s) => [batch, ...s]);
    const plan = planConcat(full, this.fullAxis(full[0].length, this.inputShapes));
    return { y: io.y, dx: 0, dxs: io.dxs, free: () => {}, plan };
  }

  forwardMerge(_ctx: StepContext, buf: MergeBuffers, xs: number[]): void {
    concatForward((buf as ConcatBuffers).plan, xs, buf.y);
  }

  backwardMerge(_ctx: StepContext, buf: MergeBuffers, _xs: number[], dy: number): void {
    concatBackward((buf as ConcatBuffers).plan, dy, buf.dxs);
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
