// Ten classes on the page (issue 16), in Chromium:
// - a short run on all ten of MNIST's digits names every class, in text, in the plane's legend, the EM
//   snapshots' legend, the bars at the probe and the confusion matrix's table (the names expected come
//   from web/lib/data/datasets.js, not from the page); a full ten-digit run's status says how many
//   images it will see, at what rate, and how long it takes in all, and the three agree;
// - choosing Fashion-MNIST in the Data panel puts it in the link, fetches its four files with progress
//   that adds up to their sizes on disk, names its ten classes on the class boxes, and a short run on it
//   names Fashion-MNIST's classes in the legend, the bars, the draw pad's sentence and the confusion
//   matrix; a link with an unknown dataset is explained beside the menu and Train waits;
// - the long recipe is offered from six classes on, quoting the gain measured on the chosen dataset;
// - a Fashion-MNIST model file loaded on an MNIST page is measured on Fashion-MNIST (the metrics it
//   recorded when it was trained come back exactly; its mixture named per class, in its own dataset's
//   words, while the menus speak of digits), and the site's pretrained Fashion-MNIST model is
//   offered beside the digits one, named by its metadata, and hidden while it is on show.
// Any console error, uncaught exception or request to another host fails it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { startServer } from '../tools/serve.js';
import { DATASET_FILES, DATASETS } from '../web/lib/data/datasets.js';
import { MANY_CLASSES, PRESETS } from '../web/lib/run/options.js';
import { CHROMIUM, FASHION_MODEL, openGuardedPage, probeAnswer, rowName, settled, SITE, siteWithFashionModel } from './browser-helpers.js';

const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (make installs it)`;
const ALL_DIGITS = DATASETS.mnist.classNames.map((_, d) => d).join(',');
const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

// "3 min 05 s", "1 h 02 min", "45 s" -> seconds.
function seconds(text) {
  const h = /(\d+) h/.exec(text)?.[1] ?? 0, m = /(\d+) min/.exec(text)?.[1] ?? 0, s = /(\d+) s\b/.exec(text)?.[1] ?? 0;
  return 3600 * h + 60 * m + Number(s);
}

// Every place the page names the classes of the model on show, as text: the legends, the bars at the
// probe, the confusion matrix's table (its column heads after the corner, its row heads).
async function namesShown(page) {
  await settled(page);
  const texts = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
  return {
    legend: await texts('#latent-legend li'),
    snapshots: await texts('#snaps-legend li'),
    bars: (await probeAnswer(page)).rows.map(rowName),
    columns: (await texts('#confusion-table thead th')).slice(1),
    rows: await texts('#confusion-table tbody th'),
  };
}

function assertNamed(shown, names, what) {
  for (const [where, list] of Object.entries(shown)) assert.deepEqual(list, names, `${what}: the ${where} name every class`);
}

describe('ten classes on the page (issue 16)', { skip }, () => {
  let server, browser, page, site;
  const problems = [];
  const timings = {};

  before(async () => {
    assert.ok(existsSync(path.join(SITE, 'index.html')), 'build/site is missing: run make all first');
    site = await siteWithFashionModel();
    server = await startServer({ root: site.root, port: 0 });
    ({ browser, page } = await openGuardedPage(problems, { viewport: { width: 1400, height: 1000 } }));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (timings.tenDigits) {
      process.stdout.write(`# ten digits, ${timings.images} images, 1 epoch: trained and fitted in ${timings.tenDigits.toFixed(1)} s; ` +
        `a full ten-digit run, as its status line said: ${timings.fullRun}; Fashion-MNIST fetched in ${timings.fashionFetch?.toFixed(1)} s; ` +
        `a Fashion-MNIST model file measured in ${timings.fashionMeasure?.toFixed(1)} s\n`);
    }
  });

  it('names all ten digits in the legends, the bars and the confusion matrix, and says how long a full run takes', { timeout: 300_000 }, async () => {
    timings.images = 400;
    await page.goto(`${server.url}?digits=${ALL_DIGITS}&epochs=1&limit=${timings.images}&seed=3&workers=1`);
    await page.waitForFunction(() => window.__lab?.build && window.__lab.dataReady, null, { timeout: 120_000 });
    const names = DATASETS.mnist.classNames;
    assert.deepEqual(await page.$$eval('input[name="digit"]:checked', (els) => els.map((e) => e.nextElementSibling.textContent)), [...names]);
    const started = Date.now();
    await page.click('#train');
    await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 250 });
    timings.tenDigits = (Date.now() - started) / 1000;
    assertNamed(await namesShown(page), [...names], 'ten digits');
    // The table holds the counts the page measured, cell for cell.
    const matrix = await page.evaluate(() => window.__lab.metrics.confusion);
    const cells = await page.$$eval('#confusion-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(cells, matrix.map((row) => row.map(count)), 'the table\'s counts are the confusion matrix\'s');
    assert.equal(await page.textContent('#draw-knows'), `This model knows ${names.slice(0, -1).join(', ')} and ${names.at(-1)}: other digits are forced into one of them.`);

    // A full run on all ten digits (every training image, the recipe's epochs): its status gives the
    // images it will see (each class's training images but the labelled few held out, times the
    // epochs), the rate, the time left and the whole run's length, and they agree with each other.
    const { epochs, valPerClass } = PRESETS.default;
    await page.fill('#limit', '0');
    await page.fill('#epochs', String(epochs));
    await page.click('#train');
    await page.waitForFunction(() => window.__lab.phase === 'training' && window.__lab.batches >= 20, null, { timeout: 120_000, polling: 250 });
    await page.waitForTimeout(6000);   // past the first seconds, when the rate is the run's mean so far
    const detail = await page.textContent('#progress-detail');
    const trainImages = await page.evaluate(() => window.__lab.downloads.mnist.train);
    const total = (trainImages - names.length * valPerClass) * epochs;
    const m = /epoch 1\/(\d+) · ([\d,]+) \/ ([\d,]+) images · (\d+) images\/s on (?:one worker|\d+ threads|\d+ replicas) · (.+) left \(about (.+) in all\)/.exec(detail);
    assert.ok(m, `the status says the run's images, rate, time left and length: "${detail}"`);
    assert.equal(Number(m[1]), epochs);
    assert.equal(m[3], count(total), `a full run sees ${count(total)} images`);
    const [seen, rate, left, all] = [Number(m[2].replaceAll(',', '')), Number(m[4]), seconds(m[5]), seconds(m[6])];
    const expectedLeft = (total - seen) / rate;
    assert.ok(Math.abs(left - expectedLeft) <= 0.1 * expectedLeft + 60, `time left ${m[5]} for ${count(total - seen)} images at ${rate} images/s`);
    assert.ok(all >= left && all - left < 0.1 * all + 60, `the whole run (${m[6]}) is the time left plus the time so far`);
    timings.fullRun = `${count(total)} images at ${rate} images/s, about ${m[6]} in all`;
    await page.click('#reset');
    await page.waitForFunction(() => window.__lab.phase === 'idle', null, { timeout: 60_000 });
    assert.deepEqual(await page.evaluate(() => window.__lab.errors), []);
    assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
  });

  it('explains an unknown dataset in the link beside its menu, and Train waits', { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}?dataset=nope&seed=3`);
    await page.waitForFunction(() => window.__lab?.build, null, { timeout: 60_000 });
    assert.ok(await page.isVisible('#dataset-error'));
    assert.match(await page.textContent('#dataset-error'), /unknown dataset "nope" in the link \(known: mnist, fashion\)/);
    assert.equal(await page.getAttribute('#dataset', 'aria-invalid'), 'true');
    assert.ok(await page.isDisabled('#train'), 'Train waits while the dataset is wrong');
    await page.selectOption('#dataset', 'mnist');
    assert.ok(await page.isHidden('#dataset-error'));
    assert.ok(await page.isEnabled('#train'));
  });

  it('offers the long recipe under the Recipe menu once many digits are ticked, quoting the chosen dataset\'s own gain, and it fills in 16 epochs', { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}?seed=3`);
    await page.waitForFunction(() => window.__lab?.build, null, { timeout: 60_000 });
    const offer = /With (\d+) digits, try \u201cLab default, 16 epochs\u201d/;
    assert.doesNotMatch(await page.textContent('#preset-about'), offer, 'three digits: no offer');
    const boxes = await page.$$('input[name="digit"]');
    let ticked = 3;
    for (const box of boxes) {
      if (await box.isChecked()) continue;
      await box.check();
      ticked++;
      const note = await page.textContent('#preset-about');
      if (ticked < MANY_CLASSES) assert.doesNotMatch(note, offer, `${ticked} digits: no offer yet`);
      else assert.equal(note.match(offer)?.[1], String(ticked), `${ticked} digits: offered, with the count`);
    }
    assert.equal(ticked, 10);
    await page.selectOption('#preset', 'long');
    assert.equal(await page.inputValue('#epochs'), String(PRESETS.long.epochs));
    assert.equal(PRESETS.long.epochs, 2 * PRESETS.default.epochs);
    for (const f of ['lrWarmup', 'mixture', 'deskew', 'kl']) {
      assert.equal(await page.inputValue(`#${f}`), String(PRESETS.default[f]), `${f} as the default's`);
    }
    assert.match(await page.textContent('#preset-about'), /The lab default trained for 16 epochs/);
    assert.match(await page.evaluate(() => location.search), /preset=long/);
    assert.ok(await page.isEnabled('#train'));
    await page.selectOption('#preset', 'default');
    assert.equal(await page.inputValue('#epochs'), String(PRESETS.default.epochs));
    assert.match(await page.textContent('#preset-about'), offer, 'the default, with ten digits ticked, offers it again');
    // The gain it quotes is the chosen dataset's own.
    assert.match(await page.textContent('#preset-about'), /: on all ten digits it lifts the mixture\u2019s accuracy from [\d.]+ to [\d.]+/,
      'with MNIST chosen, the offer quotes the digits\' gain');
    await page.selectOption('#dataset', 'fashion');
    assert.match(await page.textContent('#preset-about'),
      /With 10 classes, try \u201cLab default, 16 epochs\u201d: on Fashion-MNIST\u2019s ten classes it lifts the mixture\u2019s accuracy/,
      'with Fashion-MNIST chosen, the offer quotes Fashion-MNIST\'s gain, not the digits\'');
    assert.deepEqual(problems, []);
  });

  it('fetches Fashion-MNIST when it is chosen, names its classes on the boxes, and a run on it names them everywhere', { timeout: 300_000 }, async () => {
    await page.goto(`${server.url}?epochs=1&limit=500&seed=3&workers=1&lrWarmup=0`);
    await page.waitForFunction(() => window.__lab?.build && window.__lab.dataReady, null, { timeout: 120_000 });
    const progressBefore = await page.evaluate(() => window.__lab.dataProgress.length);
    const started = Date.now();
    await page.selectOption('#dataset', 'fashion');
    assert.match(await page.evaluate(() => location.search), /dataset=fashion/, 'the link keeps the choice');
    await page.waitForFunction(() => window.__lab.downloads.fashion?.ready && window.__lab.dataReady, null, { timeout: 120_000, polling: 100 });
    timings.fashionFetch = (Date.now() - started) / 1000;
    // Its progress: bytes that only grow, out of a total that is the four files' size on the server.
    const progress = (await page.evaluate((n) => window.__lab.dataProgress.slice(n), progressBefore)).filter((p) => p.dataset === 'fashion');
    const sizes = await Promise.all([...DATASET_FILES.train, ...DATASET_FILES.test].map((f) => stat(path.join(site.root, DATASETS.fashion.dir, f))));
    const onDisk = sizes.reduce((sum, s) => sum + s.size, 0);
    assert.ok(progress.length >= 1, 'progress was reported');
    assert.ok(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1].loaded), 'the bytes loaded only grow');
    assert.ok(progress.every((p) => p.total === onDisk), `every report's total is the files' ${onDisk} bytes`);
    assert.equal(progress.at(-1).loaded, onDisk, 'it ends with every byte');
    const { train, test } = await page.evaluate(() => window.__lab.downloads.fashion);
    assert.equal(await page.textContent('#data-chip-fashion .chip-text'), `Fashion-MNIST ready: ${count(train)} + ${count(test)} images`);
    assert.match(await page.textContent('#data-status'), /Training data: Fashion-MNIST \(bundled\)/);

    // The class boxes name Fashion-MNIST's classes, all chosen (its default), under "Classes".
    const names = DATASETS.fashion.classNames;
    assert.deepEqual(await page.$$eval('.digit-box span', (els) => els.map((e) => e.textContent)), [...names]);
    assert.deepEqual(await page.$$eval('input[name="digit"]:checked', (els) => els.length), names.length);
    assert.equal(await page.textContent('.digits legend'), 'Classes');

    await page.click('#train');
    await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 250 });
    assert.equal(await page.evaluate(() => window.__lab.run.dataset), 'fashion', 'the run trained on Fashion-MNIST');
    assertNamed(await namesShown(page), [...names], 'Fashion-MNIST');
    const knows = await page.textContent('#draw-knows');
    assert.ok(knows.startsWith(`This model knows ${names.slice(0, -1).join(', ')} and ${names.at(-1)}: other classes`), knows);
    assert.doesNotMatch(`${knows} ${await page.textContent('#draw-title')} ${await page.textContent('#resp-title')}`, /digit/i,
      'the draw pad and the bars do not speak of digits');
    assert.match(await page.textContent('#probe-z'), new RegExp(`(most likely|nearest:) (${names.map((n) => n.replace('/', '\\/')).join('|')}),? \\(?`),
      'the answer at the probe names a class');
    assert.deepEqual(await page.evaluate(() => window.__lab.errors), []);
    assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
  });

  it('measures a Fashion-MNIST model file on Fashion-MNIST, and offers the pretrained Fashion-MNIST model beside the digits one', { timeout: 300_000 }, async () => {
    await page.goto(`${server.url}?seed=42`);   // MNIST chosen, settings in the link: nothing loaded on open
    await page.waitForFunction(() => window.__lab?.build && window.__lab.dataReady && window.__lab.pretrained.every((p) => p.dataset),
      null, { timeout: 120_000 });
    assert.equal(await page.inputValue('#dataset'), 'mnist');
    const started = Date.now();
    await page.setInputFiles('#load-file', [
      { name: 'fashion.safetensors', mimeType: 'application/octet-stream', buffer: await readFile(site.file) },
      { name: 'fashion.mixture.json', mimeType: 'application/json', buffer: await readFile(site.mixture) }]);
    await page.waitForFunction(() => window.__lab.loaded?.name === 'fashion.safetensors', null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.__lab.loaded.dataset), 'fashion');
    await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 250 });
    timings.fashionMeasure = (Date.now() - started) / 1000;
    // Measured on Fashion-MNIST: what train.js measured when it made the file, exactly.
    const metrics = await page.evaluate(() => window.__lab.metrics);
    assert.equal(metrics.test_accuracy, site.recorded.test_accuracy, 'the mixture classifies the test images as when it was measured');
    assert.ok(Math.abs(metrics.test_bce - site.recorded.test_bce) < 1e-6 * site.recorded.test_bce,
      `the same test BCE (${metrics.test_bce} against ${site.recorded.test_bce})`);
    assert.deepEqual(metrics.confusion, site.recorded.confusion);
    assert.equal(await page.evaluate(() => window.__lab.downloads.fashion?.ready), true, 'Fashion-MNIST was fetched to measure it');
    assert.match(await page.textContent('#model-status'), /^On show: fashion\.safetensors, Fashion-MNIST, all 10 classes, the lab default recipe, 1 epoch, seed 42/);
    // Its mixture in its own words, while the menus speak of the next run's digits.
    assert.match(await page.textContent('#model-status'), /; mixture \([^)]* per class [^)]*\) from its \.json file\./,
      'the loaded Fashion-MNIST model\'s mixture is named per class, not per digit');
    assertNamed(await namesShown(page), [...DATASETS.fashion.classNames], 'the loaded Fashion-MNIST model');
    assert.equal(await page.inputValue('#dataset'), 'mnist', 'the settings for the next run are left as they were');

    // The pretrained models: one button each, named by its metadata; the one on show is not offered.
    assert.match(await page.textContent(`#load-${FASHION_MODEL}`), /^Load the pretrained Fashion-MNIST model$/);
    assert.equal(await page.locator('#load-pretrained-148').count(), 1, 'the digits model is offered too');
    await page.click(`#load-${FASHION_MODEL}`);
    await page.waitForFunction((n) => window.__lab.loaded?.name === `${n}.safetensors` && window.__lab.loaded.pretrained, FASHION_MODEL,
      { timeout: 60_000 });
    assert.ok(await page.isHidden(`#load-${FASHION_MODEL}`), 'the model on show is not offered');
    assert.ok(await page.isVisible('#load-pretrained-148'), 'the other one is');
    await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 250 });
    assert.deepEqual(await page.evaluate(() => window.__lab.errors), []);
    assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
  });
});
