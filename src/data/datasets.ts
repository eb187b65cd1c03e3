// tf.data-style entry points for the IDX data sets. In Node (Deno, Bun) they read a folder,
// downloading what is missing; the browser build swaps mnist-node.js for a fetch-based loader.

import { loadIdxDataset, loadMnist, type LoadIdxDatasetOptions, type LoadMnistOptions } from './mnist-node.js';

export const datasets = {
  /** MNIST: `{dir}`, else $SIMDCNN_DATA, else ~/.cache/simdcnn/mnist (downloaded, sha256-checked). */
  mnist: (opts: LoadMnistOptions = {}) => loadMnist(opts),
  /** Any data set in MNIST's four-file IDX layout (Fashion-MNIST, KMNIST…). */
  idx: (opts: LoadIdxDatasetOptions) => loadIdxDataset(opts),
};
export type { LoadIdxDatasetOptions, LoadMnistOptions };
