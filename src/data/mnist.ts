// The MNIST family of data sets (MNIST, Fashion-MNIST, KMNIST share the four-file IDX layout):
// known file names and hashes, and turning an images file plus a labels file into a checked
// ImageSet. Bytes in, typed arrays out, no node: imports: this part is shared with browsers.
// File-system access and the cache folder are in mnist-node.ts; downloading is in fetch-idx.ts,
// loaded on first use (in the browser build it is its own chunk, outside the core).
import { parseIdx } from './idx.js';

/** One split: `count` images of `height`×`width` uint8 pixels, row-major, and their labels. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface TrainTestSets {
  train: ImageSet;
  test: ImageSet;
}

/** Base names (without .gz) of the four files, keyed by role. */
export interface IdxDatasetFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

export const MNIST_FILES: Readonly<IdxDatasetFiles> = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});

/** sha256 of the original gzip files as published by Yann LeCun et al. (the .gz bytes, not the IDX). */
export const MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  'train-images-idx3-ubyte.gz': '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
  'train-labels-idx1-ubyte.gz': '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
  't10k-images-idx3-ubyte.gz': '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
  't10k-labels-idx1-ubyte.gz': 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
});

/** Google's copy of the original files; the one tfds and Keras use. */
export const DEFAULT_MNIST_MIRROR = 'https://storage.googleapis.com/cvdf-datasets/mnist/';

export interface ImageSetCheck {
  imagesName?: string;
  labelsName?: string;
  /** Labels must be < numClasses. Default 10. */
  numClasses?: number;
  /** Required image size, e.g. [28, 28] for MNIST; any size when omitted. */
  imageSize?: readonly [number, number];
}

/**
 * Parse an uncompressed images IDX ([N, H, W] uint8) and labels IDX ([N] uint8) into an ImageSet,
 * checking that they belong together. Pixel data is not copied.
 */
export function parseImageSet(imagesIdx: Uint8Array, labelsIdx: Uint8Array, check: ImageSetCheck = {}): ImageSet {
  const imagesName = check.imagesName ?? 'images';
  const labelsName = check.labelsName ?? 'labels';
  const numClasses = check.numClasses ?? 10;
  const im = parseIdx(imagesIdx, imagesName);
  const lb = parseIdx(labelsIdx, labelsName);
  if (im.dtype !== 'uint8' || im.shape.length !== 3) {
    throw new Error(
      `${imagesName}: expected an images file of uint8 [count, height, width] (magic 2051), ` +
        `got ${im.dtype} [${im.shape.join(', ')}]`,
    );
  }
  if (lb.dtype !== 'uint8' || lb.shape.length !== 1) {
    throw new Error(
      `${labelsName}: expected a labels file of uint8 [count] (magic 2049), got ${lb.dtype} [${lb.shape.join(', ')}]`,
    );
  }
  const [count, height, width] = im.shape as [number, number, number];
  if (check.imageSize && (height !== check.imageSize[0] || width !== check.imageSize[1])) {
    throw new Error(
      `${imagesName}: expected ${check.imageSize[0]}x${check.imageSize[1]} images, got ${height}x${width}`,
    );
  }
  if (lb.shape[0] !== count) {
    throw new Error(`${imagesName} has ${count} images but ${labelsName} has ${lb.shape[0]} labels`);
  }
  const labels = lb.data as Uint8Array;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) {
      throw new Error(`${labelsName}: label ${labels[i]} at index ${i} is out of range 0..${numClasses - 1}`);
    }
  }
  return { images: im.data as Uint8Array, labels, count, height, width };
}

export type ProgressCallback = (done: number, total: number, file: string) => void;

/** Browser-friendly MNIST: download from `baseUrl` (default the Google mirror) and verify. */
export async function fetchMnist(opts: { baseUrl?: string; onProgress?: ProgressCallback } = {}): Promise<TrainTestSets> {
  return (await import('./fetch-idx.js')).fetchMnistNow(opts);
}
