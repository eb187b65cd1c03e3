// The topology of a model: the nodes (layer applications) between its input and output symbolic
// tensors, in an order where every node comes after the nodes that feed it. Built once per model
// and checked for what would otherwise fail deep inside a step: outputs that do not depend on the
// inputs, inputs nothing reads, layers of another graph, duplicate layer names.

import { InputLayer } from '../layers/input.js';
import { Layer, LayerNode, SymbolicTensor } from '../layers/layer.js';

export interface Graph {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Every non-input node, each after the nodes producing its inputs. */
  nodes: LayerNode[];
  /** The distinct layers, inputs first, in node order (tfjs' model.layers). */
  layers: Layer[];
  /** Nodes reading each tensor (by tensor id), in node order, one entry per input slot. */
  consumers: Map<number, { node: LayerNode; slot: number }[]>;
}

const describe = (t: SymbolicTensor) => `${t.sourceLayer.name} (${t.sourceLayer.className}) output [${t.shape.map((d) => d ?? 'null')}]`;

export function buildGraph(modelName: string, inputsArg: unknown, outputsArg: unknown): Graph {
  const asList = (v: unknown, what: string): SymbolicTensor[] => {
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) throw new Error(`model '${modelName}': ${what} is empty; expected symbolic tensors (from sc.input() and layer.apply)`);
    list.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor)) {
        throw new Error(`model '${modelName}': ${what}${Array.isArray(v) ? `[${i}]` : ''} is ${t === null ? 'null' : typeof t}, not a symbolic tensor (from sc.input() or layer.apply)`);
      }
    });
    return list as SymbolicTensor[];
  };
  const inputs = asList(inputsArg, 'inputs');
  const outputs = asList(outputsArg, 'outputs');
  inputs.forEach((t, i) => {
    if (!(t.sourceLayer instanceof InputLayer)) {
      throw new Error(`model '${modelName}': inputs[${i}] is ${describe(t)}, not an input; model inputs come from sc.input()`);
    }
    if (inputs.indexOf(t) !== i) throw new Error(`model '${modelName}': input ${t.sourceLayer.name} is listed twice in inputs`);
  });
  const inputSet = new Set(inputs);

  // Depth-first from the outputs; a node is placed after all of its inputs' producers.
  const order: LayerNode[] = [];
  const state = new Map<LayerNode, 'active' | 'done'>();
  const usedInputs = new Set<SymbolicTensor>();
  const visit = (t: SymbolicTensor, path: string[]): void => {
    if (inputSet.has(t)) {
      usedInputs.add(t);
      return;
    }
    const node = t.node;
    if (node.layer instanceof InputLayer) {
      throw new Error(`model '${modelName}': ${path.length ? `layer ${path[path.length - 1]} reads` : 'an output is'} ${node.layer.name}, an input that is not among the model's inputs (${inputs.map((i) => i.sourceLayer.name).join(', ')}): the output is not connected to the given inputs`);
    }
    const s = state.get(node);
    if (s === 'done') return;
    if (s === 'active') throw new Error(`model '${modelName}': the graph has a cycle through layer ${node.layer.name} (${[...path, node.layer.name].join(' → ')})`);
    state.set(node, 'active');
    for (const x of node.inputs) visit(x, [...path, node.layer.name]);
    state.set(node, 'done');
    order.push(node);
  };
  for (const o of outputs) visit(o, []);
  const unused = inputs.filter((t) => !usedInputs.has(t));
  if (unused.length) {
    throw new Error(`model '${modelName}': input${unused.length > 1 ? 's' : ''} ${unused.map((t) => t.sourceLayer.name).join(', ')} ${unused.length > 1 ? 'are' : 'is'} not read by any layer leading to the outputs; remove ${unused.length > 1 ? 'them' : 'it'} from inputs or connect ${unused.length > 1 ? 'them' : 'it'}`);
  }

  const layers: Layer[] = [];
  const byName = new Map<string, Layer>();
  for (const l of [...inputs.map((t) => t.sourceLayer), ...order.map((n) => n.layer)]) {
    const other = byName.get(l.name);
    if (other && other !== l) {
      throw new Error(`model '${modelName}': two different layers are named '${l.name}' (${other.className} and ${l.className}); layer names must be unique within a model`);
    }
    if (!other) {
      byName.set(l.name, l);
      layers.push(l);
    }
  }
  const consumers = new Map<number, { node: LayerNode; slot: number }[]>();
  for (const n of order) {
    n.inputs.forEach((t, slot) => {
      let list = consumers.get(t.id);
      if (!list) consumers.set(t.id, (list = []));
      list.push({ node: n, slot });
    });
  }
  return { inputs, outputs, nodes: order, layers, consumers };
}
