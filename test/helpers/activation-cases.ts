// Shared by the wasm and WebGPU activation-layer suites: the layer cases and their float64 forward.
import { layers, type Layer } from '../../src/index.js';
import { ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU } from '../../src/layers/activation-layers.js';
import { refAct, refPrelu, refSoftmaxAxis, type RefAct } from '../../src/reference/activations.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The float64 forward of one activation-type layer (alpha: PReLU's weight). */
export function refLayer(l: Layer, batch: number, x: Float64Array, alpha?: ArrayLike<number>): Float64Array {
  const s = l.inShape;
  if (l instanceof PReLU) return refPrelu(s, l.alphaShape(), x, alpha!);
  if (l instanceof Softmax) {
    const k = (l.axis < 0 ? l.axis + s.length + 1 : l.axis) - 1;
    return refSoftmaxAxis(batch * size(s.slice(0, k)), s[k], size(s.slice(k + 1)), x);
  }
  return refAct(refActOf(l), x);
}
function refActOf(l: Layer): RefAct {
  if (l instanceof ReLU) return { op: 'reluX', negativeSlope: l.negativeSlope, maxValue: l.maxValue ?? Infinity, threshold: l.threshold };
  if (l instanceof LeakyReLU) return { op: 'leakyRelu', alpha: l.alpha };
  if (l instanceof ELU) return { op: 'elu', alpha: l.alpha };
  if (l instanceof ThresholdedReLU) return { op: 'thresholdedRelu', theta: l.theta };
  throw new Error(`no reference for ${l.className}`);
}

export interface LayerCase { name: string; make: () => Layer; shape: number[] }
export const LAYER_CASES: LayerCase[] = [
  { name: 'reLU()', make: () => layers.reLU(), shape: [5] },
  { name: 'reLU({maxValue: 6}) (relu6 kernel)', make: () => layers.reLU({ maxValue: 6 }), shape: [3, 4] },
  { name: 'reLU({maxValue: 1.5})', make: () => layers.reLU({ maxValue: 1.5 }), shape: [2, 3, 2] },
  { name: 'reLU({negativeSlope: 0.1, threshold: 0.5, maxValue: 2})', make: () => layers.reLU({ negativeSlope: 0.1, threshold: 0.5, maxValue: 2 }), shape: [7] },
  { name: 'leakyReLU() (alpha 0.3)', make: () => layers.leakyReLU(), shape: [6] },
  { name: 'leakyReLU({alpha: 0.05})', make: () => layers.leakyReLU({ alpha: 0.05 }), shape: [2, 2, 3] },
  { name: 'elu()', make: () => layers.elu(), shape: [5] },
  { name: 'elu({alpha: 0.4})', make: () => layers.elu({ alpha: 0.4 }), shape: [3, 3] },
  { name: 'thresholdedReLU() (theta 1)', make: () => layers.thresholdedReLU(), shape: [8] },
  { name: 'thresholdedReLU({theta: -0.3})', make: () => layers.thresholdedReLU({ theta: -0.3 }), shape: [2, 5] },
  { name: 'softmax() (last axis)', make: () => layers.softmax(), shape: [2, 3, 4] },
  { name: 'softmax({axis: 1}) on NHWC (height)', make: () => layers.softmax({ axis: 1 }), shape: [3, 2, 4] },
  { name: 'softmax({axis: 2}) (width)', make: () => layers.softmax({ axis: 2 }), shape: [2, 3, 4] },
  { name: 'softmax({axis: -2})', make: () => layers.softmax({ axis: -2 }), shape: [4, 3] },
  { name: 'pReLU() (alpha per element)', make: () => layers.pReLU({ alphaInitializer: 'randomNormal' }), shape: [3, 2, 2] },
  { name: 'pReLU({sharedAxes: [1, 2]}) (per channel)', make: () => layers.pReLU({ sharedAxes: [1, 2], alphaInitializer: 'randomNormal' }), shape: [3, 2, 4] },
  { name: 'pReLU({sharedAxes: 2})', make: () => layers.pReLU({ sharedAxes: 2, alphaInitializer: 'randomNormal' }), shape: [2, 3] },
];

