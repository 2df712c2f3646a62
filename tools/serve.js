// node tools/serve.js --root build/site [--port 8000] [--host 127.0.0.1]
// A static file server for the built site: GET and HEAD only, files under --root only, the page's
// Content-Security-Policy on every response. Not a general web server: no directory listings, no
// ranges, no compression, no caching logic beyond "no-cache" (so a rebuild is seen on reload).
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { parseFlags } from './common.js';

// The same policy as the meta tag in web/index.html.
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
  "style-src 'self'; img-src 'self' data: blob:; worker-src 'self'";

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
};

function send(res, status, message, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : `${status} ${message}\n`);
}

// Maps a request path to a file under root, or returns an HTTP status explaining why not.
async function resolveFile(root, rawUrl) {
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(rawUrl, 'http://localhost').pathname);
  } catch {
    return { status: 400 };
  }
  // Refuse rather than normalise: "..", NUL and backslashes never appear in our site's links.
  if (pathname.includes('\0') || pathname.includes('\\') || pathname.split('/').includes('..')) return { status: 403 };
  if (pathname.endsWith('/')) pathname += 'index.html';
  const candidate = path.join(root, pathname);
  let real;
  try {
    real = await realpath(candidate);
  } catch {
    return { status: 404 };
  }
  // Symlinks out of the root count as outside it.
  if (real !== root && !real.startsWith(root + path.sep)) return { status: 403 };
  const info = await stat(real);
  if (info.isDirectory()) return { status: 404 };
  return { status: 200, file: real, size: info.size };
}

// Starts serving root; port 0 picks a free port. Resolves to { server, url, close() }.
// isolated: false leaves out the cross-origin isolation headers, as a plain static host would (the
// page then trains on replicas and says so; the tests check it).
export async function startServer({ root, port = 0, host = '127.0.0.1', isolated = true }) {
  const realRoot = await realpath(path.resolve(root));
  const server = http.createServer(async (req, res) => {
    // Cross-origin isolation (COOP + COEP) gives the page SharedArrayBuffer: training on threads over
    // one shared wasm memory (web/lib/threads.js). Every file of the site is same-origin.
    const common = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff',
      ...(isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}) };
    for (const [k, v] of Object.entries(common)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    try {
      const found = await resolveFile(realRoot, req.url);
      if (found.status !== 200) return send(res, found.status, http.STATUS_CODES[found.status]);
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': found.size,
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
    } catch {
      if (!res.headersSent) send(res, 500, 'Internal Server Error');
      else res.destroy();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { root: 'string', port: 'number', host: 'string' });
  if (!flags.root) throw new Error('--root is required (the built site, e.g. build/site)');
  const { url } = await startServer({ root: flags.root, port: flags.port ?? 8000, host: flags.host ?? '127.0.0.1' });
  process.stdout.write(`latent-lab: serving ${flags.root} at ${url}  (Ctrl-C to stop)\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    process.stderr.write(`serve: ${error.message}\n`);
    process.exit(1);
  });
}
