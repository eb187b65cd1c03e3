import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { deflateSync, gunzipSync, inflateSync } from 'node:zlib';
import { parseIdx } from '../src/data/idx.js';
import { decodePng, decodePngWith, encodePng, prepareMnistDigit, resizeArea, type GrayImage } from '../src/image/png.js';

// An independent PNG writer for the tests: real zlib compression, every filter type in turn
// (row y uses filter y % 5), any colour type / bit depth, optional PLTE/tRNS, CRCs by zlib's crc32.
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
function writePng(o: { w: number; h: number; colorType: number; depth: number; rows: Uint8Array[]; plte?: number[]; trns?: number[]; interlace?: number; idat?: Uint8Array }): Uint8Array {
  const bpp = Math.max(1, ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[o.colorType]! * o.depth / 8);
  const filtered: number[] = [];
  o.rows.forEach((row, y) => {
    const ft = y % 5;
    const prev = y > 0 ? o.rows[y - 1]! : new Uint8Array(row.length);
    filtered.push(ft);
    for (let x = 0; x < row.length; x++) {
      const a = x >= bpp ? row[x - bpp]! : 0, b = prev[x]!, c = x >= bpp ? prev[x - bpp]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][ft]!;
      filtered.push((row[x]! - pred) & 255);
    }
  });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.w, 0); ihdr.writeUInt32BE(o.h, 4);
  ihdr[8] = o.depth; ihdr[9] = o.colorType; ihdr[12] = o.interlace ?? 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from('Comment\0ancillary chunks are skipped')),
    ...(o.plte ? [chunk('PLTE', Uint8Array.from(o.plte))] : []),
    ...(o.trns ? [chunk('tRNS', Uint8Array.from(o.trns))] : []),
    ...(o.idat ? [chunk('IDAT', o.idat)] : [
      chunk('IDAT', deflateSync(Uint8Array.from(filtered)).subarray(0, 7)),
      chunk('IDAT', deflateSync(Uint8Array.from(filtered)).subarray(7)),
    ]),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
const luma = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);

describe('decodePng', () => {
  it('decodes 8-bit grayscale with every filter type, identically with zlib and DecompressionStream', async () => {
    const w = 7, h = 10;
    const px = new Uint8Array(w * h).map((_, i) => (i * 37 + (i >> 3) * 11) & 255);
    const rows = Array.from({ length: h }, (_, y) => px.subarray(y * w, (y + 1) * w));
    const png = writePng({ w, h, colorType: 0, depth: 8, rows });
    const a = await decodePng(png);
    expect([a.width, a.height]).toEqual([w, h]);
    expect(Array.from(a.data)).toEqual(Array.from(px));
    const b = decodePngWith(png, (z) => inflateSync(z));
    expect(Array.from(b.data)).toEqual(Array.from(px));
  });

  it('converts RGB, RGBA (over white), gray+alpha, 16-bit and palette with transparency', async () => {
    const rgb = await decodePng(writePng({ w: 2, h: 1, colorType: 2, depth: 8, rows: [Uint8Array.from([255, 0, 0, 10, 200, 30])] }));
    expect(Array.from(rgb.data)).toEqual([luma(255, 0, 0), luma(10, 200, 30)]);
    const rgba = await decodePng(writePng({ w: 3, h: 1, colorType: 6, depth: 8, rows: [Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128])] }));
    expect(Array.from(rgba.data)).toEqual([0, 255, 127]);
    const ga = await decodePng(writePng({ w: 2, h: 1, colorType: 4, depth: 8, rows: [Uint8Array.from([100, 255, 100, 0])] }));
    expect(Array.from(ga.data)).toEqual([100, 255]);
    const rgb16 = await decodePng(writePng({ w: 1, h: 2, colorType: 2, depth: 16, rows: [Uint8Array.from([0x12, 0x34, 0x80, 0, 0xff, 0xff]), Uint8Array.from([0, 0, 0, 0, 0, 1])] }));
    expect(Array.from(rgb16.data)).toEqual([luma(0x12, 0x80, 0xff), 0]);
    const pal = await decodePng(writePng({
      w: 5, h: 1, colorType: 3, depth: 4, rows: [Uint8Array.from([0x01, 0x23, 0x40])],
      plte: [0, 0, 0, 255, 255, 255, 0, 0, 255, 90, 90, 90, 200, 100, 50], trns: [255, 255, 255, 0],
    }));
    expect(Array.from(pal.data)).toEqual([0, 255, luma(0, 0, 255), 255, luma(200, 100, 50)]);
    const bits = await decodePng(writePng({ w: 10, h: 1, colorType: 0, depth: 1, rows: [Uint8Array.from([0b10110000, 0b01000000])] }));
    expect(Array.from(bits.data)).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
    const two = await decodePng(writePng({ w: 4, h: 1, colorType: 0, depth: 2, rows: [Uint8Array.from([0b00011011])] }));
    expect(Array.from(two.data)).toEqual([0, 85, 170, 255]);
  });

  it('round-trips its own encoder for gray, RGB and RGBA', async () => {
    const g = new Uint8Array(300 * 250).map((_, i) => (i * 7) & 255); // > 65535 bytes: several stored blocks
    const dg = await decodePng(encodePng(g, 300, 250));
    expect([dg.width, dg.height]).toEqual([300, 250]);
    expect(Buffer.from(dg.data).equals(Buffer.from(g))).toBe(true);
    // zlib agrees the stored stream is valid.
    expect(decodePngWith(encodePng(g, 300, 250), (z) => inflateSync(z)).data[299]).toBe(g[299]);
    const rgb = await decodePng(encodePng(Uint8Array.from([255, 0, 0, 0, 255, 0]), 2, 1, 3));
    expect(Array.from(rgb.data)).toEqual([luma(255, 0, 0), luma(0, 255, 0)]);
    const rgba = await decodePng(encodePng(Uint8Array.from([9, 9, 9, 255, 9, 9, 9, 0]), 2, 1, 4));
    expect(Array.from(rgba.data)).toEqual([9, 255]);
    expect(() => encodePng(new Uint8Array(5), 2, 2)).toThrow('encodePng: expected 2x2x1 = 4 bytes, got 5');
  });

  it('rejects non-PNG, unsupported and corrupt files, naming the file', async () => {
    const good = writePng({ w: 2, h: 2, colorType: 0, depth: 8, rows: [Uint8Array.from([1, 2]), Uint8Array.from([3, 4])] });
    await expect(decodePng(new TextEncoder().encode('GIF89a...'), 'a.gif')).rejects.toThrow(
      'a.gif: not a PNG file: expected signature 89 50 4e 47 0d 0a 1a 0a, got 47 49 46 38 39 61 2e 2e',
    );
    await expect(decodePng(writePng({ w: 1, h: 1, colorType: 2, depth: 8, rows: [new Uint8Array(3)], interlace: 1 }), 'i.png'))
      .rejects.toThrow('i.png: interlaced (Adam7) PNGs are not supported; save it non-interlaced');
    await expect(decodePng(writePng({ w: 1, h: 1, colorType: 2, depth: 4, rows: [new Uint8Array(2)] }), 'd.png'))
      .rejects.toThrow('d.png: bit depth 4 is invalid for RGB PNGs; expected one of 8, 16');
    await expect(decodePng(writePng({ w: 1, h: 1, colorType: 5, depth: 8, rows: [new Uint8Array(1)] }), 'c.png'))
      .rejects.toThrow('c.png: unsupported PNG color type 5; expected 0, 2, 3, 4 or 6');
    const flipped = new Uint8Array(good);
    flipped[20] = flipped[20]! ^ 1; // inside IHDR
    await expect(decodePng(flipped, 'crc.png')).rejects.toThrow(/^crc\.png: corrupt PNG: CRC of chunk IHDR at offset 8 is [0-9a-f]+, computed [0-9a-f]+$/);
    await expect(decodePng(good.subarray(0, good.length - 20), 't.png')).rejects.toThrow(/^t\.png: truncated PNG: chunk /);
    await expect(decodePng(good.subarray(0, good.length - 12), 'e.png')).rejects.toThrow('e.png: truncated PNG: no IEND chunk');
    // Valid chunks, but the image data is short, or not a zlib stream at all.
    const short = writePng({ w: 2, h: 2, colorType: 0, depth: 8, rows: [] });
    await expect(decodePng(short, 'z.png')).rejects.toThrow(/^z\.png: truncated PNG image data: 2x2 needs 6 bytes, got 0$/);
    const junk = writePng({ w: 2, h: 2, colorType: 0, depth: 8, rows: [], idat: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
    await expect(decodePng(junk, 'j.png')).rejects.toThrow(/^j\.png: corrupt PNG image data: /);
    expect(() => decodePngWith(junk, (z) => inflateSync(z), 'j.png')).toThrow(/^j\.png: corrupt PNG image data: /);
    const noPal = writePng({ w: 1, h: 1, colorType: 3, depth: 8, rows: [new Uint8Array(1)] });
    await expect(decodePng(noPal, 'p.png')).rejects.toThrow('p.png: corrupt PNG: palette image without PLTE chunk');
  });
});

describe('resizeArea / prepareMnistDigit', () => {
  it('averages areas exactly when shrinking by integer and fractional factors', () => {
    expect(Array.from(resizeArea(Uint8Array.from([0, 100, 200, 40]), 2, 2, 1, 1))).toEqual([85]);
    // 3 -> 2: output 0 covers source 0 fully and half of source 1.
    expect(Array.from(resizeArea(Uint8Array.from([30, 90, 150]), 3, 1, 2, 1))).toEqual([50, 130]);
    expect(Array.from(resizeArea(Uint8Array.from([10, 20]), 2, 1, 4, 1))).toEqual([10, 10, 20, 20]);
    const flat = resizeArea(new Uint8Array(97 * 53).fill(77), 97, 53, 28, 28);
    expect(flat.every((v) => v === 77)).toBe(true);
    expect(() => resizeArea(new Uint8Array(3), 2, 2, 1, 1)).toThrow('resizeArea: source has 3 bytes, expected 2x2 = 4');
  });

  // A dark "1"-like bar on white paper, off-centre in a 100x80 image.
  function paper(): GrayImage {
    const w = 100, h = 80, d = new Uint8Array(w * h).fill(240);
    for (let y = 10; y < 50; y++) for (let x = 10; x < 18; x++) d[y * w + x] = 20;
    return { width: w, height: h, data: d };
  }

  it('inverts light backgrounds and centres the digit by mass in a 20x20 box', () => {
    const out = prepareMnistDigit(paper());
    expect(out.length).toBe(784);
    let m = 0, mx = 0, my = 0, x0 = 28, x1 = -1, y0 = 28, y1 = -1;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const v = out[y * 28 + x]!;
      m += v; mx += v * x; my += v * y;
      if (v > 50) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    expect(y1 - y0 + 1).toBe(20); // the 40-px tall stroke now spans 20 px
    expect(x1 - x0 + 1).toBe(4);
    expect(Math.abs(mx / m - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(my / m - 13.5)).toBeLessThanOrEqual(0.5);
    expect(out[0]).toBe(0); // background is black after inversion
    expect(Math.max(...out)).toBe(255); // contrast stretched: grey paper 240 / ink 20 -> 0 / 255
  });

  it('keeps dark backgrounds, supports plain resizing and blank images', () => {
    const dark = { width: 56, height: 56, data: new Uint8Array(56 * 56) };
    dark.data.fill(255, 56 * 20, 56 * 22);
    const plain = prepareMnistDigit(dark, { center: false });
    expect(plain[10 * 28 + 5]).toBe(255);
    expect(plain[0]).toBe(0);
    expect(prepareMnistDigit({ width: 10, height: 10, data: new Uint8Array(100).fill(255) }).every((v) => v === 0)).toBe(true);
    const forced = prepareMnistDigit({ width: 28, height: 28, data: new Uint8Array(784).fill(10) }, { invert: true, center: false, normalize: false });
    expect(forced.every((v) => v === 245)).toBe(true);
    // Grey paper with a mid-grey stroke, not centred: background 0, stroke 255.
    const grey = { width: 28, height: 28, data: new Uint8Array(784).fill(200) };
    grey.data.fill(100, 28 * 14, 28 * 15);
    const n = prepareMnistDigit(grey, { center: false });
    expect([n[0], n[14 * 28 + 3]]).toEqual([0, 255]);
  });

  it('leaves a real MNIST digit almost unchanged', async () => {
    const gz = readFileSync(new URL('../../shared/mnist/t10k-images-idx3-ubyte.gz', import.meta.url));
    const digit = parseIdx(gunzipSync(gz)).data.subarray(0, 784) as Uint8Array; // the first test digit, a 7
    const png = encodePng(digit, 28, 28);
    const img = await decodePng(png, 'digit.png');
    expect(Buffer.from(img.data).equals(Buffer.from(digit))).toBe(true);
    const again = prepareMnistDigit(img);
    let diff = 0;
    for (let i = 0; i < 784; i++) diff += Math.abs(again[i]! - digit[i]!);
    expect(diff / 784).toBeLessThan(25); // same digit, re-fitted to its 20x20 box: small changes only
  });
});
