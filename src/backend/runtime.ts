// One instantiated kernel module with its memory, heap, per-thread scratch and (optionally) the
// worker pool. Created lazily: synchronously in Node on first use, or by `await ready()`
// (required in browsers, as in tfjs).
//
// Where SharedArrayBuffer is available (Node, Deno, Bun, cross-origin-isolated pages) the threads
// build runs over a shared memory even with one thread, so setThreads() can start or stop workers
// at any time without moving a single tensor.

import { Heap } from './heap.js';
import type { KernelExports } from './kernel-exports.js';
import { loadModuleAsync, loadModuleSync, type LoadedModule } from './wasm-loader.js';
import { canBlock, CTRL, JOB_SLOTS, ThreadPool } from './thread-pool.js';
import type { WasmVariant } from '../wasm-url.js';

export interface Runtime {
  kernels: KernelExports;
  heap: Heap;
  variant: WasmVariant;
  /** Whether this runtime can run worker threads (shared memory). */
  shared: boolean;
  /** sgemm's packing scratch for the calling (main) thread. */
  gemmScratch: number;
  /** Per-thread sgemm scratch, index = thread id (grows with setThreads). */
  threadScratch: number[];
  module: WebAssembly.Module;
}

/** 2 GiB: the most a wasm32 memory needs here; shared memories must declare a maximum. */
const MAX_PAGES = 32768;
const MAX_THREADS = 64;

let current: Runtime | undefined;
let pending: Promise<Runtime> | undefined;
let pool: ThreadPool | undefined;
let wantedThreads: number | undefined;
let warnedNoShared = false;

function sharedMemoryAvailable(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; process?: { versions?: { node?: string } } };
  if (typeof g.SharedArrayBuffer !== 'function') return false;
  if (g.process?.versions?.node) return true;
  return g.crossOriginIsolated !== false;
}

function instantiate(loaded: LoadedModule): Runtime {
  const memory = loaded.threads
    ? new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true })
    : new WebAssembly.Memory({ initial: 256 });
  const instance = new WebAssembly.Instance(loaded.module, { env: { memory, abort: wasmAbort } });
  const kernels = instance.exports as unknown as KernelExports;
  const heap = new Heap(memory, kernels.heapBase());
  const gemmScratch = heap.alloc(kernels.gemmScratchBytes());
  return { kernels, heap, variant: loaded.variant, shared: loaded.threads, gemmScratch, threadScratch: [gemmScratch], module: loaded.module };
}

function wasmAbort(): never {
  // Kernels are compiled with --noAssert and inputs are validated in TypeScript, so this means a bug.
  throw new Error('simdcnn: internal error: a wasm kernel aborted (please report this with the call that caused it)');
}

/** The runtime, loading it synchronously if needed (Node, Deno, Bun). */
export function runtime(): Runtime {
  if (!current) current = instantiate(loadModuleSync(sharedMemoryAvailable()));
  return current;
}

export interface ReadyOptions {
  /**
   * A compiled kernel module to use instead of fetching one: for runtimes that only allow wasm
   * imported as a module (Cloudflare workerd: `import wasm from 'simdcnn/wasm/simdcnn-simd.wasm'`).
   */
  module?: WebAssembly.Module;
  /** Whether `module` is a threads build (simdcnn-*-threads.wasm, shared memory). Default false. */
  shared?: boolean;
}

/** Loads the kernels (fetching them in browsers). Safe to call many times. */
export function ready(opts: ReadyOptions = {}): Promise<Runtime> {
  if (current) return Promise.resolve(current);
  if (opts.module) {
    if (!(opts.module instanceof WebAssembly.Module)) throw new Error(`ready: module must be a WebAssembly.Module, got ${typeof opts.module}`);
    const shared = opts.shared ?? false;
    const rt = instantiate({ module: opts.module, threads: shared, variant: 'simd', bytes: new Uint8Array(0) });
    rt.variant = rt.kernels.buildHasFma() ? 'relaxed' : 'simd';
    current = rt;
    return Promise.resolve(rt);
  }
  pending ??= loadModuleAsync(sharedMemoryAvailable()).then((m) => (current ??= instantiate(m)));
  return pending;
}

/** Which wasm build is running: 'relaxed' (FMA) or 'simd'. */
export function wasmVariant(): WasmVariant {
  return runtime().variant;
}

function defaultThreads(): number {
  const g = globalThis as { process?: { getBuiltinModule?: (id: string) => any }; navigator?: { hardwareConcurrency?: number } };
  const os = g.process?.getBuiltinModule?.('node:os');
  const n = os?.availableParallelism?.() ?? os?.cpus?.().length ?? g.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(MAX_THREADS, n));
}

/**
 * Sets how many threads the kernels use (default: the available cores). Where threads are not
 * possible (a page that is not cross-origin isolated, a page's main thread) it stays at one thread
 * and warns once.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(`setThreads: n must be an integer in [1, ${MAX_THREADS}], got ${n}`);
  }
  wantedThreads = n;
  pool?.terminate();
  pool = undefined;
}

/** The number of threads kernels run on now. */
export function getThreads(): number {
  const p = threadPool();
  return p ? p.size : 1;
}

/** The pool, started on first use; undefined when running on one thread. */
export function threadPool(): ThreadPool | undefined {
  if (pool) return pool;
  const n = wantedThreads ?? defaultThreads();
  if (n <= 1) return undefined;
  // A page's main thread may not block: by default it simply runs on one thread; only an explicit
  // setThreads(n > 1) there earns the warnings below.
  const g = globalThis as { document?: unknown; process?: unknown };
  if (wantedThreads === undefined && g.document !== undefined && !g.process) return undefined;
  const rt = runtime();
  if (!rt.shared) {
    if (!warnedNoShared) {
      warnedNoShared = true;
      console.warn('simdcnn: SharedArrayBuffer is unavailable (serve the page with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" to enable it) — using one thread');
    }
    wantedThreads = 1;
    return undefined;
  }
  if (!canBlock()) {
    wantedThreads = 1;
    return undefined;
  }
  while (rt.threadScratch.length < n) rt.threadScratch.push(rt.heap.alloc(rt.kernels.gemmScratchBytes()));
  const exportNames = Object.keys(rt.kernels).filter((k) => typeof rt.kernels[k] === 'function');
  // A fresh control block per pool: workers of a terminated pool may still be waking up, and must
  // never see (or count down) the new pool's words. The old block's few KB are not reused.
  const ctrl = rt.heap.alloc(CTRL.words * 4);
  const jobs = rt.heap.alloc(n * JOB_SLOTS * 8);
  pool = new ThreadPool(n, { memory: rt.heap.memory, module: rt.module, ctrl, jobs, exportNames }, rt.kernels);
  return pool;
}

/** Stops the workers (a later parallel op starts them again). */
export function terminateThreads(): void {
  pool?.terminate();
  pool = undefined;
}
