import { defineConfig, type Options } from 'tsup';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { basename, dirname } from 'node:path';

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
// The thread pool's worker is source text (a Blob URL in browsers): minify it like the code around it.
const minifyWorkerSource = {
  name: 'simdcnn-worker-source',
  setup(build: any) {
    build.onLoad({ filter: /\/backend\/worker-source\.ts$/ }, (args: { path: string }) => {
      const src = readFileSync(args.path, 'utf8');
      const m = /String\.raw`([^`]*)`/.exec(src);
      if (!m || m[1].includes('${')) throw new Error('worker-source.ts: expected one String.raw`...` literal without substitutions');
      // No format: a classic script, so its top-level names (start) are kept.
      const min = transformSync(m[1], { minify: true, target: 'es2022' }).code;
      return { loader: 'js', contents: `export const WORKER_SOURCE = ${JSON.stringify(min)};` };
    });
  },
};

// esbuild puts shared code in chunks by WHICH entry points reach it, and each dynamically imported
// module is an entry point: the WebGPU module and the worker module each reach a different slice
// of the core, so the core would come out as several shared chunks (one per combination, all named
// 'chunk', hence hashed). So each dynamic import target is wrapped to also re-export the public API
// (as `__core`, unused): every core file is then reached by every entry point and the core is the
// entry plus ONE shared chunk, simdcnn-chunk.js; the optional parts are simdcnn-<name>.js. The
// namespace object that costs lives in the lazy chunk (a wrapper per lazy module), not in the core.
const LAZY_NAMES: Record<string, string> = { 'webgpu/lazy.ts': 'webgpu', 'browser/worker-impl.ts': 'worker' };
const oneCoreChunk = {
  name: 'simdcnn-one-core-chunk',
  setup(build: any) {
    const index = new URL('./src/index.ts', import.meta.url).pathname;
    build.onResolve({ filter: /.*/ }, async (args: any) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const r = await build.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir, importer: args.importer });
      if (r.errors.length) return { errors: r.errors };
      const name = LAZY_NAMES[`${basename(dirname(r.path))}/${basename(r.path)}`] ?? basename(r.path).replace(/\.[jt]s$/, '');
      return { path: `${dirname(r.path)}/${name}`, namespace: 'simdcnn-lazy', pluginData: r.path };
    });
    build.onLoad({ filter: /.*/, namespace: 'simdcnn-lazy' }, (args: any) => ({
      loader: 'js',
      resolveDir: dirname(args.pluginData),
      contents: `export * from ${JSON.stringify(args.pluginData)};\nexport * as __core from ${JSON.stringify(`simdcnn-core:${args.path}`)};\n`,
    }));
    build.onResolve({ filter: /^simdcnn-core:/ }, (args: any) => ({ path: args.path.slice('simdcnn-core:'.length), namespace: 'simdcnn-core' }));
    build.onLoad({ filter: /.*/, namespace: 'simdcnn-core' }, () => ({ loader: 'js', resolveDir: dirname(index), contents: `export * from ${JSON.stringify(index)};\n` }));
  },
};

// The split build's chunk set changes as code moves: start from an empty set (the inline build,
// written at the same time, is left alone).
const dropStaleChunks = {
  name: 'simdcnn-drop-stale-chunks',
  setup(build: any) {
    build.onStart(() => {
      mkdirSync('dist/browser', { recursive: true });
      for (const f of readdirSync('dist/browser')) if (/\.js(\.map)?$/.test(f) && !f.startsWith('simdcnn.inline.')) rmSync(`dist/browser/${f}`);
    });
  },
};

// The browser/edge builds, both minified ESM from src/browser/entry.ts:
// - dist/browser/simdcnn.js (+ chunks beside it): code-split so what a page loads up front (the
//   entry and the chunks it imports statically: "the core") holds only what every page may need;
//   the optional parts (the WebGPU backend; the worker-model starter, protocol and host; the
//   model reader behind loadLayersModel; the data downloader) are chunks fetched by a dynamic
//   import on first use. Chunk names are stable and unhashed (simdcnn-chunk.js, simdcnn-webgpu.js,
//   simdcnn-worker.js, simdcnn-load.js, simdcnn-fetch-idx.js), so a module list (workerd) can name
//   them. test/size-budget.test.ts keeps the core under 100 KB (100,000 bytes).
// - dist/browser/simdcnn.inline.js: one self-contained file (splitting off, the wasm inlined as
//   data: URLs) for setups that want exactly one file and no .wasm to serve, at the cost of size.
const browser = (inline: boolean): Options => ({
  entry: { [inline ? 'simdcnn.inline' : 'simdcnn']: 'src/browser/entry.ts' },
  outDir: 'dist/browser',
  format: ['esm'],
  sourcemap: true,
  clean: false,
  minify: true,
  target: 'es2022',
  platform: 'browser',
  splitting: !inline,
  esbuildOptions(o) {
    // No hash. There is one shared chunk (simdcnn-chunk.js, see oneCoreChunk); a second would
    // collide with it and fail the build rather than ship under a hashed name.
    o.chunkNames = 'simdcnn-[name]';
  },
  esbuildPlugins: [swap(inline), minifyWorkerSource, ...(inline ? [] : [dropStaleChunks, oneCoreChunk])],
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
