import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx } from '../src/data/idx.js';
import { gunzip, isGzip } from '../src/data/gunzip.js';
import { gunzipSync } from '../src/data/gunzip-node.js';
import { gzipSync } from 'node:zlib';

describe('parseIdx', () => {
  it('parses a hand-written big-endian uint8 file without copying', () => {
    // magic 0x00000803, dims 2x2x3, then 12 bytes
    const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, ...Array.from({ length: 12 }, (_, i) => i * 20)]);
    const r = parseIdx(bytes);
    expect(r.dtype).toBe('uint8');
    expect(r.shape).toEqual([2, 2, 3]);
    expect(Array.from(r.data)).toEqual(Array.from({ length: 12 }, (_, i) => i * 20));
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(r.data.buffer).toBe(bytes.buffer);
    bytes[16] = 77;
    expect(r.data[0]).toBe(77);
  });

  it('decodes big-endian int16/int32/float32/float64 by hand', () => {
    const i16 = parseIdx(new Uint8Array([0, 0, 0x0b, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x02]));
    expect(i16.dtype).toBe('int16');
    expect(Array.from(i16.data)).toEqual([-2, 258]);
    const i32 = parseIdx(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 1, 0x80, 0, 0, 1]));
    expect(Array.from(i32.data)).toEqual([-2147483647]);
    const f32 = parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]));
    expect(Array.from(f32.data)).toEqual([1.5]);
    const f64 = parseIdx(new Uint8Array([0, 0, 0x0e, 1, 0, 0, 0, 1, 0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]));
    expect(f64.data[0]).toBeCloseTo(-Math.PI, 15);
    const i8 = parseIdx(new Uint8Array([0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x7f]));
    expect(Array.from(i8.data)).toEqual([-1, 127]);
  });

  it('parses a view at a non-zero, unaligned byte offset', () => {
    const enc = encodeIdx(new Float32Array([1, -2, 3.25]), [3]);
    const padded = new Uint8Array(enc.length + 3);
    padded.set(enc, 1);
    const r = parseIdx(padded.subarray(1, 1 + enc.length));
    expect(Array.from(r.data)).toEqual([1, -2, 3.25]);
  });

  it('round-trips every dtype through encodeIdx', () => {
    const cases = [
      new Uint8Array([0, 1, 255, 128, 7, 9]),
      new Int8Array([-128, 127, 0, 1, -1, 5]),
      new Int16Array([-32768, 32767, 0, 1, -1, 300]),
      new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 1, -1, 70000]),
      new Float32Array([0.5, -1e-7, 3e38, -0, Infinity, 2]),
      new Float64Array([Math.PI, -1e-300, 1e300, 0, -Infinity, 1 / 3]),
    ];
    for (const data of cases) {
      const r = parseIdx(encodeIdx(data, [2, 3]));
      expect(r.shape).toEqual([2, 3]);
      expect(r.data.constructor).toBe(data.constructor);
      expect(Array.from(r.data)).toEqual(Array.from(data));
    }
    expect(parseIdx(encodeIdx(new Float32Array([7]), [])).shape).toEqual([]);
  });

  it('names the file, the values found and what was expected in errors', () => {
    const good = encodeIdx(new Uint8Array(6), [2, 3]);
    expect(() => parseIdx(new Uint8Array([0, 1, 8, 1]), 'x.idx')).toThrow(
      /IDX file x\.idx: bad magic number: expected first two bytes 0x00 0x00, got 0x00 0x01/,
    );
    expect(() => parseIdx(gzipSync(good), 'g.idx')).toThrow(/g\.idx.*bad magic.*0x1f 0x8b.*gzip/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0]), 'y')).toThrow(
      /IDX file y: unknown element type code 0x0a; expected one of 0x08 \(uint8\)/,
    );
    expect(() => parseIdx(good.subarray(0, good.length - 2), 'train-images')).toThrow(
      'IDX file train-images: truncated data: shape [2, 3] of uint8 needs 18 bytes, got 16',
    );
    const extra = new Uint8Array(good.length + 5);
    extra.set(good);
    expect(() => parseIdx(extra, 'z')).toThrow(
      'IDX file z: 5 bytes of trailing garbage: shape [2, 3] of uint8 needs exactly 18 bytes, got 23',
    );
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), 'h')).toThrow(
      /truncated header: 3 dimensions need 16 header bytes, got 8/,
    );
    expect(() => parseIdx(new Uint8Array(2))).toThrow(/IDX data: too short.*expected at least 4 bytes, got 2/);
  });

  it('rejects bad encodeIdx arguments', () => {
    expect(() => encodeIdx(new Uint8Array(5), [2, 3])).toThrow('shape [2, 3] holds 6 elements but data has 5');
    expect(() => encodeIdx(new Uint8Array(0), [1.5])).toThrow(/has 1\.5; expected integers/);
    expect(() => encodeIdx([1, 2] as unknown as Uint8Array, [2])).toThrow(/data must be a Uint8Array.*got Array/);
    expect(() => encodeIdx(new Uint16Array(2) as unknown as Uint8Array, [2])).toThrow(/got Uint16Array/);
  });
});

describe('gunzip', () => {
  const plain = encodeIdx(new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251)), [10, 100]);
  const gz = gzipSync(plain);

  it('detects gzip by magic and passes plain bytes through', async () => {
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(plain)).toBe(false);
    expect(gunzipSync(plain)).toBe(plain);
    expect(await gunzip(plain)).toBe(plain);
  });

  it('decompresses with zlib and with DecompressionStream alike', async () => {
    expect(Buffer.from(gunzipSync(gz)).equals(Buffer.from(plain))).toBe(true);
    expect(Buffer.from(await gunzip(gz)).equals(Buffer.from(plain))).toBe(true);
  });

  it('names the file when the gzip stream is corrupt', async () => {
    const bad = new Uint8Array(gz);
    bad.fill(0xaa, 12, 40);
    expect(() => gunzipSync(bad, 'train-images-idx3-ubyte.gz')).toThrow(
      /^train-images-idx3-ubyte\.gz: corrupt gzip data \(\d+ bytes\)/,
    );
    await expect(gunzip(bad, 'a.gz')).rejects.toThrow(/^a\.gz: corrupt gzip data/);
    const cut = gz.subarray(0, gz.length - 20);
    expect(() => gunzipSync(cut, 'cut.gz')).toThrow(/^cut\.gz: corrupt gzip data/);
    await expect(gunzip(cut, 'cut.gz')).rejects.toThrow(/^cut\.gz: corrupt gzip data/);
  });
});
