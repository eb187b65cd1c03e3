// The layer contract the model's training loop drives. Shapes exclude the batch dimension.
// A layer never allocates during a step: `plan(batch)` allocates its buffers once per batch size,
// and forward/backward only read and write heap addresses.

import { argError } from '../errors.js';
import type { InitializerName } from './initializers.js';

export interface WeightSpec {
  /** Keras name within the layer: 'kernel' or 'bias'. */
  name: string;
  shape: number[];
  init: InitializerName;
  /** Float offset of this weight in the model's flat parameter (and gradient) buffer. */
  offset: number;
}

/** Addresses the model gives every layer call. */
export interface StepContext {
  /** Byte address of the flat parameter buffer. */
  params: number;
  /** Byte address of the flat gradient buffer (same layout as params). */
  grads: number;
  batch: number;
  /** Dropout is active. */
  training: boolean;
  /** The output layer's softmax is left to the (fused) loss: it outputs logits. */
  logits: boolean;
}

export interface LayerBuffers {
  /** Output activations [batch, ...outShape]. */
  y: number;
  /** Gradient w.r.t. the input [batch, ...inShape], 0 when not needed (first layer). */
  dx: number;
  free(): void;
}

export interface BaseLayerArgs {
  name?: string;
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  trainable?: boolean;
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

  constructor(snakeName: string, args: BaseLayerArgs) {
    this.name = args.name ?? uniqueName(snakeName);
    this.trainable = args.trainable ?? true;
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

  /** Allocates this layer's per-batch buffers. */
  abstract plan(batch: number, needDx: boolean, training?: boolean): LayerBuffers;
  /** y ← f(x). */
  abstract forward(ctx: StepContext, buf: LayerBuffers, x: number): void;
  /** Weight gradients (overwritten) and, if buf.dx, dx ← ∂L/∂x. May clobber dy. */
  abstract backward(ctx: StepContext, buf: LayerBuffers, x: number, dy: number): void;

  /** Keras/tfjs config (snake_case), for model.json. */
  getConfig(): Record<string, unknown> {
    const cfg: Record<string, unknown> = { name: this.name, trainable: this.trainable, dtype: 'float32' };
    if (this.declaredInputShape) cfg.batch_input_shape = [null, ...this.declaredInputShape];
    return cfg;
  }
}

export const sizeOfShape = (s: number[]): number => s.reduce((a, b) => a * b, 1);
