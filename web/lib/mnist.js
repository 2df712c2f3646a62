// MNIST-style data: IDX files (gzipped or not) read by the C parsers (through data-files.js), and the
// split the report uses: the chosen digits, a few labelled validation images per digit fixed by the
// seed, and the test set. Images stay Uint8Array (n * 784); they become floats in [0, 1] one batch
// at a time. The readers take the Lab first: the parsing runs in its wasm module.
import { LabError, PIXELS } from './latent-lab.js';
import { gunzipBytes, parseDataFilesSync, parseIdxBytes } from './data-files.js';
import { deskewSet } from './deskew.js';
import { makeRng, permutation } from './rng.js';

// The bytes, gunzipped if they start with gzip's magic (at most 512 MiB unpacked).
export async function gunzipIfNeeded(lab, bytes, name = 'gzip data') {
  return gunzipBytes(lab, bytes, name);
}

// IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then each
// dimension as a big-endian uint32, then the data. Only unsigned-byte files are accepted.
// -> { dims, data } (data: a view of bytes).
export function parseIdx(lab, bytes, name = 'IDX file') {
  return parseIdxBytes(lab, bytes, name);
}

// Images (n, 28, 28) and labels (n) from two IDX files (either gzipped) into { images, labels, n }.
export function datasetFromIdx(lab, imageBytes, labelBytes, name = 'data') {
  const set = parseDataFilesSync(lab, [{ name: `${name} images`, bytes: imageBytes }, { name: `${name} labels`, bytes: labelBytes }]);
  if (set.format !== 'idx') throw new LabError(`${name}: expected IDX files, got ${set.format}`);
  return { images: set.images, labels: set.labels, n: set.n };
}

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

// Floats in [0, 1] for the images at the given indices (or a range), into out if given.
export function toFloat(set, indices, out) {
  const n = indices.length;
  const result = out ?? new Float32Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const src = set.images.subarray(indices[i] * PIXELS, (indices[i] + 1) * PIXELS);
    for (let p = 0; p < PIXELS; p++) result[i * PIXELS + p] = src[p] / 255;
  }
  return result;
}

export function allFloat(set) {
  const result = new Float32Array(set.n * PIXELS);
  for (let i = 0; i < result.length; i++) result[i] = set.images[i] / 255;
  return result;
}
