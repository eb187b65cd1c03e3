// Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core,
// headless, a fresh profile per launch, and the demo's static server (COOP/COEP) on 127.0.0.1.
// Missing Chromium is a failure, not a skip: CI installs it (apt-get install chromium).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error plain .mjs script without types
import { startDemoServer } from '../../scripts/serve-demo.mjs';

export const CHROMIUM = process.env.SIMDCNN_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

export interface Browser {
  context: BrowserContext;
  url: string;
  /** A new page that records console output and page errors. */
  page(): Promise<Page & { logs: string[] }>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** Flags that give headless Chromium a WebGPU adapter here (SwiftShader via Vulkan; needs a secure origin such as 127.0.0.1). */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

export async function launch(opts: { extraRoutes?: Record<string, string>; args?: string[] } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set SIMDCNN_CHROMIUM`);
  }
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'browser', 'simdcnn.js'))) {
    throw new Error('dist/browser/simdcnn.js is missing: run `npm run build` first (npm test does)');
  }
  const server = await startDemoServer({ port: 0, extraRoutes: opts.extraRoutes });
  const profile = mkdtempSync(join(tmpdir(), 'simdcnn-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.args ?? [])],
      viewport: { width: 1280, height: 1000 },
    });
  } catch (err) {
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    url: server.url,
    async page() {
      const p = (await context.newPage()) as Page & { logs: string[] };
      p.logs = [];
      p.on('console', (m) => p.logs.push(`${m.type()}: ${m.text()}`));
      p.on('pageerror', (e) => p.logs.push(`pageerror: ${e.message}`));
      return p;
    },
    async screenshot(page, name) {
      const file = join(ARTIFACTS, name);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
