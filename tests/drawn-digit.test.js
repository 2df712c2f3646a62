// Draw a digit: the page's MNIST-style preprocessing (web/lib/data/drawn-digit.js). A stroke drawn anywhere
// on the canvas, at any size, must reach the model as MNIST's digits did: ink scaled to fit 20 x 20
// (aspect ratio kept), centre of mass at the image's centre; an empty canvas says "nothing drawn".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { mnistCentre, BOX, SIDE } from '../web/lib/data/drawn-digit.js';

// Centre of mass (pixel centres at i + 0.5) and the bounding box of the ink of a 28 x 28 image.
function measure(image) {
  let mass = 0, mx = 0, my = 0, x0 = SIDE, y0 = SIDE, x1 = -1, y1 = -1;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = image[y * SIDE + x];
      if (v <= 0) continue;
      mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  return { mass, cx: mx / mass, cy: my / mass, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

// A canvas-like alpha channel (bytes) with ink where inside(x, y) says, on a width x height sheet.
function sheet(width, height, inside) {
  const a = new Uint8ClampedArray(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x, y)) a[y * width + x] = 255;
  return a;
}

describe('draw a digit: MNIST-style centring', () => {
  it('moves an off-centre blob so its centre of mass is at (14, 14) and its longer side is 20 pixels', () => {
    // A lopsided shape in the top-left corner of a 196 x 196 canvas: an ellipse plus a tail, so its
    // centre of mass is not its bounding box's centre.
    const ink = sheet(196, 196, (x, y) => ((x - 40) / 22) ** 2 + ((y - 50) / 34) ** 2 <= 1 || (x >= 40 && x < 80 && y >= 78 && y < 84));
    const image = mnistCentre(ink, 196, 196);
    assert.ok(image instanceof Float32Array && image.length === 784);
    const m = measure(image);
    assert.ok(Math.abs(m.cx - 14) <= 0.5 && Math.abs(m.cy - 14) <= 0.5,
      `the centre of mass is at (${m.cx.toFixed(2)}, ${m.cy.toFixed(2)}), expected (14, 14) within half a pixel`);
    assert.equal(Math.max(m.width, m.height), BOX, `the ink's box is ${m.width} x ${m.height}`);
    assert.ok(image.every((v) => v >= 0 && v <= 1), 'values stay in [0, 1]');
    assert.ok(Math.max(...image) > 0.99, 'a solid stroke keeps full ink');
  });

  it('keeps the aspect ratio: a tall thin stroke stays tall and thin', () => {
    const ink = sheet(200, 200, (x, y) => x >= 150 && x < 162 && y >= 20 && y < 140);   // 12 x 120
    const m = measure(mnistCentre(ink, 200, 200));
    assert.equal(m.height, 20);
    assert.equal(m.width, 2, `a 12 x 120 stroke becomes ${m.width} x ${m.height}, expected 2 x 20`);
    assert.ok(Math.abs(m.cx - 14) <= 0.5 && Math.abs(m.cy - 14) <= 0.5);
  });

  it('enlarges a tiny drawing to the same 20-pixel box', () => {
    const ink = sheet(100, 100, (x, y) => x >= 3 && x < 8 && y >= 90 && y < 98);  // 5 x 8 at the bottom left
    const m = measure(mnistCentre(ink, 100, 100));
    assert.equal(m.height, 20);
    assert.ok(Math.abs(m.cx - 14) <= 0.5 && Math.abs(m.cy - 14) <= 0.5);
  });

  it('says "nothing drawn" (null) for an empty canvas rather than returning NaN', () => {
    assert.equal(mnistCentre(new Uint8ClampedArray(196 * 196), 196, 196), null);
    assert.equal(mnistCentre(new Float32Array(10 * 10).fill(NaN), 10, 10), null);
  });

  it('refuses pixels that do not match the stated size', () => {
    assert.throws(() => mnistCentre(new Uint8Array(10), 4, 4), /expected 16 pixels for 4 x 4, got 10/);
    assert.throws(() => mnistCentre(new Uint8Array(0), 0, 0), /positive integers/);
  });
});
