// make bench's page section: the demo page's training rate beside the same run headless in Node, with
// the same worker count and build. Windows take turns (the page trains while Node waits, then the
// page is paused with its own Pause button while Node trains), so the host's drift, which moves
// either rate by a third within seconds, falls on both alike; the figure is the median of the
// per-round ratios. The page keeps its views refreshing (their budget is part of what is measured).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import { loadLab } from '../web/lib/latent-lab.js';
import { resolveOptions } from '../web/lib/run/options.js';
import { makeSplit, Run } from '../web/lib/run/pipeline.js';
import { BUILD, CHROMIUM, launchChromium, loadMnist, loadNodeLab, median, nodeReplicas, nodeThreads, SITE } from './common.js';
import { startServer } from './serve.js';

// The run both sides train: long enough that no window reaches its end.
const runOf = (workers) => ({ digits: '1,4,8', epochs: 20, seed: 3, workers });

// The page's own count of images trained and training seconds (pauses excluded), as it reports them.
const pageCount = (page) => page.evaluate(() => ({ images: window.__lab.imagesSeen, seconds: window.__lab.trainSeconds }));

// The page's Pause (or Resume) button, pressed from within the page: no scrolling to it between windows.
async function setPhase(page, phase) {
  await page.evaluate(() => document.getElementById('pause').click());
  try {
    await page.waitForFunction((p) => window.__lab.phase === p, phase, { timeout: 60_000, polling: 50 });
  } catch (error) {
    const lab = await page.evaluate(() => ({ phase: window.__lab.phase, errors: window.__lab.errors, crashed: window.__lab.crashed, batches: window.__lab.batches }));
    throw new Error(`the page did not reach ${phase}: ${JSON.stringify(lab)}`);
  }
}

// One model's training rate in a loop, images/s over `ms`: the same function runs in Node and, as
// source, in the page's main thread (not its workers: they stay idle), to part Chromium's engine from
// the page's own costs. Real pixels are not needed for the speed: a fixed pattern.
async function loopRate(loadLab, url, ms) {
  const lab = await loadLab({ build: 'simd', url });
  const model = lab.createModel({ seed: 42 });
  const x = new Float32Array(32 * 784);
  for (let i = 0; i < x.length; i++) x[i] = (Math.sin(i * 1.3) + 1) / 2;
  for (let i = 0; i < 5; i++) model.trainBatch(x);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) { model.trainBatch(x); n++; }
  const rate = (n * 32) / ((performance.now() - t0) / 1000);
  model.free();
  return rate;
}

// Chromium's engine against Node's on loopRate, in windows that take turns: the median ratio.
async function engineRatio(page, rounds, ms) {
  const wasm = pathToFileURL(path.join(BUILD, 'latent-simd.wasm')).href;
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const inChromium = await page.evaluate(`import('/lib/latent-lab.js').then(({ loadLab }) =>
      (${loopRate.toString()})(loadLab, '/wasm/latent-simd.wasm', ${ms}))`);
    ratios.push(inChromium / await loopRate(loadLab, wasm, ms));
  }
  return median(ratios);
}

// { engine, byWorkers: { [n]: { page, headless, ratio, parallelism } } } or { skipped: why }.
export async function pageBesideHeadless({ workers = [1, 2], rounds = 5, seconds = 3 } = {}) {
  if (!existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} is not installed (make serve and make test install it)` };
  if (!existsSync(path.join(SITE, 'index.html'))) return { skipped: 'build/site is missing (make all builds it)' };
  const server = await startServer({ root: SITE, port: 0 });
  const browser = await launchChromium();
  const lab = await loadNodeLab('simd');
  const builtin = await loadMnist(path.join(SITE, 'data'));
  const byWorkers = {};
  let engine;
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => window.__lab?.build, null, { timeout: 120_000 });
    engine = await engineRatio(page, rounds + 2, seconds * 500);
    for (const n of workers) {
      const RUN = runOf(n);
      await page.goto(`${server.url}?${new URLSearchParams(RUN)}`);
      await page.waitForFunction(() => window.__lab?.build && window.__lab.dataReady, null, { timeout: 120_000 });
      await page.click('#train');
      await page.waitForFunction(() => window.__lab.batches >= 10, null, { timeout: 120_000, polling: 100 });
      const { split, options } = makeSplit(resolveOptions(RUN), { builtin });
      const run = await Run.create(lab, options, { split, workers: n, ...nodeReplicas('simd'), threads: nodeThreads('simd') });
      try {
        for (let i = 0; i < 10; i++) await run.next(); // warm-up, as the page had
        const pageRates = [], nodeRates = [], ratios = [];
        for (let r = 0; r < rounds; r++) {
          const a = await pageCount(page);
          await sleep(seconds * 1000);
          const b = await pageCount(page);
          pageRates.push((b.images - a.images) / (b.seconds - a.seconds));
          await setPhase(page, 'paused');
          const before = run.trainer.imagesSeen, t0 = performance.now();
          while (performance.now() - t0 < seconds * 1000) await run.next();
          nodeRates.push((run.trainer.imagesSeen - before) / ((performance.now() - t0) / 1000));
          ratios.push(pageRates.at(-1) / nodeRates.at(-1));
          await setPhase(page, 'training');
          await sleep(500); // the page's threads and views back at work before its next window
        }
        const parallelism = await page.evaluate(() => window.__lab.parallelism);
        byWorkers[n] = { page: median(pageRates), headless: median(nodeRates), ratio: median(ratios), parallelism };
      } finally {
        run.free();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return { engine, byWorkers };
}
