// The demo page in real Chromium: it loads MNIST from the local server, trains the reference CNN
// for a few batches in its Worker (threads: the server sends COOP/COEP), stays responsive while
// doing so, then classifies a digit drawn with pointer events and shows filters and feature maps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Browser } from './helpers/chromium.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const MAX_BATCHES = 60;

describe('demo page (Chromium)', () => {
  it('trains a few batches in a Worker, then classifies a drawn digit', async () => {
    const page = await browser.page();
    await page.goto(`${browser.url}?examples=10000&batch=32&maxBatches=${MAX_BATCHES}`);
    await page.waitForFunction('window.demoState && (window.demoState.phase === "ready" || window.demoState.phase === "error")', undefined, { timeout: 30_000 });
    const ready = await page.evaluate('window.demoState');
    expect(ready, page.logs.join('\n')).toMatchObject({ phase: 'ready', isolated: true, threads: 2 });
    // Measure the main thread's longest stall while the worker trains.
    await page.evaluate(`(() => { let t = performance.now(); window.maxGap = 0; window.ticker = setInterval(() => { const n = performance.now(); window.maxGap = Math.max(window.maxGap, n - t); t = n; }, 10); })()`);
    await page.click('#train');
    await page.waitForFunction('["trained", "error"].includes(window.demoState.phase)', undefined, { timeout: 60_000 });
    const s: any = await page.evaluate('({ ...window.demoState, maxGap: window.maxGap })');
    expect(s.phase, `${s.error}\n${page.logs.join('\n')}`).toBe('trained');
    expect(s.batches).toBeGreaterThanOrEqual(MAX_BATCHES);
    expect(s.batches).toBeLessThan(MAX_BATCHES + 20);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(s.loss.slice(-10))).toBeLessThan(mean(s.loss.slice(0, 10)) * 0.7);
    expect(s.testAcc).toBeGreaterThan(0.6);
    // Training runs in the Worker: the page's own thread only ever handles short messages (the
    // bound is loose for busy CI machines; a batch on the main thread would block it for the whole fit).
    expect(s.maxGap).toBeLessThan(500);
    console.log(`demo: ${s.batches} batches on ${s.threads} threads (${s.variant}), loss ${s.loss[0].toFixed(3)} → ${s.loss.at(-1).toFixed(3)}, test acc ${(100 * s.testAcc).toFixed(1)}%, longest main-thread stall ${s.maxGap.toFixed(0)} ms`);
    await browser.screenshot(page, 'demo-trained.png');

    // Draw a "1": one vertical stroke with real pointer events.
    const box = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.52, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + box.width * (0.52 - 0.01 * i / 12), box.y + box.height * (0.15 + 0.7 * i / 12));
    await page.mouse.up();
    await page.waitForFunction('window.demoState.predictions > 0', undefined, { timeout: 10_000 });
    await page.waitForTimeout(100);
    const p: any = await page.evaluate('window.demoState');
    expect(p.probs).toHaveLength(10);
    expect(p.probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
    expect(p.prediction).toBe(1);
    expect(await page.locator('#guess').textContent()).toBe('1');
    expect(await page.locator('#filters canvas').count()).toBe(32);
    expect(await page.locator('#maps canvas').count()).toBe(32);
    expect(await page.locator('#probs .bar').count()).toBe(10);
    await browser.screenshot(page, 'demo-digit.png');
    expect(page.logs.filter((l) => l.startsWith('pageerror') || l.startsWith('error'))).toEqual([]);
  });
});
