// sc.browser.fromPixels in real Chromium (the browser build) on every source kind, against
// tfjs 4.22's tf.browser.fromPixels on the same objects where tfjs takes them (ImageData, canvas,
// OffscreenCanvas, ImageBitmap, <img>, <video>), and against the pixels drawn where it does not
// (VideoFrame; a WebGL canvas, which tfjs cannot read: it asks that canvas for a 2D context).
// Then the image ops on its output: resizeBilinear against tfjs in the page, normalize, toNCHW.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { launch, type Browser } from './helpers/chromium.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launch({ extraRoutes: { '/tfjs/': join(import.meta.dirname, '..', 'node_modules', '@tensorflow', 'tfjs', 'dist') } });
});
afterAll(async () => {
  await browser?.close();
});

describe('browser.fromPixels in Chromium', () => {
  it('every source kind: the same values as tfjs (or as drawn), shapes [h, w, c] for c = 1, 3, 4', async () => {
    const page = await browser.page();
    await page.goto(browser.url + 'blank.html');
    await page.addScriptTag({ url: '/tfjs/tf.min.js' });
    const r: any = await page.evaluate(`(async () => {
      const sc = await import('/dist/browser/simdcnn.js');
      await sc.ready();
      await tf.setBackend('cpu');
      const W = 13, H = 7;
      // Opaque pixels: canvases store premultiplied alpha, so translucent ones do not round-trip exactly.
      const rgba = new Uint8ClampedArray(W * H * 4);
      for (let i = 0; i < W * H; i++) { rgba[4 * i] = (i * 37) % 256; rgba[4 * i + 1] = (i * 91 + 7) % 256; rgba[4 * i + 2] = (i * 13 + 200) % 256; rgba[4 * i + 3] = 255; }
      const imageData = new ImageData(rgba, W, H);
      const canvas = document.createElement('canvas'); canvas.width = W; canvas.height = H;
      canvas.getContext('2d').putImageData(imageData, 0, 0);
      const off = new OffscreenCanvas(W, H); off.getContext('2d').putImageData(imageData, 0, 0);
      const bitmap = await createImageBitmap(imageData);
      const img = new Image(); img.src = canvas.toDataURL('image/png'); await img.decode();
      const video = document.createElement('video'); video.muted = true;
      video.srcObject = canvas.captureStream();
      // A captured canvas emits a frame when it is drawn: redraw (same pixels) until the video has one.
      const redraw = setInterval(() => canvas.getContext('2d').putImageData(imageData, 0, 0), 20);
      const loaded = new Promise((res) => video.addEventListener('loadeddata', res, { once: true }));
      video.play();
      await loaded;
      clearInterval(redraw);
      const sources = { imageData, canvas, off, bitmap, img, video };
      const out = {};
      for (const [name, src] of Object.entries(sources)) {
        out[name] = {};
        for (const c of [1, 3, 4]) {
          const a = sc.browser.fromPixels(src, c), b = tf.browser.fromPixels(src, c);
          out[name][c] = { shape: a.shape, tfShape: b.shape, tfDtype: b.dtype, same: Array.from(a.dataSync()).every((v, i) => v === b.dataSync()[i]) && a.size === b.size };
        }
      }
      const expected = (c) => Array.from({ length: W * H * c }, (_, i) => rgba[Math.floor(i / c) * 4 + (i % c)]);
      const frame = new VideoFrame(canvas, { timestamp: 0 });
      const fv = Array.from(sc.browser.fromPixels(frame, 4).dataSync());
      frame.close();
      const gl = document.createElement('canvas'); gl.width = 3; gl.height = 2;
      const ctx = gl.getContext('webgl', { preserveDrawingBuffer: true });
      ctx.clearColor(1, 0.5, 0, 1); ctx.clear(ctx.COLOR_BUFFER_BIT);
      const glv = Array.from(sc.browser.fromPixels(gl, 4).dataSync());
      let tfGl; try { tf.browser.fromPixels(gl, 4); tfGl = 'no error'; } catch (e) { tfGl = String(e); }
      const frameErr = Math.max(...fv.map((v, i) => Math.abs(v - expected(4)[i])));
      // An <img> that has not loaded, and a <video> without data.
      const errs = [];
      for (const bad of [new Image(), document.createElement('video')]) { try { sc.browser.fromPixels(bad); errs.push('no error'); } catch (e) { errs.push(e.message); } }
      // The ops on a fromPixels tensor, against tfjs.
      const x = sc.browser.fromPixels(canvas), tx = tf.browser.fromPixels(canvas).toFloat();
      const rs = sc.image.resizeBilinear(x, [20, 9], false, true).dataSync(), trs = tf.image.resizeBilinear(tx, [20, 9], false, true).dataSync();
      const resizeDiff = Math.max(...Array.from(rs, (v, i) => Math.abs(v - trs[i])));
      const nchw = sc.image.toNCHW(sc.image.normalize(x, 'imagenet'));
      return { out, W, H, frameErr, glv, tfGl, errs, resizeDiff, nchwShape: nchw.shape, fromCanvasIsRgba: Array.from(sc.browser.fromPixels(canvas, 4).dataSync()).every((v, i) => v === expected(4)[i]) };
    })()`);
    for (const [name, byC] of Object.entries(r.out) as [string, any][]) {
      for (const c of ['1', '3', '4']) {
        expect(byC[c], `${name}, ${c} channels`).toEqual({ shape: [r.H, r.W, Number(c)], tfShape: [r.H, r.W, Number(c)], tfDtype: 'int32', same: true });
      }
    }
    expect(r.fromCanvasIsRgba).toBe(true);
    // A VideoFrame of an RGBA canvas keeps RGBA: drawn back, the values are the canvas'.
    expect(r.frameErr).toBeLessThanOrEqual(1);
    // The WebGL canvas' clear colour (1, 0.5, 0, 1) on all 3×2 pixels (0.5 → 127 or 128).
    expect(r.glv).toHaveLength(24);
    r.glv.forEach((v: number, i: number) => expect(Math.abs(v - [255, 127.5, 0, 255][i % 4]!), `value ${i}`).toBeLessThanOrEqual(0.5));
    expect(r.tfGl).not.toBe('no error');
    expect(r.errs[0]).toMatch(/^fromPixels: the <img> has not loaded/);
    expect(r.errs[1]).toBe("fromPixels: the <video> has no frame yet (readyState 0, expected at least 2, HAVE_CURRENT_DATA); wait for its 'loadeddata' event");
    expect(r.resizeDiff).toBeLessThanOrEqual(1e-5);
    expect(r.nchwShape).toEqual([3, r.H, r.W]);
    expect(page.logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
