// IDX, the container of the MNIST family of data sets (http://yann.lecun.com/exdb/mnist/):
//   bytes 0-1  zero
//   byte  2    element type code
//   byte  3    number of dimensions D
//   then D big-endian uint32 sizes, then the elements, big-endian, row-major.
// This file takes bytes in and gives typed arrays out, with no Node imports, so that it can be
// bundled for browsers as is.

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxTypedArray =
  | Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxTypedArray;
}

interface DtypeInfo {
  code: number;
  bytes: number;
}

const DTYPES: Record<IdxDtype, DtypeInfo> = {
  uint8: { code: 0x08, bytes: 1 },
  int8: { code: 0x09, bytes: 1 },
  int16: { code: 0x0b, bytes: 2 },
  int32: { code: 0x0c, bytes: 4 },
  float32: { code: 0x0d, bytes: 4 },
  float64: { code: 0x0e, bytes: 8 },
};

const DTYPE_BY_CODE = new Map<number, IdxDtype>(
  (Object.keys(DTYPES) as IdxDtype[]).map((d) => [DTYPES[d].code, d]),
);

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

function describe(name: string | undefined): string {
  return name === undefined ? 'IDX data' : `IDX file ${name}`;
}

/**
 * Parse an IDX file (uncompressed bytes). `name` is only used in error messages.
 * uint8/int8 data are views into `bytes` (no copy); wider types are decoded from big-endian into a
 * fresh native-endian array.
 */
export function parseIdx(bytes: Uint8Array, name?: string): IdxArray {
  const what = describe(name);
  if (bytes.length < 4) {
    throw new Error(`${what}: too short for an IDX header: expected at least 4 bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this looks gzip-compressed: gunzip it first)' : '';
    throw new Error(
      `${what}: bad magic number: expected first two bytes 0x00 0x00, got ${hex(bytes[0]!)} ${hex(bytes[1]!)}${gz}`,
    );
  }
  const dtype = DTYPE_BY_CODE.get(bytes[2]!);
  if (dtype === undefined) {
    throw new Error(
      `${what}: unknown element type code ${hex(bytes[2]!)}; expected one of ` +
        (Object.keys(DTYPES) as IdxDtype[]).map((d) => `${hex(DTYPES[d].code)} (${d})`).join(', '),
    );
  }
  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(
      `${what}: truncated header: ${rank} dimensions need ${headerBytes} header bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const n = view.getUint32(4 + 4 * i, false);
    shape.push(n);
    count *= n;
  }
  const elemBytes = DTYPES[dtype].bytes;
  const expected = headerBytes + count * elemBytes;
  if (bytes.length < expected) {
    throw new Error(
      `${what}: truncated data: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes, got ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new Error(
      `${what}: ${bytes.length - expected} bytes of trailing garbage: shape [${shape.join(', ')}] of ${dtype} ` +
        `needs exactly ${expected} bytes, got ${bytes.length}`,
    );
  }
  const off = headerBytes;
  let data: IdxTypedArray;
  switch (dtype) {
    case 'uint8':
      data = bytes.subarray(off, off + count);
      break;
    case 'int8':
      data = new Int8Array(bytes.buffer, bytes.byteOffset + off, count);
      break;
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false);
      data = a;
      break;
    }
  }
  return { dtype, shape, data };
}

function dtypeOf(data: IdxTypedArray): IdxDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  const ctor = (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data;
  throw new Error(
    `encodeIdx: data must be a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array, got ${ctor}`,
  );
}

/** Encode a typed array as IDX bytes; the element type follows the array type. */
export function encodeIdx(data: IdxTypedArray, shape: readonly number[]): Uint8Array {
  const dtype = dtypeOf(data);
  if (shape.length > 255) {
    throw new Error(`encodeIdx: shape has ${shape.length} dimensions; IDX allows at most 255`);
  }
  let count = 1;
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`encodeIdx: shape [${shape.join(', ')}] has ${n}; expected integers in 0..2^32-1`);
    }
    count *= n;
  }
  if (count !== data.length) {
    throw new Error(
      `encodeIdx: shape [${shape.join(', ')}] holds ${count} elements but data has ${data.length}`,
    );
  }
  const { code, bytes: eb } = DTYPES[dtype];
  const headerBytes = 4 + 4 * shape.length;
  const out = new Uint8Array(headerBytes + count * eb);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((n, i) => view.setUint32(4 + 4 * i, n, false));
  const off = headerBytes;
  switch (dtype) {
    case 'uint8':
    case 'int8':
      out.set(new Uint8Array(data.buffer, data.byteOffset, count), off);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) view.setInt16(off + 2 * i, data[i]!, false);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) view.setInt32(off + 4 * i, data[i]!, false);
      break;
    case 'float32':
      for (let i = 0; i < count; i++) view.setFloat32(off + 4 * i, data[i]!, false);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) view.setFloat64(off + 8 * i, data[i]!, false);
      break;
  }
  return out;
}
