// Fusion is a rewrite of the node list before planning: a rule looks at a node and the node(s)
// after it and, where it applies, replaces them by one step that computes the same numbers with
// fewer passes over memory. Each rule states when it is exact; the planner (planner.ts) runs the
// rules in order and plans what is left node by node.

import { Conv2D } from '../layers/conv2d.js';
import type { Buf, Kernels } from '../backend/kernels.js';
import type { LayerBuffers, LayerNode, StepContext, SymbolicTensor } from '../layers/layer.js';
import { MaxPooling2D } from '../layers/pooling.js';
import type { Graph } from './graph.js';

/** What a planned step computes: forward from its inputs' addresses, backward from dy. */
export interface PlannedStep {
  forward(ctx: StepContext, xs: Buf[]): void;
  /** Writes the gradients of the inputs into the dxs the step was planned with. */
  backward(ctx: StepContext, xs: Buf[], dy: Buf): void;
  free(): void;
}

/** One step of the program: a node, or several fused into one. */
export interface ExecNode {
  /** The nodes this step computes (one, or a fused group), first to last. */
  nodes: LayerNode[];
  inputs: readonly SymbolicTensor[];
  output: SymbolicTensor;
  /** The output is the input buffer itself (no buffer of its own). */
  outputIsInput: boolean;
  /** The input gradient is left in the output gradient's buffer. */
  dxInPlace: boolean;
  /** Plans the step: y its output buffer, dxs one input-gradient buffer per input (undefined: none). */
  plan(k: Kernels, batch: number, training: boolean, y: Buf, dxs: (Buf | undefined)[]): PlannedStep;
}

export interface FusionRule {
  name: string;
  /** The fused step starting at `node`, or undefined where the rule does not apply. */
  match(node: LayerNode, graph: Graph, keep: ReadonlySet<number>): ExecNode | undefined;
}

/**
 * Convolution (ReLU or linear) → max pooling, when the pooling is the convolution output's only
 * reader: the pooling runs on each chunk's convolution output while it is in the thread's scratch
 * (L2), and backward routes the pooled gradient through the argmax into dW/dX in the same pass.
 * Exact: max commutes with ReLU, and the same sums run in the same order
 * (test/model.fusion.test.ts compares it bit for bit with the layers run apart).
 */
const convMaxPool: FusionRule = {
  name: 'conv2d+maxPooling2d',
  match(node, graph, keep) {
    const conv = node.layer;
    // An activity regularizer reads the convolution's output, which the fused pass never writes.
    if (!(conv instanceof Conv2D) || !conv.canFusePool() || conv.activityRegularizer) return undefined;
    const readers = graph.consumers.get(node.output.id) ?? [];
    if (readers.length !== 1 || keep.has(node.output.id)) return undefined;
    const poolNode = readers[0].node;
    const pool = poolNode.layer;
    if (!(pool instanceof MaxPooling2D)) return undefined;
    return {
      nodes: [node, poolNode], inputs: node.inputs, output: poolNode.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, training, y, dxs) {
        conv.pooledBy = pool;
        let cb: LayerBuffers;
        try {
          // The convolution's own output is never written: no buffer for it.
          cb = conv.plan(k, batch, training, { y: undefined, dx: dxs[0] });
        } finally {
          conv.pooledBy = undefined;
        }
        const pb = pool.plan(k, batch, training, { y, dx: undefined });
        if (!conv.fusesPool(cb)) throw new Error(`${conv.name}: internal error: the fused convolution was planned without its pooling`);
        return {
          forward: (ctx, xs) => conv.forwardPooled(ctx, cb, xs[0], pb),
          backward: (ctx, xs, dy) => conv.backwardPooled(ctx, cb, xs[0], dy, pb),
          free: () => { cb.free(); pb.free(); },
        };
      },
    };
  },
};

/** The rules the planner applies, in order (the next issue's batch-norm folding goes here). */
export const FUSION_RULES: readonly FusionRule[] = [convMaxPool];
