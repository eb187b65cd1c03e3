// Downloading IDX data sets into memory (fetch, sha256 via WebCrypto, gunzip), in browsers and
// Node. Loaded on first use by fetchMnist / datasets, so pages that never download data don't
// carry it.
import { gunzip } from './gunzip.js';
import { DEFAULT_MNIST_MIRROR, MNIST_FILES, MNIST_SHA256, parseImageSet, type IdxDatasetFiles, type ProgressCallback, type TrainTestSets } from './mnist.js';

/** Lower-case hex sha256 via WebCrypto (in browsers and Node ≥ 19 as globalThis.crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Fetch one URL into memory, reporting bytes received (total is 0 when the server sends no
 * Content-Length). Errors name the URL and the HTTP status.
 */
export async function fetchBytes(url: string, file: string, onProgress?: ProgressCallback): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`${file}: download from ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok || res.body === null) {
    throw new Error(`${file}: download from ${url} failed: HTTP ${res.status} ${res.statusText}`);
  }
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  const chunks: Uint8Array[] = [];
  let done = 0;
  onProgress?.(0, total, file);
  const reader = res.body.getReader();
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    chunks.push(value);
    done += value.length;
    onProgress?.(done, total, file);
  }
  // With a Content-Encoding, fetch decodes the body and Content-Length counts the encoded bytes.
  if (total > 0 && done !== total && res.headers.get('content-encoding') === null) {
    throw new Error(`${file}: download from ${url} was cut short: expected ${total} bytes, got ${done}`);
  }
  const out = new Uint8Array(done);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Throw when the sha256 of `bytes` is not `expected`, naming the file and both hashes. */
export async function checkSha256(bytes: Uint8Array, expected: string, file: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new Error(`${file}: sha256 mismatch: expected ${expected}, got ${actual} (${bytes.length} bytes)`);
  }
}

export interface FetchIdxDatasetOptions {
  baseUrl: string;
  files: IdxDatasetFiles;
  /** Expected sha256 of each downloaded .gz file, by file name; unlisted files are not checked. */
  sha256?: Readonly<Record<string, string>>;
  numClasses?: number;
  imageSize?: readonly [number, number];
  onProgress?: ProgressCallback;
}

/** Download `<baseUrl><name>.gz` for the four files (browser or Node), check hashes, parse. */
export async function fetchIdxDataset(opts: FetchIdxDatasetOptions): Promise<TrainTestSets> {
  const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/';
  const get = async (name: string): Promise<Uint8Array> => {
    const file = name + '.gz';
    const gz = await fetchBytes(base + file, file, opts.onProgress);
    const want = opts.sha256?.[file];
    if (want !== undefined) await checkSha256(gz, want, file);
    return gunzip(gz, file);
  };
  const f = opts.files;
  const check = { numClasses: opts.numClasses, imageSize: opts.imageSize };
  const train = parseImageSet(await get(f.trainImages), await get(f.trainLabels), {
    ...check, imagesName: f.trainImages + '.gz', labelsName: f.trainLabels + '.gz',
  });
  const test = parseImageSet(await get(f.testImages), await get(f.testLabels), {
    ...check, imagesName: f.testImages + '.gz', labelsName: f.testLabels + '.gz',
  });
  return { train, test };
}

/** fetchMnist's body (see mnist.ts). */
export function fetchMnistNow(opts: { baseUrl?: string; onProgress?: ProgressCallback } = {}): Promise<TrainTestSets> {
  return fetchIdxDataset({
    baseUrl: opts.baseUrl ?? DEFAULT_MNIST_MIRROR,
    files: MNIST_FILES,
    sha256: MNIST_SHA256,
    imageSize: [28, 28],
    onProgress: opts.onProgress,
  });
}
