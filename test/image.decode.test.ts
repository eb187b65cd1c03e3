// Images in, for the CLI's image path: PNG to RGBA (every colour type, transparency kept), JPEG
// through the optional jpeg-js (made here with jpeg-js' own encoder), EXIF orientation, the error
// when the JPEG package is absent (a package name that is really not installed), and resizeArea
// over interleaved channels.
import { describe, expect, it } from 'vitest';
import { deflateSync } from 'node:zlib';
import jpegJs from 'jpeg-js';
import { decodePng, decodePngRgba, encodePng, resizeArea } from '../src/image/png.js';
import { applyOrientation, decodeJpeg, exifOrientation } from '../src/image/jpeg.js';
import { importOptional } from '../src/optional-module.js';

// A minimal PNG writer (filter 0, zlib), independent of the decoder under test.
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) { c ^= x; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w: number, h: number, colorType: number, depth: number, rows: number[][], extra: [string, number[]][] = []): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = depth; ihdr[9] = colorType;
  const raw = Uint8Array.from(rows.flatMap((r) => [0, ...r]));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, Uint8Array.from(d))), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
const rgba = async (bytes: Uint8Array) => Array.from((await decodePngRgba(bytes)).data);

describe('decodePngRgba', () => {
  it('every colour type and depth to 8-bit RGBA, alpha and tRNS kept', async () => {
    expect(await rgba(png(2, 1, 2, 8, [[255, 0, 0, 10, 200, 30]]))).toEqual([255, 0, 0, 255, 10, 200, 30, 255]);
    expect(await rgba(png(2, 1, 6, 8, [[1, 2, 3, 0, 4, 5, 6, 128]]))).toEqual([1, 2, 3, 0, 4, 5, 6, 128]);
    expect(await rgba(png(2, 1, 4, 8, [[100, 255, 7, 9]]))).toEqual([100, 100, 100, 255, 7, 7, 7, 9]);
    // 16-bit keeps the high byte; the tRNS key is matched at full depth (0x1234 is the key, 0x1235 is not).
    expect(await rgba(png(2, 1, 0, 16, [[0x12, 0x34, 0x12, 0x35]], [['tRNS', [0x12, 0x34]]]))).toEqual([0x12, 0x12, 0x12, 0, 0x12, 0x12, 0x12, 255]);
    expect(await rgba(png(2, 1, 2, 8, [[9, 8, 7, 9, 8, 6]], [['tRNS', [0, 9, 0, 8, 0, 7]]]))).toEqual([9, 8, 7, 0, 9, 8, 6, 255]);
    // 2-bit gray stretches 0..3 to 0..255.
    expect(await rgba(png(4, 1, 0, 2, [[0b00011011]]))).toEqual([0, 0, 0, 255, 85, 85, 85, 255, 170, 170, 170, 255, 255, 255, 255, 255]);
    // 1-bit palette with a tRNS alpha per entry.
    expect(await rgba(png(3, 1, 3, 1, [[0b01000000]], [['PLTE', [10, 20, 30, 40, 50, 60]], ['tRNS', [77]]]))).toEqual([10, 20, 30, 77, 40, 50, 60, 255, 10, 20, 30, 77]);
  });

  it('agrees with the grayscale decoder (luma over white) and with encodePng round trips', async () => {
    const w = 6, h = 4;
    const px = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 53 + 17) & 255);
    const bytes = encodePng(px, w, h, 4);
    const c = await decodePngRgba(bytes);
    expect([c.width, c.height]).toEqual([w, h]);
    expect(Array.from(c.data)).toEqual(Array.from(px));
    const g = await decodePng(bytes);
    for (let i = 0; i < w * h; i++) {
      const a = px[i * 4 + 3]!;
      const l = 0.299 * px[i * 4]! + 0.587 * px[i * 4 + 1]! + 0.114 * px[i * 4 + 2]!;
      expect(g.data[i]).toBe(Math.round((l * a + 255 * (255 - a)) / 255));
    }
  });
});

describe('decodeJpeg (jpeg-js, optional)', () => {
  // Four flat quadrants: JPEG keeps flat areas nearly exact, so pixel positions can be checked.
  const W = 32, H = 16;
  const quad = (x: number, y: number) => (y < H / 2 ? (x < W / 2 ? [230, 20, 20] : [20, 230, 20]) : (x < W / 2 ? [20, 20, 230] : [230, 230, 20]));
  const source = Uint8Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? 255 : quad((i >> 2) % W, Math.floor((i >> 2) / W))[i % 4]!));
  const jpeg = new Uint8Array(jpegJs.encode({ data: source, width: W, height: H }, 95).data);

  it('decodes to RGBA close to what was encoded', async () => {
    const img = await decodeJpeg(jpeg, 'quadrants.jpg');
    expect([img.width, img.height]).toEqual([W, H]);
    let err = 0;
    for (let i = 0; i < source.length; i++) err += Math.abs(img.data[i]! - source[i]!);
    expect(err / source.length).toBeLessThan(3);
    for (let i = 3; i < img.data.length; i += 4) expect(img.data[i]).toBe(255);
  });

  it('applies the EXIF orientation (6: stored rotated, shown turned 90° clockwise)', async () => {
    // An APP1 "Exif\0\0" segment, little-endian TIFF, one IFD entry: Orientation (0x0112) SHORT 1 = 6.
    const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
    const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
    const withExif = Uint8Array.from([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
    const img = await decodeJpeg(withExif, 'rotated.jpg');
    expect([img.width, img.height]).toEqual([H, W]);
    // Shown after a clockwise turn: the stored bottom-left (blue) is at the top left, the stored top-left (red) at the top right.
    const at = (x: number, y: number) => Array.from(img.data.subarray((y * H + x) * 4, (y * H + x) * 4 + 3));
    const near = (a: number[], b: number[]) => a.every((v, k) => Math.abs(v - b[k]!) <= 12);
    expect(near(at(2, 2), [20, 20, 230]), `top-left ${at(2, 2)}`).toBe(true);
    expect(near(at(H - 3, 2), [230, 20, 20]), `top-right ${at(H - 3, 2)}`).toBe(true);
    expect(near(at(2, W - 3), [230, 230, 20]), `bottom-left ${at(2, W - 3)}`).toBe(true);
    expect(near(at(H - 3, W - 3), [20, 230, 20]), `bottom-right ${at(H - 3, W - 3)}`).toBe(true);
    expect(exifOrientation(Uint8Array.from([0, ...tiff]))).toBe(6);
    expect(exifOrientation(undefined)).toBe(1);
    expect(exifOrientation(Uint8Array.from([0, 1, 2]))).toBe(1);
  });

  it('applyOrientation: the eight EXIF orientations as flips and quarter turns', () => {
    // 3×2 image, pixel value = its index (one byte per pixel, in the red channel).
    const w = 3, h = 2;
    const img = { width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 0 ? i / 4 : 0)) };
    const grid = (o: number) => {
      const r = applyOrientation(img, o);
      return Array.from({ length: r.height }, (_, y) => Array.from({ length: r.width }, (_, x) => r.data[(y * r.width + x) * 4]));
    };
    expect(grid(1)).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(grid(2)).toEqual([[2, 1, 0], [5, 4, 3]]); // mirrored
    expect(grid(3)).toEqual([[5, 4, 3], [2, 1, 0]]); // 180°
    expect(grid(4)).toEqual([[3, 4, 5], [0, 1, 2]]); // flipped vertically
    expect(grid(5)).toEqual([[0, 3], [1, 4], [2, 5]]); // transposed
    expect(grid(6)).toEqual([[3, 0], [4, 1], [5, 2]]); // 90° clockwise
    expect(grid(7)).toEqual([[5, 2], [4, 1], [3, 0]]); // transverse
    expect(grid(8)).toEqual([[2, 5], [1, 4], [0, 3]]); // 90° counter-clockwise
  });

  it('a corrupt JPEG is an Error naming the file', async () => {
    await expect(decodeJpeg(jpeg.subarray(0, 40), 'cut.jpg')).rejects.toThrow(/^cut\.jpg: cannot decode the JPEG: /);
  });

  it('without the package: an Error that says to npm install it', async () => {
    // A package name that is not installed, through the same lazy import the real one goes through.
    const absent = 'simdcnn-test-absent-jpeg-decoder';
    await expect(decodeJpeg(jpeg, 'photo.jpg', absent)).rejects.toThrow(
      `decoding the JPEG photo.jpg needs the optional package '${absent}' (a pure-JavaScript JPEG decoder), which is not installed; install it with: npm install ${absent}`);
    await expect(importOptional(absent, "setBackend('webgpu')", 'in Node, WebGPU comes from Dawn')).rejects.toThrow(`install it with: npm install ${absent}`);
  });
});

describe('resizeArea over channels', () => {
  it('averages each channel on its own (2×2 blocks → their means)', () => {
    const src = Uint8Array.from([10, 100, 20, 110, 30, 0, 40, 0, /* row 2 */ 50, 200, 60, 210, 70, 0, 80, 0]);
    // 4×2 two-channel image → 2×1.
    expect(Array.from(resizeArea(src, 4, 2, 2, 1, 2))).toEqual([35, 155, 55, 0]);
    expect(() => resizeArea(src, 4, 2, 2, 1, 3)).toThrow('resizeArea: source has 16 bytes, expected 4x2x3 = 24');
  });
});
