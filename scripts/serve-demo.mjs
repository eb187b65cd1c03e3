#!/usr/bin/env node
// Static server for the demo (and the browser tests) on 127.0.0.1, with the two headers that make
// a page cross-origin isolated (SharedArrayBuffer, so the training worker can use threads).
//   /            → demo/            /dist/ → dist/ (the browser build and its wasm)
//   /data/mnist/ → $SIMDCNN_DATA or ../shared/mnist (the MNIST .gz files; nothing third-party)
// A page requested with ?coi=0 is served without the isolation headers (one-thread path).
// Usage: node scripts/serve-demo.mjs [--port 8080]
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.map': 'application/json',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.gz': 'application/gzip', '.bin': 'application/octet-stream', '.ico': 'image/x-icon',
};

/** Starts the server; resolves to {server, url, close()}. port 0 picks a free one. */
export async function startDemoServer({ port = 8080, host = '127.0.0.1', dataDir, extraRoutes = {} } = {}) {
  const data = resolve(dataDir ?? process.env.SIMDCNN_DATA ?? join(root, '..', 'shared', 'mnist'));
  const routes = { '/dist/': join(root, 'dist'), '/data/mnist/': data, ...extraRoutes, '/': join(root, 'demo') };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const isolate = url.searchParams.get('coi') !== '0';
    const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' };
    if (isolate) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    let path = decodeURIComponent(url.pathname);
    const prefix = Object.keys(routes).find((p) => path.startsWith(p));
    const base = routes[prefix];
    let file = normalize(join(base, path.slice(prefix.length)));
    if (file !== base && !file.startsWith(base + sep)) return send(res, 403, headers, 'forbidden');
    try {
      let s = await stat(file);
      if (s.isDirectory()) {
        file = join(file, 'index.html');
        s = await stat(file);
      }
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': s.size });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      send(res, 404, headers, `not found: ${path}`);
    }
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, host, ok));
  const url = `http://${host}:${server.address().port}/`;
  return { server, url, dataDir: data, close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }) };
}

function send(res, status, headers, text) {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 8080);
  const s = await startDemoServer({ port });
  console.log(`simdcnn demo: ${s.url}  (MNIST from ${s.dataDir}; Ctrl-C to stop)`);
}
