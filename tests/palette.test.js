// The class palette (web/draw/common.js) stays legible for colour-blind readers: every pair of its ten
// colours differs by CIEDE2000 10 or more under normal vision and under simulated protanopia,
// deuteranopia and tritanopia (Machado, Oliveira and Fernandes 2009, severity 1, in linear RGB). The
// measure itself is checked on Tableau 10 (the palette before), whose red and green a deuteranope cannot
// tell apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PALETTE, rimFor } from '../web/draw/common.js';

const VISION = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
};
const TABLEAU_10 = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const linear = (hex) => [1, 3, 5].map((i) => {
  const c = parseInt(hex.slice(i, i + 2), 16) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
const seenAs = (rgb, m) => m.map((row) => Math.min(1, Math.max(0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])));

// Linear sRGB -> CIELAB (D65).
function lab([r, g, b]) {
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

// CIEDE2000 (Sharma, Wu and Dalal 2005).
function deltaE2000([l1, a1, b1], [l2, a2, b2]) {
  const rad = Math.PI / 180;
  const cBar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const g = 0.5 * (1 - Math.sqrt(cBar ** 7 / (cBar ** 7 + 25 ** 7)));
  const [ap1, ap2] = [(1 + g) * a1, (1 + g) * a2];
  const [c1, c2] = [Math.hypot(ap1, b1), Math.hypot(ap2, b2)];
  const hue = (a, b) => (a === 0 && b === 0 ? 0 : (Math.atan2(b, a) / rad + 360) % 360);
  const [h1, h2] = [hue(ap1, b1), hue(ap2, b2)];
  let dh = 0;
  if (c1 * c2 !== 0) dh = Math.abs(h2 - h1) <= 180 ? h2 - h1 : h2 - h1 > 180 ? h2 - h1 - 360 : h2 - h1 + 360;
  const dH = 2 * Math.sqrt(c1 * c2) * Math.sin(dh / 2 * rad);
  const lBar = (l1 + l2) / 2, cpBar = (c1 + c2) / 2;
  let hBar = h1 + h2;
  if (c1 * c2 !== 0) hBar = Math.abs(h1 - h2) <= 180 ? (h1 + h2) / 2 : h1 + h2 < 360 ? (h1 + h2 + 360) / 2 : (h1 + h2 - 360) / 2;
  const t = 1 - 0.17 * Math.cos((hBar - 30) * rad) + 0.24 * Math.cos(2 * hBar * rad) + 0.32 * Math.cos((3 * hBar + 6) * rad)
    - 0.2 * Math.cos((4 * hBar - 63) * rad);
  const dTheta = 30 * Math.exp(-(((hBar - 275) / 25) ** 2));
  const rc = 2 * Math.sqrt(cpBar ** 7 / (cpBar ** 7 + 25 ** 7));
  const sl = 1 + 0.015 * (lBar - 50) ** 2 / Math.sqrt(20 + (lBar - 50) ** 2), sc = 1 + 0.045 * cpBar, sh = 1 + 0.015 * cpBar * t;
  const rt = -Math.sin(2 * dTheta * rad) * rc;
  const [x, y, z] = [(l2 - l1) / sl, (c2 - c1) / sc, dH / sh];
  return Math.sqrt(x * x + y * y + z * z + rt * y * z);
}

// The closest pair of a palette as one kind of vision sees it: { distance, pair }.
function closestPair(palette, vision) {
  const labs = palette.map((hex) => lab(seenAs(linear(hex), VISION[vision])));
  let best = { distance: Infinity, pair: null };
  for (let i = 0; i < labs.length; i++) {
    for (let j = i + 1; j < labs.length; j++) {
      const distance = deltaE2000(labs[i], labs[j]);
      if (distance < best.distance) best = { distance, pair: `${palette[i]} and ${palette[j]}` };
    }
  }
  return best;
}

describe('the class palette', () => {
  it('has ten different colours, one per class of a ten-class dataset', () => {
    assert.equal(PALETTE.length, 10);
    assert.equal(new Set(PALETTE.map((c) => c.toLowerCase())).size, 10);
  });

  for (const vision of Object.keys(VISION)) {
    it(`keeps every pair of classes apart with ${vision} (CIEDE2000 >= 10)`, () => {
      const { distance, pair } = closestPair(PALETTE, vision);
      assert.ok(distance >= 10, `with ${vision}, ${pair} are only ${distance.toFixed(1)} apart: two classes would look alike`);
    });
  }

  it('measures Tableau 10 (the palette before) as failing deuteranopes, so the check above can fail', () => {
    const { distance } = closestPair(TABLEAU_10, 'deuteranopia');
    assert.ok(distance < 2, `Tableau 10 under deuteranopia: ${distance.toFixed(2)}`);
  });

  it('rims the pale colours (less than 2:1 against white) in grey and the others in white', () => {
    assert.match(rimFor('#ddcc77'), /^rgba\(31, 41, 51/);
    assert.match(rimFor('#88ccee'), /^rgba\(31, 41, 51/);
    assert.match(rimFor('#332288'), /^rgba\(255, 255, 255/);
  });
});
