// createWorkerModel: the model lives and trains in a dedicated Worker, so the page stays
// responsive; with cross-origin isolation the worker (which, unlike a page, may block) runs the
// kernels on the thread pool. The worker script needs no file of its own: a tiny module from a
// Blob URL imports this very library by its module URL and serves the model (worker-host.ts).

import { Tensor } from '../tensor.js';
import { Uint8Images, type XInput, type YInput } from '../model/examples.js';
import { modelArtifacts, type ModelArtifacts } from '../model/save-load.js';
import type { Sequential } from '../model/sequential.js';
import type { Callbacks, Logs } from '../model/history.js';
import type { ModelJson } from '../io/model-files.js';
import { Optimizer } from '../model/optimizers.js';
import { argError } from '../errors.js';
import type { CallbackName, Event, Reply, WireArray, WireX, WireY } from './protocol.js';
import { loadModelFiles } from './files-fetch.js';

export { hostWorkerModel } from './worker-host.js';

export interface WorkerModelOptions {
  /**
   * Threads for the kernels in the worker (default: all cores). Needs cross-origin isolation
   * (COOP same-origin + COEP require-corp); without it the worker uses one thread and this warns once.
   */
  threads?: number;
  /**
   * URL of simdcnn's ES module for the worker to import. Default: this module's own URL, right
   * for the published build used as is (script tag, import map, CDN). Set it when a bundler has
   * merged simdcnn into your app's chunk, e.g. to the copied dist/browser/simdcnn.js.
   */
  moduleUrl?: string | URL;
  /** Compile from the saved training config when there is one (default true). */
  compile?: boolean;
  /**
   * The worker's backend (see setBackend): 'wasm' (default: the SIMD kernels, on threads where
   * possible), 'webgpu' (rejects if there is no adapter) or 'auto' (WebGPU on a hardware adapter, else wasm).
   */
  backend?: 'wasm' | 'webgpu' | 'auto';
}

/** What fit() takes here: tfjs' FitArgs without yieldEvery (the worker yields on its own). */
export interface WorkerFitArgs {
  epochs?: number;
  batchSize?: number;
  validationData?: [XInput, YInput];
  validationSplit?: number;
  shuffle?: boolean;
  verbose?: 0 | 1;
  initialEpoch?: number;
  /** Called on the page as the worker reports; return values are not awaited by training. */
  callbacks?: Callbacks;
}

export interface WorkerHistory {
  epoch: number[];
  history: Record<string, number[]>;
  params: Record<string, unknown>;
}

export interface LayerInfo {
  name: string;
  className: string;
  outShape: number[];
}

let warnedNotIsolated = false;

function isolated(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  return typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

function wireX(op: string, x: XInput): WireX {
  if (x instanceof Uint8Images) return { kind: 'uint8', data: x.data.slice(), sampleShape: x.sampleShape.slice(), scale: x.scale };
  if (x instanceof Tensor) return { kind: 'float32', data: x.dataSync(), shape: x.shape.slice() };
  throw argError(op, 'x', x, 'a Tensor or uint8Images(...)');
}

function wireY(op: string, y: YInput): WireY {
  if (y instanceof Tensor) return { kind: 'float32', data: y.dataSync(), shape: y.shape.slice() };
  if (y && typeof (y as ArrayLike<number>).length === 'number') return { kind: 'labels', data: Float32Array.from(y as ArrayLike<number>) };
  throw argError(op, 'y', y, 'a Tensor of labels or an array of class ids');
}

const buffersOf = (...w: (WireX | WireY | undefined)[]) => w.flatMap((v) => (v ? [v.data.buffer as ArrayBuffer] : []));

/** A model served by a Worker. Methods mirror Sequential's but resolve asynchronously with plain arrays. */
export class WorkerModel {
  /** 'relaxed' (FMA) or 'simd': the wasm build the worker runs. */
  variant = '';
  /** Threads the worker's kernels run on. */
  threads = 1;
  /** The backend the worker runs: 'wasm' or 'webgpu'. */
  backend = 'wasm';
  inputShape: number[] = [];
  outputShape: number[] = [];
  layers: LayerInfo[] = [];
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private fitCallbacks = new Map<number, Callbacks>();
  private dead?: Error;

  /** @internal use createWorkerModel */
  constructor(private readonly worker: Worker, private readonly hostReady: Promise<void>) {}

  /** @internal */
  handle(msg: Reply | Event): void {
    if ('event' in msg) {
      if (msg.event === 'warn') console.warn(msg.message);
      const cb = msg.fit !== undefined ? this.fitCallbacks.get(msg.fit) : undefined;
      const fn = cb?.[msg.event as CallbackName] as ((...a: unknown[]) => unknown) | undefined;
      if (fn) {
        try {
          void Promise.resolve(fn(...(msg.args ?? []))).catch((e) => console.error(e));
        } catch (e) {
          console.error(e);
        }
      }
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  }

  /** @internal */
  fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** @internal */
  async call<T>(op: string, args: Record<string, unknown> = {}, transfer: Transferable[] = [], id = this.nextId++): Promise<T> {
    if (this.dead) throw this.dead;
    await this.hostReady;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  async compile(args: { optimizer: string | Optimizer; loss: string; metrics?: string[] }): Promise<void> {
    const o = args.optimizer;
    const optimizer = o instanceof Optimizer ? { class_name: o.className, config: o.getConfig() } : o;
    await this.call('compile', { optimizer, loss: args.loss, metrics: args.metrics });
  }

  /** Trains in the worker; callbacks run on this thread as the worker reports batches and epochs. */
  async fit(x: XInput, y: YInput, args: WorkerFitArgs = {}): Promise<WorkerHistory> {
    const { callbacks = {}, validationData, ...rest } = args;
    const wx = wireX('fit', x), wy = wireY('fit', y);
    const val = validationData ? [wireX('fit', validationData[0]), wireY('fit', validationData[1])] as [WireX, WireY] : undefined;
    const id = this.nextId++;
    this.fitCallbacks.set(id, callbacks);
    try {
      return await this.call<WorkerHistory>('fit', { x: wx, y: wy, validationData: val, args: rest, callbacks: Object.keys(callbacks) }, buffersOf(wx, wy, ...(val ?? [])), id);
    } finally {
      this.fitCallbacks.delete(id);
    }
  }

  /** Ends a running fit() after its current batch (tfjs: model.stopTraining = true). */
  async stopTraining(): Promise<void> {
    await this.call('stop');
  }

  /** [loss, accuracy?] as numbers. */
  async evaluate(x: XInput, y: YInput, args: { batchSize?: number } = {}): Promise<number[]> {
    const wx = wireX('evaluate', x), wy = wireY('evaluate', y);
    return this.call('evaluate', { x: wx, y: wy, batchSize: args.batchSize }, buffersOf(wx, wy));
  }

  /** The outputs [N, ...outputShape] as a flat Float32Array with its shape. */
  async predict(x: XInput, args: { batchSize?: number } = {}): Promise<{ shape: number[]; data: Float32Array }> {
    const wx = wireX('predict', x);
    return this.call('predict', { x: wx, batchSize: args.batchSize }, buffersOf(wx));
  }

  /** Every layer's output for x (feature maps), in layer order. */
  async predictLayers(x: XInput): Promise<WireArray[]> {
    const wx = wireX('predictLayers', x);
    return this.call('predictLayers', { x: wx }, buffersOf(wx));
  }

  /** The weights by name ('conv2d/kernel' [kh, kw, in, out], ...) as flat arrays. */
  getWeights(): Promise<WireArray[]> {
    return this.call('getWeights');
  }

  /** model.json and the weight bytes, e.g. for loadLayersModel(fromMemory(modelJson, weightData)). */
  save(): Promise<{ modelJson: ModelJson; weightData: ArrayBuffer }> {
    return this.call('save');
  }

  async summary(printFn: (line: string) => void = console.log): Promise<void> {
    for (const l of await this.call<string[]>('summary')) printFn(l);
  }

  /** Changes the worker's thread count (stays 1 without cross-origin isolation). */
  async setThreads(n: number): Promise<number> {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw argError('setThreads', 'n', n, 'an integer in [1, 64]');
    if (n > 1) warnIfNotIsolated();
    this.threads = await this.call<number>('setThreads', { n, isolated: isolated() });
    return this.threads;
  }

  /** Stops the worker; the model is gone with it. */
  terminate(): void {
    this.worker.terminate();
    this.fail(new Error('WorkerModel: the worker was terminated'));
  }
}

function warnIfNotIsolated(): void {
  if (isolated() || warnedNotIsolated) return;
  warnedNotIsolated = true;
  console.warn('simdcnn: this page is not cross-origin isolated, so SharedArrayBuffer is unavailable and the worker trains on one thread. Serve it with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" to use all cores.');
}

function bootstrapSource(moduleUrl: string): string {
  return `import { hostWorkerModel } from ${JSON.stringify(moduleUrl)};\nhostWorkerModel(self);\n`;
}

type ModelSource = Sequential | string | URL | { modelJson: ModelJson | string; weightData: ArrayBuffer | ArrayBufferView };

/**
 * Starts a Worker holding a copy of `model` (a Sequential, with its weights and, if compiled, its
 * training config), or the model at a model.json URL, or {modelJson, weightData} from save().
 */
export async function createWorkerModel(model: ModelSource, opts: WorkerModelOptions = {}): Promise<WorkerModel> {
  if (typeof Worker === 'undefined') throw new Error('createWorkerModel: this runtime has no Worker (browsers, Deno); in Node use the model directly');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64)) {
    throw argError('createWorkerModel', 'threads', opts.threads, 'an integer in [1, 64]');
  }
  let modelJson: unknown, weightData: ArrayBuffer, seed: number | undefined;
  if (typeof model === 'string' || model instanceof URL) {
    const f = await loadModelFiles(model);
    modelJson = f.modelJson;
    weightData = f.weightData;
  } else if (model && typeof (model as Sequential).weightValues === 'function') {
    const s = model as Sequential;
    ({ modelJson, weightData } = modelArtifacts(s));
    seed = s.seed;
  } else if (model && typeof model === 'object' && 'modelJson' in model) {
    modelJson = model.modelJson;
    const w = model.weightData;
    weightData = w instanceof ArrayBuffer ? w.slice(0) : new Uint8Array(w.buffer, w.byteOffset, w.byteLength).slice().buffer;
  } else {
    throw argError('createWorkerModel', 'model', model, 'a Sequential, a model.json URL or {modelJson, weightData}');
  }
  if (opts.backend !== undefined && !['wasm', 'webgpu', 'auto'].includes(opts.backend)) {
    throw argError('createWorkerModel', 'backend', opts.backend, "'wasm', 'webgpu' or 'auto'");
  }
  if ((opts.threads ?? 2) > 1 && (opts.backend ?? 'wasm') === 'wasm') warnIfNotIsolated();
  const moduleUrl = String(opts.moduleUrl ?? import.meta.url);
  const blobUrl = URL.createObjectURL(new Blob([bootstrapSource(moduleUrl)], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, { type: 'module', name: 'simdcnn-model' });
  let hostReadyResolve!: () => void;
  const hostReady = new Promise<void>((r) => (hostReadyResolve = r));
  const wm = new WorkerModel(worker, hostReady);
  worker.onmessage = (e: MessageEvent) => {
    if ((e.data as Event)?.event === 'hostReady') {
      URL.revokeObjectURL(blobUrl);
      hostReadyResolve();
      return;
    }
    wm.handle(e.data);
  };
  const started = new Promise<never>((_, reject) => {
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      const err = new Error(`createWorkerModel: the worker failed to start${e.message ? `: ${e.message}` : ''} (it imports simdcnn from ${moduleUrl}; if a bundler merged simdcnn into your app, pass {moduleUrl} pointing at dist/browser/simdcnn.js)`);
      wm.fail(err);
      reject(err);
    };
  });
  started.catch(() => {});
  const init = async () => {
    const info = await wm.call<{ variant: string; threads: number; backend: string }>('init', { threads: opts.threads, isolated: isolated(), backend: opts.backend ?? 'wasm' });
    wm.variant = info.variant;
    wm.threads = info.threads;
    wm.backend = info.backend;
    const shapes = await wm.call<{ inputShape: number[]; outputShape: number[]; layers: LayerInfo[] }>('load', { modelJson, weightData, seed, compile: opts.compile !== false }, [weightData]);
    wm.inputShape = shapes.inputShape;
    wm.outputShape = shapes.outputShape;
    wm.layers = shapes.layers;
    return wm;
  };
  try {
    return await Promise.race([init(), started]);
  } catch (err) {
    worker.terminate();
    throw err;
  }
}

export type { ModelArtifacts, Logs };
