// JPEG decoding for the CLI through the optional 'jpeg-js' package (pure JavaScript, baseline and
// progressive), imported on first use so that PNG-only users need not install it. The pixels are
// turned upright by the EXIF orientation tag, as viewers show them: phone photos are stored
// sideways with a tag saying so, and a classifier sees the stored pixels otherwise.

import { importOptional } from '../optional-module.js';
import type { RgbaImage } from './png.js';

interface JpegJs {
  decode(data: Uint8Array, opts: { useTArray: true; formatAsRGBA: true; maxResolutionInMP?: number; maxMemoryUsageInMB?: number }):
    { width: number; height: number; data: Uint8Array; exifBuffer?: Uint8Array };
}

export const JPEG_PACKAGE = 'jpeg-js';

export const isJpeg = (bytes: Uint8Array) => bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

/**
 * The EXIF orientation (1..8; 1 = upright) in an APP1 payload that jpeg-js returns (from the NUL
 * after "Exif"), or 1 when there is none or it cannot be read.
 */
export function exifOrientation(exif: Uint8Array | undefined): number {
  if (!exif) return 1;
  // The TIFF header: at 0, or at 1 after the second NUL of "Exif\0\0".
  const t = exif[0] === 0 ? 1 : 0;
  if (exif.length < t + 8) return 1;
  const le = exif[t] === 0x49 && exif[t + 1] === 0x49;
  if (!le && !(exif[t] === 0x4d && exif[t + 1] === 0x4d)) return 1;
  const u16 = (o: number) => (le ? exif[t + o]! | (exif[t + o + 1]! << 8) : (exif[t + o]! << 8) | exif[t + o + 1]!);
  const u32 = (o: number) => (le ? (u16(o) | (u16(o + 2) << 16)) >>> 0 : ((u16(o) << 16) | u16(o + 2)) >>> 0);
  const ifd = u32(4);
  if (t + ifd + 2 > exif.length) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (t + e + 12 > exif.length) return 1;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** The RGBA image turned by an EXIF orientation: 2..4 flip or rotate by 180°, 5..8 also swap the axes. */
export function applyOrientation(img: RgbaImage, orientation: number): RgbaImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w, oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  // One 32-bit word per pixel (a Uint32Array view needs a 4-byte aligned start).
  const src = data.byteOffset % 4 === 0 ? data : data.slice();
  const src32 = new Uint32Array(src.buffer, src.byteOffset, w * h), dst32 = new Uint32Array(out.buffer);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // (sx, sy): the stored pixel shown at (x, y).
      let sx: number, sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break;
      }
      dst32[y * ow + x] = src32[sy * w + sx]!;
    }
  }
  return { width: ow, height: oh, data: out };
}

/** Decodes a JPEG to upright 8-bit RGBA with jpeg-js (installed on demand: an Error says how). */
export async function decodeJpeg(bytes: Uint8Array, name = 'JPEG', pkg = JPEG_PACKAGE): Promise<RgbaImage> {
  const mod = await importOptional<JpegJs & { default?: JpegJs }>(pkg, `decoding the JPEG ${name}`, 'a pure-JavaScript JPEG decoder');
  const jpeg = typeof mod.decode === 'function' ? mod : mod.default!;
  let img: ReturnType<JpegJs['decode']>;
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 200, maxMemoryUsageInMB: 2048 });
  } catch (err) {
    throw new Error(`${name}: cannot decode the JPEG: ${(err as Error).message}`, { cause: err });
  }
  if (!(img.width >= 1 && img.height >= 1) || img.data.length !== img.width * img.height * 4) {
    throw new Error(`${name}: corrupt JPEG: decoded to ${img.width}×${img.height} with ${img.data.length} bytes`);
  }
  return applyOrientation({ width: img.width, height: img.height, data: img.data }, exifOrientation(img.exifBuffer));
}
