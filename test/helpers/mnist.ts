// The real MNIST from ../shared/mnist (beside the repository), loaded once per test file.
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../../src/data/mnist-node.js';

export const MNIST_DIR = fileURLToPath(new URL('../../../shared/mnist/', import.meta.url));

let cached: ReturnType<typeof loadMnist> | undefined;
export function mnist() {
  cached ??= loadMnist({ dir: MNIST_DIR, download: false });
  return cached;
}
