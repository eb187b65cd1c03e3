// Node-only MNIST loading: finds the four IDX files (plain or .gz) on disk, downloads missing ones
// from a mirror into the cache with hash checks, and parses them with mnist.ts.
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from './gunzip-node.js';
import {
  DEFAULT_MNIST_MIRROR, MNIST_FILES, MNIST_SHA256, parseImageSet,
  type IdxDatasetFiles, type ProgressCallback, type TrainTestSets,
} from './mnist.js';
import { checkSha256, fetchBytes } from './fetch-idx.js';

type Env = Record<string, string | undefined>;

export interface LoadIdxDatasetOptions {
  /** Folder holding the four files, each as NAME or NAME.gz. */
  dir: string;
  files: IdxDatasetFiles;
  /** Where to fetch missing files from (`<baseUrl><NAME>.gz`); without it missing files are an error. */
  baseUrl?: string;
  /** Fetch missing files from baseUrl. Default true. */
  download?: boolean;
  /** Expected sha256 of downloaded .gz files, by file name (e.g. 'train-images-idx3-ubyte.gz'). */
  sha256?: Readonly<Record<string, string>>;
  numClasses?: number;
  imageSize?: readonly [number, number];
  /** Download progress; when omitted, a bar is drawn on stderr (a plain line per file when not a terminal). */
  onProgress?: ProgressCallback;
}

export interface LoadMnistOptions {
  /** Folder with the files; default $SIMDCNN_DATA, else the cache folder (see defaultCacheDir). */
  dir?: string;
  /** Download missing files. Default true. */
  download?: boolean;
  /** Mirror to download from; default $SIMDCNN_MNIST_MIRROR, else DEFAULT_MNIST_MIRROR. */
  baseUrl?: string;
  onProgress?: ProgressCallback;
  /** Environment to read SIMDCNN_DATA / SIMDCNN_MNIST_MIRROR / XDG_CACHE_HOME from; default process.env. */
  env?: Env;
}

export type LoadedSets = TrainTestSets & { dir: string };

/** $XDG_CACHE_HOME/simdcnn/mnist, else ~/.cache/simdcnn/mnist. */
export function defaultCacheDir(env: Env = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache');
  return resolve(base, 'simdcnn', 'mnist');
}

/** The folder loadMnist reads: `dir`, else $SIMDCNN_DATA, else the cache folder. */
export function resolveMnistDir(dir?: string, env: Env = process.env): string {
  if (dir !== undefined && dir !== '') return resolve(dir);
  const fromEnv = env['SIMDCNN_DATA'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return defaultCacheDir(env);
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function stderrProgress(): ProgressCallback {
  if (!process.stderr.isTTY) {
    // Logs and CI: one line per file instead of a bar.
    return (done, total, file) => {
      if (done === 0) process.stderr.write(`downloading ${file}${total > 0 ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}\n`);
    };
  }
  let last = '';
  return (done, total, file) => {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const line = `  ${file} [${bar}] ${mb(done)}/${total > 0 ? mb(total) : '?'} MB`;
    if (line === last) return;
    last = line;
    process.stderr.write(`\r${line}\x1b[K` + (total > 0 && done >= total ? '\n' : ''));
  };
}

/**
 * Download `file` to `dir/file`, checking its sha256 before anything lands under the final name:
 * bytes go to a temporary name in the same folder, then are renamed, so a crash or a bad download
 * never leaves a file that a later run would trust.
 */
async function downloadTo(dir: string, file: string, url: string, sha256: string | undefined,
  onProgress: ProgressCallback | undefined): Promise<Uint8Array> {
  const bytes = await fetchBytes(url, file, onProgress);
  if (sha256 !== undefined) await checkSha256(bytes, sha256, `${file} downloaded from ${url}`);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${file}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, join(dir, file));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return bytes;
}

/** Read NAME or NAME.gz from dir, downloading NAME.gz when allowed; returns uncompressed IDX bytes. */
async function obtain(name: string, opts: LoadIdxDatasetOptions, onProgress: ProgressCallback | undefined,
  missing: string[]): Promise<{ bytes: Uint8Array; label: string } | undefined> {
  const plainPath = join(opts.dir, name);
  const plain = await readIfExists(plainPath);
  if (plain !== undefined) return { bytes: plain, label: plainPath };
  const gzPath = plainPath + '.gz';
  let gz = await readIfExists(gzPath);
  if (gz === undefined) {
    if (opts.download === false || opts.baseUrl === undefined) {
      missing.push(name);
      return undefined;
    }
    const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/';
    gz = await downloadTo(opts.dir, name + '.gz', base + name + '.gz', opts.sha256?.[name + '.gz'], onProgress);
  }
  return { bytes: gunzipSync(gz, gzPath), label: gzPath };
}

/** Load a four-file IDX data set (MNIST, Fashion-MNIST, KMNIST, ...) from a folder. */
export async function loadIdxDataset(opts: LoadIdxDatasetOptions): Promise<LoadedSets> {
  const dir = resolve(opts.dir);
  const o = { ...opts, dir };
  const onProgress = opts.onProgress ?? stderrProgress();
  const missing: string[] = [];
  const f = opts.files;
  const got = [];
  for (const name of [f.trainImages, f.trainLabels, f.testImages, f.testLabels]) {
    got.push(await obtain(name, o, onProgress, missing));
  }
  if (missing.length > 0) {
    const why = opts.download === false ? 'download is disabled' : 'no download URL was given';
    throw new Error(
      `data folder ${dir} lacks ${missing.map((n) => `${n}[.gz]`).join(', ')} and ${why}`,
    );
  }
  const [tri, trl, tei, tel] = got as [NonNullable<(typeof got)[0]>, NonNullable<(typeof got)[0]>,
    NonNullable<(typeof got)[0]>, NonNullable<(typeof got)[0]>];
  const check = { numClasses: opts.numClasses, imageSize: opts.imageSize };
  return {
    dir,
    train: parseImageSet(tri.bytes, trl.bytes, { ...check, imagesName: tri.label, labelsName: trl.label }),
    test: parseImageSet(tei.bytes, tel.bytes, { ...check, imagesName: tei.label, labelsName: tel.label }),
  };
}

/**
 * MNIST from `dir` / $SIMDCNN_DATA / the cache folder, downloading (and sha256-checking) missing
 * files from the mirror unless `download: false`.
 */
export function loadMnist(opts: LoadMnistOptions = {}): Promise<LoadedSets> {
  const env = opts.env ?? process.env;
  const mirror = env['SIMDCNN_MNIST_MIRROR'];
  return loadIdxDataset({
    dir: resolveMnistDir(opts.dir, env),
    files: MNIST_FILES,
    baseUrl: opts.baseUrl ?? (mirror !== undefined && mirror !== '' ? mirror : DEFAULT_MNIST_MIRROR),
    download: opts.download,
    sha256: MNIST_SHA256,
    numClasses: 10,
    imageSize: [28, 28],
    onProgress: opts.onProgress,
  });
}

/** tfjs-data style namespace: `await datasets.mnist({ dir })`. */
export const datasets = { mnist: loadMnist } as const;
