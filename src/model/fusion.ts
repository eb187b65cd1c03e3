// Fusion is a rewrite of the node list before planning: a rule looks at a node and the node(s)
// after it and, where it applies, replaces them by one step that computes the same numbers with
// fewer passes over memory. Each rule states when it is exact; the planner (planner.ts) runs the
// rules in order and plans what is left node by node.

import { Conv2D } from '../layers/conv2d.js';
import type { Buf, ConvPlan, DepthwisePlan, EpilogueAct, Kernels } from '../backend/kernels.js';
import { BatchNormalization } from '../layers/batch-norm.js';
import { Dense } from '../layers/dense.js';
import type { DepthwiseConv2D } from '../layers/depthwise.js';
import { sizeOfShape, type Layer, type LayerBuffers, type LayerNode, type StepContext, type SymbolicTensor, type WeightSpec } from '../layers/layer.js';
import { Activation } from '../layers/reshaping.js';
import { ReLU } from '../layers/activation-layers.js';
import { Add } from '../layers/merge.js';
import { MaxPooling2D } from '../layers/pooling.js';
import { poolGeometry } from '../ops/pool.js';
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

/** The reader of t when it is its only one and nothing else keeps it (a model output, a kept tensor). */
function soleReader(t: SymbolicTensor, graph: Graph, keep: ReadonlySet<number>): LayerNode | undefined {
  const readers = graph.consumers.get(t.id) ?? [];
  return readers.length === 1 && !keep.has(t.id) ? readers[0].node : undefined;
}

/**
 * The epilogue an activation layer amounts to (ReLU, ReLU(maxValue 6), Activation('relu' | 'relu6'
 * | 'swish')), if any. Swish only in the inference chain (its gradient needs the pre-activation).
 */
function epilogueOf(l: Layer, swish = false): EpilogueAct | undefined {
  if (l.activityRegularizer) return undefined;
  const a = l instanceof Activation ? l.activation
    : l instanceof ReLU ? (l.kernelAct() as string)
      : undefined;
  return a === 'relu' || a === 'relu6' || (swish && a === 'swish') ? a : undefined;
}

/**
 * Inference: the chain a CNN block is made of, as ONE pass of the convolution (or depthwise
 * convolution, or dense layer):
 *   [ZeroPadding2D] → conv | depthwise | dense (linear) → [BatchNormalization] → [Add(skip)] → [ReLU | ReLU6]
 * (each link the only reader of the one before). The padding becomes the convolution's own; the
 * batch norm is folded: with a = γ/√(σ² + ε) and b = β − μ·a from the moving statistics, the
 * output is a·(x∗W) + (bias·a + b) — a per-channel scale in the GEMM / convolution epilogue (no
 * rescaled copy of the kernel: MobileNetV2's would double its 14 MB of weights), W·a folded into a
 * copy of the (small) kernel for a depthwise convolution. The residual add (conv and dense; a skip
 * tensor computed before the chain starts) and the activation run in the epilogue too, so the
 * block's output is written once and read by nothing in between. The folded values are cached
 * under the parameters' version (StepContext.weightsVersion) and refolded whenever the weights may
 * have changed, so setWeights or training never leaves them stale. Equal to the layers
 * apart within float rounding (test/model.fold-bn.test.ts); training plans run the layers apart
 * (foldZeroPadding still applies there).
 */
const inferenceChain: FusionRule = {
  name: '[zeroPadding2d]+conv|depthwise|dense+[batchNormalization]+[add]+[relu|relu6] (inference)',
  match(node, graph, keep, training) {
    if (training) return undefined;
    let pad: LayerNode | undefined;
    let layerNode = node;
    if (node.layer.className === 'ZeroPadding2D' && !node.layer.activityRegularizer) {
      const r = soleReader(node.output, graph, keep);
      const c = r?.layer as { className?: string; padding?: string } | undefined;
      if (!r || (c!.className !== 'Conv2D' && c!.className !== 'DepthwiseConv2D') || c!.padding !== 'valid') return undefined;
      pad = node;
      layerNode = r;
    }
    const l = layerNode.layer;
    const kind = l instanceof Conv2D ? 'conv' : l instanceof Dense ? 'dense' : l.className === 'DepthwiseConv2D' ? 'depthwise' : undefined;
    if (!kind || l.activityRegularizer || (l as unknown as { activation: string }).activation !== 'linear') return undefined;
    const nodes = pad ? [pad, layerNode] : [layerNode];
    let tail = layerNode;
    // The batch norm, when it normalizes the channel (last) axis.
    let bn: BatchNormalization | undefined;
    const bnNode = soleReader(tail.output, graph, keep);
    if (bnNode?.layer instanceof BatchNormalization && !bnNode.layer.activityRegularizer) {
      const b = bnNode.layer, rank = b.inShape.length;
      if (b.axis === -1 || b.axis === rank) {
        bn = b;
        nodes.push(bnNode);
        tail = bnNode;
      }
    }
    // The residual add: two inputs of one shape, the other one computed before the chain starts.
    let skip: SymbolicTensor | undefined;
    const addNode = kind !== 'depthwise' ? soleReader(tail.output, graph, keep) : undefined;
    if (addNode?.layer instanceof Add && !addNode.layer.activityRegularizer && addNode.inputs.length === 2) {
      const other = addNode.inputs[0] === tail.output ? addNode.inputs[1] : addNode.inputs[0];
      const first = graph.nodes.indexOf(nodes[0]);
      if (other !== tail.output && other.shape.join() === tail.output.shape.join() && graph.nodes.indexOf(other.node) < first) {
        skip = other;
        nodes.push(addNode);
        tail = addNode;
      }
    }
    let act: EpilogueAct = 'linear';
    const actNode = soleReader(tail.output, graph, keep);
    const a = actNode && epilogueOf(actNode.layer, true);
    if (a) {
      act = a;
      nodes.push(actNode!);
      tail = actNode!;
    }
    if (!bn && !skip && act === 'linear') return undefined; // only a padding: foldZeroPadding's case
    const C = l.outShape[l.outShape.length - 1];
    const kernel = l.weights[0], bias = l.weights.find((w) => w.name === 'bias');
    const kSize = sizeOfShape(kernel.shape);
    const w = (name: string) => bn!.weights.find((x) => x.name === name);
    const pads = pad ? (pad.layer as unknown as { padding: [[number, number], [number, number]] }).padding : undefined;
    const inputs = [...(pad ?? layerNode).inputs, ...(skip ? [skip] : [])];
    return {
      nodes, inputs, output: tail.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, tr, y) {
        const conv = l as Conv2D | DepthwiseConv2D;
        // The layer's own plan (scratch, thread slices) for writing straight into the chain's output.
        if (pads) conv.padOverride = pads;
        let lb: LayerBuffers;
        try {
          lb = l.plan(k, batch, tr, { y, dx: undefined });
        } finally {
          if (pads) conv.padOverride = undefined;
        }
        // Only the depthwise kernel is rescaled (9·C floats); the others take the scale in the epilogue.
        const wf = bn && kind === 'depthwise' ? k.alloc(kSize, `${l.name}/folded kernel`) : undefined;
        const bf = bn ? k.alloc(C, `${l.name}/folded bias`) : undefined;
        const coef = bn ? k.alloc(3 * C, `${bn.name}/coef`) : undefined;
        const gKernel = wf ? k.broadcastPlan([kSize / C, C], [kSize / C, C], [1, C]) : undefined, gBias = bn ? k.broadcastPlan([C], [C], [C]) : undefined;
        let folded: { params: Buf; version: number } | undefined;
        return {
          forward(ctx, xs) {
            const p = (s: WeightSpec | undefined) => (s ? k.at(ctx.params, s.offset) : undefined);
            let W = p(kernel)!, B = p(bias), scale: Buf | undefined;
            if (bn) {
              const sa = k.at(coef!, C), sb = k.at(coef!, 2 * C);
              if (folded?.params !== ctx.params || folded.version !== ctx.weightsVersion) {
                k.bnCoeffs(C, p(w('moving_mean'))!, p(w('moving_variance'))!, p(w('gamma')), p(w('beta')), bn.epsilon, coef!);
                if (wf) k.broadcastBinary('mul', gKernel!, W, sa, wf);
                if (B) {
                  k.broadcastBinary('mul', gBias!, B, sa, bf!);
                  k.broadcastBinary('add', gBias!, 'y', sb, bf!);
                } else k.copy(C, sb, bf!);
                // Only a backend that ran the fold now may reuse it (WebGPU records, and never fuses).
                folded = k.backend === 'wasm' ? { params: ctx.params, version: ctx.weightsVersion } : undefined;
              }
              if (wf) W = wf;
              else scale = sa;
              B = bf;
            }
            const res = skip ? xs[1] : undefined;
            if (kind === 'conv') k.convForward((lb as unknown as { conv: ConvPlan }).conv, xs[0], W, B, y, act, undefined, res, scale, ctx.weightsVersion);
            else if (kind === 'depthwise') k.depthwiseForward((lb as unknown as { dw: DepthwisePlan }).dw, xs[0], W, B, y, act);
            else {
              const d = l as Dense, kd = d.inShape[d.inShape.length - 1];
              k.gemm(ctx.batch * sizeOfShape(d.inShape.slice(0, -1)), d.units, kd, xs[0], false, W, false, y, { bias: B, scale, act, res });
            }
          },
          backward() {
            throw new Error(`${l.name}: internal error: an inference chain was planned for training`);
          },
          free: () => {
            lb.free();
            for (const b of [wf, bf, coef]) if (b !== undefined) k.free(b);
            gKernel?.free(); gBias?.free();
          },
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

/** Whether a layer's output is never negative (a ReLU or ReLU6 at its end). */
function nonNegative(l: Layer): boolean {
  if (epilogueOf(l)) return true;
  const a = (l as { activation?: unknown }).activation;
  return !l.activityRegularizer && (l instanceof Conv2D || l instanceof Dense || l.className === 'DepthwiseConv2D') && (a === 'relu' || a === 'relu6');
}

/**
 * Inference: an equal zero padding p (p < the window) read only by a 'valid' max pooling, over
 * values that are never negative (a ReLU's output: PyTorch's ResNet stem, MaxPool pads = 1, comes
 * in as this pair), is that pooling with padding p of its own — windows clamped to the image —
 * since a padded 0 never beats a window's real values, which are ≥ 0 and at least one per window.
 * The padded copy (ResNet's 114×114×64) is never written. Not in training: a tie of a real 0 with
 * the padding would route its gradient differently.
 */
const foldZeroPaddingMaxPool: FusionRule = {
  name: 'zeroPadding2d+maxPooling2d',
  match(node, graph, keep, training) {
    const pad = node.layer;
    if (training || pad.className !== 'ZeroPadding2D' || keep.has(node.output.id) || pad.activityRegularizer) return undefined;
    if (!nonNegative(node.inputs[0].sourceLayer)) return undefined;
    const poolNode = soleReader(node.output, graph, keep);
    const pool = poolNode?.layer;
    if (!(pool instanceof MaxPooling2D) || pool.padding !== 'valid' || pool.activityRegularizer) return undefined;
    const [[t, b], [l, r]] = (pad as unknown as { padding: [[number, number], [number, number]] }).padding;
    if (t !== b || l !== r || t !== l || t >= pool.poolSize[0] || t >= pool.poolSize[1]) return undefined;
    return {
      nodes: [node, poolNode!], inputs: node.inputs, output: poolNode!.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, _training, y) {
        const g = poolGeometry(pool.name, [batch, ...pad.inShape], pool.poolSize, pool.strides, t);
        return {
          forward: (_ctx, xs) => k.maxPoolForward(g, xs[0], y, undefined),
          backward() {
            throw new Error(`${pool.name}: internal error: a folded padding was planned for training`);
          },
          free: () => {},
        };
      },
    };
  },
};

/** The rules the planner applies, in order. */
export const FUSION_RULES: readonly FusionRule[] = [convMaxPool, inferenceChain, foldZeroPadding, foldZeroPaddingMaxPool];
