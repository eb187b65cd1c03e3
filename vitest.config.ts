import { configDefaults, defineConfig } from 'vitest/config';

// Kernel suites run once per wasm build (candle-style: same table, every backend): the relaxed-SIMD
// (FMA) build the runtime picks by default, and the plain-SIMD fallback other runtimes get.
const kernelSuites = ['gemm', 'conv', 'conv-fused', 'seeds', 'pool', 'activations', 'activation-fns', 'activation-layers', 'loss', 'optim', 'threads', 'merge', 'depthwise', 'shape-layers', 'batchnorm'].map((n) => `test/${n}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The JSON report gives .ci/run its closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    projects: [
      // WebGPU suites need Dawn's SwiftShader environment (their own project, below).
      { extends: true, test: { name: 'wasm', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/webgpu.*.test.ts'] } },
      { extends: true, test: { name: 'wasm-plain-simd', include: kernelSuites, env: { SIMDCNN_WASM: 'simd' } } },
      // Dawn (npm 'webgpu') on the SwiftShader Vulkan driver Debian's chromium ships; the env reaches the forked worker at spawn.
      { extends: true, test: { name: 'webgpu', include: ['test/webgpu.*.test.ts'], env: { LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' } } },
    ],
  },
});
