// Where the compiled kernels live, relative to this module. This file sits one folder below the
// package root both as source (src/) and bundled (dist/), so '../wasm/' is the package's wasm/
// folder either way. Literal `new URL(..., import.meta.url)` calls are what bundlers (Vite, esbuild,
// webpack) recognise and copy as assets, so keep one literal per file.

export type WasmVariant = 'simd' | 'relaxed';

export function wasmUrl(variant: WasmVariant, threads: boolean): URL {
  if (threads) {
    return variant === 'relaxed'
      ? new URL('../wasm/simdcnn-relaxed-threads.wasm', import.meta.url)
      : new URL('../wasm/simdcnn-simd-threads.wasm', import.meta.url);
  }
  return variant === 'relaxed'
    ? new URL('../wasm/simdcnn-relaxed.wasm', import.meta.url)
    : new URL('../wasm/simdcnn-simd.wasm', import.meta.url);
}
