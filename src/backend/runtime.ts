// One instantiated kernel module with its memory, heap and per-thread scratch. Created lazily:
// synchronously in Node on first use, or by `await ready()` (required in browsers, as in tfjs).

import { Heap } from './heap.js';
import type { KernelExports } from './kernel-exports.js';
import { loadModuleAsync, loadModuleSync, type LoadedModule } from './wasm-loader.js';
import type { WasmVariant } from '../wasm-url.js';

export interface Runtime {
  kernels: KernelExports;
  heap: Heap;
  variant: WasmVariant;
  /** sgemm's packing scratch for the calling (main) thread. */
  gemmScratch: number;
}

let current: Runtime | undefined;
let pending: Promise<Runtime> | undefined;

function instantiate(loaded: LoadedModule): Runtime {
  const memory = new WebAssembly.Memory({ initial: 256 });
  const instance = new WebAssembly.Instance(loaded.module, { env: { memory, abort: wasmAbort } });
  const kernels = instance.exports as unknown as KernelExports;
  const heap = new Heap(memory, kernels.heapBase());
  const gemmScratch = heap.alloc(kernels.gemmScratchBytes());
  return { kernels, heap, variant: loaded.variant, gemmScratch };
}

function wasmAbort(): never {
  // Kernels are compiled with --noAssert and inputs are validated in TypeScript, so this means a bug.
  throw new Error('simdcnn: internal error: a wasm kernel aborted (please report this with the call that caused it)');
}

/** The runtime, loading it synchronously if needed (Node, Deno, Bun). */
export function runtime(): Runtime {
  if (!current) current = instantiate(loadModuleSync(false));
  return current;
}

/** Loads the kernels (fetching them in browsers). Safe to call many times. */
export function ready(): Promise<Runtime> {
  if (current) return Promise.resolve(current);
  pending ??= loadModuleAsync(false).then((m) => (current ??= instantiate(m)));
  return pending;
}

/** Which wasm build is running: 'relaxed' (FMA) or 'simd'. */
export function wasmVariant(): WasmVariant {
  return runtime().variant;
}
