// Finds, picks and compiles the kernel module. Two builds ship: plain SIMD and relaxed SIMD
// (f32x4.relaxed_madd = fused multiply-add, ~1.4x faster GEMM). The relaxed one is used wherever
// the runtime validates it. Node 20's V8 has relaxed SIMD behind a flag that NODE_OPTIONS refuses,
// so in Node we set it with v8.setFlagsFromString before the first compile (it only enables a wasm
// opcode set, nothing else); SIMDCNN_WASM=simd opts out, SIMDCNN_WASM=relaxed insists.

import { wasmUrl, type WasmVariant } from '../wasm-url.js';

type NodeProcess = { getBuiltinModule?: (id: string) => any; versions?: { node?: string }; env?: Record<string, string | undefined> };
const nodeProcess: NodeProcess | undefined = (globalThis as any).process?.versions?.node ? (globalThis as any).process : undefined;

function envVariant(): WasmVariant | undefined {
  let v: string | undefined;
  try {
    v = nodeProcess?.env?.SIMDCNN_WASM;
  } catch {
    // Deno without --allow-env throws on reading the environment: treat it as unset.
  }
  if (v === undefined || v === '') return undefined;
  if (v !== 'simd' && v !== 'relaxed') {
    throw new Error(`SIMDCNN_WASM: got '${v}', expected 'simd' or 'relaxed'`);
  }
  return v;
}

let triedV8Flag = false;
/** True when this runtime can compile the relaxed build, enabling V8's flag in Node if needed. */
function relaxedSupported(relaxedBytes: Uint8Array<ArrayBuffer>): boolean {
  if (WebAssembly.validate(relaxedBytes)) return true;
  if (nodeProcess?.getBuiltinModule && !triedV8Flag) {
    triedV8Flag = true;
    try {
      nodeProcess.getBuiltinModule('node:v8').setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch { /* an embedder without v8 flags: plain SIMD it is */ }
    return WebAssembly.validate(relaxedBytes);
  }
  return false;
}

export interface LoadedModule {
  module: WebAssembly.Module;
  variant: WasmVariant;
  threads: boolean;
  bytes: Uint8Array<ArrayBuffer>;
}

function choose(relaxed: Uint8Array<ArrayBuffer>, plain: Uint8Array<ArrayBuffer>): { variant: WasmVariant; bytes: Uint8Array<ArrayBuffer> } {
  const wanted = envVariant();
  if (wanted === 'simd') return { variant: 'simd', bytes: plain };
  if (relaxedSupported(relaxed)) return { variant: 'relaxed', bytes: relaxed };
  if (wanted === 'relaxed') {
    throw new Error('SIMDCNN_WASM=relaxed, but this runtime cannot compile relaxed SIMD (f32x4.relaxed_madd); unset it to use plain SIMD');
  }
  if (!WebAssembly.validate(plain)) {
    throw new Error('This runtime does not support WebAssembly SIMD (v128), which simdcnn requires');
  }
  return { variant: 'simd', bytes: plain };
}

/** Synchronous load: Node (and Deno/Bun) read the files from disk. */
export function loadModuleSync(threads: boolean): LoadedModule {
  const fs = nodeProcess?.getBuiltinModule?.('node:fs');
  const url = nodeProcess?.getBuiltinModule?.('node:url');
  if (!fs || !url) {
    throw new Error('simdcnn: the kernels are not loaded yet; call `await ready()` first (synchronous loading needs Node)');
  }
  const read = (v: WasmVariant) => new Uint8Array(fs.readFileSync(url.fileURLToPath(wasmUrl(v, threads))));
  const picked = choose(read('relaxed'), read('simd'));
  return { module: new WebAssembly.Module(picked.bytes as BufferSource), threads, ...picked };
}

/** Asynchronous load for browsers and workers: fetches the files next to the module. */
export async function loadModuleAsync(threads: boolean): Promise<LoadedModule> {
  if (nodeProcess?.getBuiltinModule?.('node:fs')) return loadModuleSync(threads);
  const get = async (v: WasmVariant) => {
    const res = await fetch(wasmUrl(v, threads));
    if (!res.ok) throw new Error(`simdcnn: fetching ${wasmUrl(v, threads)} failed: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [relaxed, plain] = await Promise.all([get('relaxed'), get('simd')]);
  const picked = choose(relaxed, plain);
  return { module: await WebAssembly.compile(picked.bytes as BufferSource), threads, ...picked };
}
