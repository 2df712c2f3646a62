// Exploring between the points (issue 20), in Chromium on the pretrained model the page opens with:
// - a drawn digit's encoded distribution: its 1- and 2-sigma ellipses on the plane's overlay, six
//   samples of it decoded; a test image picked on the plane is encoded to its own code;
// - a path between two anchors, chosen by pointer and by keyboard: its strip's end images are the
//   view worker's decodes at the anchors, its middle differs from both, each image is named by a class
//   the model knows; dragging an anchor (or pressing B) decodes the strip again;
// - a region dragged on the plane: a 12 x 12 grid whose first cell is the decode of its cell's centre;
// - none of it blocks the page: a hover is answered while a region is decoding.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

import { startServer } from '../tools/serve.js';
import { canvasPixels, CHROMIUM, openGuardedPage, settled, siteWithPretrained } from './browser-helpers.js';

const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (make installs it)`;
const PIXELS = 784;

// The largest difference between two images' bytes, and their mean absolute difference.
function compare(a, b) {
  let max = 0, sum = 0;
  for (let i = 0; i < PIXELS; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / PIXELS };
}

const cell = (images, i) => Array.from(images).slice(i * PIXELS, (i + 1) * PIXELS);
const lab = (page) => page.evaluate(() => ({ ...window.__lab }));
const DRAWN_RGB = [214, 51, 108];   // scatter.js's DRAWN_COLOR, the drawn digit's diamond and ellipses

describe('exploring between the points (issue 20)', { skip }, () => {
  let server, browser, page, box;
  const problems = [];

  before(async () => {
    const site = await siteWithPretrained();
    server = await startServer({ root: site.root, port: 0 });
    ({ browser, page } = await openGuardedPage(problems));
    await page.goto(server.url);
    await page.waitForFunction(() => window.__lab?.loaded && window.__lab.meanPoints?.length > 1 && window.__lab.decode, null,
      { timeout: 120_000 });
    box = await page.locator('#latent').boundingBox();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  // The strip, once the newest path is decoded, with the anchors it was decoded for.
  async function newestStrip(seen) {
    await page.waitForFunction((seen) => window.__lab.strips > seen && window.__lab.strip?.current && window.__lab.strip.labels,
      seen, { timeout: 30_000 });
    await settled(page);
    return (await lab(page)).strip;
  }

  // The strip's ends are the decodes at its anchors; its middle is neither; every image has a class.
  async function checkStrip(strip, classes) {
    const [atA, atB] = await Promise.all([strip.a, strip.b].map((z) => page.evaluate((z) => window.__lab.decode(z), z)));
    const images = Object.values(strip.images);
    const first = compare(cell(images, 0), atA), last = compare(cell(images, 9), atB);
    assert.ok(first.max <= 2, `the strip starts with the decode at A (largest difference ${first.max})`);
    assert.ok(last.max <= 2, `the strip ends with the decode at B (largest difference ${last.max})`);
    for (const i of [4, 5]) {
      const fromA = compare(cell(images, i), atA), fromB = compare(cell(images, i), atB);
      assert.ok(fromA.mean > 4 && fromB.mean > 4, `image ${i} differs from both ends (mean ${fromA.mean.toFixed(1)}, ${fromB.mean.toFixed(1)})`);
    }
    assert.equal(strip.labels.length, 10);
    for (const name of strip.labels) assert.ok(classes.includes(name), `"${name}" is a class the model knows (${classes})`);
    // What the strip canvas shows in its first cell is that image (ink dark on white, at the layout's scale).
    const scale = strip.size / 28, x0 = strip.centres[0] - strip.size / 2;
    const { data } = await canvasPixels(page, 'strip', { x: x0, y: 0, width: strip.size, height: strip.size });
    let worst = 0;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        worst = Math.max(worst, Math.abs(data[4 * ((y * scale) * strip.size + x * scale)] - (255 - images[y * 28 + x])));
      }
    }
    assert.ok(worst <= 1, `the strip canvas shows the first decode (largest difference ${worst})`);
  }

  it('draws a digit\'s encoded distribution: its ellipses on the plane and six decoded samples', { timeout: 120_000 }, async () => {
    const draw = await page.locator('#draw').boundingBox();
    await page.mouse.move(draw.x + 98, draw.y + 30);
    await page.mouse.down();
    await page.mouse.move(draw.x + 96, draw.y + 100, { steps: 8 });
    await page.mouse.move(draw.x + 94, draw.y + 168, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__lab.spread && window.__lab.drawn?.z, null, { timeout: 30_000 });
    await settled(page);
    const { spread } = await lab(page);
    assert.ok(spread.rx[0] > 0 && spread.ry[0] > 0 && Math.abs(spread.rx[1] - 2 * spread.rx[0]) < 1e-6, 'the 2-sigma ellipse is twice the 1-sigma one');
    // Along the 2-sigma ellipse, away from the diamond, the overlay has the drawn digit's colour.
    const probe = await canvasPixels(page, 'probe');
    let hits = 0, looked = 0;
    for (let k = 0; k < 72; k++) {
      const t = 2 * Math.PI * k / 72;
      const x = Math.round(spread.x + spread.rx[1] * Math.cos(t)), y = Math.round(spread.y + spread.ry[1] * Math.sin(t));
      if (Math.hypot(x - spread.x, y - spread.y) < 14 || x < 0 || y < 0 || x >= probe.width || y >= probe.height) continue;
      looked++;
      let near = false;
      for (let dy = -1; dy <= 1 && !near; dy++) {
        for (let dx = -1; dx <= 1 && !near; dx++) {
          const o = 4 * ((y + dy) * probe.width + x + dx);
          near = probe.data[o + 3] > 0 && DRAWN_RGB.every((c, i) => Math.abs(probe.data[o + i] - c) < 40);
        }
      }
      if (near) hits++;
    }
    assert.ok(looked >= 12, `the 2-sigma ellipse is big enough to look at (${looked} points away from the diamond)`);
    assert.ok(hits >= looked / 3, `the dashed 2-sigma ellipse is drawn (${hits} of ${looked} points)`);
    // Six samples: inked, and not all the same image.
    const samples = await canvasPixels(page, 'draw-samples');
    const inkAt = (col, row) => {
      let ink = 0;
      for (let y = row * 70; y < row * 70 + 56; y++) for (let x = col * 70; x < col * 70 + 56; x++) ink += 255 - samples.data[4 * (y * samples.width + x)];
      return ink;
    };
    const inks = [0, 1].flatMap((row) => [0, 1, 2].map((col) => inkAt(col, row)));
    assert.ok(inks.every((v) => v > 20 * 255), `every sample has ink (${inks})`);
    assert.ok(new Set(inks).size > 1, 'the samples differ');
  });

  it('puts a test image picked on the plane on the pad, encoded to its own code', { timeout: 120_000 }, async () => {
    await page.check('input[name="plane-tool"][value="pick"]');
    const { meanPoints, drawSeq } = await lab(page);
    await page.mouse.click(box.x + meanPoints[1].x, box.y + meanPoints[1].y);
    await page.waitForFunction((seen) => window.__lab.drawSeq > seen && window.__lab.picked, drawSeq, { timeout: 30_000 });
    const { picked, drawn } = await lab(page);
    assert.ok(Math.hypot(drawn.z[0] - picked.z[0], drawn.z[1] - picked.z[1]) < 1e-3,
      `the picked image is encoded where its code is (${drawn.z} vs ${picked.z})`);
    // The sentence is written with the pad's panels at a coming animation frame, not with the encode.
    await page.waitForFunction((i) => document.getElementById('draw-source').textContent.includes(`Test image ${i},`), picked.index,
      { timeout: 10_000 }).catch(() => {});
    assert.match(await page.textContent('#draw-source'), new RegExp(`Test image ${picked.index},`));
  });

  it('decodes a path between two anchors chosen by pointer, and again when an anchor is dragged', { timeout: 120_000 }, async () => {
    const { meanPoints, colors, strips } = await lab(page);
    const classes = (await page.textContent('#draw-knows')).match(/knows ([\d, and]+):/)[1].split(/, | and /);
    assert.ok(colors.length >= 2 && classes.length >= 2);
    await page.check('input[name="plane-tool"][value="path"]');
    // Two means of different classes: the path crosses from one digit to another.
    const a = meanPoints[0], b = meanPoints.find((m) => m.classIndex !== a.classIndex);
    await page.mouse.click(box.x + a.x, box.y + a.y);
    await page.mouse.click(box.x + b.x, box.y + b.y);
    const strip = await newestStrip(strips);
    await checkStrip(strip, classes);
    assert.notEqual(strip.labels[0], strip.labels[9], 'the path goes from one class to another');
    assert.match(await page.textContent('#path-status'), /From A .* to B .*: \d/);
    // Drag A 40 px to the right: the strip follows.
    const { pathMarks, strips: before } = await lab(page);
    await page.mouse.move(box.x + pathMarks.a.x, box.y + pathMarks.a.y);
    await page.mouse.down();
    await page.mouse.move(box.x + pathMarks.a.x + 40, box.y + pathMarks.a.y, { steps: 6 });
    await page.mouse.up();
    const dragged = await newestStrip(before);
    assert.ok(dragged.a[0] > strip.a[0] + 0.05, `A moved right (${strip.a[0]} -> ${dragged.a[0]})`);
    assert.deepEqual(dragged.b, strip.b, 'B stayed');
    await checkStrip(dragged, classes);
  });

  it('takes a path from the keyboard: Enter at the probe twice, then B moves it', { timeout: 120_000 }, async () => {
    const classes = (await page.textContent('#draw-knows')).match(/knows ([\d, and]+):/)[1].split(/, | and /);
    // The tool by the radio group's arrow keys, the probe by the plane's.
    await page.check('input[name="plane-tool"][value="probe"]');
    await page.focus('input[name="plane-tool"][value="probe"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal((await lab(page)).tool, 'path');
    await page.focus('#latent');
    const probeAt = async () => (await page.textContent('#probe-z')).match(/z = \((-?[\d.]+), (-?[\d.]+)\)/).slice(1).map(Number);
    const press = async (key, n) => { for (let i = 0; i < n; i++) await page.keyboard.press(key); };
    await press('Shift+ArrowLeft', 2);
    await press('Shift+ArrowUp', 2);
    const atA = await probeAt();
    let seen = (await lab(page)).strips;
    await page.keyboard.press('Enter');
    await press('Shift+ArrowRight', 4);
    await press('Shift+ArrowDown', 5);
    const atB = await probeAt();
    await page.keyboard.press('Enter');
    const strip = await newestStrip(seen);
    assert.ok(Math.abs(strip.a[0] - atA[0]) < 0.006 && Math.abs(strip.a[1] - atA[1]) < 0.006, `A at the probe (${strip.a} vs ${atA})`);
    assert.ok(Math.abs(strip.b[0] - atB[0]) < 0.006 && Math.abs(strip.b[1] - atB[1]) < 0.006, `B at the probe (${strip.b} vs ${atB})`);
    await checkStrip(strip, classes);
    seen = (await lab(page)).strips;
    await press('Shift+ArrowLeft', 2);
    await page.keyboard.press('b');
    const moved = await newestStrip(seen);
    assert.ok(moved.b[0] < strip.b[0] - 0.05 && Math.abs(moved.a[0] - strip.a[0]) < 1e-9, 'B moved to the probe, A stayed');
  });

  it('zooms into a dragged region: a 12 x 12 grid of decodes', { timeout: 120_000 }, async () => {
    await page.check('input[name="plane-tool"][value="region"]');
    const { meanPoints, regions } = await lab(page);
    const m = meanPoints[0];
    await page.mouse.move(box.x + m.x - 40, box.y + m.y - 30);
    await page.mouse.down();
    await page.mouse.move(box.x + m.x + 40, box.y + m.y + 30, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction((seen) => window.__lab.regions > seen && window.__lab.region, regions, { timeout: 30_000 });
    await settled(page);
    const { region } = await lab(page);
    assert.equal(region.n, 12);
    assert.ok(region.box.x[1] > region.box.x[0] && region.box.y[1] > region.box.y[0]);
    // Its top-left cell is the decode at the centre of the region's top-left cell.
    const z = [region.box.x[0] + (region.box.x[1] - region.box.x[0]) / 24, region.box.y[1] - (region.box.y[1] - region.box.y[0]) / 24];
    const decoded = await page.evaluate((z) => window.__lab.decode(z), z);
    assert.ok(compare(cell(Object.values(region.cells), 0), decoded).max <= 2, 'the first cell is the decode at its centre');
    const { data } = await canvasPixels(page, 'region');
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) ink += data[i] < 128 ? 1 : 0;
    assert.ok(ink > 1000, `the grid is drawn (${ink} dark pixels)`);
    assert.match(await page.textContent('#region-status'), /a decode every/);
  });

  it('never blocks the page: a hover is answered while a region is decoding', { timeout: 120_000 }, async () => {
    await page.check('input[name="plane-tool"][value="region"]');
    await page.focus('#latent');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Enter');
    for (let i = 0; i < 6; i++) await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    // Every decode the arrow keys asked for has arrived before the region is asked for.
    await page.waitForFunction(() => window.__lab.decodedSeq === window.__lab.probeSeq, null, { timeout: 30_000 });
    const { regions, decodes, meanPoints } = await lab(page);
    // Enter (the region's second corner) and a hover in one task of the page, as a user's hand could
    // give them: two round trips of the test's own (playwright's keyboard, then its mouse) can arrive
    // apart by more than the region's decodes take on a loaded machine, which would test the machine.
    await page.evaluate(({ x, y }) => {
      const latent = document.getElementById('latent');
      latent.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      latent.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true, pointerType: 'mouse' }));
    }, { x: box.x + meanPoints[1].x, y: box.y + meanPoints[1].y });
    await page.waitForFunction((seen) => window.__lab.regions > seen, regions, { timeout: 30_000 });
    const after = await lab(page);
    assert.ok(after.decodesAtRegion > decodes, `the hover was decoded before the region's decodes were done`);
    assert.deepEqual(problems, [], 'no console errors, exceptions or foreign requests');
    assert.deepEqual(after.errors, []);
  });
});
