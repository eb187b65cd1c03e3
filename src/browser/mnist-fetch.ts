// Browser stand-in for data/mnist-node.ts (swapped in by the browser build): no file system, so
// `dir` is a URL (relative to the page) that serves the four .gz files.

import { fetchMnist, type IdxDatasetFiles, type TrainTestSets } from '../data/mnist.js';

export interface LoadMnistOptions { dir?: string; baseUrl?: string; onProgress?: (done: number, total: number, file: string) => void }
export interface LoadIdxDatasetOptions extends LoadMnistOptions { files: IdxDatasetFiles; numClasses?: number }

export function loadMnist(opts: LoadMnistOptions = {}): Promise<TrainTestSets> {
  return fetchMnist({ baseUrl: opts.dir ?? opts.baseUrl, onProgress: opts.onProgress });
}

export async function loadIdxDataset(opts: LoadIdxDatasetOptions): Promise<TrainTestSets> {
  const baseUrl = opts.dir ?? opts.baseUrl;
  if (!baseUrl) throw new Error('datasets.idx: in a browser, dir must be the URL that serves the four .gz files');
  const { fetchIdxDataset } = await import('../data/fetch-idx.js');
  return fetchIdxDataset({ baseUrl, files: opts.files, numClasses: opts.numClasses, onProgress: opts.onProgress });
}
