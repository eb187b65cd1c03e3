// tf.sequential: a stack of layers. It is a LayersModel whose graph is one path (input → each
// layer in turn), made when the model is first built: the same planner, programs and training
// loop run it as any functional model.

import { argError } from '../errors.js';
import { InputLayer, input } from '../layers/input.js';
import { Layer, type SymbolicTensor } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { buildGraph, type Graph } from './graph.js';
import { LayersModel, type ModelX } from './layers-model.js';
import type { Tensor } from '../tensor.js';

export type { CompileArgs, FitArgs } from './layers-model.js';

export class Sequential extends LayersModel {
  /** The added layers, in order (tfjs' sequential.layers: no InputLayer). */
  private stack: Layer[] = [];
  private input?: SymbolicTensor;

  constructor(args: { layers?: Layer[]; name?: string; seed?: number } = {}) {
    super({ name: args?.name, seed: args?.seed });
    for (const l of args?.layers ?? []) this.add(l);
  }

  protected override defaultName(): string {
    return 'sequential';
  }
  protected override isFunctional(): boolean {
    return false;
  }

  add(layer: Layer | LayersModel): void {
    this.checkAlive('add');
    if (layer instanceof LayersModel) throw argError('sequential.add', 'layer', `model '${layer.name}'`, 'a layer from layers.* (apply a model inside a functional model with sc.model)');
    if (!(layer instanceof Layer)) throw argError('sequential.add', 'layer', layer, 'a layer from layers.*');
    if (this.isBuilt()) throw new Error(`sequential.add: the model '${this.name}' is already built; add layers before compile/fit/predict`);
    if (layer instanceof InputLayer) {
      if (this.stack.length || this.input) throw new Error(`sequential.add: an InputLayer (${layer.name}) must come first`);
      this.input = layer.output;
      return;
    }
    if (this.stack.length === 0 && !this.input && !layer.declaredInputShape) {
      throw new Error(`sequential.add: the first layer (${layer.name}) needs an inputShape, e.g. {inputShape: [28, 28, 1]}`);
    }
    if (this.stack.includes(layer)) throw new Error(`sequential.add: layer ${layer.name} is already in the model`);
    this.stack.push(layer);
  }

  private builtGraph = false;
  private isBuilt(): boolean {
    return this.builtGraph;
  }

  override get layers(): Layer[] {
    return this.stack.slice();
  }

  override get inputShape(): number[] {
    if (this.input) return this.input.sampleShape;
    if (this.stack.length === 0) throw new Error(`model '${this.name}' has no layers`);
    return this.stack[0].declaredInputShape!;
  }

  protected override makeGraph(): Graph {
    this.checkAlive('build');
    if (this.stack.length === 0) throw new Error(`model '${this.name}' has no layers: add some before building`);
    const x0 = this.input ?? input({ shape: this.inputShape, name: `${this.stack[0].name}_input` });
    let x = x0;
    const made: Layer[] = [];
    try {
      for (const l of this.stack) {
        if (l.declaredInputShape && l !== this.stack[0] && l.declaredInputShape.join() !== x.sampleShape.join()) {
          throw new Error(`${l.name}: inputShape [${l.declaredInputShape}] does not match the previous layer's output [${x.sampleShape}]`);
        }
        x = l.apply(x);
        made.push(l);
      }
    } catch (err) {
      // A failed build leaves no half-made nodes on the layers.
      for (const l of made) l.inboundNodes.pop();
      throw err;
    }
    this.builtGraph = true;
    return buildGraph(this.name, x0, x);
  }

  override weightLayers(): Layer[] {
    this.graph();
    return this.stack;
  }

  /** Outputs for x, batch by batch, as one tensor [N, ...outputShape]. */
  override predict(x: ModelX, args: { batchSize?: number } = {}): Tensor {
    return super.predict(x, args) as Tensor;
  }

  protected override inputLayerLabel(): string {
    return this.stack[0].name;
  }

  protected override summaryRows() {
    this.graph();
    return this.stack.map((l) => ({ layer: l, outShape: [[null, ...l.outShape]] }));
  }

  /** The Keras/tfjs topology for model.json. */
  override toJSON(): Record<string, unknown> {
    this.build();
    const layers = this.stack.map((l) => ({ class_name: l.className, config: l.getConfig() }));
    if (this.input && !this.stack[0].declaredInputShape) {
      (layers[0].config as Record<string, unknown>).batch_input_shape = [null, ...this.input.sampleShape];
    }
    return {
      class_name: 'Sequential',
      config: { name: this.name, layers },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    };
  }
}

export function sequential(args: { layers?: Layer[]; name?: string; seed?: number } = {}): Sequential {
  return new Sequential(args);
}

export { Conv2D };
