import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Both configs build into dist/ at the same time: keep this one's clean off the CLI's files.
    clean: ['!cli.js', '!cli.js.map'],
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
]);
