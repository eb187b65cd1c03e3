// sc.input(): the start of a functional graph. An InputLayer has one node with no inputs; its
// output is the symbolic tensor layers are applied to. In a model it is where the examples go.

import type { Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import { Layer, LayerNode, noExtras, type BaseLayerArgs, type LayerBuffers, type PlanIO, type SymbolicTensor } from './layer.js';

export interface InputArgs {
  shape?: number[];
  batchShape?: (number | null)[];
  name?: string;
  batchSize?: number;
  dtype?: 'float32';
  sparse?: boolean;
}

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly batchSize?: number;
  /** An input is where the model's examples are written: it is never planned as a step. */
  constructor(args: InputArgs & BaseLayerArgs) {
    const shape = args.shape ?? (args.batchShape ? args.batchShape.slice(1) : undefined);
    const label = args.name ?? 'input';
    if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || (d as number) < 1)) {
      throw argError(label, args.shape !== undefined ? 'shape' : 'batchShape', args.shape ?? args.batchShape,
        'an array of positive integers (the example shape, without the batch dimension), e.g. {shape: [28, 28, 1]}');
    }
    if (args.dtype !== undefined && args.dtype !== 'float32') throw argError(label, 'dtype', args.dtype, "'float32' (the only dtype simdcnn runs)");
    if (args.sparse) throw argError(label, 'sparse', args.sparse, 'false (sparse inputs are not supported)');
    super('input', { name: args.name, inputShape: shape as number[] });
    const b = args.batchSize ?? (args.batchShape ? args.batchShape[0] ?? undefined : undefined);
    if (b !== undefined && (!Number.isInteger(b) || (b as number) < 1)) throw argError(this.name, 'batchSize', b, 'a positive integer');
    this.batchSize = b as number | undefined;
    this.build(shape as number[]);
    this.inboundNodes.push(new LayerNode(this, 0, []));
  }
  override get output(): SymbolicTensor {
    return this.inboundNodes[0].output;
  }
  protected computeOutputShape(inShape: number[]): number[] {
    return inShape.slice();
  }
  override buildFrom(): void {
    throw new Error(`${this.name}: an InputLayer is not applied to tensors; use its output (sc.input() returns it)`);
  }
  plan(_k: Kernels, _batch: number, _training: boolean, io: PlanIO): LayerBuffers {
    return noExtras(io);
  }
  forward(): void {}
  backward(): void {}
  override getConfig(): Record<string, unknown> {
    return { batch_input_shape: [this.batchSize ?? null, ...this.outShape], dtype: 'float32', sparse: false, name: this.name };
  }
}

/** tf.input: a symbolic tensor of shape [null, ...shape] to build a functional model from. */
export function input(args: InputArgs): SymbolicTensor {
  if (!args || typeof args !== 'object') throw argError('input', 'args', args, 'an object like {shape: [28, 28, 1]}');
  return new InputLayer(args).output;
}
