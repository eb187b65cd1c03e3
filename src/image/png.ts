// Minimal PNG support for feeding user images to an MNIST model, without dependencies or node:
// imports (so it also runs in browsers):
//  - decode: 8-bit (and 1/2/4/16-bit) grayscale, RGB, palette, gray+alpha and RGBA, non-interlaced,
//    to 8-bit grayscale (transparent pixels composited over white, as viewers show them) or to
//    8-bit RGBA (alpha kept: what a canvas' getImageData gives, so fromPixels can take it).
//  - MNIST-style preparation: invert light-background images, crop to the digit, scale it into a
//    20x20 box and centre it by its centre of mass in 28x28, as the MNIST images were made.
//  - encode: grayscale / RGB / RGBA, uncompressed (stored deflate blocks), for tests and dumps.

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major 8-bit luminance, width*height bytes. */
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  palette?: Uint8Array;
  /** tRNS: per-palette-entry alpha, or the transparent gray / RGB key. */
  trns?: Uint8Array;
  idat: Uint8Array;
}

const COLOR_TYPES: Record<number, { name: string; channels: number; depths: number[] }> = {
  0: { name: 'grayscale', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grayscale+alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

/** Walk the chunks, checking structure and CRCs; the zlib stream is returned still compressed. */
function readChunks(bytes: Uint8Array, what: string): PngInfo {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${what}: not a PNG file: expected signature 89 50 4e 47 0d 0a 1a 0a, got ${head || 'no bytes'}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let ihdr: Omit<PngInfo, 'idat'> | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (pos < bytes.length && !sawEnd) {
    if (pos + 12 > bytes.length) throw new Error(`${what}: truncated PNG: chunk header at byte ${pos} is cut off`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const dataStart = pos + 8;
    const end = dataStart + len;
    if (end + 4 > bytes.length) {
      throw new Error(`${what}: truncated PNG: chunk ${type} needs ${len + 12} bytes at offset ${pos}, file has ${bytes.length - pos} left`);
    }
    const crc = view.getUint32(end);
    const actual = crc32(bytes, pos + 4, end);
    if (crc !== actual) {
      throw new Error(`${what}: corrupt PNG: CRC of chunk ${type} at offset ${pos} is ${crc.toString(16)}, computed ${actual.toString(16)}`);
    }
    const data = bytes.subarray(dataStart, end);
    if (type === 'IHDR') {
      if (len !== 13) throw new Error(`${what}: bad IHDR length ${len}, expected 13`);
      const width = view.getUint32(dataStart), height = view.getUint32(dataStart + 4);
      const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8, 13) as unknown as number[];
      const ct = COLOR_TYPES[colorType!];
      if (ct === undefined) throw new Error(`${what}: unsupported PNG color type ${colorType}; expected 0, 2, 3, 4 or 6`);
      if (!ct.depths.includes(bitDepth!)) {
        throw new Error(`${what}: bit depth ${bitDepth} is invalid for ${ct.name} PNGs; expected one of ${ct.depths.join(', ')}`);
      }
      if (compression !== 0 || filter !== 0) {
        throw new Error(`${what}: unsupported PNG compression method ${compression} / filter method ${filter}; expected 0 / 0`);
      }
      if (interlace !== 0) throw new Error(`${what}: interlaced (Adam7) PNGs are not supported; save it non-interlaced`);
      if (width === 0 || height === 0) throw new Error(`${what}: PNG has zero size ${width}x${height}`);
      if (width * height > 1 << 28) throw new Error(`${what}: PNG of ${width}x${height} pixels is too large`);
      ihdr = { width, height, bitDepth: bitDepth!, colorType: colorType! };
    } else if (ihdr === undefined) {
      throw new Error(`${what}: corrupt PNG: first chunk is ${type}, expected IHDR`);
    } else if (type === 'PLTE') {
      ihdr.palette = data;
    } else if (type === 'tRNS') {
      ihdr.trns = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      sawEnd = true;
    } else if ((bytes[pos + 4]! & 0x20) === 0) {
      // Upper-case first letter: a critical chunk we do not know, so we cannot decode correctly.
      throw new Error(`${what}: unsupported critical PNG chunk ${type}`);
    }
    pos = end + 4;
  }
  if (ihdr === undefined) throw new Error(`${what}: corrupt PNG: no IHDR chunk`);
  if (!sawEnd) throw new Error(`${what}: truncated PNG: no IEND chunk`);
  if (idat.length === 0) throw new Error(`${what}: corrupt PNG: no IDAT chunk`);
  if (ihdr.colorType === 3 && ihdr.palette === undefined) throw new Error(`${what}: corrupt PNG: palette image without PLTE chunk`);
  const total = idat.reduce((s, c) => s + c.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of idat) {
    all.set(c, o);
    o += c.length;
  }
  return { ...ihdr, idat: all };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undo the per-row filters in place; returns the raw scanlines without filter bytes. */
function unfilter(raw: Uint8Array, info: PngInfo, what: string): Uint8Array {
  const bitsPerPixel = COLOR_TYPES[info.colorType]!.channels * info.bitDepth;
  const stride = Math.ceil((info.width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const need = (stride + 1) * info.height;
  if (raw.length < need) {
    throw new Error(`${what}: truncated PNG image data: ${info.width}x${info.height} needs ${need} bytes, got ${raw.length}`);
  }
  const out = new Uint8Array(stride * info.height);
  for (let y = 0; y < info.height; y++) {
    const ft = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const v = raw[src + x]!;
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp]! : 0;
      let r: number;
      switch (ft) {
        case 0: r = v; break;
        case 1: r = v + a; break;
        case 2: r = v + b; break;
        case 3: r = v + ((a + b) >> 1); break;
        case 4: r = v + paeth(a, b, c); break;
        default: throw new Error(`${what}: corrupt PNG: row ${y} has filter type ${ft}, expected 0..4`);
      }
      out[row + x] = r & 0xff;
    }
  }
  return out;
}

/** 8-bit RGBA, row-major, 4·width·height bytes: the layout of ImageData (fromPixels takes it as is). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Every pixel as 8-bit RGBA. Low bit depths stretch to 0..255 (a 1-bit 1 is 255), 16-bit keeps the
 * high byte; a tRNS key colour (matched at full depth) gets alpha 0, tRNS palette entries their alpha.
 */
function toRgba(px: Uint8Array, info: PngInfo): Uint8Array {
  const { width, height, bitDepth, colorType } = info;
  const channels = COLOR_TYPES[colorType]!.channels;
  const stride = Math.ceil((width * channels * bitDepth) / 8);
  const out = new Uint8Array(width * height * 4);
  const lowMax = (1 << bitDepth) - 1;
  const sample = (y: number, i: number): number => {
    if (bitDepth === 8) return px[y * stride + i]!;
    if (bitDepth === 16) return px[y * stride + 2 * i]!;
    const perByte = 8 / bitDepth;
    const byte = px[y * stride + Math.floor(i / perByte)]!;
    return (byte >> (8 - bitDepth * ((i % perByte) + 1))) & lowMax;
  };
  // A sample at its full depth, for comparing with a tRNS key.
  const full = (y: number, i: number) => (bitDepth === 16 ? (px[y * stride + 2 * i]! << 8) | px[y * stride + 2 * i + 1]! : sample(y, i));
  const trns = info.trns;
  const key = (k: number) => (trns![2 * k]! << 8) | trns![2 * k + 1]!;
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 4) {
      let r: number, g: number, b: number, a = 255;
      switch (colorType) {
        case 0: {
          const s = sample(y, x);
          r = g = b = bitDepth < 8 ? Math.round((s * 255) / lowMax) : s;
          if (trns && trns.length >= 2 && full(y, x) === key(0)) a = 0;
          break;
        }
        case 2:
          r = sample(y, 3 * x); g = sample(y, 3 * x + 1); b = sample(y, 3 * x + 2);
          if (trns && trns.length >= 6 && full(y, 3 * x) === key(0) && full(y, 3 * x + 1) === key(1) && full(y, 3 * x + 2) === key(2)) a = 0;
          break;
        case 3: {
          const idx = sample(y, x);
          const pal = info.palette!;
          if (3 * idx + 2 >= pal.length) throw new Error(`palette index ${idx} outside the ${pal.length / 3}-entry palette`);
          r = pal[3 * idx]!; g = pal[3 * idx + 1]!; b = pal[3 * idx + 2]!;
          if (trns && idx < trns.length) a = trns[idx]!;
          break;
        }
        case 4:
          r = g = b = sample(y, 2 * x);
          a = sample(y, 2 * x + 1);
          break;
        default:
          r = sample(y, 4 * x); g = sample(y, 4 * x + 1); b = sample(y, 4 * x + 2);
          a = sample(y, 4 * x + 3);
      }
      out[o] = r; out[o + 1] = g; out[o + 2] = b; out[o + 3] = a;
    }
  }
  return out;
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
/** Composite gray `v` with alpha `a` (0..255) over white. */
const overWhite = (v: number, a: number) => (v * a + 255 * (255 - a)) / 255;

function toGray(px: Uint8Array, info: PngInfo): Uint8Array {
  const { width, height, bitDepth, colorType } = info;
  const channels = COLOR_TYPES[colorType]!.channels;
  const stride = Math.ceil((width * channels * bitDepth) / 8);
  const out = new Uint8Array(width * height);
  // Sample value `i` of row `y`, scaled to 0..255 (16-bit keeps the high byte; low depths stretch).
  const sample = (y: number, i: number): number => {
    if (bitDepth === 8) return px[y * stride + i]!;
    if (bitDepth === 16) return px[y * stride + 2 * i]!;
    const perByte = 8 / bitDepth;
    const byte = px[y * stride + Math.floor(i / perByte)]!;
    const shift = 8 - bitDepth * ((i % perByte) + 1);
    return (byte >> shift) & ((1 << bitDepth) - 1);
  };
  const raw16 = (y: number, i: number) => (px[y * stride + 2 * i]! << 8) | px[y * stride + 2 * i + 1]!;
  const lowMax = (1 << bitDepth) - 1;
  const trns = info.trns;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v: number;
      switch (colorType) {
        case 0: {
          const s = sample(y, x);
          v = bitDepth < 8 ? (s * 255) / lowMax : s;
          if (trns && trns.length >= 2) {
            const key = (trns[0]! << 8) | trns[1]!;
            const full = bitDepth === 16 ? raw16(y, x) : s;
            if (full === key) v = 255;
          }
          break;
        }
        case 2: {
          v = luma(sample(y, 3 * x), sample(y, 3 * x + 1), sample(y, 3 * x + 2));
          if (trns && trns.length >= 6) {
            const full = bitDepth === 16
              ? [raw16(y, 3 * x), raw16(y, 3 * x + 1), raw16(y, 3 * x + 2)]
              : [sample(y, 3 * x), sample(y, 3 * x + 1), sample(y, 3 * x + 2)];
            if (full.every((c, k) => c === ((trns[2 * k]! << 8) | trns[2 * k + 1]!))) v = 255;
          }
          break;
        }
        case 3: {
          const idx = sample(y, x);
          const pal = info.palette!;
          if (3 * idx + 2 >= pal.length) throw new Error(`palette index ${idx} outside the ${pal.length / 3}-entry palette`);
          v = luma(pal[3 * idx]!, pal[3 * idx + 1]!, pal[3 * idx + 2]!);
          if (trns && idx < trns.length) v = overWhite(v, trns[idx]!);
          break;
        }
        case 4:
          v = overWhite(sample(y, 2 * x), sample(y, 2 * x + 1));
          break;
        default:
          v = overWhite(luma(sample(y, 4 * x), sample(y, 4 * x + 1), sample(y, 4 * x + 2)), sample(y, 4 * x + 3));
      }
      out[y * width + x] = Math.round(v);
    }
  }
  return out;
}

function decodeWith(bytes: Uint8Array, inflate: (zlib: Uint8Array) => Uint8Array, name: string | undefined,
  convert: (px: Uint8Array, info: PngInfo) => Uint8Array): { width: number; height: number; data: Uint8Array } {
  const what = name ?? 'PNG';
  const info = readChunks(bytes, what);
  let raw: Uint8Array;
  try {
    raw = inflate(info.idat);
  } catch (err) {
    throw new Error(`${what}: corrupt PNG image data: ${(err as Error).message}`, { cause: err });
  }
  try {
    return { width: info.width, height: info.height, data: convert(unfilter(raw, info, what), info) };
  } catch (err) {
    if ((err as Error).message.startsWith(what)) throw err;
    throw new Error(`${what}: corrupt PNG: ${(err as Error).message}`, { cause: err });
  }
}

/** Decode with a caller-supplied zlib inflater (e.g. node:zlib inflateSync) — synchronous. */
export function decodePngWith(bytes: Uint8Array, inflate: (zlib: Uint8Array) => Uint8Array, name?: string): GrayImage {
  return decodeWith(bytes, inflate, name, toGray);
}

/** decodePngWith, to 8-bit RGBA. */
export function decodePngRgbaWith(bytes: Uint8Array, inflate: (zlib: Uint8Array) => Uint8Array, name?: string): RgbaImage {
  return decodeWith(bytes, inflate, name, toRgba);
}

/** Inflate a zlib stream with the platform DecompressionStream('deflate'). */
export async function inflateZlib(zlib: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(zlib)]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decode a PNG to 8-bit grayscale (browsers and Node). `name` is used in error messages. */
export async function decodePng(bytes: Uint8Array, name?: string): Promise<GrayImage> {
  const what = name ?? 'PNG';
  const info = readChunks(bytes, what);
  let raw: Uint8Array;
  try {
    raw = await inflateZlib(info.idat);
  } catch (err) {
    throw new Error(`${what}: corrupt PNG image data: ${(err as Error).message}`, { cause: err });
  }
  return decodePngWith(bytes, () => raw, name);
}

/** Decode a PNG to 8-bit RGBA (browsers and Node). `name` is used in error messages. */
export async function decodePngRgba(bytes: Uint8Array, name?: string): Promise<RgbaImage> {
  const what = name ?? 'PNG';
  const info = readChunks(bytes, what);
  let raw: Uint8Array;
  try {
    raw = await inflateZlib(info.idat);
  } catch (err) {
    throw new Error(`${what}: corrupt PNG image data: ${(err as Error).message}`, { cause: err });
  }
  return decodePngRgbaWith(bytes, () => raw, name);
}

/**
 * Resize by area averaging: each output pixel is the mean of the source area it covers, with
 * fractional edge weights (a box filter), so downscaling does not alias thin strokes away.
 * `channels` interleaved values per pixel, each averaged on its own.
 */
export function resizeArea(src: Uint8Array, sw: number, sh: number, dw: number, dh: number, channels = 1): Uint8Array {
  const C = channels;
  if (!(Number.isInteger(C) && C >= 1)) throw new Error(`resizeArea: channels must be a positive integer, got ${channels}`);
  if (src.length !== sw * sh * C) throw new Error(`resizeArea: source has ${src.length} bytes, expected ${sw}x${sh}${C > 1 ? `x${C}` : ''} = ${sw * sh * C}`);
  if (!(Number.isInteger(dw) && Number.isInteger(dh) && dw > 0 && dh > 0)) {
    throw new Error(`resizeArea: target size ${dw}x${dh} must be positive integers`);
  }
  // Weights of source index s in target index d along one axis.
  const axis = (sn: number, dn: number) => {
    const scale = sn / dn;
    const taps: { d: number; s: number; w: number }[] = [];
    for (let d = 0; d < dn; d++) {
      const a = d * scale, b = (d + 1) * scale;
      for (let s = Math.floor(a); s < Math.min(sn, Math.ceil(b)); s++) {
        const w = Math.min(b, s + 1) - Math.max(a, s);
        if (w > 0) taps.push({ d, s, w: w / scale });
      }
    }
    return taps;
  };
  const tx = axis(sw, dw), ty = axis(sh, dh);
  const tmp = new Float64Array(dw * sh * C);
  for (let y = 0; y < sh; y++) {
    for (const t of tx) for (let k = 0; k < C; k++) tmp[(y * dw + t.d) * C + k]! += src[(y * sw + t.s) * C + k]! * t.w;
  }
  const acc = new Float64Array(dw * dh * C);
  const row = dw * C;
  for (const t of ty) for (let x = 0; x < row; x++) acc[t.d * row + x]! += tmp[t.s * row + x]! * t.w;
  const out = new Uint8Array(dw * dh * C);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(acc[i]!)));
  return out;
}

export interface MnistPrepOptions {
  /** 'auto' (default): invert when the border is mostly light, so the digit ends up bright on dark. */
  invert?: 'auto' | boolean;
  /** Crop to the digit, fit it in 20x20 and centre its mass in 28x28 like MNIST (default true). */
  center?: boolean;
  /** Stretch contrast so the background is 0 and the strongest ink 255 (default true). */
  normalize?: boolean;
}

function borderMean(img: GrayImage): number {
  const { width: w, height: h, data } = img;
  let sum = 0, n = 0;
  for (let x = 0; x < w; x++) { sum += data[x]! + data[(h - 1) * w + x]!; n += 2; }
  for (let y = 1; y < h - 1; y++) { sum += data[y * w]! + data[y * w + w - 1]!; n += 2; }
  return sum / n;
}

/** Turn any grayscale image into a 28x28 MNIST-like input (bright digit on black). */
export function prepareMnistDigit(img: GrayImage, opts: MnistPrepOptions = {}): Uint8Array {
  const { width: w, height: h } = img;
  const invert = opts.invert === undefined || opts.invert === 'auto' ? borderMean(img) > 127 : opts.invert;
  let g = invert ? img.data.map((v) => 255 - v) : img.data;
  let max = 0;
  for (const v of g) if (v > max) max = v;
  if (opts.normalize !== false) {
    // Photos of paper are grey, not white: map the background level to 0 and the darkest ink to
    // 255, as in MNIST where strokes reach 255 on an exactly black background.
    const bg = Math.min(borderMean({ width: w, height: h, data: g }), max - 1);
    if (max > 0 && bg >= 0) {
      const k = 255 / (max - bg);
      g = g.map((v) => Math.max(0, Math.min(255, Math.round((v - bg) * k))));
      max = 255;
    }
  }
  if (opts.center === false) return resizeArea(g, w, h, 28, 28);
  // Ink bounding box; a small threshold ignores paper texture and JPEG-ish noise.
  const thr = Math.max(1, max * 0.2);
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (g[y * w + x]! >= thr) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0 || max === 0) return new Uint8Array(784); // blank image
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  const crop = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++) crop.set(g.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + bw), y * bw);
  const s = 20 / Math.max(bw, bh);
  const nw = Math.max(1, Math.round(bw * s)), nh = Math.max(1, Math.round(bh * s));
  const small = resizeArea(crop, bw, bh, nw, nh);
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) { const v = small[y * nw + x]!; m += v; mx += v * x; my += v * y; }
  const cx = m > 0 ? mx / m : (nw - 1) / 2, cy = m > 0 ? my / m : (nh - 1) / 2;
  const ox = Math.min(28 - nw, Math.max(0, Math.round(13.5 - cx)));
  const oy = Math.min(28 - nh, Math.max(0, Math.round(13.5 - cy)));
  const out = new Uint8Array(784);
  for (let y = 0; y < nh; y++) out.set(small.subarray(y * nw, (y + 1) * nw), (oy + y) * 28 + ox);
  return out;
}

function adler32(b: Uint8Array): number {
  let a = 1, c = 0;
  for (let i = 0; i < b.length; i++) {
    a = (a + b[i]!) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

/**
 * Encode 8-bit pixels (channels 1 = gray, 3 = RGB, 4 = RGBA, interleaved rows) as a PNG. The
 * image data is stored uncompressed: simple, synchronous, and fine for small images.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4 = 1): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`encodePng: size ${width}x${height} must be positive integers`);
  }
  if (![1, 3, 4].includes(channels)) throw new Error(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodePng: expected ${width}x${height}x${channels} = ${width * height * channels} bytes, got ${pixels.length}`);
  }
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height); // filter byte 0 (None) per row
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const z = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  z[0] = 0x78; z[1] = 0x01;
  let o = 2;
  for (let i = 0; i < blocks; i++) {
    const part = raw.subarray(i * 65535, Math.min(raw.length, (i + 1) * 65535));
    z[o++] = i === blocks - 1 ? 1 : 0;
    z[o++] = part.length & 0xff; z[o++] = part.length >> 8;
    z[o++] = ~part.length & 0xff; z[o++] = (~part.length >> 8) & 0xff;
    z.set(part, o);
    o += part.length;
  }
  new DataView(z.buffer).setUint32(o, adler32(raw));
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const chunks: [string, Uint8Array][] = [['IHDR', ihdr], ['IDAT', z], ['IEND', new Uint8Array(0)]];
  const out = new Uint8Array(8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0));
  out.set(SIGNATURE);
  const ov = new DataView(out.buffer);
  let p = 8;
  for (const [type, data] of chunks) {
    ov.setUint32(p, data.length);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(data, p + 8);
    ov.setUint32(p + 8 + data.length, crc32(out, p + 4, p + 8 + data.length));
    p += 12 + data.length;
  }
  return out;
}
