// Bytes each library ships to run this model in a browser: the minified JS a page loads and the
// wasm it fetches (raw and gzip -9), file by file.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('../../', import.meta.url).pathname;
// Not require.resolve: onnxruntime-web's exports map hides its package.json.
const pkgDir = (name) => join(root, 'node_modules', name);

const SETS = {
  // The ESM bundle plus the two builds the loader fetches to pick relaxed or plain SIMD (threaded, as on ≥ 2 cores).
  simdcnn: () => [join(root, 'dist/browser/simdcnn.js'), join(root, 'dist/wasm/simdcnn-relaxed-threads.wasm'), join(root, 'dist/wasm/simdcnn-simd-threads.wasm')],
  // The smallest tfjs set for a layers model: core + layers + one backend (not the 1.5 MB tf.min.js union).
  'tfjs-wasm': () => [join(pkgDir('@tensorflow/tfjs-core'), 'dist/tf-core.min.js'), join(pkgDir('@tensorflow/tfjs-layers'), 'dist/tf-layers.min.js'),
    join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist/tf-backend-wasm.min.js'), join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist/tfjs-backend-wasm-simd.wasm')],
  'tfjs-cpu': () => [join(pkgDir('@tensorflow/tfjs-core'), 'dist/tf-core.min.js'), join(pkgDir('@tensorflow/tfjs-layers'), 'dist/tf-layers.min.js'),
    join(pkgDir('@tensorflow/tfjs-backend-cpu'), 'dist/tf-backend-cpu.min.js')],
  // The wasm-only entry, its Emscripten loader and the one wasm it instantiates.
  ort: () => ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => join(pkgDir('onnxruntime-web'), 'dist', f)),
};

export function shippedBytes(lib) {
  const files = SETS[lib]().map((f) => {
    const bytes = readFileSync(f);
    return { file: relative(root, f), bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  const sum = (pred, k) => files.filter(pred).reduce((a, f) => a + f[k], 0);
  const isWasm = (f) => f.file.endsWith('.wasm');
  return {
    files, jsBytes: sum((f) => !isWasm(f), 'bytes'), wasmBytes: sum(isWasm, 'bytes'),
    totalBytes: sum(() => true, 'bytes'), totalGzip: sum(() => true, 'gzip'),
  };
}
