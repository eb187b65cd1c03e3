import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../src/data/idx.js';
import { MNIST_FILES, MNIST_SHA256, fetchMnist, parseImageSet } from '../src/data/mnist.js';
import { sha256Hex } from '../src/data/fetch-idx.js';
import { defaultCacheDir, loadIdxDataset, loadMnist, resolveMnistDir } from '../src/data/mnist-node.js';

const MNIST_DIR = fileURLToPath(new URL('../../shared/mnist/', import.meta.url));
const GZ = Object.values(MNIST_FILES).map((n) => n + '.gz');

interface Served { server: Server; url: string; requests: string[] }

/** A local mirror on 127.0.0.1 serving `files` (name → bytes); nothing else is contacted. */
async function serve(files: Map<string, Uint8Array>): Promise<Served> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/mirror\//, '');
    requests.push(req.url ?? '');
    const body = files.get(name);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${addr.port}/mirror/`, requests };
}

const close = (s: Served) => new Promise<void>((ok) => s.server.close(() => ok()));

let tmp: string;
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'simdcnn-mnist-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('real MNIST from ../shared/mnist', () => {
  it('matches the published sha256 of all four files', async () => {
    for (const f of GZ) expect(await sha256Hex(await readFile(join(MNIST_DIR, f)))).toBe(MNIST_SHA256[f]);
  });

  it('loads 60000 + 10000 28x28 images with sane labels and pixels', async () => {
    const { train, test, dir } = await loadMnist({ dir: MNIST_DIR, download: false });
    expect(dir).toBe(resolve(MNIST_DIR));
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect([test.count, test.height, test.width]).toEqual([10000, 28, 28]);
    expect(train.images.length).toBe(60000 * 784);
    expect(test.images.length).toBe(10000 * 784);
    expect(train.labels[0]).toBe(5);
    expect(Array.from(train.labels.subarray(0, 8))).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
    expect(test.labels[0]).toBe(7);
    // Well-known class counts of the training set.
    const hist = new Array(10).fill(0);
    for (const l of train.labels) hist[l]++;
    expect(hist).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    // The widely quoted normalisation constants: mean 0.1307, std 0.3081 of pixels/255.
    const px = train.images;
    const n = px.length;
    let sum = 0, sq = 0, max = 0;
    for (let i = 0; i < n; i++) { const p = px[i]!; sum += p; sq += p * p; if (p > max) max = p; }
    const mean = sum / n / 255;
    const std = Math.sqrt(sq / n / 65025 - mean * mean);
    expect(mean).toBeCloseTo(0.1307, 4);
    expect(std).toBeCloseTo(0.3081, 4);
    expect(max).toBe(255);
    // The corner pixels are background in every image.
    let cornerInk = 0;
    for (let i = 0; i < train.count; i++) cornerInk += px[i * 784]!;
    expect(cornerInk).toBe(0);
  });
});

describe('download from a local mirror', () => {
  let mirror: Served;
  let files: Map<string, Uint8Array>;
  beforeAll(async () => {
    files = new Map();
    for (const f of GZ) files.set(f, await readFile(join(MNIST_DIR, f)));
    mirror = await serve(files);
  });
  afterAll(() => close(mirror));

  it('downloads the four files into the folder, checks them and then reads them from disk', async () => {
    const dir = join(tmp, 'dl', 'mnist');
    const progress: [number, number, string][] = [];
    const data = await loadMnist({ dir, baseUrl: mirror.url, onProgress: (d, t, f) => progress.push([d, t, f]) });
    expect(data.train.count).toBe(60000);
    expect(data.test.labels[0]).toBe(7);
    expect(mirror.requests.sort()).toEqual(GZ.map((f) => '/mirror/' + f).sort());
    // Only the final names remain (no temporary files), byte-identical to the source.
    expect((await readdir(dir)).sort()).toEqual([...GZ].sort());
    for (const f of GZ) expect(await sha256Hex(await readFile(join(dir, f)))).toBe(MNIST_SHA256[f]);
    for (const f of GZ) {
      const mine = progress.filter((p) => p[2] === f);
      expect(mine.at(-1)).toEqual([files.get(f)!.length, files.get(f)!.length, f]);
      expect(mine.every((p, i) => i === 0 || p[0] >= mine[i - 1]![0])).toBe(true);
    }
    // Second load: everything is on disk, the mirror is not asked again.
    await loadMnist({ dir, baseUrl: mirror.url, download: false });
    await loadMnist({ env: { SIMDCNN_DATA: dir, SIMDCNN_MNIST_MIRROR: 'http://127.0.0.1:9/never/' } });
    expect(mirror.requests.length).toBe(4);
  });

  it('uses SIMDCNN_MNIST_MIRROR and the XDG cache folder', async () => {
    const cache = join(tmp, 'xdg');
    const env = { XDG_CACHE_HOME: cache, SIMDCNN_MNIST_MIRROR: mirror.url };
    expect(defaultCacheDir(env)).toBe(join(cache, 'simdcnn', 'mnist'));
    const before = mirror.requests.length;
    const data = await loadMnist({ env, onProgress: () => {} });
    expect(data.dir).toBe(join(cache, 'simdcnn', 'mnist'));
    expect(mirror.requests.length).toBe(before + 4);
  });

  it('fetchMnist (the browser path) downloads, verifies and gunzips with DecompressionStream', async () => {
    const data = await fetchMnist({ baseUrl: mirror.url });
    expect(data.train.count).toBe(60000);
    expect(data.train.labels[0]).toBe(5);
    expect(data.test.count).toBe(10000);
  });

  it('rejects a corrupted download naming the file and both hashes, and keeps nothing', async () => {
    const bad = new Map(files);
    const lbl = new Uint8Array(files.get('train-labels-idx1-ubyte.gz')!);
    lbl[lbl.length - 100] = lbl[lbl.length - 100]! ^ 0x40;
    bad.set('train-labels-idx1-ubyte.gz', lbl);
    const evil = await serve(bad);
    try {
      const dir = join(tmp, 'corrupt');
      const actual = await sha256Hex(lbl);
      await expect(loadMnist({ dir, baseUrl: evil.url, onProgress: () => {} })).rejects.toThrow(
        `train-labels-idx1-ubyte.gz downloaded from ${evil.url}train-labels-idx1-ubyte.gz: sha256 mismatch: ` +
          `expected ${MNIST_SHA256['train-labels-idx1-ubyte.gz']}, got ${actual}`,
      );
      // The good file that came first stays; the bad one and any temporary file do not.
      expect(await readdir(dir)).toEqual(['train-images-idx3-ubyte.gz']);
      await expect(fetchMnist({ baseUrl: evil.url })).rejects.toThrow(/train-labels-idx1-ubyte\.gz: sha256 mismatch/);
    } finally {
      await close(evil);
    }
  });

  it('reports HTTP errors with the URL and status', async () => {
    const empty = await serve(new Map());
    try {
      await expect(loadMnist({ dir: join(tmp, 'e404'), baseUrl: empty.url, onProgress: () => {} })).rejects.toThrow(
        `train-images-idx3-ubyte.gz: download from ${empty.url}train-images-idx3-ubyte.gz failed: HTTP 404 Not Found`,
      );
    } finally {
      await close(empty);
    }
  });
});

describe('bad local files', () => {
  // A tiny 3-image data set in MNIST layout, written uncompressed or gzipped as asked.
  async function makeSet(name: string, opts: { h?: number; labels?: number[]; images?: number } = {}) {
    const dir = join(tmp, name);
    await mkdir(dir, { recursive: true });
    const h = opts.h ?? 28;
    const n = opts.images ?? 3;
    const img = encodeIdx(new Uint8Array(n * h * 28).map((_, i) => i % 256), [n, h, 28]);
    const labels = opts.labels ?? [3, 1, 4];
    const lbl = encodeIdx(new Uint8Array(labels), [labels.length]);
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(img));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), lbl);
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), img);
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(lbl));
    return dir;
  }

  it('reads a mix of plain and gzipped files', async () => {
    const dir = await makeSet('ok');
    const d = await loadMnist({ dir, download: false });
    expect(d.train.count).toBe(3);
    expect(Array.from(d.test.labels)).toEqual([3, 1, 4]);
    expect(d.train.images[785]).toBe(785 % 256);
  });

  it('names missing files when download is off', async () => {
    const dir = join(tmp, 'nothing');
    await expect(loadMnist({ dir, download: false })).rejects.toThrow(
      `data folder ${dir} lacks train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], ` +
        't10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] and download is disabled',
    );
  });

  it('names a truncated gzip file', async () => {
    const dir = await makeSet('trunc');
    const p = join(dir, 'train-images-idx3-ubyte.gz');
    const gz = await readFile(p);
    await writeFile(p, gz.subarray(0, gz.length >> 1));
    await expect(loadMnist({ dir, download: false })).rejects.toThrow(`${p}: corrupt gzip data`);
  });

  it('names a truncated IDX file and the sizes', async () => {
    const dir = await makeSet('trunc-idx');
    const p = join(dir, 't10k-images-idx3-ubyte');
    const b = await readFile(p);
    await writeFile(p, b.subarray(0, b.length - 10));
    await expect(loadMnist({ dir, download: false })).rejects.toThrow(
      `IDX file ${p}: truncated data: shape [3, 28, 28] of uint8 needs 2368 bytes, got 2358`,
    );
  });

  it('names a file with the wrong magic', async () => {
    const dir = await makeSet('magic');
    const p = join(dir, 'train-labels-idx1-ubyte');
    await writeFile(p, new TextEncoder().encode('<html>not found</html>'));
    await expect(loadMnist({ dir, download: false })).rejects.toThrow(
      `IDX file ${p}: bad magic number: expected first two bytes 0x00 0x00, got 0x3c 0x68`,
    );
  });

  it('checks label range, counts and image size', async () => {
    await expect(loadMnist({ dir: await makeSet('range', { labels: [1, 10, 2] }), download: false }))
      .rejects.toThrow(/train-labels-idx1-ubyte: label 10 at index 1 is out of range 0\.\.9/);
    await expect(loadMnist({ dir: await makeSet('count', { labels: [1, 2] }), download: false }))
      .rejects.toThrow(/train-images-idx3-ubyte\.gz has 3 images but .*train-labels-idx1-ubyte has 2 labels/);
    await expect(loadMnist({ dir: await makeSet('size', { h: 32 }), download: false }))
      .rejects.toThrow(/train-images-idx3-ubyte\.gz: expected 28x28 images, got 32x28/);
    // Swapped files: a labels file where images belong.
    const lbl = encodeIdx(new Uint8Array([1, 2]), [2]);
    expect(() => parseImageSet(lbl, lbl, { imagesName: 'a', labelsName: 'b' })).toThrow(
      'a: expected an images file of uint8 [count, height, width] (magic 2051), got uint8 [2]',
    );
  });

  it('loadIdxDataset reads other sets with their own names and class counts', async () => {
    const dir = join(tmp, 'custom');
    await mkdir(dir);
    const img = encodeIdx(new Uint8Array(2 * 16 * 16).fill(9), [2, 16, 16]);
    await writeFile(join(dir, 'a-img'), img);
    await writeFile(join(dir, 'a-lbl.gz'), gzipSync(encodeIdx(new Uint8Array([0, 48]), [2])));
    await copyFile(join(dir, 'a-img'), join(dir, 'b-img'));
    await copyFile(join(dir, 'a-lbl.gz'), join(dir, 'b-lbl.gz'));
    const files = { trainImages: 'a-img', trainLabels: 'a-lbl', testImages: 'b-img', testLabels: 'b-lbl' };
    const d = await loadIdxDataset({ dir, files, numClasses: 49 });
    expect([d.train.count, d.train.height, d.train.width, d.test.labels[1]]).toEqual([2, 16, 16, 48]);
    await expect(loadIdxDataset({ dir, files })).rejects.toThrow(/label 48 at index 1 is out of range 0\.\.9/);
    await expect(loadIdxDataset({ dir, files: { ...files, testImages: 'zz' } })).rejects.toThrow(
      /lacks zz\[\.gz\] and no download URL was given/,
    );
  });

  it('resolves the folder from dir, then SIMDCNN_DATA, then the cache', () => {
    expect(resolveMnistDir('rel/x', {})).toBe(resolve('rel/x'));
    expect(resolveMnistDir(undefined, { SIMDCNN_DATA: '/d/m' })).toBe('/d/m');
    expect(resolveMnistDir(undefined, { XDG_CACHE_HOME: '/c' })).toBe('/c/simdcnn/mnist');
    expect(resolveMnistDir(undefined, { HOME: '/h' }).endsWith(join('.cache', 'simdcnn', 'mnist'))).toBe(true);
  });
});
