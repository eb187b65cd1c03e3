// Makes an installed package look absent to a child Node process, honestly: a module-resolution
// hook resolves that one name as if it were imported from an empty folder, so Node's own resolver
// fails exactly as it does where the package was never installed (ERR_MODULE_NOT_FOUND, "Cannot
// find package"). Everything else resolves as usual.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Node arguments (`--import …`) for a child process that cannot find `names`; dispose() removes the files. */
export async function hidePackages(names: string[]): Promise<{ nodeArgs: string[]; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'simdcnn-hidden-package-'));
  const from = pathToFileURL(join(dir, 'importer.mjs')).href;
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(hooks, `const hidden = new Set(${JSON.stringify(names)});
export async function resolve(specifier, context, next) {
  return next(specifier, hidden.has(specifier) ? { ...context, parentURL: ${JSON.stringify(from)} } : context);
}\n`);
  const register = join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return { nodeArgs: ['--import', pathToFileURL(register).href], dispose: () => rm(dir, { recursive: true, force: true }) };
}
