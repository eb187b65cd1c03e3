// Node-only saving and loading of tfjs layers-model files (model.json + weights.bin + extras).
//
// Saving never destroys the previous model: every file is first written (and fsync'ed) under a
// hidden temporary name in the target folder, and only when all writes succeeded are they renamed
// over the old ones, model.json last. If a rename fails halfway, the files already replaced are
// restored from hard-link backups of the old versions.
import { copyFile, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelJson, decodeWeights, type ModelJson, type NamedWeight, type WeightSpec } from './model-files.js';

/**
 * `file://DIR` (as in tfjs-node: everything after the scheme is a path, so `file://./m` is
 * relative and `file:///abs/m` absolute), a URL object, or a plain path.
 */
export function pathFromUrlOrPath(target: string | URL): string {
  if (target instanceof URL) return fileURLToPath(target);
  if (typeof target !== 'string' || target === '') {
    throw new Error(`model location must be a non-empty path or file:// URL, got ${JSON.stringify(target)}`);
  }
  if (target.startsWith('file://')) return resolve(target.slice('file://'.length));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new Error(`model location ${target}: only file:// URLs and paths are supported here`);
  }
  return resolve(target);
}

export interface SaveResult {
  dir: string;
  /** Absolute paths written, model.json first. */
  files: string[];
  modelJsonBytes: number;
  weightDataBytes: number;
}

function toBytes(v: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof v === 'string') return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return v;
  return new Uint8Array(v);
}

function checkPlainName(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || /[\\/\0]/.test(name)) {
    throw new Error(`${what}: ${JSON.stringify(name)} must be a plain file name (no folders)`);
  }
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Save model.json, its weights file and any extra files (e.g. a training curve) into a folder,
 * creating it if needed. The weights file name is the single path in modelJson.weightsManifest.
 */
export async function saveModelFiles(dirUrlOrPath: string | URL, modelJson: ModelJson,
  weightData: ArrayBuffer | Uint8Array, extraFiles: Record<string, string | Uint8Array> = {}): Promise<SaveResult> {
  const dir = pathFromUrlOrPath(dirUrlOrPath);
  const specs = checkModelJson(modelJson, 'saveModelFiles: modelJson');
  const paths = modelJson.weightsManifest.flatMap((g) => g.paths);
  if (paths.length !== 1) {
    throw new Error(`saveModelFiles: expected exactly one weights file in weightsManifest, got ${JSON.stringify(paths)}`);
  }
  const weightsName = paths[0]!;
  checkPlainName(weightsName, 'saveModelFiles: weights file name');
  const weights = toBytes(weightData);
  decodeWeights(specs, weights); // throws, naming the weight, if the data does not match the manifest
  const json = new TextEncoder().encode(JSON.stringify(modelJson));

  const entries: [string, Uint8Array][] = [['model.json', json], [weightsName, weights]];
  for (const [name, value] of Object.entries(extraFiles)) {
    checkPlainName(name, 'saveModelFiles: extra file name');
    if (name === 'model.json' || name === weightsName) {
      throw new Error(`saveModelFiles: extra file name ${JSON.stringify(name)} clashes with the model files`);
    }
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new Error(`saveModelFiles: extra file ${name} must be a string or Uint8Array, got ${typeof value}`);
    }
    entries.push([name, toBytes(value)]);
  }

  await mkdir(dir, { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = (name: string) => join(dir, `.${name}.${tag}.tmp`);
  const bak = (name: string) => join(dir, `.${name}.${tag}.bak`);
  const quietUnlink = (p: string) => unlink(p).catch(() => {});

  // 1. Write every file under a temporary name; on failure remove them all, touching nothing else.
  const written: string[] = [];
  for (const [name, bytes] of entries) {
    const t = tmp(name);
    try {
      written.push(t);
      await writeDurably(t, bytes);
    } catch (err) {
      await Promise.all(written.map(quietUnlink));
      throw new Error(`saving model to ${dir} failed writing ${name} (${bytes.length} bytes): ${(err as Error).message}`,
        { cause: err });
    }
  }

  // 2. Keep the old versions reachable (hard links cost no copy) so a failed rename can be undone.
  const backups = new Map<string, string>();
  const order = [...entries.slice(1), entries[0]!].map(([n]) => n); // model.json last
  try {
    for (const name of order) {
      const final = join(dir, name);
      // Only files need a backup; anything else in the way makes the rename below fail and roll back.
      if (!(await isFile(final))) continue;
      try {
        await link(final, bak(name));
      } catch {
        await copyFile(final, bak(name));
      }
      backups.set(name, bak(name));
    }
  } catch (err) {
    await Promise.all([...written, ...backups.values()].map(quietUnlink));
    throw new Error(`saving model to ${dir} failed backing up the old files: ${(err as Error).message}`, { cause: err });
  }

  // 3. Rename into place; undo on the first failure.
  const done: string[] = [];
  for (const name of order) {
    try {
      await rename(tmp(name), join(dir, name));
      done.push(name);
    } catch (err) {
      for (const d of done) {
        const b = backups.get(d);
        if (b !== undefined) await rename(b, join(dir, d)).catch(() => {});
        else await quietUnlink(join(dir, d));
      }
      await Promise.all([...order.map((n) => quietUnlink(tmp(n))), ...[...backups.values()].map(quietUnlink)]);
      throw new Error(`saving model to ${dir} failed replacing ${name}; the previous files were kept: ${(err as Error).message}`,
        { cause: err });
    }
  }
  await Promise.all([...backups.values()].map(quietUnlink));
  return {
    dir,
    files: entries.map(([n]) => join(dir, n)),
    modelJsonBytes: json.length,
    weightDataBytes: weights.length,
  };
}

export interface LoadedModelFiles {
  modelJson: ModelJson;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  /** The weights split by spec (views into weightData). */
  weights: NamedWeight[];
  /** Absolute path of model.json. */
  path: string;
}

/** Read `file://DIR/model.json` (or a path to it, or to its folder) and all its weight files. */
export async function loadModelFiles(urlOrPath: string | URL): Promise<LoadedModelFiles> {
  let path = pathFromUrlOrPath(urlOrPath);
  try {
    if ((await stat(path)).isDirectory()) path = join(path, 'model.json');
  } catch {
    // Not there: reported below by readFile with the path.
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `model file ${path} does not exist` : `cannot read model file ${path}: ${(err as Error).message}`,
      { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`model file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const weightSpecs = checkModelJson(json, `model file ${path}`);
  const modelJson = json as ModelJson;
  const base = dirname(path);
  const parts: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      // Weight paths are relative to model.json; refuse ones that would read outside its folder.
      const rel = normalize(p);
      if (isAbsolute(rel) || rel === '..' || rel.startsWith('..' + sep)) {
        throw new Error(`model file ${path}: weights path ${JSON.stringify(p)} points outside the model folder`);
      }
      const wp = join(base, rel);
      try {
        parts.push(await readFile(wp));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Error(code === 'ENOENT'
          ? `weights file ${wp} listed in ${path} does not exist`
          : `cannot read weights file ${wp}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  let weights: NamedWeight[];
  try {
    weights = decodeWeights(weightSpecs, all);
  } catch (err) {
    throw new Error(`model ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { modelJson, weightSpecs, weightData: all.buffer, weights, path };
}
