// gzip handling usable in browsers and in Node (both have DecompressionStream since Node 18).
// The synchronous, faster Node path is in gunzip-node.ts so that this file stays free of node: imports.

/** True when `bytes` starts with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function label(name: string | undefined): string {
  return name === undefined ? 'gzip data' : name;
}

/**
 * Decompress gzip bytes with the platform DecompressionStream; bytes that are not gzip (no 1f 8b
 * magic) are returned unchanged so callers can pass either form. `name` is used in error messages.
 */
export async function gunzip(bytes: Uint8Array, name?: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === 'undefined') {
    throw new Error(`${label(name)}: cannot gunzip: this platform has no DecompressionStream`);
  }
  // Copy into a fresh ArrayBuffer-backed array: the Blob/stream APIs reject SharedArrayBuffer views.
  const input = new Uint8Array(bytes);
  try {
    const stream = new Blob([input]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    throw new Error(
      `${label(name)}: corrupt gzip data (${bytes.length} bytes): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
