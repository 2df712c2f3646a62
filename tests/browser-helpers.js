// What the browser suites share: Chromium launched headless with the guards every suite keeps, the
// site (build/site, or a copy with a short pretrained model when web/models/ has none), and reading a
// canvas's pixels or waiting until the page has drawn.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { BUILD, CHROMIUM, launchChromium, ROOT, SITE, siteCopyWithModels } from '../tools/common.js';

export { CHROMIUM, SITE };
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Headless Chromium with the guards every suite keeps: a request to another host is aborted and
// recorded, as are console errors, uncaught exceptions and failed requests (ERR_ABORTED: a download
// cut short by leaving the page, not a failure). Returns { browser, context, page }.
export async function openGuardedPage(problems, { acceptDownloads = true, viewport = { width: 1440, height: 1000 }, touch = false } = {}) {
  const browser = await launchChromium();
  // touch: a phone's screen (touch, no hover, a coarse pointer), as Chromium emulates one.
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, acceptDownloads, ...(touch ? { isMobile: true, hasTouch: true } : {}) });
  // Every request, from the page or its workers, must stay on this machine.
  await context.route('**/*', (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    if ((protocol === 'http:' || protocol === 'https:') && !LOCAL_HOSTS.has(hostname)) {
      problems.push(`request to another host: ${route.request().url()}`);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (req) => {
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  return { browser, context, page };
}
// Reads a canvas's pixels in the page: { width, height, data: number[] (RGBA) } of a region.
export async function canvasPixels(page, id, region) {
  return page.evaluate(([id, region]) => {
    const canvas = document.getElementById(id);
    const r = region ?? { x: 0, y: 0, width: canvas.width, height: canvas.height };
    const { data } = canvas.getContext('2d').getImageData(r.x, r.y, r.width, r.height);
    return { width: r.width, height: r.height, data: Array.from(data) };
  }, [id, region]);
}

// n animation frames in the page (settled's first step: what the last message marked gets its frame).
const frames = (page, n) => page.evaluate((n) => new Promise((resolve) => {
  const step = (left) => (left ? requestAnimationFrame(() => step(left - 1)) : resolve());
  step(n);
}), n);

// The page has drawn everything it was told: a frame or two for what the last message marked, then no
// panel left waiting (a panel drawn in pieces, or a frame's budget spent, leaves some for later frames).
export async function settled(page) {
  await frames(page, 2);
  await page.waitForFunction(() => window.__lab.panelsPending === 0, null, { timeout: 30_000, polling: 'raf' });
}

// The pretrained model the page shows on first open: the real one (web/models/, made by `make pretrained`)
// when the site has it; otherwise a short run of the same tool (1 epoch of 2,000 images, about a minute,
// kept in build/test-pretrained/) in a copy of the site, so build/site itself never offers a test model.
const PRETRAINED = 'pretrained-148';
const run = promisify(execFile);

export async function siteWithPretrained() {
  const listed = JSON.parse(await readFile(path.join(SITE, 'models', 'index.json'), 'utf8').catch(() => '[]'));
  if (listed.includes(`${PRETRAINED}.safetensors`)) return { root: SITE, real: true };
  const cache = path.join(BUILD, 'test-pretrained');
  if (!existsSync(path.join(cache, `${PRETRAINED}.safetensors`))) {
    await run('node', [path.join(ROOT, 'tools/pretrained.js'), '--epochs', '1', '--limit', '2000', '--quiet', '--out', cache],
      { maxBuffer: 1 << 24 });
  }
  const root = path.join(BUILD, 'test-site');
  await siteCopyWithModels(root, (await readdir(cache)).map((name) => path.join(cache, name)));
  return { root, real: false };
}


// A short Fashion-MNIST model (tools/train.js --dataset fashion: 1 epoch of 2,000 images, about a minute,
// kept in build/test-fashion/ with the JSON line train.js printed: what it measured) in a copy of the
// site, offered as the pretrained pretrained-fashion beside whatever build/site offers. build/site
// itself never gets a test model. -> { root, file (the model), mixture (its .json), recorded (the JSON) }.
export const FASHION_MODEL = 'pretrained-fashion';

export async function siteWithFashionModel() {
  const cache = path.join(BUILD, 'test-fashion');
  const file = path.join(cache, `${FASHION_MODEL}.safetensors`), line = path.join(cache, `${FASHION_MODEL}.json`);
  if (!existsSync(file) || !existsSync(line)) {
    await mkdir(cache, { recursive: true });
    const { stdout } = await run('node', [path.join(ROOT, 'tools/train.js'), '--dataset', 'fashion', '--epochs', '1', '--limit', '2000',
      '--workers', '1', '--quiet', '--save', file], { maxBuffer: 1 << 24 });
    await writeFile(line, stdout);
  }
  const root = path.join(BUILD, 'test-site-classes');
  await siteCopyWithModels(root, [`${FASHION_MODEL}.safetensors`, `${FASHION_MODEL}.mixture.json`].map((name) => path.join(cache, name)));
  const recorded = JSON.parse((await readFile(line, 'utf8')).trim().split('\n').at(-1));
  return { root, file, mixture: path.join(cache, `${FASHION_MODEL}.mixture.json`), recorded };
}

// The latent plane's box, scrolled into view first: a pointer lands only on what is on screen, and a
// click on Train (low in the settings panel since it names ten classes) scrolls the page.
export async function latentBox(page) {
  await page.locator('#latent').scrollIntoViewIfNeeded();
  return page.locator('#latent').boundingBox();
}

// Hovers (or taps) the plane until the probe shows the mixture's answer; returns its rows' text
// ("8 · 91.6%", "Ankle boot · 3.2%") and the page's phase, read in the same look.
export async function probeAnswer(page, { tap = false } = {}) {
  const box = await latentBox(page);
  for (let i = 0; ; i++) {
    const [x, y] = [box.x + box.width * (0.45 + 0.01 * (i % 3)), box.y + box.height * 0.5];
    if (tap) await page.touchscreen.tap(x, y);
    else await page.mouse.move(x, y);
    const look = await page.evaluate(() => ({ phase: window.__lab.phase,
      rows: [...document.querySelectorAll('#resp li:not(.muted)')].map((li) => li.textContent) }));
    if (look.rows.length) return look;
    if (i >= 400) throw new Error('the probe never showed the mixture\'s answer');
    await page.waitForTimeout(25);
  }
}

// The class names a row of bars, a legend or a table shows: "Ankle boot · 3.2%" -> "Ankle boot".
export const rowName = (text) => text.split(' · ')[0].trim();
