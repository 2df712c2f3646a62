// What the page says, and whether everyone can use it (issue 18), in Chromium on first open at 1400 x 1000
// and on a phone's 390 x 844 with touch, and after a short training run:
// - the responsibilities name their digit in text ("8 · 91.6%"), the probe's and the drawing's answers
//   are polite live regions with a text form ("most likely 8 (91.6%)"), and the loaded mixture answers
//   before the model is measured (the page says what measuring does);
// - the draw pad says which digits the model knows; EM replays on first open (Replay enabled and working,
//   its accessible name following its text), the snapshots are those the heading names; the EM chart's
//   ticks are whole numbers;
// - the settings say they are for the next run, the model panel says what is on show, and the pretrained
//   model is not offered while it is on show; no menu option is cut; every panel has a visible sentence
//   saying what it shows;
// - text is 13 px or more; controls are 24 px or taller, 44 px on the phone, where the EM slider spans its
//   panel, nothing scrolls sideways and the words say "tap";
// - axe-core (loaded by the test only) finds no violation, on first open (both sizes) and after training;
// - with ten classes on show (a short Fashion-MNIST run, at both sizes): every class named in the legends,
//   the bars and the confusion matrix's table (opened), text and targets as above, nothing sideways on
//   the phone, and no axe-core violation.
// Screenshots of first open at both sizes are left in build/ (docs/ has the committed ones).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { BUILD } from '../tools/common.js';
import { startServer } from '../tools/serve.js';
import { DATASETS } from '../web/lib/data/datasets.js';
import { CHROMIUM, openGuardedPage, probeAnswer, rowName, settled, SITE, siteWithPretrained } from './browser-helpers.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (make installs it)`;

// axe-core's violations on the page as it is now (rule id, impact, the first offending element).
async function axeViolations(page) {
  if (!await page.evaluate(() => typeof window.axe === 'object')) await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length} element(s), e.g. ${v.nodes[0]?.target.join(' ')}: ${v.help}`);
  });
}

// Every visible control a finger or a pointer aims at, with its box: buttons, links, fields, menus, the
// file pickers and check boxes by their labels, focusable figures.
function targetsOnPage(page) {
  return page.evaluate(() => {
    const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
    const els = new Set();
    for (const el of document.querySelectorAll('button, a[href], select, input, summary, [tabindex="0"]')) {
      // An input inside its label (file pickers, check boxes, digit boxes, radio buttons) is aimed at through the label.
      const target = el.matches('input[type="file"], input[type="checkbox"], input[type="radio"]') ? el.closest('label') : el;
      if (target && visible(target) && !target.closest('[hidden]')) els.add(target);
    }
    return [...els].map((el) => {
      const r = el.getBoundingClientRect();
      return { what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}"`,
        width: r.width, height: r.height };
    });
  });
}

// The smallest font size of any visible text on the page, and where.
function smallestText(page) {
  return page.evaluate(() => {
    let smallest = { size: Infinity, text: '' };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!node.textContent.trim() || !el || el.closest('[hidden], script, style, .sep')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < smallest.size) smallest = { size, text: node.textContent.trim().slice(0, 40) };
    }
    return smallest;
  });
}

// Options whose words do not fit their menu's box (the text measured in the menu's own font, against
// the box less its padding and the arrow).
function cutOptions(page) {
  return page.evaluate(() => {
    const ctx = document.createElement('canvas').getContext('2d');
    const cut = [];
    for (const select of document.querySelectorAll('select')) {
      const style = getComputedStyle(select);
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
      for (const option of select.options) {
        const width = ctx.measureText(option.textContent).width;
        if (width > room) cut.push(`#${select.id} "${option.textContent}" (${width.toFixed(0)} px in ${room.toFixed(0)})`);
      }
    }
    return cut;
  });
}

// The checks both sizes share, on first open once the model is measured.
async function checkFirstOpen(page, { phone }) {
  const problems = [];
  // The words: the settings are for the next run; the model panel says what is on show; nothing
  // offers to load what is loaded; each panel has a visible sentence saying what it shows.
  assert.equal(await page.textContent('#settings-title'), 'Settings for your next run');
  assert.match(await page.textContent('#model-status'), /^On show: the pretrained model, digits 1, 4, 8, the authors' recipe, \d+ epochs?, seed 42; mixture \(.+\) from its \.json file/);
  assert.equal(await page.locator('#load-pretrained-148').count(), 1, 'the site\'s pretrained model has its button');
  assert.ok(await page.isHidden('#load-pretrained-148'), 'the pretrained model is not offered while it is on show');
  const unexplained = await page.$$eval('section.panel', (panels) => panels.filter((p) => ![...p.querySelectorAll('.explain, .hint')]
    .some((e) => e.getBoundingClientRect().height > 0 && e.textContent.trim().length > 40)).map((p) => p.getAttribute('aria-labelledby')));
  assert.deepEqual(unexplained, [], 'every panel has a visible sentence saying what it shows');
  assert.deepEqual(await cutOptions(page), [], 'no menu option is cut');
  // EM: replay enabled on first open, over the history the file kept; the snapshots its heading names.
  const em = await page.evaluate(() => ({ iterations: window.__lab.emIterations, ticks: window.__lab.emTicks }));
  assert.ok(em.iterations >= 2, `the loaded mixture brings its EM history (${em.iterations} iterations)`);
  assert.ok(em.ticks.length >= 2 && em.ticks.every(Number.isInteger), `the EM chart's ticks are whole numbers (${em.ticks})`);
  assert.ok(await page.isEnabled('#play') && await page.isEnabled('#em-iter'), 'Replay and the slider are enabled');
  const expected = [...new Set([1, 5, 10, 20, 50].map((t) => Math.min(t, em.iterations)))];
  const snaps = await page.$$eval('.snap:not([hidden]) figcaption', (c) => c.map((e) => e.textContent));
  assert.deepEqual(snaps.map((c) => Number(c.match(/\d+/)?.[0])), expected, `the snapshots (${snaps.join('; ')})`);
  assert.match(await page.textContent('#snaps-sub'), new RegExp(`iterations ${expected.join(', ')}`));
  // Text and targets.
  const text = await smallestText(page);
  assert.ok(text.size >= 13, `text is 13 px or more (smallest: ${text.size} px, "${text.text}")`);
  const minimum = phone ? 44 : 24;
  const small = (await targetsOnPage(page)).filter((t) => t.height < minimum || t.width < 24);
  assert.deepEqual(small.map((t) => `${t.what}: ${t.width.toFixed(0)} x ${t.height.toFixed(0)}`), [],
    `every control is at least ${minimum} px tall and 24 px wide`);
  problems.push(...await axeViolations(page));
  assert.deepEqual(problems, [], 'axe-core finds no violation on first open');
}

describe('the page says what it shows, to everyone (issue 18)', { skip }, () => {
  let server;
  before(async () => {
    assert.ok(existsSync(path.join(SITE, 'index.html')), 'build/site is missing: run make all first');
    server = await startServer({ root: (await siteWithPretrained()).root, port: 0 });
  });
  after(async () => { await server?.close(); });

  it('at 1400 x 1000: named bars, live answers before measuring, the draw pad\'s classes, EM replay on first open', { timeout: 300_000 }, async () => {
    const problems = [];
    const { browser, page } = await openGuardedPage(problems, { viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => window.__lab?.loaded, null, { timeout: 120_000 });
      // The loaded mixture answers at once, while the model is still being measured (and the page says
      // what measuring is).
      const { rows, phase } = await probeAnswer(page);
      assert.equal(phase, 'evaluating', 'the mixture answered before the model was measured');
      // Measuring counts images in two stages: every image encoded once, then the test set's loss.
      assert.match(await page.textContent('#progress-detail'), /^(Loading MNIST|Encoding [\d,]+ of [\d,]+ images of MNIST.*; then the test loss|Measuring the test loss on [\d,]+ of [\d,]+ test images)/);
      assert.deepEqual(rows.map((r) => r.match(/^(\d) · \d+(\.\d)?%$/)?.[1]), ['1', '4', '8'], `each row names its digit (${rows.join(' | ')})`);
      assert.equal(await page.getAttribute('#probe-z', 'aria-live'), 'polite');
      assert.match(await page.textContent('#probe-z'), /^z = \(-?\d+\.\d\d, -?\d+\.\d\d\): (most likely [148] \(\d+(\.\d)?%\)|unlike anything it was trained on)/);
      assert.equal(await page.getAttribute('#draw-z', 'aria-live'), 'polite');
      assert.equal(await page.textContent('#draw-knows'), 'This model knows 1, 4 and 8: other digits are forced into one of them.');
      assert.match(await page.textContent('#latent-how'), /^Hover/);

      await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 500 });
      await settled(page);
      await page.screenshot({ path: path.join(BUILD, 'screenshot-1400x1000.png') });
      await checkFirstOpen(page, { phone: false });

      // Replay: its name says what pressing it does; it runs through EM's iterations and stops at the last.
      const last = await page.evaluate(() => window.__lab.emIterations);
      await page.getByRole('button', { name: 'Replay EM' }).click();
      await page.getByRole('button', { name: 'Stop replay' }).waitFor({ timeout: 5_000 });
      await page.waitForFunction(() => window.__lab.emIter > 0 && window.__lab.emIter < window.__lab.emIterations, null, { timeout: 10_000 });
      await page.getByRole('button', { name: 'Replay EM' }).waitFor({ timeout: 30_000 });
      assert.equal(await page.evaluate(() => window.__lab.emIter), last, 'the replay ends on the last iteration');
      assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
    } finally {
      await browser.close();
    }
  });

  it('at 390 x 844 with touch: 44 px targets, the slider across its panel, "tap", nothing sideways', { timeout: 300_000 }, async () => {
    const problems = [];
    const { browser, page } = await openGuardedPage(problems, { viewport: { width: 390, height: 844 }, touch: true });
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => window.__lab?.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 500 });
      await settled(page);
      await page.screenshot({ path: path.join(BUILD, 'screenshot-390x844.png') });
      assert.match(await page.textContent('#latent-how'), /^Tap/);
      assert.match(await page.textContent('#banner-text'), /tap the plane/);
      const { rows } = await probeAnswer(page, { tap: true });
      assert.equal(rows.length, 3);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'nothing scrolls sideways');
      const slider = await page.evaluate(() => {
        const s = document.getElementById('em-iter'), panel = s.closest('.panel'), style = getComputedStyle(panel);
        return { width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height,
          room: panel.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) };
      });
      assert.ok(slider.width >= 0.95 * slider.room && slider.height >= 44,
        `the EM slider spans its panel (${slider.width.toFixed(0)} of ${slider.room.toFixed(0)} px, ${slider.height.toFixed(0)} px tall)`);
      await checkFirstOpen(page, { phone: true });
      assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
    } finally {
      await browser.close();
    }
  });

  it('after a short training run: named bars, replay, and no axe-core violation', { timeout: 300_000 }, async () => {
    const problems = [];
    const { browser, page } = await openGuardedPage(problems);
    try {
      await page.goto(`${server.url}?digits=0,3,7&epochs=1&limit=1500&seed=5&workers=1`);
      await page.waitForFunction(() => window.__lab?.build, null, { timeout: 60_000 });
      await page.click('#train');
      await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 500 });
      await settled(page);
      const { rows } = await probeAnswer(page);
      assert.deepEqual(rows.map((r) => r.match(/^(\d) · /)?.[1]), ['0', '3', '7'], `each row names its digit (${rows.join(' | ')})`);
      assert.equal(await page.textContent('#draw-knows'), 'This model knows 0, 3 and 7: other digits are forced into one of them.');
      assert.ok(await page.isEnabled('#play'), 'a fitted mixture can be replayed');
      assert.ok(await page.isVisible('#load-pretrained-148'), 'the pretrained model is offered again once it is not on show');
      assert.match(await page.textContent('#load-pretrained-148'), /^Load the pretrained digits model \(1, 4, 8\)$/, 'named by its metadata');
      assert.deepEqual(await axeViolations(page), [], 'axe-core finds no violation after training');
      assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
    } finally {
      await browser.close();
    }
  });

  for (const [size, options] of [['1400 x 1000', { viewport: { width: 1400, height: 1000 } }],
    ['390 x 844 with touch', { viewport: { width: 390, height: 844 }, touch: true }]]) {
    it(`with ten classes shown, at ${size}: every class named, the confusion matrix's table, no axe-core violation`, { timeout: 300_000 }, async () => {
      const problems = [];
      const phone = !!options.touch;
      const { browser, page } = await openGuardedPage(problems, options);
      try {
        await page.goto(`${server.url}?dataset=fashion&epochs=1&limit=500&seed=5&workers=1&lrWarmup=0`);
        await page.waitForFunction(() => window.__lab?.build && window.__lab.dataReady, null, { timeout: 120_000 });
        await page.click('#train');
        await page.waitForFunction(() => window.__lab.phase === 'fitted' && window.__lab.metrics, null, { timeout: 240_000, polling: 500 });
        await settled(page);
        const names = [...DATASETS.fashion.classNames];
        assert.deepEqual(await page.$$eval('#latent-legend li', (els) => els.map((e) => e.textContent)), names, 'the plane\'s legend');
        assert.deepEqual((await probeAnswer(page, { tap: phone })).rows.map(rowName), names, 'the bars at the probe');
        await page.locator('#confusion-more summary').scrollIntoViewIfNeeded();
        await page.click('#confusion-more summary');
        assert.ok(await page.isVisible('#confusion-table'), 'the confusion matrix opens as a table');
        assert.deepEqual(await page.$$eval('#confusion-table tbody th', (els) => els.map((e) => e.textContent)), names, 'the table\'s rows');
        await page.screenshot({ path: path.join(BUILD, `screenshot-ten-classes-${phone ? '390x844' : '1400x1000'}.png`), fullPage: true });
        const text = await smallestText(page);
        assert.ok(text.size >= 13, `text is 13 px or more (smallest: ${text.size} px, "${text.text}")`);
        const small = (await targetsOnPage(page)).filter((t) => t.height < (phone ? 44 : 24) || t.width < 24);
        assert.deepEqual(small.map((t) => `${t.what}: ${t.width.toFixed(0)} x ${t.height.toFixed(0)}`), [], 'every control is large enough');
        assert.deepEqual(await cutOptions(page), [], 'no menu option is cut');
        if (phone) assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing scrolls sideways');
        assert.deepEqual(await axeViolations(page), [], 'axe-core finds no violation with ten classes shown');
        assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
      } finally {
        await browser.close();
      }
    });
  }
});
