// Bytes each library ships to run this model in a browser: the minified JS a page loads and the
// wasm it fetches (raw and gzip -9), file by file.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

const root = new URL('../../', import.meta.url).pathname;
// Not require.resolve: onnxruntime-web's exports map hides its package.json.
const pkgDir = (name) => join(root, 'node_modules', name);

/**
 * The browser build's core: the entry (dist/browser/simdcnn.js) and every chunk it imports
 * statically, transitively — what a page downloads before it asks for anything optional (the
 * WebGPU and worker chunks come by dynamic import). Read from the built files themselves: esbuild
 * parses them and its metafile says which imports are static.
 */
export function browserCoreFiles(entry = join(root, 'dist/browser/simdcnn.js')) {
  const { metafile } = buildSync({
    entryPoints: [entry], absWorkingDir: root, bundle: true, write: false, metafile: true, format: 'esm',
    platform: 'browser', outdir: join(root, '.core-size'), logLevel: 'silent', external: ['webgpu'],
  });
  const seen = new Set([relative(root, entry)]);
  for (const f of seen) {
    const input = metafile.inputs[f];
    if (!input) throw new Error(`browserCoreFiles: ${f} is not in esbuild's metafile`);
    for (const i of input.imports) if (i.kind === 'import-statement' && !i.external) seen.add(i.path);
  }
  return [...seen].map((f) => join(root, f));
}

const SETS = {
  // The ESM core (entry + its static chunks) plus the two builds the loader fetches to pick relaxed or plain SIMD (threaded, as on ≥ 2 cores).
  simdcnn: () => [...browserCoreFiles(), join(root, 'dist/wasm/simdcnn-relaxed-threads.wasm'), join(root, 'dist/wasm/simdcnn-simd-threads.wasm')],
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
