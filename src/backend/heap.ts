// The memory plan's allocator: TypeScript decides where every array lives in the wasm linear
// memory (the kernels only see addresses). Blocks are 64-byte aligned (a cache line: SIMD loads
// never straddle one) and recycled by exact size, which suits training: the same shapes are
// allocated every step, so after the first step nothing grows.

const ALIGN = 64;
const PAGE = 65536;

export class Heap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly freeBySize = new Map<number, number[]>();
  private readonly sizeOf = new Map<number, number>();
  private f32View: Float32Array;
  private u8View: Uint8Array;
  private i32View: Int32Array;
  /** Bytes currently handed out. */
  bytesInUse = 0;

  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.f32View = new Float32Array(memory.buffer);
    this.u8View = new Uint8Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
  }

  /** Returns the byte address of a fresh block of at least `bytes` bytes, 64-byte aligned. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`Heap.alloc: bytes must be a non-negative integer, got ${bytes}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const list = this.freeBySize.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top = ptr + size;
    }
    this.sizeOf.set(ptr, size);
    this.bytesInUse += size;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizeOf.get(ptr);
    if (size === undefined) throw new Error(`Heap.free: ${ptr} is not an allocated block (double free?)`);
    this.sizeOf.delete(ptr);
    this.bytesInUse -= size;
    let list = this.freeBySize.get(size);
    if (!list) this.freeBySize.set(size, (list = []));
    list.push(ptr);
  }

  /** Grows the memory so that bytes [0, end) exist. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
    } catch {
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new Error(`simdcnn: out of wasm memory: need ${end} bytes, have ${have} (${(e as Error).message})`);
      }
    }
  }

  /** Views over the current buffer (re-created after growth, which detaches the old ones). */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer || this.f32View.length === 0) this.refresh();
    return this.f32View;
  }
  get u8(): Uint8Array {
    if (this.u8View.buffer !== this.memory.buffer || this.u8View.length === 0) this.refresh();
    return this.u8View;
  }
  get i32(): Int32Array {
    if (this.i32View.buffer !== this.memory.buffer || this.i32View.length === 0) this.refresh();
    return this.i32View;
  }
  private refresh(): void {
    this.f32View = new Float32Array(this.memory.buffer);
    this.u8View = new Uint8Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
  }

  /** Copies `src` into the heap at `ptr` (byte address, 4-byte aligned). */
  writeF32(ptr: number, src: ArrayLike<number>): void {
    this.f32.set(src as Float32Array, ptr >>> 2);
  }
  /** A copy of `count` floats at `ptr`. */
  readF32(ptr: number, count: number): Float32Array {
    return this.f32.slice(ptr >>> 2, (ptr >>> 2) + count);
  }
}
