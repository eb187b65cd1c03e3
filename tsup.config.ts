import { defineConfig, type Options } from 'tsup';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';

// The browser/edge build: node:-free (file-node.ts → a fetch-based loader), minified ESM in
// dist/browser/, with the wasm either beside it (dist/wasm/, found by import.meta.url) or inlined.
const swap = (inline: boolean) => ({
  name: 'simdcnn-browser',
  setup(build: any) {
    build.onResolve({ filter: /io\/file-node\.js$/ }, () => ({ path: new URL('./src/browser/files-fetch.ts', import.meta.url).pathname }));
    build.onResolve({ filter: /(^|\/)mnist-node\.js$/ }, () => ({ path: new URL('./src/browser/mnist-fetch.ts', import.meta.url).pathname }));
    if (!inline) return;
    build.onResolve({ filter: /\/wasm-url\.js$/ }, () => ({ path: 'wasm-inline', namespace: 'simdcnn' }));
    build.onLoad({ filter: /^wasm-inline$/, namespace: 'simdcnn' }, () => {
      const b64 = (f: string) => readFileSync(`wasm/simdcnn-${f}.wasm`).toString('base64');
      return {
        loader: 'js',
        contents: `const d = (s) => new URL('data:application/wasm;base64,' + s);
export function wasmUrl(variant, threads) {
  if (threads) return variant === 'relaxed' ? d(${JSON.stringify(b64('relaxed-threads'))}) : d(${JSON.stringify(b64('simd-threads'))});
  return variant === 'relaxed' ? d(${JSON.stringify(b64('relaxed'))}) : d(${JSON.stringify(b64('simd'))});
}`,
      };
    });
  },
});
const browser = (inline: boolean): Options => ({
  entry: { [inline ? 'browser/simdcnn.inline' : 'browser/simdcnn']: 'src/index.ts' },
  format: ['esm'],
  sourcemap: true,
  clean: false,
  minify: true,
  target: 'es2022',
  platform: 'browser',
  // One file, no chunks: workerd and plain <script type="module"> users list or load exactly one
  // module (splitting would move the WebGPU backend, a dynamic import, into a hashed chunk).
  splitting: false,
  esbuildPlugins: [swap(inline)],
  onSuccess: inline ? undefined : async () => {
    mkdirSync('dist/wasm', { recursive: true });
    for (const f of readdirSync('wasm')) if (f.endsWith('.wasm')) copyFileSync(`wasm/${f}`, `dist/wasm/${f}`);
  },
});

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Both configs build into dist/ at the same time: keep this one's clean off the CLI's files.
    clean: ['!cli.js', '!cli.js.map', '!browser/**', '!wasm/**'],
    target: 'es2022',
    platform: 'neutral',
    // import.meta.url is what finds the wasm next to the bundle; tsup's shim maps it for CJS.
    shims: true,
    splitting: false,
  },
  {
    // The `simdcnn` command (package.json bin): Node only, one ESM file.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    splitting: false,
    banner: { js: '#!/usr/bin/env node' },
  },
  browser(false),
  browser(true),
]);
