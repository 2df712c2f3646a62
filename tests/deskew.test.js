// Deskewing (web/lib/data/deskew.js): a slanted stroke comes out upright and centred, an upright centred
// image comes out as it went in, real MNIST digits lose most of their slant, the split keeps the same
// images, and the option is checked where options and model files are read.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { deskewImage } from '../web/lib/data/deskew.js';
import { splitDigits } from '../web/lib/data/split.js';
import { parseModelMetadata } from '../web/lib/model-io.js';
import { effectiveDeskew, resolveOptions } from '../web/lib/run/options.js';
import { loadMnist } from '../tools/common.js';

// Centre of mass (row, column) and shear (cov(row, col) / var(row)) of a 28x28 image.
function moments(img) {
  let t = 0, mr = 0, mc = 0;
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) { const v = img[r * 28 + c]; t += v; mr += r * v; mc += c * v; }
  mr /= t; mc /= t;
  let vrr = 0, vrc = 0;
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) { const v = img[r * 28 + c]; vrr += (r - mr) ** 2 * v; vrc += (r - mr) * (c - mc) * v; }
  return { mr, mc, shear: vrc / vrr };
}

// A bar two pixels wide from row 5 to row 22 leaning by `lean` columns per row, off centre.
function slantedBar(lean, col0 = 9) {
  const img = new Float32Array(784);
  for (let r = 5; r <= 22; r++) {
    const c = col0 + lean * (r - 5);
    for (let dc = 0; dc < 2; dc++) {
      const x = c + dc, x0 = Math.floor(x), f = x - x0;
      if (x0 >= 0 && x0 < 28) img[r * 28 + x0] += 1 - f;
      if (x0 + 1 < 28) img[r * 28 + x0 + 1] += f;
    }
  }
  return img;
}

let mnist;
before(async () => { mnist = await loadMnist(); });

describe('deskew', () => {
  it('stands a slanted stroke upright and moves its centre of mass to (14, 14)', () => {
    for (const lean of [0.4, -0.3]) {
      const before = moments(slantedBar(lean));
      assert.ok(Math.abs(before.shear - lean) < 0.05, `the test bar leans by ${before.shear}`);
      const after = moments(deskewImage(slantedBar(lean)));
      assert.ok(Math.abs(after.shear) < 0.05, `lean ${lean}: shear after ${after.shear}`);
      assert.ok(Math.abs(after.mr - 14) < 0.3 && Math.abs(after.mc - 14) < 0.3, `centre after (${after.mr}, ${after.mc})`);
    }
  });

  it('leaves an upright image centred at (14, 14) as it is, and an empty one empty', () => {
    const img = new Float32Array(784);
    for (let r = 10; r <= 18; r++) for (let c = 12; c <= 16; c++) img[r * 28 + c] = 1;   // centre of mass (14, 14)
    assert.deepEqual(Array.from(deskewImage(img)), Array.from(img));
    const empty = deskewImage(new Uint8Array(784));
    assert.ok(empty instanceof Uint8Array && empty.every((v) => v === 0));
  });

  it('removes most of the slant of real MNIST digits, keeping their ink', () => {
    const n = 300;
    let slantBefore = 0, slantAfter = 0, inkBefore = 0, inkAfter = 0;
    for (let i = 0; i < n; i++) {
      const img = mnist.train.images.subarray(i * 784, (i + 1) * 784);
      const out = deskewImage(img);
      assert.ok(out instanceof Uint8Array);
      slantBefore += Math.abs(moments(img).shear);
      slantAfter += Math.abs(moments(out).shear);
      inkBefore += img.reduce((a, b) => a + b, 0);
      inkAfter += out.reduce((a, b) => a + b, 0);
    }
    assert.ok(slantAfter < 0.25 * slantBefore, `mean |shear| ${slantBefore / n} -> ${slantAfter / n}`);
    assert.ok(Math.abs(inkAfter / inkBefore - 1) < 0.05, `ink ${inkBefore} -> ${inkAfter}`);
  });

  it('splits the same images with and without it; only the pixels differ', () => {
    const plain = splitDigits({ ...mnist, digits: [3, 5, 8], seed: 7 });
    const straight = splitDigits({ ...mnist, digits: [3, 5, 8], seed: 7, deskew: true });
    for (const part of ['train', 'val', 'test']) {
      assert.equal(straight[part].n, plain[part].n);
      assert.deepEqual(straight[part].labels, plain[part].labels);
      assert.notDeepEqual(straight[part].images, plain[part].images);
    }
    assert.deepEqual(straight.val.images.subarray(0, 784), deskewImage(plain.val.images.subarray(0, 784)));
  });

  it('is on for MNIST in the default recipe (auto), off for a user\'s data and in the authors\', and checked as an option and in model files', () => {
    assert.equal(resolveOptions({}).deskew, 'auto');
    assert.equal(effectiveDeskew(resolveOptions({}), false), true, 'MNIST digits');
    assert.equal(effectiveDeskew(resolveOptions({}), true), false, 'a user\'s data');
    assert.equal(effectiveDeskew(resolveOptions({ deskew: true }), true), true);
    assert.equal(resolveOptions({ preset: 'authors' }).deskew, false);
    assert.equal(resolveOptions({ preset: 'usual-kl' }).deskew, false);
    assert.throws(() => resolveOptions({ deskew: 'yes' }), /deskew must be true, false or "auto"/);
    assert.equal(parseModelMetadata({ deskew: 'true' }).deskew, true);
    assert.equal(parseModelMetadata({ deskew: 'false' }).deskew, false);
    assert.equal(parseModelMetadata({}).deskew, null);
    assert.throws(() => parseModelMetadata({ deskew: 'maybe' }), /metadata "deskew"/);
  });
});
