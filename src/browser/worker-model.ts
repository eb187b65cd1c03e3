// createWorkerModel: the model lives and trains in a dedicated Worker, so the page stays
// responsive; with cross-origin isolation the worker (which, unlike a page, may block) runs the
// kernels on the thread pool. The worker script needs no file of its own: a tiny module from a
// Blob URL imports this very library by its module URL and serves the model (worker-host.ts).
//
// This file is what every page loads: the options, and WorkerModel as a thin page-side handle.
// The code behind it (starting the worker, the message protocol, the worker-side host) is in
// worker-impl.ts, loaded by the first createWorkerModel/hostWorkerModel call (a chunk of its own
// in the browser build), so pages that never start a worker don't download it.

import type { XInput, YInput } from '../model/examples.js';
import type { ModelArtifacts } from '../model/save-load.js';
import type { LayersModel } from '../model/layers-model.js';
import type { Callbacks, Logs } from '../model/history.js';
import type { ModelJson } from '../io/model-files.js';
import type { Optimizer } from '../model/optimizers.js';
import type { WireArray } from './protocol.js';
import type { HostScope } from './worker-host.js';
import type { Connection } from './worker-impl.js';

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

export type ModelSource = LayersModel | string | URL | { modelJson: ModelJson | string; weightData: ArrayBuffer | ArrayBufferView };

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

  /** @internal use createWorkerModel */
  constructor(private readonly conn: Connection) {}

  compile(args: { optimizer: string | Optimizer; loss: string; metrics?: string[] }): Promise<void> {
    return this.conn.compile(args);
  }

  /** Trains in the worker; callbacks run on this thread as the worker reports batches and epochs. */
  fit(x: XInput, y: YInput, args: WorkerFitArgs = {}): Promise<WorkerHistory> {
    return this.conn.fit(x, y, args);
  }

  /** Ends a running fit() after its current batch (tfjs: model.stopTraining = true). */
  stopTraining(): Promise<void> {
    return this.conn.call('stop');
  }

  /** [loss, accuracy?] as numbers. */
  evaluate(x: XInput, y: YInput, args: { batchSize?: number } = {}): Promise<number[]> {
    return this.conn.evaluate(x, y, args);
  }

  /** The outputs [N, ...outputShape] as a flat Float32Array with its shape. */
  predict(x: XInput, args: { batchSize?: number } = {}): Promise<{ shape: number[]; data: Float32Array }> {
    return this.conn.predict(x, args);
  }

  /** Every layer's output for x (feature maps), in layer order. */
  predictLayers(x: XInput): Promise<WireArray[]> {
    return this.conn.predictLayers(x);
  }

  /** The weights by name ('conv2d/kernel' [kh, kw, in, out], ...) as flat arrays. */
  getWeights(): Promise<WireArray[]> {
    return this.conn.call('getWeights');
  }

  /** model.json and the weight bytes, e.g. for loadLayersModel(fromMemory(modelJson, weightData)). */
  save(): Promise<{ modelJson: ModelJson; weightData: ArrayBuffer }> {
    return this.conn.call('save');
  }

  async summary(printFn: (line: string) => void = console.log): Promise<void> {
    for (const l of await this.conn.call<string[]>('summary')) printFn(l);
  }

  /** Changes the worker's thread count (stays 1 without cross-origin isolation). */
  async setThreads(n: number): Promise<number> {
    this.threads = await this.conn.setThreads(n);
    return this.threads;
  }

  /** Stops the worker; the model is gone with it. */
  terminate(): void {
    this.conn.terminate();
  }
}

/**
 * Starts a Worker holding a copy of `model` (a Sequential, with its weights and, if compiled, its
 * training config), or the model at a model.json URL, or {modelJson, weightData} from save().
 */
export async function createWorkerModel(model: ModelSource, opts: WorkerModelOptions = {}): Promise<WorkerModel> {
  return (await import('./worker-impl.js')).startWorkerModel(model, opts);
}

/**
 * Serves one model in this worker. Called by the worker-model bootstrap; not for direct use.
 * The host posts 'hostReady' once it listens (the page sends nothing before that).
 */
export function hostWorkerModel(scope: HostScope = globalThis as unknown as HostScope): void {
  import('./worker-impl.js').then(
    (m) => m.hostWorkerModel(scope),
    // Thrown from a task of its own, so the page's worker.onerror hears of it.
    (err) => setTimeout(() => {
      throw err;
    }),
  );
}

let libraryModuleUrl: string | undefined;
/** @internal set by the browser build's entry: the URL the worker imports the library from. */
export function setLibraryModuleUrl(url: string): void {
  libraryModuleUrl = url;
}
/** @internal the entry's URL (browser build) or this module's (the one-file Node build). */
export function defaultModuleUrl(): string {
  return libraryModuleUrl ?? import.meta.url;
}

export type { ModelArtifacts, Logs };
