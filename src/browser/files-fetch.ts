// The browser build's stand-in for io/file-node.ts (tsup swaps it in): no node: imports. Loading
// reads model.json and its weight files over fetch (http(s), or file: where the runtime allows
// it, as Deno and Bun do), so `loadLayersModel('/models/mnist/model.json')` works in pages and
// workers as in tfjs. Saving to a folder needs a file system: pass an IOHandler instead.
import { checkModelJson, decodeWeights, type ModelJson, type NamedWeight, type WeightSpec } from '../io/model-files.js';

export interface LoadedModelFiles {
  modelJson: ModelJson;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  weights: NamedWeight[];
  /** URL of model.json. */
  path: string;
}

function baseUrl(): string | undefined {
  const loc = (globalThis as { location?: { href?: string } }).location;
  return loc?.href;
}

function resolveUrl(target: string | URL): URL {
  if (target instanceof URL) return target;
  if (typeof target !== 'string' || target === '') {
    throw new Error(`loadLayersModel: source must be a URL of model.json or an IOHandler, got ${JSON.stringify(target)}`);
  }
  try {
    return new URL(target, baseUrl());
  } catch {
    throw new Error(`loadLayersModel: source ${JSON.stringify(target)} is not a URL (here, without a file system, pass an http(s) URL of model.json or an IOHandler such as fromMemory(modelJson, weightData))`);
  }
}

async function get(url: URL, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`cannot fetch ${what} ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new Error(`fetching ${what} ${url.href} failed: HTTP ${res.status}`);
  return res;
}

/** Fetches model.json (a URL to it, or to its folder ending in '/') and all its weight files. */
export async function loadModelFiles(urlOrPath: string | URL): Promise<LoadedModelFiles> {
  let url = resolveUrl(urlOrPath);
  if (url.pathname.endsWith('/')) url = new URL('model.json', url);
  const text = await (await get(url, 'model file')).text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`model file ${url.href} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const weightSpecs = checkModelJson(json, `model file ${url.href}`);
  const modelJson = json as ModelJson;
  const parts: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) parts.push(new Uint8Array(await (await get(new URL(p, url), 'weights file')).arrayBuffer()));
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  let weights: NamedWeight[];
  try {
    weights = decodeWeights(weightSpecs, all);
  } catch (err) {
    throw new Error(`model ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  return { modelJson, weightSpecs, weightData: all.buffer, weights, path: url.href };
}

export async function saveModelFiles(dir: string | URL, ..._rest: unknown[]): Promise<never> {
  throw new Error(`model.save: saving to ${JSON.stringify(String(dir))} needs a file system (Node, Deno or Bun with the Node build); here pass an IOHandler, e.g. {save: async (artifacts) => ...}`);
}

export function pathFromUrlOrPath(target: string | URL): string {
  throw new Error(`model location ${JSON.stringify(String(target))}: file paths need a file system (Node build)`);
}
