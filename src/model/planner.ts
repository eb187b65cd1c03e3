// The planner turns (graph, batch size, training) into a program: a flat list of steps over the
// backend's buffers (src/backend/kernels.ts), built once and replayed every batch, so a step
// allocates nothing. The wasm model runs it directly; the WebGPU runner records it.
//
// - Fusion rules (fusion.ts) rewrite the node list first.
// - Buffers come from a pool of slots reused by liveness: in inference a tensor's slot goes back
//   to the pool after its last reader ran (a chain needs its input and two slots); training keeps
//   every forward tensor (backward reads them) and reuses the gradient slots instead: a tensor's
//   gradient lives from its first contribution until its producer's backward has run.
// - A tensor read by several nodes gets the sum of their gradients: the first contribution is
//   written in place, later ones are added to it, in node order (deterministic).

import type { Buf, Kernels } from '../backend/kernels.js';
import { InputLayer } from '../layers/input.js';
import { sizeOfShape, type LayerNode, type StepContext, type SymbolicTensor } from '../layers/layer.js';
import { MergeLayer } from '../layers/merge-layer.js';
import { FUSION_RULES, type ExecNode, type PlannedStep } from './fusion.js';
import type { Graph } from './graph.js';

export type BackwardHook = (step: ExecNode) => { ctx: StepContext; after: (() => void) | undefined };

export interface PlanOptions {
  batch: number;
  training: boolean;
  /** Apply the fusion rules (off: every node runs on its own). */
  fuse: boolean;
  /** Keep every tensor's buffer (predictLayers reads them all): no reuse, no fusion. */
  keepAll: boolean;
}

export interface Program {
  batch: number;
  training: boolean;
  /** Buffer per model input ([batch, ...inputShape]): gather the examples here. */
  inputs: Buf[];
  /** Buffer per model output after forward(). */
  outputs: Buf[];
  /** Training: per model output, where the loss writes dL/d(output). */
  outputGrads: Buf[];
  /** Each tensor's buffer (by tensor id) that is still valid after forward (all of them with keepAll). */
  tensors: Map<number, Buf>;
  /**
   * One float: after forward(), the regularization penalty of this batch (weight penalties plus the
   * activity penalties, each divided by the batch size); undefined when the graph has no regularizer.
   */
  penalty: Buf | undefined;
  /** Bytes of the activation slots (inputs excluded), and of the gradient slots. */
  activationBytes: number;
  gradientBytes: number;
  /** The steps, in order. */
  steps: ExecNode[];
  forward(ctx: StepContext): void;
  /** `hook` may give a step another context (another gradient buffer) and something to run after it. */
  backward(ctx: StepContext, hook?: BackwardHook): void;
  free(): void;
}

/** Plain single-input and merge nodes as program steps. */
function execOf(node: LayerNode): ExecNode {
  const l = node.layer;
  if (l instanceof MergeLayer) {
    return {
      nodes: [node], inputs: node.inputs, output: node.output, outputIsInput: false, dxInPlace: false,
      plan(k, batch, training, y, dxs) {
        const b = l.planMerge(k, batch, training, { y, dx: undefined, dxs });
        return { forward: (ctx, xs) => l.forwardMerge(ctx, b, xs), backward: (ctx, xs, dy) => l.backwardMerge(ctx, b, xs, dy), free: () => b.free() };
      },
    };
  }
  return {
    nodes: [node], inputs: node.inputs, output: node.output, outputIsInput: l.outputIsInput, dxInPlace: l.dxInPlace,
    plan(k, batch, training, y, dxs) {
      const b = l.plan(k, batch, training, { y, dx: dxs[0] });
      return { forward: (ctx, xs) => l.forward(ctx, b, xs[0]), backward: (ctx, xs, dy) => l.backward(ctx, b, xs[0], dy), free: () => b.free() };
    },
  };
}

/** The node list after the fusion rules. */
export function execNodes(graph: Graph, fuse: boolean, keep: ReadonlySet<number>, training = true): ExecNode[] {
  const out: ExecNode[] = [];
  const taken = new Set<LayerNode>();
  for (const n of graph.nodes) {
    if (taken.has(n)) continue;
    let e: ExecNode | undefined;
    if (fuse) for (const r of FUSION_RULES) if ((e = r.match(n, graph, keep, training))) break;
    e ??= execOf(n);
    for (const m of e.nodes) taken.add(m);
    out.push(e);
  }
  return out;
}

/** Slots of heap memory handed out by size (best fit) and taken back when their tensors die. */
class SlotPool {
  private free: { ptr: Buf; bytes: number }[] = [];
  readonly all: { ptr: Buf; bytes: number }[] = [];
  constructor(private readonly k: Kernels, private readonly label: string) {}
  acquire(bytes: number): Buf {
    let best = -1;
    this.free.forEach((s, i) => { if (s.bytes >= bytes && (best < 0 || s.bytes < this.free[best].bytes)) best = i; });
    if (best >= 0) return this.free.splice(best, 1)[0].ptr;
    const s = { ptr: this.k.alloc(Math.max(1, bytes / 4), `${this.label} slot ${this.all.length}`), bytes };
    this.all.push(s);
    return s.ptr;
  }
  release(ptr: Buf): void {
    const s = this.all.find((x) => x.ptr === ptr);
    if (!s) throw new Error('planner: internal error: releasing a slot the pool does not own');
    this.free.push(s);
  }
  get bytes(): number {
    return this.all.reduce((t, s) => t + s.bytes, 0);
  }
  dispose(): void {
    for (const s of this.all) this.k.free(s.ptr);
    this.all.length = 0;
    this.free.length = 0;
  }
}

export function planProgram(graph: Graph, opts: PlanOptions, k: Kernels): Program {
  const { batch, training } = opts;
  const bytesOf = (t: SymbolicTensor) => batch * sizeOfShape(t.sampleShape) * 4;
  const outputIds = new Set(graph.outputs.map((t) => t.id));
  const steps = execNodes(graph, opts.fuse && !opts.keepAll && k.fusesConvPool, opts.keepAll ? new Set(graph.nodes.map((n) => n.output.id)) : outputIds, training);

  const inputs = graph.inputs.map((t) => k.alloc(Math.max(1, bytesOf(t) / 4), `${t.sourceLayer.name}/x`));
  const buf = new Map<number, Buf>();
  graph.inputs.forEach((t, i) => buf.set(t.id, inputs[i]));

  // ---- forward buffers ----
  const acts = new SlotPool(k, 'activation');
  const reuse = !training && !opts.keepAll;
  // Readers left per tensor (by id), and tensors sharing each slot (aliases of a view).
  const left = new Map<number, number>();
  for (const e of steps) for (const t of e.inputs) left.set(t.id, (left.get(t.id) ?? 0) + 1);
  const slotUsers = new Map<Buf, number>();
  const isInputBuf = new Set(inputs);
  for (const e of steps) {
    let y: Buf;
    if (e.outputIsInput) y = buf.get(e.inputs[0].id)!;
    else y = acts.acquire(bytesOf(e.output));
    buf.set(e.output.id, y);
    if (!isInputBuf.has(y)) slotUsers.set(y, (slotUsers.get(y) ?? 0) + 1);
    if (!reuse) continue;
    for (const t of new Set(e.inputs)) {
      const n = left.get(t.id)! - e.inputs.filter((x) => x === t).length;
      left.set(t.id, n);
      if (n > 0 || outputIds.has(t.id)) continue;
      const p = buf.get(t.id)!;
      if (isInputBuf.has(p)) continue;
      const users = slotUsers.get(p)! - 1;
      slotUsers.set(p, users);
      if (users === 0) acts.release(p);
    }
  }

  // ---- backward buffers (training) ----
  const grads = new SlotPool(k, 'gradient');
  const dxsOf = new Map<ExecNode, (Buf | undefined)[]>();
  const dyOf = new Array<Buf>(steps.length).fill(0);
  const outputGrads: Buf[] = [];
  /** Per step: after its backward, add these (src → dst, floats). */
  const after = new Map<ExecNode, { adds: [Buf, Buf, number][] }>();
  if (training) {
    const gradBuf = new Map<number, Buf>();
    const producer = (t: SymbolicTensor) => t.sourceLayer instanceof InputLayer;
    // Outputs first: the loss writes each output's gradient (a tensor listed twice gets both summed).
    const outputAdds: [Buf, Buf, number][] = [];
    for (const o of graph.outputs) {
      const g = grads.acquire(bytesOf(o));
      outputGrads.push(g);
      const have = gradBuf.get(o.id);
      if (have === undefined) gradBuf.set(o.id, g);
      else outputAdds.push([g, have, bytesOf(o) / 4]);
    }
    if (outputAdds.length) after.set(OUTPUT_ADDS, { adds: outputAdds });
    for (let i = steps.length - 1; i >= 0; i--) {
      const e = steps[i];
      const dy = gradBuf.get(e.output.id);
      if (dy === undefined) throw new Error(`planner: internal error: no gradient reaches ${e.nodes[0].layer.name}`);
      dyOf[i] = dy;
      const dxs: (Buf | undefined)[] = [];
      const adds: [Buf, Buf, number][] = [];
      const release: Buf[] = [];
      let dyPassed = false;
      e.inputs.forEach((t) => {
        if (producer(t)) {
          dxs.push(undefined);
          return;
        }
        let dx: Buf;
        if ((e.dxInPlace || e.outputIsInput) && !dyPassed) {
          dx = dy;
          dyPassed = true;
        } else dx = grads.acquire(bytesOf(t));
        dxs.push(dx);
        const have = gradBuf.get(t.id);
        if (have === undefined) gradBuf.set(t.id, dx);
        else {
          adds.push([dx, have, bytesOf(t) / 4]);
          release.push(dx);
        }
      });
      // The output gradient is this step's alone: free once its backward ran (unless passed on).
      if (!dyPassed) release.push(dy);
      dxsOf.set(e, dxs);
      after.set(e, { adds });
      // Released at plan time: only steps planned after this one (run after it) get these slots.
      for (const p of release) grads.release(p);
    }
  }

  const planned: PlannedStep[] = [];
  const xsOf: Buf[][] = [];
  try {
    for (const e of steps) {
      planned.push(e.plan(k, batch, training, e.outputIsInput ? buf.get(e.inputs[0].id)! : buf.get(e.output.id)!, dxsOf.get(e) ?? e.inputs.map(() => undefined)));
      xsOf.push(e.inputs.map((t) => buf.get(t.id)!));
    }
  } catch (err) {
    for (const p of planned) p.free();
    acts.dispose();
    grads.dispose();
    for (const p of inputs) k.free(p);
    throw err;
  }
  const outputs = graph.outputs.map((t) => buf.get(t.id)!);
  const tensors = new Map<number, Buf>();
  if (opts.keepAll || training) for (const [id, p] of buf) tensors.set(id, p);
  else for (const t of graph.outputs) tensors.set(t.id, buf.get(t.id)!);
  const outAdds = after.get(OUTPUT_ADDS)?.adds ?? [];

  // ---- regularization: weight penalties (each weight once), activity penalties per step ----
  const weightRegs = [...new Set(graph.layers.flatMap((l) => l.weights))].filter((w) => w.regularizer && (w.regularizer.l1 || w.regularizer.l2));
  const activity = steps.map((e) => {
    const r = e.nodes[e.nodes.length - 1].layer.activityRegularizer;
    return r && (r.l1 || r.l2) ? { l1: r.l1 / batch, l2: r.l2 / batch, n: bytesOf(e.output) / 4 } : undefined;
  });
  const penalty = weightRegs.length || activity.some(Boolean) ? k.alloc(1, 'regularization penalty') : undefined;

  return {
    batch, training, inputs, outputs, outputGrads, tensors, steps, penalty,
    activationBytes: acts.bytes, gradientBytes: grads.bytes,
    forward(ctx) {
      let first = true;
      for (const w of weightRegs) {
        k.regularize(sizeOfShape(w.shape), k.at(ctx.params, w.offset), undefined, w.regularizer!.l1, w.regularizer!.l2, penalty, !first);
        first = false;
      }
      for (let i = 0; i < planned.length; i++) {
        planned[i].forward(ctx, xsOf[i]);
        const a = activity[i];
        if (a) {
          k.regularize(a.n, buf.get(steps[i].output.id)!, undefined, a.l1, a.l2, penalty, !first);
          first = false;
        }
      }
    },
    backward(ctx, hook) {
      for (const [src, dst, n] of outAdds) k.addInto(n, src, dst);
      for (let i = planned.length - 1; i >= 0; i--) {
        const a = activity[i];
        // The activity penalty's gradient joins the output's before the step's own backward.
        if (a) k.regularize(a.n, buf.get(steps[i].output.id)!, dyOf[i], a.l1, a.l2, undefined, false);
        if (hook) {
          const h = hook(steps[i]);
          planned[i].backward(h.ctx, xsOf[i], dyOf[i]);
          h.after?.();
        } else planned[i].backward(ctx, xsOf[i], dyOf[i]);
        for (const [src, dst, n] of after.get(steps[i])!.adds) k.addInto(n, src, dst);
      }
      // Weight penalties' gradients, after every step wrote its weights' gradients.
      for (const w of weightRegs) k.regularize(sizeOfShape(w.shape), k.at(ctx.params, w.offset), k.at(ctx.grads, w.offset), w.regularizer!.l1, w.regularizer!.l2, undefined, false);
    },
    free() {
      if (penalty !== undefined) k.free(penalty);
      for (const p of planned) p.free();
      acts.dispose();
      grads.dispose();
      for (const p of inputs) k.free(p);
    },
  };
}

const OUTPUT_ADDS = {} as ExecNode;
