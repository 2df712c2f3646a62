// MNIST-style data: IDX files (gzipped or not) read by the C parsers (through data-files.js), and the
// split the report uses: the chosen digits, a few labelled validation images per digit fixed by the
// seed, and the test set. Images stay Uint8Array (n * 784); they become floats in [0, 1] one batch
// at a time. The readers take the Lab first: the parsing runs in its wasm module.
import { LabError, PIXELS } from './latent-lab.js';
import { gunzipBytes, parseDataFilesSync, parseIdxBytes } from './data-files.js';
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

// The images and labels at the given indices, as a new set.
export function subset(set, indices) {
  const images = new Uint8Array(indices.length * PIXELS), labels = new Uint8Array(indices.length);
  indices.forEach((src, i) => {
    images.set(set.images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
    labels[i] = set.labels[src];
  });
  return { images, labels, n: indices.length };
}

// The report's split: train = training images of the chosen digits minus the labelled validation
// images; validation = valPerClass images per digit, chosen by the seed; test = test images of those digits.
export function splitDigits({ train, test, digits, valPerClass = 5, seed = 42 }) {
  const classes = parseDigits(digits);
  if (!Number.isInteger(valPerClass) || valPerClass < 1 || valPerClass > 1000) {
    throw new LabError(`validation images per digit must be 1..1000, got ${valPerClass}`);
  }
  const wanted = new Set(classes);
  const byClass = new Map(classes.map((d) => [d, []]));
  for (let i = 0; i < train.n; i++) if (wanted.has(train.labels[i])) byClass.get(train.labels[i]).push(i);
  const val = [], rest = [];
  const rng = makeRng(seed, 1);
  for (const d of classes) {
    const pool = byClass.get(d);
    if (pool.length <= valPerClass) throw new LabError(`digit ${d}: only ${pool.length} training images`);
    const order = permutation(pool.length, rng);
    const chosen = new Set(Array.from(order.subarray(0, valPerClass), (k) => pool[k]));
    val.push(...[...chosen].sort((a, b) => a - b));
  }
  const valSet = new Set(val);
  for (let i = 0; i < train.n; i++) if (wanted.has(train.labels[i]) && !valSet.has(i)) rest.push(i);
  const testIdx = [];
  for (let i = 0; i < test.n; i++) if (wanted.has(test.labels[i])) testIdx.push(i);
  if (testIdx.length === 0) throw new LabError(`no test images of digits ${classes.join(',')}`);
  return { classes, train: subset(train, rest), val: subset(train, val), test: subset(test, testIdx) };
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
