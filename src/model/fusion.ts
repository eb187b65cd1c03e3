// Fusion is a rewrite of the node list before planning: a rule looks at a node and the node(s)
// after it and, where it applies, replaces them by one step that computes the same numbers with
// fewer passes over memory. Each rule states when it is exact; the planner (planner.ts) runs the
// rules in order and plans what is left node by node.

import { Conv2D } from '../layers/conv2d.js';
import type { Buf, ConvPlan, DepthwisePlan, Kernels } from '../backend/kernels.js';
import { BatchNormalization } from '../layers/batch-norm.js';
import { Dense } from '../layers/dense.js';
import type { DepthwiseConv2D } from '../layers/depthwise.js';
import { sizeOfShape, type LayerBuffers, type LayerNode, type StepContext, type SymbolicTensor, type WeightSpec } from '../layers/layer.js';
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
  /** The fused step starting at `node`, or undefined where the rule does not apply (training: a training plan). */
  match(node: LayerNode, graph: Graph, keep: ReadonlySet<number>, training: boolean): ExecNode | undefined;
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

/**
 * Inference: a batch normalization right after a linear convolution, depthwise convolution or dense
 * layer (its only reader, normalizing the channel axis) is folded into that layer's weights: with
 * a = γ/√(σ² + ε) and b = β − μ·a from the moving statistics, W' = W·a per output channel and
 * b' = bias·a + b, so one pass writes the normalized output. W' and b' are recomputed from the
 * current weights at every forward (a pass over the kernel, small beside the convolution), so
 * setWeights or training in between never leaves them stale. Equal to the layers apart within
 * float rounding (test/model.fold-bn.test.ts); training plans run the layers apart.
 */
const foldBatchNorm: FusionRule = {
  name: 'conv|depthwise|dense+batchNormalization (inference)',
  match(node, graph, keep, training) {
    const l = node.layer;
    if (training || keep.has(node.output.id) || l.activityRegularizer) return undefined;
    const kind = l instanceof Conv2D ? 'conv' : l instanceof Dense ? 'dense' : l.className === 'DepthwiseConv2D' ? 'depthwise' : undefined;
    if (!kind || (l as unknown as { activation: string }).activation !== 'linear') return undefined;
    const readers = graph.consumers.get(node.output.id) ?? [];
    if (readers.length !== 1) return undefined;
    const bnNode = readers[0].node, bn = bnNode.layer;
    if (!(bn instanceof BatchNormalization) || bn.activityRegularizer) return undefined;
    const rank = bn.inShape.length;
    if (bn.axis !== -1 && bn.axis !== rank) return undefined;
    const C = bn.inShape[rank - 1];
    const kernel = l.weights[0], bias = l.weights.find((w) => w.name === 'bias');
    const kSize = sizeOfShape(kernel.shape);
    const w = (name: string) => bn.weights.find((x) => x.name === name);
    return {
      nodes: [node, bnNode], inputs: node.inputs, output: bnNode.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, tr, y) {
        // The layer's own plan (scratch, thread slices) for writing straight into the normalized output.
        const lb = l.plan(k, batch, tr, { y, dx: undefined });
        const wf = k.alloc(kSize, `${l.name}/folded kernel`), bf = k.alloc(C, `${l.name}/folded bias`), coef = k.alloc(3 * C, `${bn.name}/coef`);
        const gKernel = k.broadcastPlan([kSize / C, C], [kSize / C, C], [1, C]), gBias = k.broadcastPlan([C], [C], [C]);
        return {
          forward(ctx, xs) {
            const p = (s: WeightSpec | undefined) => (s ? k.at(ctx.params, s.offset) : undefined);
            k.bnCoeffs(C, p(w('moving_mean'))!, p(w('moving_variance'))!, p(w('gamma')), p(w('beta')), bn.epsilon, coef);
            const a = k.at(coef, C), b = k.at(coef, 2 * C);
            k.broadcastBinary('mul', gKernel, p(kernel)!, a, wf);
            if (bias) {
              k.broadcastBinary('mul', gBias, p(bias)!, a, bf);
              k.broadcastBinary('add', gBias, 'y', b, bf);
            } else k.copy(C, b, bf);
            if (kind === 'conv') k.convForward((lb as unknown as { conv: ConvPlan }).conv, xs[0], wf, bf, y, false);
            else if (kind === 'depthwise') k.depthwiseForward((lb as unknown as { dw: DepthwisePlan }).dw, xs[0], wf, bf, y, 'linear');
            else {
              const d = l as Dense, kd = d.inShape[d.inShape.length - 1];
              k.gemm(ctx.batch * sizeOfShape(d.inShape.slice(0, -1)), d.units, kd, xs[0], false, wf, false, y, { bias: bf });
            }
          },
          backward() {
            throw new Error(`${l.name}: internal error: a folded batch norm was planned for training`);
          },
          free: () => { lb.free(); k.free(wf); k.free(bf); k.free(coef); gKernel.free(); gBias.free(); },
        };
      },
    };
  },
};

/**
 * A zero padding read only by a 'valid' convolution or depthwise convolution becomes that layer's
 * own (explicit) padding: the padded copy is never written, the convolution reads the input in
 * place and skips the taps outside it, and its input gradient is the unpadded input's. Exact: the
 * skipped taps multiply zeros (test/model.fold-padding.test.ts), in training too.
 */
const foldZeroPadding: FusionRule = {
  name: 'zeroPadding2d+conv2d|depthwiseConv2d',
  match(node, graph, keep) {
    const pad = node.layer;
    if (pad.className !== 'ZeroPadding2D' || keep.has(node.output.id) || pad.activityRegularizer) return undefined;
    const readers = graph.consumers.get(node.output.id) ?? [];
    if (readers.length !== 1) return undefined;
    const convNode = readers[0].node;
    const conv = convNode.layer as (Conv2D | DepthwiseConv2D) & { padOverride?: [[number, number], [number, number]]; padding: string };
    if ((conv.className !== 'Conv2D' && conv.className !== 'DepthwiseConv2D') || conv.padding !== 'valid') return undefined;
    const pads = (pad as unknown as { padding: [[number, number], [number, number]] }).padding;
    return {
      nodes: [node, convNode], inputs: node.inputs, output: convNode.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, training, y, dxs) {
        conv.padOverride = pads;
        let cb: LayerBuffers;
        try {
          cb = conv.plan(k, batch, training, { y, dx: dxs[0] });
        } finally {
          conv.padOverride = undefined;
        }
        return {
          forward: (ctx, xs) => conv.forward(ctx, cb, xs[0]),
          backward: (ctx, xs, dy) => conv.backward(ctx, cb, xs[0], dy),
          free: () => cb.free(),
        };
      },
    };
  },
};

/** The rules the planner applies, in order. */
export const FUSION_RULES: readonly FusionRule[] = [convMaxPool, foldBatchNorm, foldZeroPadding];
