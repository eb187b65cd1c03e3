// Optional packages (Dawn's 'webgpu', 'jpeg-js') are imported by name at run time, never bundled:
// the import specifier is a variable so bundlers leave it alone, and a missing package becomes an
// Error that names the feature that needs it and the command that installs it, instead of the
// runtime's bare "Cannot find package".

function isMissing(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const msg = String(e?.message ?? err);
  // Node: ERR_MODULE_NOT_FOUND (ESM) / MODULE_NOT_FOUND (require); Vite's module runner, Bun and
  // Deno word it differently. The name must appear, so that an unrelated resolution failure inside
  // a package that is there is reported as a failed load.
  const notFound = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND' || /cannot find (package|module)|failed to (load|resolve)|not found/i.test(msg);
  return notFound && msg.includes(name);
}

/** The message for an optional package that is not installed. */
export function missingPackageMessage(feature: string, name: string, why: string): string {
  return `${feature} needs the optional package '${name}' (${why}), which is not installed; install it with: npm install ${name}`;
}

/**
 * Imports the optional package `name` for `feature` (e.g. "setBackend('webgpu')"); `why` says what
 * it provides. Not installed → an Error with the npm install command; installed but failing to load
 * (a native binary for another platform, a broken install) → an Error with the loader's message.
 */
export async function importOptional<T>(name: string, feature: string, why: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ name)) as T;
  } catch (err) {
    if (isMissing(err, name)) throw new Error(missingPackageMessage(feature, name, why), { cause: err });
    throw new Error(`${feature}: the optional package '${name}' (${why}) is installed but failed to load (${(err as Error)?.message ?? String(err)}); reinstall it with: npm install ${name}`, { cause: err });
  }
}
