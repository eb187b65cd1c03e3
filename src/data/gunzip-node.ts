// Node-only synchronous gunzip: zlib is several times faster than DecompressionStream on the
// 10 MB MNIST training images and needs no await in loaders.
import { gunzipSync as zlibGunzipSync } from 'node:zlib';
import { isGzip } from './gunzip.js';

/** Decompress gzip bytes; non-gzip bytes pass through unchanged. `name` is used in error messages. */
export function gunzipSync(bytes: Uint8Array, name?: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = zlibGunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new Error(
      `${name ?? 'gzip data'}: corrupt gzip data (${bytes.length} bytes): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
