// A functional model's topology as TensorFlow.js (and Keras 2) write it in model.json:
// {class_name: 'Model', config: {name, layers: [{name, class_name, config, inbound_nodes}],
// input_layers, output_layers}}, inbound nodes in the list form [[[layer, node, tensor, {}], …]].
// Node indices count only the layer's applications inside this model (Keras renumbers them so).

import { InputLayer } from '../layers/input.js';
import type { LayerNode } from '../layers/layer.js';
import type { Graph } from './graph.js';

export function functionalTopology(name: string, g: Graph): Record<string, unknown> {
  const inGraph = new Set<LayerNode>(g.nodes);
  const index = (n: LayerNode) => (n.layer instanceof InputLayer ? 0 : n.layer.inboundNodes.filter((m) => inGraph.has(m)).indexOf(n));
  const ref = (n: LayerNode) => [n.layer.name, index(n), 0];
  const layers = g.layers.map((l) => {
    const nodes = l instanceof InputLayer ? [] : l.inboundNodes.filter((n) => inGraph.has(n));
    return {
      name: l.name,
      class_name: l.className,
      config: l.getConfig(),
      inbound_nodes: nodes.map((n) => n.inputs.map((t) => [...ref(t.node), {}])),
    };
  });
  return {
    class_name: 'Model',
    config: {
      name,
      layers,
      input_layers: g.inputs.map((t) => ref(t.node)),
      output_layers: g.outputs.map((t) => ref(t.node)),
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}
