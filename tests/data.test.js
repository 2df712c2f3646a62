// Real MNIST from the build: strict IDX parsing, and the report's split (chosen digits, a few
// labelled validation images per digit fixed by the seed, the test images of those digits).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';

import { parseDataFilesSync, parseIdxBytes } from '../web/lib/data/data-files.js';
import { parseDigits, splitDigits } from '../web/lib/data/split.js';

// Images and labels from two IDX files, as a user's files are read.
const datasetFromIdx = (lab, images, labels) => parseDataFilesSync(lab, [{ name: 'images', bytes: images }, { name: 'labels', bytes: labels }]);
import { idxFile as idx, loadMnist } from '../tools/common.js';
import { lab } from './helpers.js';

let mnist, L;
before(async () => { L = await lab('simd'); mnist = await loadMnist(); });

describe('MNIST files', () => {
  it('hold 60,000 training and 10,000 test images of 28x28 with labels 0..9', () => {
    assert.equal(mnist.train.n, 60000);
    assert.equal(mnist.test.n, 10000);
    assert.equal(mnist.train.images.length, 60000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of mnist.train.labels) counts[l]++;
    assert.ok(counts.every((c) => c > 5000), `class counts ${counts}`);
    // A real digit: mostly black background with some bright strokes.
    const first = mnist.train.images.subarray(0, 784);
    const bright = first.filter((v) => v > 128).length;
    assert.ok(bright > 50 && bright < 400, `first image has ${bright} bright pixels`);
  });
});

describe('the report\'s split', () => {
  it('takes digits 1, 4, 8: 5 labelled validation images each, disjoint from training, all test images of those digits', () => {
    const split = splitDigits({ ...mnist, digits: [1, 4, 8], valPerClass: 5, seed: 42 });
    assert.deepEqual(split.classes, [1, 4, 8]);
    assert.equal(split.val.n, 15);
    assert.deepEqual([...split.val.labels].sort(), [1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 8, 8, 8, 8, 8]);
    assert.equal(split.train.n, 6742 + 5842 + 5851 - 15); // MNIST's training counts of 1, 4, 8, less validation
    assert.equal(split.test.n, 1135 + 982 + 974);
    assert.ok([...split.train.labels].every((l) => [1, 4, 8].includes(l)));
    // No validation image is also a training image.
    const key = (set, i) => Buffer.from(set.images.subarray(i * 784, (i + 1) * 784)).toString('base64');
    const trainKeys = new Set(Array.from({ length: split.train.n }, (_, i) => key(split.train, i)));
    for (let i = 0; i < split.val.n; i++) assert.ok(!trainKeys.has(key(split.val, i)), `validation image ${i} is in training`);
  });

  it('is fixed by the seed: the same seed picks the same validation images, another seed others', () => {
    const a = splitDigits({ ...mnist, digits: [1, 4, 8], seed: 7 });
    const b = splitDigits({ ...mnist, digits: [1, 4, 8], seed: 7 });
    const c = splitDigits({ ...mnist, digits: [1, 4, 8], seed: 8 });
    assert.deepEqual(a.val.images, b.val.images);
    assert.notDeepEqual(a.val.images, c.val.images);
  });

  it('works for any subset of 0..9', () => {
    const split = splitDigits({ ...mnist, digits: '0,1,2,3,4,5,6,7,8,9', seed: 1 });
    assert.equal(split.val.n, 50);
    assert.equal(split.train.n + split.val.n, 60000);
    assert.equal(split.test.n, 10000);
    assert.equal(splitDigits({ ...mnist, digits: [3], seed: 1 }).classes.length, 1);
  });

  it('refuses a digit outside 0..9, a repeated digit, no digits and a bad validation count', () => {
    assert.throws(() => parseDigits('1,4,10'), /digit 10 is outside 0\.\.9/);
    assert.throws(() => parseDigits('1,-1'), /outside 0\.\.9/);
    assert.throws(() => parseDigits('1,x'), /outside 0\.\.9/);
    assert.throws(() => parseDigits('4,4'), /repeat/);
    assert.throws(() => parseDigits(''), /at least one digit/);
    assert.throws(() => splitDigits({ ...mnist, digits: [1], valPerClass: 0 }), /validation images per digit/);
  });
});

describe('IDX parsing', () => {
  it('reads a well-formed file and refuses broken ones with a message naming the problem', () => {
    const ok = idx([2, 28, 28], new Uint8Array(2 * 784));
    assert.deepEqual(parseIdxBytes(L, ok).dims, [2, 28, 28]);
    assert.throws(() => parseIdxBytes(L, new Uint8Array([0, 0])), /too short/);
    assert.throws(() => parseIdxBytes(L, Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0])), /bad magic/);
    assert.throws(() => parseIdxBytes(L, Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0])), /not unsigned bytes/);
    assert.throws(() => parseIdxBytes(L, ok.subarray(0, ok.length - 1)), /header says 2x28x28 = 1568 bytes of data, file has 1567/);
    assert.throws(() => parseIdxBytes(L, idx([60000, 60000, 60000], new Uint8Array(0))), /over the .* limit/);
    assert.throws(() => parseIdxBytes(L, Uint8Array.from([0, 0, 8, 3, 0, 0])), /truncated header/);
  });

  it('refuses images that are not 28x28, zero images, mismatched counts and labels over 9', () => {
    const labels = (values) => idx([values.length], Uint8Array.from(values));
    assert.throws(() => datasetFromIdx(L, idx([1, 32, 32], new Uint8Array(1024)), labels([1])), /expected n x 28 x 28/);
    assert.throws(() => datasetFromIdx(L, idx([0, 28, 28], new Uint8Array(0)), labels([])), /no images/);
    assert.throws(() => datasetFromIdx(L, idx([2, 28, 28], new Uint8Array(1568)), labels([1])), /2 images but 1 labels/);
    assert.throws(() => datasetFromIdx(L, idx([1, 28, 28], new Uint8Array(784)), labels([12])), /label 12 at 0 is outside 0\.\.9/);
  });
});
