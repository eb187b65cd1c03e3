// The backend seam: the tensor ops and the model ask `backend()` which implementation runs them.
// 'wasm' is the WebAssembly SIMD kernels (always available, synchronous); 'webgpu' runs WGSL
// kernels on a GPU device and returns GPU tensors (read with `await t.data()`).
//
//   await setBackend('webgpu')   a WebGPU device (navigator.gpu, or Dawn from the optional 'webgpu'
//                                package in Node), software adapters accepted; an Error if none.
//   await setBackend('auto')     WebGPU on a hardware adapter from navigator.gpu, else wasm (one
//                                console line says why). The default: resolved by the first
//                                setBackend()/backendReady()/fit(); until then ops run on wasm.
//   await setBackend('wasm')     the wasm kernels (releases any GPU device).
//
// Under 'auto', a device that is lost later falls back to wasm with one logged line.

import { conv2d, conv2DBackpropFilter, conv2DBackpropInput } from '../ops/conv.js';
import { matMul } from '../ops/matmul.js';
import { avgPool, maxPool } from '../ops/pool.js';
import { relu, sigmoid, softmax, tanh } from '../ops/activations.js';
import type { Tensor } from '../tensor.js';
import { argError } from '../errors.js';
import { wasmVariant } from './runtime.js';
import type { GpuContext, WebGpuOptions } from '../webgpu/context.js';

type GpuModule = typeof import('../webgpu/lazy.js');
let gpuModule: GpuModule | undefined;
/** Loads the WebGPU code on first use (a separate chunk in the browser build). */
async function loadGpu(): Promise<GpuModule> {
  return (gpuModule ??= await import('../webgpu/lazy.js'));
}
/** @internal the WebGPU module, if a WebGPU backend was ever set up (else undefined). */
export function loadedGpuModule(): GpuModule | undefined {
  return gpuModule;
}

export type BackendName = 'wasm' | 'webgpu';
export type BackendChoice = BackendName | 'auto';
export type { WebGpuOptions };

/** The ops every backend implements, with tfjs' names and signatures. */
export interface Backend {
  readonly name: BackendName;
  /** 'wasm relaxed-simd' / 'wasm simd', or the WebGPU adapter's description. */
  readonly description: string;
  matMul: typeof matMul;
  conv2d: typeof conv2d;
  conv2DBackpropInput: typeof conv2DBackpropInput;
  conv2DBackpropFilter: typeof conv2DBackpropFilter;
  maxPool: typeof maxPool;
  avgPool: typeof avgPool;
  relu: typeof relu;
  sigmoid: typeof sigmoid;
  tanh: typeof tanh;
  softmax: typeof softmax;
  /** A tensor this backend's ops and models use natively holding t's values (t itself if it is one). */
  upload(t: Tensor): Tensor;
}

const wasmBackend: Backend = {
  name: 'wasm',
  get description() {
    return `wasm ${wasmVariant() === 'relaxed' ? 'relaxed-simd' : 'simd'}`;
  },
  matMul, conv2d, conv2DBackpropInput, conv2DBackpropFilter, maxPool, avgPool, relu, sigmoid, tanh, softmax,
  upload: (t) => t,
};

let choice: BackendChoice = 'auto';
let resolved = false;
let ctx: GpuContext | undefined;
let current: Backend = wasmBackend;
let pending: Promise<BackendName> | undefined;

function isNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

function release(): void {
  ctx?.destroy();
  ctx = undefined;
  current = wasmBackend;
}

/**
 * Chooses the backend (see the header). Resolves to the backend now in use; rejects, for
 * 'webgpu', with an Error saying why no device could be had (no navigator.gpu / 'webgpu' package,
 * a null adapter, a kernel that failed to compile).
 */
export function setBackend(name: BackendChoice = 'auto', opts: WebGpuOptions = {}): Promise<BackendName> {
  if (name !== 'wasm' && name !== 'webgpu' && name !== 'auto') {
    return Promise.reject(argError('setBackend', 'name', name, "'wasm', 'webgpu' or 'auto'"));
  }
  const run = async (): Promise<BackendName> => {
    choice = name;
    resolved = true;
    if (name === 'wasm') {
      release();
      return 'wasm';
    }
    if (ctx && !ctx.lostReason && (name === 'webgpu' || !ctx.isFallbackAdapter)) return (current = gpuModule!.webgpuBackend(ctx)).name;
    release();
    if (name === 'auto') {
      // In Node, 'auto' never loads Dawn (the optional package is for asking explicitly).
      const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
      if (!nav || isNode()) return 'wasm';
      try {
        ctx = await (await loadGpu()).GpuContext.create("setBackend('auto')", { ...opts, allowFallbackAdapter: false });
      } catch (e) {
        console.warn(`simdcnn: WebGPU not used, running on wasm: ${(e as Error).message}`);
        return 'wasm';
      }
    } else {
      ctx = await (await loadGpu()).GpuContext.create("setBackend('webgpu')", { allowFallbackAdapter: true, ...opts });
    }
    current = gpuModule!.webgpuBackend(ctx);
    return 'webgpu';
  };
  pending = (pending ?? Promise.resolve('wasm' as BackendName)).catch(() => 'wasm' as BackendName).then(run);
  return pending;
}

/** The backend in use now ('wasm' until a WebGPU device has been acquired). */
export function getBackend(): BackendName {
  return activeGpu() ? 'webgpu' : 'wasm';
}

/** The backend in use now (its ops and description). */
export function backend(): Backend {
  activeGpu();
  return current;
}

/** Resolves 'auto' if nothing has yet (the model's fit calls this), and returns the backend. */
export async function backendReady(): Promise<Backend> {
  if (!resolved) await setBackend(choice);
  else if (pending) await pending.catch(() => undefined);
  return backend();
}

/**
 * @internal the live GPU context, or undefined on wasm. A device lost under 'auto' switches to
 * wasm here (logged once); under 'webgpu' the context stays and its ops throw the loss Error.
 */
export function activeGpu(): GpuContext | undefined {
  if (ctx?.lostReason !== undefined && choice === 'auto') {
    console.warn(`simdcnn: the WebGPU device was lost (${ctx.lostReason}); continuing on wasm`);
    ctx = undefined;
    current = wasmBackend;
  }
  return ctx;
}
