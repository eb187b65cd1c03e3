// The layer contract the model's program drives. Shapes exclude the batch dimension.
// A layer describes its computation once: the planner (src/model/planner.ts) gives every
// application of it (a graph node) its output and input-gradient buffers, `plan()` allocates what
// else that node needs per batch size (scratch, argmax, masks), and forward/backward compute only
// through the backend's kernels (ctx.k, src/backend/kernels.ts) over its buffers, so the same
// layer code runs on wasm and records on WebGPU. Applying a layer to symbolic tensors (`apply`) records a node of the
// graph a functional model is made of; applying it again shares its weights.

import { argError } from '../errors.js';
import type { InitializerName } from './initializers.js';
import { Tensor } from '../tensor.js';
import type { Buf, Kernels } from '../backend/kernels.js';
import { resolveRegularizer, type Regularizer, type RegularizerArg } from './regularizers.js';

export interface WeightSpec {
  /** Keras name within the layer: 'kernel' or 'bias'. */
  name: string;
  shape: number[];
  init: InitializerName;
  /** Float offset of this weight in the model's flat parameter (and gradient) buffer. */
  offset: number;
  /** Its penalty joins the loss (kernelRegularizer / biasRegularizer). */
  regularizer?: Regularizer;
  /**
   * false: a non-trainable weight (BatchNormalization's moving statistics): the forward writes it,
   * its gradient is zero and the optimizer step leaves it as it is. Default true.
   */
  trainable?: boolean;
}

/** What the program gives every layer call: the backend's kernels and the flat weight buffers. */
export interface StepContext {
  /** The backend's kernels (src/backend/kernels.ts): layers compute only through them. */
  k: Kernels;
  /** The flat parameter buffer. */
  params: Buf;
  /** The flat gradient buffer (same layout as params). */
  grads: Buf;
  batch: number;
  /** Dropout is active. */
  training: boolean;
  /**
   * Differs from every earlier value whenever the parameters may have changed since (training,
   * setWeights, a shared layer's values copied in): fused steps cache what they derive from the
   * weights (a batch norm folded into a kernel) under it.
   */
  weightsVersion: number;
  /** The output layer's softmax is left to the (fused) loss: it outputs logits. */
  logits: boolean;
}

export interface LayerBuffers {
  /** Output activations [batch, ...outShape] (given by the planner; undefined when a fused step writes none). */
  y: Buf | undefined;
  /** Gradient w.r.t. the input [batch, ...inShape] (given by the planner), undefined when not needed. */
  dx: Buf | undefined;
  /** Frees what plan() allocated itself (never y or dx). */
  free(): void;
}

/** The buffers the planner hands a node: its output and, when training needs it, its input gradient. */
export interface PlanIO {
  y: Buf | undefined;
  /** undefined: no input gradient is needed (the input is a model input). */
  dx: Buf | undefined;
}

/** Extras of a buffer set that holds no more than y and dx. */
export const noExtras = (io: PlanIO): LayerBuffers => ({ y: io.y, dx: io.dx, free: () => {} });

export interface BaseLayerArgs {
  name?: string;
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  trainable?: boolean;
  /** A penalty on the layer's output, divided by the batch size (Keras), added to the loss. */
  activityRegularizer?: RegularizerArg;
}

const nameCounts = new Map<string, number>();
/** Keras-style unique names: conv2d, conv2d_1, conv2d_2… */
export function uniqueName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

export abstract class Layer {
  abstract readonly className: string;
  name: string;
  trainable: boolean;
  /** From inputShape / batchInputShape, if the user gave one (first layer). */
  readonly declaredInputShape?: number[];
  inShape: number[] = [];
  outShape: number[] = [];
  weights: WeightSpec[] = [];
  built = false;
  /**
   * The output is the input itself, reinterpreted (flatten, reshape): the planner gives the node no
   * buffer of its own and its input gradient is its output gradient.
   */
  readonly outputIsInput: boolean = false;
  /** backward() leaves the input gradient in dy's buffer (elementwise layers): the planner gives no dx. */
  readonly dxInPlace: boolean = false;
  /** Every application of this layer (graph nodes), in the order apply() made them. */
  readonly inboundNodes: LayerNode[] = [];
  /** Penalty on this layer's output (activityRegularizer). */
  readonly activityRegularizer?: Regularizer;

  constructor(snakeName: string, args: BaseLayerArgs) {
    this.name = args.name ?? uniqueName(snakeName);
    this.trainable = args.trainable ?? true;
    this.activityRegularizer = resolveRegularizer(this.name, 'activityRegularizer', args.activityRegularizer);
    if (args.inputShape !== undefined) {
      if (!Array.isArray(args.inputShape) || args.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
        throw argError(this.name, 'inputShape', args.inputShape, 'an array of positive integers (without the batch dimension)');
      }
      this.declaredInputShape = args.inputShape.slice();
    } else if (args.batchInputShape !== undefined) {
      const rest = args.batchInputShape.slice(1);
      if (rest.some((d) => !Number.isInteger(d) || (d as number) < 1)) {
        throw argError(this.name, 'batchInputShape', args.batchInputShape, 'an array [batch|null, ...positive integers]');
      }
      this.declaredInputShape = rest as number[];
    }
  }

  /** Validates the input shape and returns the output shape (both without batch). */
  protected abstract computeOutputShape(inShape: number[]): number[];
  /** Weight shapes and initializers for this input shape (offsets are assigned by the model). */
  protected weightShapes(_inShape: number[]): Omit<WeightSpec, 'offset'>[] {
    return [];
  }

  build(inShape: number[]): void {
    this.inShape = inShape.slice();
    this.outShape = this.computeOutputShape(inShape);
    for (const d of this.outShape) {
      if (!Number.isInteger(d) || d < 1) {
        throw new Error(`${this.name}: input shape [${inShape}] gives output shape [${this.outShape}], but every dimension must be at least 1 (the input is too small for this layer)`);
      }
    }
    this.weights = this.weightShapes(inShape).map((w) => ({ ...w, offset: -1 }));
    this.built = true;
  }

  get paramCount(): number {
    return this.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  }
  /** Parameters the optimizer trains: 0 for a frozen layer, else those of its trainable weights. */
  get trainableParamCount(): number {
    if (!this.trainable) return 0;
    return this.weights.filter((w) => w.trainable !== false).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Input shapes of a build (one per input; merge layers take several). */
  buildFrom(inShapes: number[][], nodeLabel = this.name): void {
    if (inShapes.length !== 1) {
      throw new Error(`${nodeLabel}: ${this.className} takes one input, but was applied to ${inShapes.length} (shapes ${inShapes.map((s) => `[null,${s}]`).join(', ')})`);
    }
    if (!this.built) {
      if (this.declaredInputShape && this.declaredInputShape.join() !== inShapes[0].join()) {
        throw new Error(`${this.name}: inputShape [${this.declaredInputShape}] does not match the input it is applied to, [${inShapes[0]}]`);
      }
      this.build(inShapes[0]);
    } else if (this.inShape.join() !== inShapes[0].join()) {
      throw new Error(`${nodeLabel}: layer ${this.name} was built for input shape [null,${this.inShape}] and is applied to [null,${inShapes[0]}]; a shared layer takes one input shape`);
    }
  }

  /** Input shapes (one per input), after build. */
  get inShapes(): number[][] {
    return [this.inShape];
  }

  /**
   * Applies the layer: to symbolic tensors (sc.input, other layers' outputs) it records a graph
   * node and returns the symbolic output; to real Tensors it computes the output now (as tfjs).
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[]): SymbolicTensor;
  apply(inputs: unknown): SymbolicTensor | Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length > 0 && list.every((t) => t instanceof Tensor)) {
      if (!eagerApply) throw new Error(`${this.name}.apply: eager application needs the model module (internal error)`);
      return eagerApply(this, list as Tensor[]);
    }
    const bad = list.findIndex((t) => !(t instanceof SymbolicTensor));
    if (list.length === 0 || bad >= 0) {
      throw argError(`${this.name}.apply`, list.length === 0 ? 'inputs' : `inputs[${bad}]`, list.length === 0 ? inputs : list[bad],
        'a symbolic tensor (from sc.input() or another layer\'s apply), an array of them, or real Tensors');
    }
    const syms = list as SymbolicTensor[];
    this.buildFrom(syms.map((t) => t.shape.slice(1) as number[]), `${this.name} (${this.className})`);
    const node = new LayerNode(this, this.inboundNodes.length, syms);
    this.inboundNodes.push(node);
    return node.output;
  }

  /** The output of this layer's one application (tfjs' layer.output); an Error if applied never or several times. */
  get output(): SymbolicTensor {
    return this.onlyNode('output').output;
  }
  /** The input(s) of this layer's one application (tfjs' layer.input). */
  get input(): SymbolicTensor | SymbolicTensor[] {
    const ins = this.onlyNode('input').inputs;
    return ins.length === 1 ? ins[0] : ins.slice();
  }
  private onlyNode(what: string): LayerNode {
    if (this.inboundNodes.length !== 1) {
      throw new Error(`${this.name}.${what}: the layer has ${this.inboundNodes.length} applications${this.inboundNodes.length ? ' (it is shared)' : ''}; ${what} is defined for a layer applied exactly once (use the tensors apply() returned)`);
    }
    return this.inboundNodes[0];
  }

  /** Allocates what this layer's node needs per batch size besides io (scratch, argmax, masks). */
  abstract plan(k: Kernels, batch: number, training: boolean, io: PlanIO): LayerBuffers;
  /** y ← f(x). */
  abstract forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void;
  /** Weight gradients (overwritten) and, if buf.dx, dx ← ∂L/∂x. May clobber dy. */
  abstract backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void;

  /** Weight i of this layer in the context's parameter buffer, and its gradient. */
  protected param(ctx: StepContext, i: number): Buf {
    return ctx.k.at(ctx.params, this.weights[i].offset);
  }
  protected grad(ctx: StepContext, i: number): Buf {
    return ctx.k.at(ctx.grads, this.weights[i].offset);
  }

  /** Keras/tfjs config (snake_case), for model.json. */
  getConfig(): Record<string, unknown> {
    const cfg: Record<string, unknown> = { name: this.name, trainable: this.trainable, dtype: 'float32' };
    if (this.declaredInputShape) cfg.batch_input_shape = [null, ...this.declaredInputShape];
    return cfg;
  }
}

export const sizeOfShape = (s: number[]): number => s.reduce((a, b) => a * b, 1);

let symbolicIds = 0;

/** A tensor of a graph being built: its shape ([null, ...] with the batch free) and where it comes from. */
export class SymbolicTensor {
  readonly id = symbolicIds++;
  /** [null, ...dims]: the batch dimension is free. */
  readonly shape: (number | null)[];
  readonly dtype = 'float32';
  constructor(readonly node: LayerNode, shape: number[]) {
    this.shape = [null, ...shape];
  }
  /** The layer whose application made this tensor. */
  get sourceLayer(): Layer {
    return this.node.layer;
  }
  get nodeIndex(): number {
    return this.node.index;
  }
  /** Layers here have one output per application. */
  readonly tensorIndex = 0;
  get name(): string {
    return `${this.node.layer.name}/${this.node.index}`;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Shape without the batch dimension. */
  get sampleShape(): number[] {
    return this.shape.slice(1) as number[];
  }
}

/** One application of a layer: its input tensors and its output tensor. */
export class LayerNode {
  readonly output: SymbolicTensor;
  constructor(readonly layer: Layer, readonly index: number, readonly inputs: readonly SymbolicTensor[]) {
    this.output = new SymbolicTensor(this, layer.outShape);
  }
}

type EagerApply = (layer: Layer, inputs: Tensor[]) => Tensor;
let eagerApply: EagerApply | undefined;
/** @internal The model module computes eager applications (a one-node model). */
export function setEagerApply(fn: EagerApply): void {
  eagerApply = fn;
}
