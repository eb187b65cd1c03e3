// The worker pool: every worker instantiates the same kernel module over the one shared memory,
// then sleeps in Atomics.wait until the calling thread posts a job. A job is one kernel call per
// thread (export name + numeric arguments), written into a shared job table; the caller runs slice 0
// itself and then waits until the workers have finished theirs (a 0.2 ms poll, then Atomics.wait).
// Work is split by the callers in fixed, thread-count-determined ways, so results are
// bit-identical from run to run for a given thread count.

import { WORKER_SOURCE } from './worker-source.js';

/** Layout of the control block (Int32 slots) at `ctrl` in the shared memory. */
export const CTRL = { generation: 0, pending: 1, ready: 2, error: 3, words: 16 } as const;
/**
 * How long an idle worker polls for the next job before it sleeps in Atomics.wait: longer than the
 * serial gaps inside a training or inference step (≤ ~0.5 ms), short enough that an idle pool
 * stops using the CPU at once.
 */
export const WORKER_SPIN_MS = 2;
/** How long the calling thread polls for the workers to finish a job before it sleeps. */
export const MAIN_SPIN_MS = 0.2;
/** f64 slots per thread in the job table: [exportIndex, argc, ...args]. */
export const JOB_SLOTS = 24;

export interface PoolMemory {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ctrl: number;
  jobs: number;
  exportNames: string[];
}

type AnyWorker = { terminate(): unknown; unref?: () => void };

let warnedMainThreadWait = false;

export class ThreadPool {
  readonly size: number;
  private readonly workers: AnyWorker[] = [];
  private readonly ctrl: Int32Array;
  private readonly exportIndex = new Map<string, number>();
  private readonly exportsMain: Record<string, (...a: number[]) => unknown>;
  private readyChecked = false;
  private terminated = false;

  /** size: total threads including the caller (workers = size − 1). */
  constructor(size: number, private readonly mem: PoolMemory, exportsMain: Record<string, unknown>) {
    this.size = size;
    this.exportsMain = exportsMain as Record<string, (...a: number[]) => unknown>;
    mem.exportNames.forEach((n, i) => this.exportIndex.set(n, i));
    this.ctrl = new Int32Array(mem.memory.buffer, mem.ctrl, CTRL.words);
    for (let i = 0; i < CTRL.words; i++) Atomics.store(this.ctrl, i, 0);
    for (let tid = 1; tid < size; tid++) this.workers.push(spawn(tid, mem));
  }

  private jobView(): Float64Array {
    return new Float64Array(this.mem.memory.buffer, this.mem.jobs, this.size * JOB_SLOTS);
  }

  /** Blocks until every worker has instantiated its module (first use only). */
  private awaitReady(): void {
    if (this.readyChecked) return;
    const want = this.size - 1;
    const t0 = Date.now();
    let r: number;
    while ((r = Atomics.load(this.ctrl, CTRL.ready)) < want) {
      if (Atomics.load(this.ctrl, CTRL.error) !== 0) throw new Error('simdcnn threads: a worker failed to start (its module could not be instantiated)');
      if (Date.now() - t0 > 30000) throw new Error(`simdcnn threads: only ${r} of ${want} workers started within 30 s`);
      Atomics.wait(this.ctrl, CTRL.ready, r, 100);
    }
    this.readyChecked = true;
  }

  /**
   * Resolves once every worker has started, without blocking. A browser worker must call this
   * before its first job: a nested Worker loads through its parent's event loop, so a parent that
   * blocks in Atomics.wait first would wait for it forever.
   */
  async started(timeoutMs = 30000): Promise<void> {
    const t0 = Date.now();
    while (Atomics.load(this.ctrl, CTRL.ready) < this.size - 1) {
      if (Atomics.load(this.ctrl, CTRL.error) !== 0) throw new Error('simdcnn threads: a worker failed to start (its module could not be instantiated)');
      if (Date.now() - t0 > timeoutMs) throw new Error(`simdcnn threads: only ${Atomics.load(this.ctrl, CTRL.ready)} of ${this.size - 1} workers started within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Runs calls[t] on thread t (calls[0] on the caller) and returns when all are done. A null entry
   * leaves that thread idle. Every call is `[exportName, ...numericArgs]`.
   */
  run(calls: (readonly [string, ...number[]] | null)[]): void {
    if (this.terminated) throw new Error('simdcnn threads: the pool was terminated');
    if (calls.length > this.size) throw new Error(`simdcnn threads: ${calls.length} calls for ${this.size} threads`);
    this.awaitReady();
    const jobs = this.jobView();
    let posted = 0;
    for (let t = 1; t < this.size; t++) {
      const c = calls[t];
      const base = t * JOB_SLOTS;
      if (!c) {
        jobs[base] = -1;
        continue;
      }
      if (c.length - 1 > JOB_SLOTS - 2) throw new Error(`simdcnn threads: ${c[0]} has too many arguments for a job slot`);
      const idx = this.exportIndex.get(c[0]);
      if (idx === undefined) throw new Error(`simdcnn threads: unknown kernel '${c[0]}'`);
      jobs[base] = idx;
      jobs[base + 1] = c.length - 1;
      for (let i = 1; i < c.length; i++) jobs[base + 1 + i] = c[i] as number;
      posted++;
    }
    if (posted > 0) {
      Atomics.store(this.ctrl, CTRL.pending, this.size - 1);
      Atomics.add(this.ctrl, CTRL.generation, 1);
      Atomics.notify(this.ctrl, CTRL.generation);
    }
    const own = calls[0];
    if (own) this.exportsMain[own[0]](...(own.slice(1) as number[]));
    if (posted > 0) {
      // A short spin first: the workers usually finish within microseconds of this thread, and a
      // futex wake-up costs tens of them — on every one of a network's ~100 passes.
      let p: number;
      const spinUntil = performance.now() + MAIN_SPIN_MS;
      while ((p = Atomics.load(this.ctrl, CTRL.pending)) !== 0) {
        if (performance.now() > spinUntil) Atomics.wait(this.ctrl, CTRL.pending, p);
      }
      const err = Atomics.load(this.ctrl, CTRL.error);
      if (err !== 0) {
        Atomics.store(this.ctrl, CTRL.error, 0);
        throw new Error(`simdcnn threads: a kernel failed on worker ${err} (internal error; please report the call that caused it)`);
      }
    }
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    Atomics.store(this.ctrl, CTRL.generation, -1);
    Atomics.notify(this.ctrl, CTRL.generation);
    for (const w of this.workers) void w.terminate();
  }
}

function spawn(tid: number, mem: PoolMemory): AnyWorker {
  const data = { tid, module: mem.module, memory: mem.memory, ctrl: mem.ctrl, jobs: mem.jobs, jobSlots: JOB_SLOTS, exportNames: mem.exportNames, ctrlWords: CTRL, spinMs: WORKER_SPIN_MS };
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => any } }).process;
  const wt = proc?.getBuiltinModule?.('node:worker_threads');
  if (wt) {
    const w = new wt.Worker(`const { workerData } = require('node:worker_threads');\n${WORKER_SOURCE}\nstart(workerData);`, { eval: true, workerData: data });
    // Sleeping workers must not keep a finished Node script alive.
    w.unref();
    return w;
  }
  if (typeof Worker === 'undefined') throw new Error('simdcnn threads: this runtime has no Worker');
  const url = URL.createObjectURL(new Blob([`${WORKER_SOURCE}\nself.onmessage = (e) => start(e.data);`], { type: 'text/javascript' }));
  const w = new Worker(url);
  w.postMessage(data);
  return w;
}

/** The main thread of a browser page may not block; say so once instead of failing obscurely. */
export function canBlock(): boolean {
  const g = globalThis as { process?: unknown; document?: unknown };
  if (g.process) return true;
  if (g.document !== undefined) {
    if (!warnedMainThreadWait) {
      warnedMainThreadWait = true;
      console.warn('simdcnn: threads cannot be used from a page\'s main thread (it may not block); run the model in a Worker (see createWorkerModel) — using one thread');
    }
    return false;
  }
  return true;
}
