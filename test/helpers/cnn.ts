// The notes' reference CNN (Conv32-3×3-relu, MaxPool2, Conv64-3×3-relu, MaxPool2, Flatten,
// Dense64-relu, Dense10-softmax), shared by the suites that train, save or export it.
import { layers, sequential } from '../../src/index.js';

export function referenceCnn(seed: number) {
  return sequential({
    seed,
    layers: [
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 64, activation: 'relu' }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}
