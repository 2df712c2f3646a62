// tools/serve.js: the static server `make serve` runs. It must give wasm and modules the types
// browsers insist on, answer only GET/HEAD, never serve a file outside its root (however the path is
// spelled), and send the page's security headers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { CSP, startServer } from '../tools/serve.js';

// A raw request, so paths reach the server exactly as written (fetch would normalise "..").
function request(base, rawPath, method = 'GET') {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the static server', () => {
  let dir, site, server;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'latent-serve-'));
    site = path.join(dir, 'site');
    await mkdir(path.join(site, 'wasm'), { recursive: true });
    await writeFile(path.join(site, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(path.join(site, 'app.js'), 'export {};');
    await writeFile(path.join(site, 'style.css'), 'body{}');
    await writeFile(path.join(site, 'wasm', 'm.wasm'), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
    await writeFile(path.join(dir, 'secret.txt'), 'outside the root');
    server = await startServer({ root: site, port: 0 });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 on a free port when asked for port 0', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves index.html for / and each file with the type browsers require', async () => {
    const cases = [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/style.css', 'text/css'], ['/wasm/m.wasm', 'application/wasm']];
    for (const [p, type] of cases) {
      const res = await request(server.url, p);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers['content-type'].split(';')[0], type, p);
    }
  });

  it('sends the Content-Security-Policy, nosniff and cross-origin isolation on every response, errors included', async () => {
    for (const p of ['/', '/missing.js']) {
      const res = await request(server.url, p);
      assert.equal(res.headers['content-security-policy'], CSP);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      // COOP + COEP: the page is cross-origin isolated and can train on threads over shared memory.
      assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
      assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp');
    }
    assert.match(CSP, /script-src 'self' 'wasm-unsafe-eval'/);
  });

  it('answers HEAD with headers only and refuses POST, PUT and DELETE with 405', async () => {
    const head = await request(server.url, '/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], '10');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await request(server.url, '/app.js', method);
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
  });

  it('never serves a file outside its root, however the path is spelled', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/wasm/%2E%2E/%2e%2e/secret.txt', '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt', '/wasm/..%5c..%5csecret.txt', '/%00index.html', '/wasm']) {
      const res = await request(server.url, p);
      assert.ok(res.status === 403 || res.status === 404, `${p} gave ${res.status}`);
      assert.doesNotMatch(res.body, /outside the root/, p);
    }
  });

  it('answers 404 for a missing file and 400 for a malformed escape', async () => {
    assert.equal((await request(server.url, '/nope.html')).status, 404);
    assert.equal((await request(server.url, '/%E0%A4%A.js')).status, 400);
  });
});
