// The split the report uses, for MNIST's digits or any labelled or unlabelled set: the chosen classes,
// a few labelled validation images per class fixed by the seed, and the test set. Images stay
// Uint8Array (n * 784); they become floats one batch at a time (images.js). Files are read elsewhere
// (data-files.js).
import { LabError, PIXELS } from '../latent-lab.js';
import { deskewSet } from './deskew.js';
import { makeRng, permutation } from '../rng.js';

export function parseDigits(digits) {
  const list = typeof digits === 'string' ? digits.split(',').map((s) => s.trim()).filter(Boolean).map(Number) : [...digits];
  if (list.length < 1) throw new LabError('choose at least one digit');
  for (const d of list) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new LabError(`digit ${d} is outside 0..9`);
  }
  const unique = [...new Set(list)].sort((a, b) => a - b);
  if (unique.length !== list.length) throw new LabError(`digits repeat: ${list.join(',')}`);
  return unique;
}

// The images and labels (null for unlabelled data) at the given indices, as a new set.
export function subset(set, indices) {
  const images = new Uint8Array(indices.length * PIXELS), labels = set.labels ? new Uint8Array(indices.length) : null;
  indices.forEach((src, i) => {
    images.set(set.images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
    if (labels) labels[i] = set.labels[src];
  });
  return { images, labels, n: indices.length };
}

// The report's split: train = training images of the chosen digits minus the labelled validation
// images; validation = valPerClass images per digit, chosen by the seed; test = test images of those digits.
export function splitDigits({ train, test, digits, valPerClass = 5, seed = 42, deskew = false }) {
  return splitDataset({ train, test, classes: parseDigits(digits), valPerClass, seed, deskew, noun: 'digit' });
}

// The same split for any dataset ({ images, labels or null, n }), digits or not. Without a test set, a
// seeded holdOut share of the training images (at least one) is the test set. Labelled data: classes
// (default: every label the training set has) select the images, valPerClass labelled images per
// class are set aside for the mixture's few-shot start and naming. Unlabelled data: no classes, no
// validation set. With deskew, every image of the three sets is deskewed (deskew.js) after the split,
// so the same images are chosen either way. -> { classes, labelled, train, val, test } (val and classes
// null when unlabelled).
export function splitDataset({ train, test = null, classes = null, valPerClass = 5, seed = 42, holdOut = 0.1, noun = 'class', deskew = false }) {
  if (!Number.isInteger(valPerClass) || valPerClass < 1 || valPerClass > 1000) {
    throw new LabError(`validation images per ${noun} must be 1..1000, got ${valPerClass}`);
  }
  if (!test) {
    if (!(holdOut > 0 && holdOut < 1)) throw new LabError(`the held-out share must lie in (0, 1), got ${holdOut}`);
    if (train.n < 2) throw new LabError(`${train.n} image: too few to hold some out for testing`);
    const order = permutation(train.n, makeRng(seed, 3));
    const held = Math.max(1, Math.round(train.n * holdOut));
    const byIndex = (a, b) => a - b;
    test = subset(train, Array.from(order.subarray(0, held)).sort(byIndex));
    train = subset(train, Array.from(order.subarray(held)).sort(byIndex));
  }
  const prepare = deskew ? deskewSet : (set) => set;
  if (!train.labels) return { classes: null, labelled: false, train: prepare(train), val: null, test: prepare(test) };
  if (!test.labels) throw new LabError('the training data has labels but the test data has none');
  classes ??= [...new Set(train.labels)].sort((a, b) => a - b);
  const wanted = new Set(classes);
  const byClass = new Map(classes.map((d) => [d, []]));
  for (let i = 0; i < train.n; i++) if (wanted.has(train.labels[i])) byClass.get(train.labels[i]).push(i);
  const val = [], rest = [];
  const rng = makeRng(seed, 1);
  for (const d of classes) {
    const pool = byClass.get(d);
    if (pool.length <= valPerClass) throw new LabError(`${noun} ${d}: only ${pool.length} training images`);
    const order = permutation(pool.length, rng);
    const chosen = new Set(Array.from(order.subarray(0, valPerClass), (k) => pool[k]));
    val.push(...[...chosen].sort((a, b) => a - b));
  }
  const valSet = new Set(val);
  for (let i = 0; i < train.n; i++) if (wanted.has(train.labels[i]) && !valSet.has(i)) rest.push(i);
  const testIdx = [];
  for (let i = 0; i < test.n; i++) if (wanted.has(test.labels[i])) testIdx.push(i);
  if (testIdx.length === 0) throw new LabError(`no test images of ${noun}s ${classes.join(',')}`);
  return { classes, labelled: true, train: prepare(subset(train, rest)), val: prepare(subset(train, val)), test: prepare(subset(test, testIdx)) };
}
