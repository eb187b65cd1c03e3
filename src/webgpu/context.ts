/// <reference types="@webgpu/types" />
// A WebGPU device with every simdcnn kernel compiled, plus the few primitives the ops and the
// model runner are built from: storage buffers, prepared dispatches (pipeline + bind group +
// uniform block, built once and replayed), submission and read-back.
//
// Where the device comes from: navigator.gpu (browsers, Deno) or, in Node, the optional `webgpu`
// package (Dawn), imported only here and only when WebGPU is asked for. On a Linux machine without
// a GPU, Dawn runs on the SwiftShader Vulkan driver that Chromium ships when the process starts
// with LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.

import { KERNELS, type KernelName } from './kernels/index.js';
import { wgsl, type KernelDef } from './kernel-def.js';
import { importOptional } from '../optional-module.js';

/** The npm package Node's WebGPU comes from. */
export const WEBGPU_PACKAGE = 'webgpu';

// GPUBufferUsage / GPUMapMode values (spec constants; Dawn for Node does not define the globals).
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ = 1;
const MAX_GROUPS = 65535;

export interface WebGpuOptions {
  powerPreference?: 'low-power' | 'high-performance';
  /** Ask for the software (fallback) adapter explicitly. */
  forceFallbackAdapter?: boolean;
  /** Accept a fallback (software) adapter. setBackend('webgpu') does; 'auto' does not. */
  allowFallbackAdapter?: boolean;
}

/** A recorded kernel launch: replayed every step, its uniforms rewritable in place. */
export interface Dispatch {
  kernel: KernelDef;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: [number, number, number];
  uniform: GPUBuffer;
}

const LINUX_HINT = 'On Linux without a GPU, install Chromium (Debian: apt-get install chromium) and start Node with ' +
  'LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json to use its SwiftShader driver';

function isNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

async function gpuEntry(): Promise<{ gpu: GPU; source: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (nav) return { gpu: nav, source: 'navigator.gpu' };
  if (!isNode()) throw new Error("setBackend('webgpu'): this runtime has no navigator.gpu (WebGPU is unavailable or disabled; Chromium needs a secure context, or --enable-unsafe-webgpu for headless use)");
  // An optional peer dependency (Dawn is ~130 MB): not installed unless the user asks for it.
  const mod = await importOptional<{ create(flags: string[]): GPU }>(WEBGPU_PACKAGE, "setBackend('webgpu')", 'in Node, WebGPU comes from Dawn');
  return { gpu: mod.create([]), source: "the 'webgpu' package (Dawn)" };
}

export class GpuContext {
  readonly device: GPUDevice;
  /** The adapter's description, e.g. 'SwiftShader driver 5.0.0' (bench labels use it). */
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly source: string;
  private readonly pipelines = new Map<KernelName, GPUComputePipeline>();
  /**
   * The GPU object the device came from. dawn.node frees its native instance when this object is
   * garbage-collected, even while devices made from it are alive, and the pending-event pump then
   * runs on freed memory (random mutex/futex aborts, segfaults, hangs): so the context owns it for
   * its whole life, destroy() included (a read still in flight then settles safely). Holding it
   * does not keep Node from exiting once no GPU work is pending.
   */
  private readonly gpu: GPU;
  /** Set when the device is lost / reports an error nobody captured. */
  lostReason?: string;
  private uncaptured?: string;
  /** A 16-byte buffer bound where a kernel's optional operand is absent. */
  readonly dummy: GPUBuffer;

  private constructor(gpu: GPU, device: GPUDevice, info: GPUAdapterInfo, fallback: boolean, source: string) {
    this.gpu = gpu;
    this.device = device;
    this.isFallbackAdapter = fallback;
    this.source = source;
    this.description = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
    device.lost.then((l) => {
      this.lostReason = `${l.reason}${l.message ? `: ${l.message}` : ''}`;
    });
    const onError = (ev: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= ev.error.message;
    };
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError as EventListener);
    else (device as { onuncapturederror: unknown }).onuncapturederror = onError;
    this.dummy = this.buffer(4);
  }

  /** Acquires an adapter and device and compiles every kernel; a clear Error when any step fails. */
  static async create(op: string, opts: WebGpuOptions = {}): Promise<GpuContext> {
    const { gpu, source } = await gpuEntry();
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference, forceFallbackAdapter: opts.forceFallbackAdapter });
    if (!adapter) {
      throw new Error(`${op}: ${source} returned no adapter (requestAdapter gave null: no usable GPU driver)` + (isNode() ? `. ${LINUX_HINT}` : ''));
    }
    const info = (adapter as { info?: GPUAdapterInfo }).info ?? ({} as GPUAdapterInfo);
    const fallback = !!((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    if (fallback && !(opts.allowFallbackAdapter || opts.forceFallbackAdapter)) {
      throw new Error(`${op}: the only adapter is a fallback (software) one (${info.description || info.architecture}); ask for it explicitly with setBackend('webgpu')`);
    }
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const ctx = new GpuContext(gpu, device, info, fallback, source);
    await ctx.compileAll(op);
    return ctx;
  }

  private async compileAll(op: string): Promise<void> {
    // One at a time: concurrent createComputePipelineAsync calls destabilise Dawn on SwiftShader.
    for (const [name, def] of Object.entries(KERNELS)) {
      const module = this.device.createShaderModule({ code: wgsl(def), label: name });
      try {
        this.pipelines.set(name as KernelName, await this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: name }));
      } catch (e) {
        const info = await module.getCompilationInfo?.().catch(() => undefined);
        const msgs = info?.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
        throw new Error(`${op}: the WGSL kernel '${name}' failed to compile on ${this.description}: ${msgs || (e as Error).message}`);
      }
    }
  }

  /** Throws if the device was lost or reported an uncaptured (validation) error. */
  check(op: string): void {
    if (this.lostReason !== undefined) {
      throw new Error(`${op}: the WebGPU device (${this.description}) was lost (${this.lostReason}); call setBackend('webgpu') again for a new device, or setBackend('wasm')`);
    }
    if (this.uncaptured !== undefined) {
      const m = this.uncaptured;
      this.uncaptured = undefined;
      throw new Error(`${op}: WebGPU reported an error on ${this.description}: ${m}`);
    }
  }

  /** A zero-filled storage buffer of `floats` 4-byte elements (at least one). */
  buffer(floats: number, label?: string): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(4, Math.ceil(floats) * 4),
      usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      label,
    });
  }

  write(buf: GPUBuffer, data: Float32Array | Int32Array, offsetFloats = 0): void {
    this.device.queue.writeBuffer(buf, offsetFloats * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Workgroup counts for a 1-D kernel over `total` threads, folded into y past 65535 groups. */
  static grid1d(total: number, perGroup = 64): [number, number, number] {
    const groups = Math.max(1, Math.ceil(total / perGroup));
    return groups <= MAX_GROUPS ? [groups, 1, 1] : [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
  }

  /** Builds a dispatch of `name` over `buffers` (binding order) with uniform values in declaration order. */
  prepare(name: KernelName, buffers: GPUBuffer[], uniforms: number[], groups: [number, number, number]): Dispatch {
    const kernel = KERNELS[name] as KernelDef;
    if (buffers.length !== kernel.buffers.length || uniforms.length !== kernel.uniforms.length) {
      throw new Error(`webgpu: internal error: ${name} takes ${kernel.buffers.length} buffers and ${kernel.uniforms.length} uniforms, got ${buffers.length} and ${uniforms.length}`);
    }
    if (groups[0] > MAX_GROUPS || groups[1] > MAX_GROUPS) throw new Error(`webgpu: internal error: ${name} dispatch [${groups}] exceeds 65535 workgroups per dimension`);
    const pipeline = this.pipelines.get(name)!;
    const uniform = this.device.createBuffer({ size: Math.max(16, Math.ceil(uniforms.length / 4) * 16), usage: USAGE.UNIFORM | USAGE.COPY_DST });
    const d: Dispatch = {
      kernel, pipeline, groups, uniform,
      bindGroup: this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [...buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })), { binding: buffers.length, resource: { buffer: uniform } }],
      }),
    };
    this.setUniforms(d, uniforms);
    return d;
  }

  /** Rewrites a prepared dispatch's uniform block (takes effect for the next submit). */
  setUniforms(d: Dispatch, values: number[]): void {
    const bytes = new ArrayBuffer(Math.max(16, Math.ceil(values.length / 4) * 16));
    const view = new DataView(bytes);
    d.kernel.uniforms.forEach(([name, type], i) => {
      const v = values[i];
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`webgpu: internal error: ${d.kernel.name}.${name} = ${v} is not a u32`);
        view.setUint32(i * 4, v, true);
      }
    });
    this.device.queue.writeBuffer(d.uniform, 0, bytes);
  }

  /** Encodes the dispatches in order (one compute pass; WebGPU orders their memory) plus copies, and submits. */
  submit(dispatches: Dispatch[], copies: [GPUBuffer, number, GPUBuffer, number, number][] = []): void {
    const enc = this.device.createCommandEncoder();
    if (dispatches.length) {
      const pass = enc.beginComputePass();
      for (const d of dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.groups);
      }
      pass.end();
    }
    for (const [src, so, dst, dof, size] of copies) enc.copyBufferToBuffer(src, so, dst, dof, size);
    this.device.queue.submit([enc.finish()]);
  }

  /** Copies `floats` values from buf (at offsetFloats) back to the CPU. */
  async read(op: string, buf: GPUBuffer, floats: number, offsetFloats = 0): Promise<Float32Array> {
    this.check(op);
    const bytes = Math.max(4, floats * 4);
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, offsetFloats * 4, staging, 0, bytes);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_READ);
      const out = new Float32Array(staging.getMappedRange().slice(0, floats * 4));
      staging.unmap();
      this.check(op);
      return out;
    } catch (e) {
      this.check(op);
      throw e;
    } finally {
      staging.destroy();
    }
  }

  destroy(): void {
    this.device.destroy();
  }
}
