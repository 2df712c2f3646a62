// The demo page in a real browser (Debian's chromium, headless, driven by playwright-core): it serves
// build/site, presses Train on a small run (3 digits, 1,500 images, 1 epoch) and checks what a user
// would see: the loss falls, the latent scatter fills, the mixture's means and ellipses are drawn
// where the page says they are, hovering two distant points decodes two different, non-blank digits,
// the keyboard moves the probe, the EM replay works, and the metrics appear with accuracy above
// chance. Any console error, uncaught exception or request to a host other than this machine fails
// it. It leaves build/screenshot.png for a person to look at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { BUILD } from '../tools/common.js';
import { startServer } from '../tools/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const SITE = path.join(BUILD, 'site');
const SMALL_RUN = '?digits=1,4,8&epochs=1&limit=1500&seed=3';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Reads a canvas's pixels in the page: { width, height, data: number[] (RGBA) } of a region.
async function canvasPixels(page, id, region) {
  return page.evaluate(([id, region]) => {
    const canvas = document.getElementById(id);
    const r = region ?? { x: 0, y: 0, width: canvas.width, height: canvas.height };
    const { data } = canvas.getContext('2d').getImageData(r.x, r.y, r.width, r.height);
    return { width: r.width, height: r.height, data: Array.from(data) };
  }, [id, region]);
}

// Two animation frames: whatever was marked dirty has been drawn.
const frames = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

const hexToRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

describe('the demo page in Chromium', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (make installs it)` }, () => {
  let server, browser, context, page;
  const problems = [];
  const longTasks = [];

  before(async () => {
    assert.ok(existsSync(path.join(SITE, 'index.html')), 'build/site is missing: run make all first');
    server = await startServer({ root: SITE, port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
    // Every request, from the page or its workers, must stay on this machine.
    await context.route('**/*', (route) => {
      const { hostname, protocol } = new URL(route.request().url());
      if ((protocol === 'http:' || protocol === 'https:') && !LOCAL_HOSTS.has(hostname)) {
        problems.push(`request to another host: ${route.request().url()}`);
        return route.abort();
      }
      return route.continue();
    });
    page = await context.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
    page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    await page.exposeFunction('__reportLongTask', (start, duration) => longTasks.push({ start, duration }));
    await page.addInitScript(() => {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__reportLongTask(e.startTime, e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('trains a small run, fits the mixture, decodes under the pointer and shows the metrics', { timeout: 300_000 }, async () => {
    const t0 = Date.now();
    await page.goto(server.url + SMALL_RUN);
    await page.waitForFunction(() => window.__lab?.build, null, { timeout: 30_000 });
    const readyMs = Date.now() - t0;
    assert.equal(await page.inputValue('#limit'), '1500', 'the URL sets the run\'s settings');
    assert.deepEqual(await page.$$eval('input[name="digit"]:checked', (els) => els.map((e) => e.value)), ['1', '4', '8']);
    assert.match(await page.textContent('#build-chip'), /SIMD/);

    await page.click('#train');
    const trainStart = Date.now();
    // The loss falls: the smoothed loss ends well below the first batch's.
    await page.waitForFunction(() => window.__lab.batches >= 20 && window.__lab.lastLoss < 0.75 * window.__lab.firstLoss,
      null, { timeout: 150_000, polling: 250 });
    // The scatter fills with held-out codes while training.
    await page.waitForFunction(() => window.__lab.scatterPoints >= 300 && window.__lab.scatterUpdates >= 2, null,
      { timeout: 120_000, polling: 250 });
    const duringTraining = await page.evaluate(() => ({ ...window.__lab }));
    assert.ok(duringTraining.phase === 'training' || duringTraining.imagesSeen >= 1500, 'the scatter updates while training');
    const progress = await page.textContent('#progress-detail');
    assert.match(progress, /epoch 1\/1 · [\d,]+ \/ 1,500 images · \d+ images\/s/);
    const trainingLongTasks = longTasks.filter((t) => t.start > readyMs);
    await page.waitForFunction(() => window.__lab.phase === 'fitted', null, { timeout: 200_000, polling: 500 });
    const trainSeconds = (Date.now() - trainStart) / 1000;
    await frames(page);

    // A first picture now, so a failure below still leaves one to look at.
    await page.screenshot({ path: path.join(BUILD, 'screenshot.png'), fullPage: true });
    const lab = await page.evaluate(() => ({ ...window.__lab }));
    assert.equal(lab.errors.length, 0, `the page reported: ${lab.errors.join('; ')}`);
    assert.ok(lab.scatterPoints > 1000, `after the fit the scatter shows every test image (${lab.scatterPoints})`);

    // The mixture: 3 components, each with a mean and 1- and 2-sigma ellipses, drawn where the page says.
    assert.equal(lab.meanPoints.length, 3);
    assert.equal(lab.ellipses, 6);
    for (const p of lab.meanPoints) {
      const { data } = await canvasPixels(page, 'latent', { x: Math.round(p.x) - 1, y: Math.round(p.y) - 1, width: 3, height: 3 });
      const darkest = Math.min(...Array.from({ length: 9 }, (_, i) => data[4 * i] + data[4 * i + 1] + data[4 * i + 2]));
      assert.ok(darkest < 250, `the mean's cross is drawn at (${p.x.toFixed(0)}, ${p.y.toFixed(0)})`);
    }
    // With the codes hidden, the components' colours are on the canvas (their ellipses), well beyond
    // the legend's swatches. A short run's components can lie on top of each other, so only most of them
    // need to show.
    await page.uncheck('#show-points');
    await frames(page);
    const plot = await canvasPixels(page, 'latent', { x: Math.ceil(lab.area.left) + 1, y: Math.ceil(lab.area.top) + 60,
      width: Math.floor(lab.area.right - lab.area.left) - 2, height: Math.floor(lab.area.bottom - lab.area.top) - 62 });
    const counts = lab.colors.map((color) => {
      const want = hexToRgb(color);
      let count = 0;
      for (let i = 0; i < plot.data.length; i += 4) {
        if (Math.hypot(plot.data[i] - want[0], plot.data[i + 1] - want[1], plot.data[i + 2] - want[2]) < 40) count++;
      }
      return count;
    });
    assert.ok(counts.filter((c) => c > 80).length >= Math.ceil(lab.colors.length / 2),
      `the components' ellipses are drawn in their colours (${counts.join(', ')} pixels of ${lab.colors.join(', ')})`);
    await page.check('#show-points');
    await frames(page);

    // Hover two distant points (two extreme test codes, so both are where the data is): both decode
    // to non-blank digits, and they differ.
    const box = await page.locator('#latent').boundingBox();
    const far = lab.farCodes;
    assert.equal(far.length, 2);
    const decodeAt = async ({ x, y }) => {
      const before = await page.evaluate(() => window.__lab.probeSeq);
      await page.mouse.move(box.x + x, box.y + y);
      await page.waitForFunction((b) => window.__lab.probeSeq > b && window.__lab.decodedSeq === window.__lab.probeSeq,
        before, { timeout: 10_000 });
      await frames(page);
      const { data } = await canvasPixels(page, 'decoded');
      return Array.from({ length: data.length / 4 }, (_, i) => 255 - data[4 * i]);   // ink, 0..255
    };
    const hoverStart = Date.now();
    const a = await decodeAt(far[0]);
    const hoverMs = Date.now() - hoverStart;
    const b = await decodeAt(far[1]);
    for (const [name, img] of [['first', a], ['second', b]]) {
      // A short run decodes soft, grey strokes: "ink" here is a pixel at least 1/6 dark.
      const inked = img.filter((v) => v > 42).length / img.length;
      const darkest = Math.max(...img);
      assert.ok(darkest > 80 && inked > 0.01 && inked < 0.8,
        `the ${name} decoded digit is neither blank nor solid (${(100 * inked).toFixed(1)}% ink, darkest ${darkest})`);
    }
    const diff = a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
    // A decoder that ignores its latent (test KL near 0, which a run this short can give) draws the
    // same digit everywhere; only a model that uses its latent is held to "they differ".
    const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    if (lab.metrics.test_kl > 0.5) {
      // A 1,500-image run decodes blurry, similar digits: demand a clear, not a dramatic, difference.
      assert.ok(diff > 1.5,
        `the two decoded digits differ (mean difference ${diff.toFixed(1)}, largest ${maxDiff}, of 255)`);
    }
    else process.stdout.write(`# the short run's decoder ignores its latent (test KL ${lab.metrics.test_kl.toFixed(3)}): ` +
      `decoded digits differ by ${diff.toFixed(2)} of 255, not checked\n`);
    assert.equal(await page.locator('#resp li .pct').count(), 3, 'the responsibilities are shown at the probe');

    // The keyboard moves the probe and decodes again.
    await page.focus('#latent');
    const seq = await page.evaluate(() => window.__lab.probeSeq);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((s) => window.__lab.decodedSeq > s, seq, { timeout: 10_000 });

    // EM replay: a snapshot picks its iteration; the play button runs through to the last.
    await page.click('.snap-canvas[data-iter="1"]');
    assert.equal(await page.evaluate(() => window.__lab.emIter), 1);
    assert.ok(lab.emIterations >= 2, `EM ran ${lab.emIterations} iterations`);
    await page.click('#play');
    await page.waitForFunction((n) => window.__lab.emIter === n, lab.emIterations, { timeout: 30_000 });

    // The manifold and the reconstructions were drawn and are not blank.
    assert.ok(lab.manifolds >= 1 && lab.recons >= 1);
    const manifold = await canvasPixels(page, 'manifold');
    const dark = manifold.data.filter((v, i) => i % 4 === 0 && v < 213).length / (manifold.data.length / 4);
    assert.ok(dark > 0.02 && dark < 0.6, `the manifold shows digits (${(100 * dark).toFixed(1)}% ink)`);

    // The metrics: accuracy above chance for three digits, and the kNN comparison.
    const accuracy = parseFloat(await page.textContent('#m-accuracy'));
    assert.ok(accuracy > 100 / 3, `mixture accuracy ${accuracy}% is above chance`);
    assert.ok(lab.metrics.test_accuracy > 1 / 3);
    assert.ok(parseFloat(await page.textContent('#m-knn')) > 100 / 3);
    assert.equal(await page.locator('#confusion').count(), 1);

    // A probe in the middle of the plane for the picture, then the screenshot.
    await page.mouse.move(box.x + (lab.area.left + lab.area.right) / 2 + 40, box.y + (lab.area.top + lab.area.bottom) / 2 - 30);
    await page.waitForFunction(() => window.__lab.decodedSeq === window.__lab.probeSeq, null, { timeout: 10_000 });
    await frames(page);
    await page.screenshot({ path: path.join(BUILD, 'screenshot.png'), fullPage: true });

    const worst = trainingLongTasks.reduce((m, t) => Math.max(m, t.duration), 0);
    process.stdout.write(`# page ready in ${readyMs} ms; training + fit ${trainSeconds.toFixed(1)} s; first hover decoded in ` +
      `${hoverMs} ms; ${trainingLongTasks.length} long tasks during training (longest ${worst.toFixed(0)} ms)\n`);
    assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
  });
});
