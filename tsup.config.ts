import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // import.meta.url is what finds the wasm next to the bundle; tsup's shim maps it for CJS.
  shims: true,
  splitting: false,
});
