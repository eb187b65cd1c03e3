/// <reference types="@webgpu/types" />
// A tensor whose values live in a GPU buffer (the webgpu backend's ops and model.predict/evaluate
// return these). Reading is asynchronous: `await t.data()`. dataSync() and the wasm ops, which would
// need the values on the CPU right now, throw an Error that says so instead of blocking or
// reading garbage.

import { Tensor } from '../tensor.js';
import type { GpuContext } from './context.js';

export class GpuTensor extends Tensor {
  /** @internal */
  readonly buffer: GPUBuffer;
  /** @internal */
  readonly ctx: GpuContext;

  /** @internal takes ownership of `buffer` (at least size floats). */
  constructor(ctx: GpuContext, shape: number[], buffer: GPUBuffer) {
    super(shape, 0);
    this.ctx = ctx;
    this.buffer = buffer;
  }

  private where(): string {
    return `the tensor of shape [${this.shape}] is on the GPU (webgpu backend, ${this.ctx.description})`;
  }

  /** @internal the wasm ops call this on their inputs: a GPU tensor is not readable synchronously. */
  override check(op: string): this {
    if (this.isDisposed) throw new Error(`${op}: the tensor of shape [${this.shape}] was already disposed`);
    throw new Error(`${op}: ${this.where()}; read it with \`await tensor.data()\` and make a CPU tensor, or use the webgpu backend's ops (backend().${op})`);
  }

  /** @internal checks for the GPU ops: not disposed, device alive. */
  gpuCheck(op: string): this {
    if (this.isDisposed) throw new Error(`${op}: the tensor of shape [${this.shape}] was already disposed`);
    this.ctx.check(op);
    return this;
  }

  override dataSync(): Float32Array {
    if (this.isDisposed) throw new Error(`dataSync: the tensor of shape [${this.shape}] was already disposed`);
    throw new Error(`dataSync: ${this.where()} and reading it synchronously would block; use \`await tensor.data()\` instead`);
  }

  override async data(): Promise<Float32Array> {
    this.gpuCheck('data');
    return this.ctx.read('data', this.buffer, this.size);
  }

  override arraySync(): unknown {
    if (this.isDisposed) throw new Error(`arraySync: the tensor of shape [${this.shape}] was already disposed`);
    throw new Error(`arraySync: ${this.where()} and reading it synchronously would block; use \`await tensor.array()\` instead`);
  }

  override async array(): Promise<unknown> {
    const d = await this.data();
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return d[off];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  protected override release(): void {
    this.buffer.destroy();
  }

  override toString(): string {
    return `Tensor float32 [${this.shape}] (webgpu: await data() to read)`;
  }
}
