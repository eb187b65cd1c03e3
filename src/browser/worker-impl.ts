// Everything behind createWorkerModel and hostWorkerModel (worker-model.ts), loaded on their first
// call: the page side (start the Worker from a Blob URL bootstrap that imports the library by its
// module URL, then the request/reply protocol) and the worker side (worker-host.ts). One chunk in
// the browser build, fetched by the page when it starts a worker and by the worker when it serves.

import { Tensor } from '../tensor.js';
import { Uint8Images, type XInput, type YInput } from '../model/examples.js';
import { modelArtifacts } from '../model/save-load.js';
import type { LayersModel } from '../model/layers-model.js';
import type { Callbacks } from '../model/history.js';
import { Optimizer } from '../model/optimizers.js';
import { argError } from '../errors.js';
import type { CallbackName, Event, Reply, WireArray, WireX, WireY } from './protocol.js';
import { loadModelFiles } from './files-fetch.js';
import { defaultModuleUrl, WorkerModel, type LayerInfo, type ModelSource, type WorkerFitArgs, type WorkerHistory, type WorkerModelOptions } from './worker-model.js';

export { hostWorkerModel } from './worker-host.js';

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

/** The page side of the message protocol behind a WorkerModel. */
export class Connection {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private fitCallbacks = new Map<number, Callbacks>();
  private dead?: Error;

  constructor(private readonly worker: Worker, private readonly hostReady: Promise<void>) {}

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

  fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

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

  /** Changes the worker's thread count (stays 1 without cross-origin isolation). */
  async setThreads(n: number): Promise<number> {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw argError('setThreads', 'n', n, 'an integer in [1, 64]');
    if (n > 1) warnIfNotIsolated();
    return this.call<number>('setThreads', { n, isolated: isolated() });
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

/** createWorkerModel's body (see worker-model.ts). */
export async function startWorkerModel(model: ModelSource, opts: WorkerModelOptions = {}): Promise<WorkerModel> {
  if (typeof Worker === 'undefined') throw new Error('createWorkerModel: this runtime has no Worker (browsers, Deno); in Node use the model directly');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64)) {
    throw argError('createWorkerModel', 'threads', opts.threads, 'an integer in [1, 64]');
  }
  let modelJson: unknown, weightData: ArrayBuffer, seed: number | undefined;
  if (typeof model === 'string' || model instanceof URL) {
    const f = await loadModelFiles(model);
    modelJson = f.modelJson;
    weightData = f.weightData;
  } else if (model && typeof (model as LayersModel).weightValues === 'function') {
    const s = model as LayersModel;
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
  const moduleUrl = String(opts.moduleUrl ?? defaultModuleUrl());
  const blobUrl = URL.createObjectURL(new Blob([bootstrapSource(moduleUrl)], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, { type: 'module', name: 'simdcnn-model' });
  let hostReadyResolve!: () => void;
  const hostReady = new Promise<void>((r) => (hostReadyResolve = r));
  const conn = new Connection(worker, hostReady);
  const wm = new WorkerModel(conn);
  worker.onmessage = (e: MessageEvent) => {
    if ((e.data as Event)?.event === 'hostReady') {
      URL.revokeObjectURL(blobUrl);
      hostReadyResolve();
      return;
    }
    conn.handle(e.data);
  };
  const started = new Promise<never>((_, reject) => {
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      const err = new Error(`createWorkerModel: the worker failed to start${e.message ? `: ${e.message}` : ''} (it imports simdcnn from ${moduleUrl}; if a bundler merged simdcnn into your app, pass {moduleUrl} pointing at dist/browser/simdcnn.js)`);
      conn.fail(err);
      reject(err);
    };
  });
  started.catch(() => {});
  const init = async () => {
    const info = await conn.call<{ variant: string; threads: number; backend: string }>('init', { threads: opts.threads, isolated: isolated(), backend: opts.backend ?? 'wasm' });
    wm.variant = info.variant;
    wm.threads = info.threads;
    wm.backend = info.backend;
    const shapes = await conn.call<{ inputShape: number[]; outputShape: number[]; layers: LayerInfo[] }>('load', { modelJson, weightData, seed, compile: opts.compile !== false }, [weightData]);
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

