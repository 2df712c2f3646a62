// MNIST-style data: strict IDX parsing (gzipped or not), and the split the report uses: the chosen
// digits, a few labelled validation images per digit fixed by the seed, and the test set.
// Images stay Uint8Array (n * 784); they become floats in [0, 1] one batch at a time.
import { LabError, PIXELS } from './latent-lab.js';
import { makeRng, permutation } from './rng.js';

const MAX_IDX_BYTES = 512 * 1024 * 1024;

export async function gunzipIfNeeded(bytes) {
  bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  if (typeof DecompressionStream === 'undefined') {
    const { gunzipSync } = await import('node:zlib');
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES }));
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  const chunks = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > MAX_IDX_BYTES) throw new LabError(`gzip data expands past ${MAX_IDX_BYTES} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

// IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then each
// dimension as a big-endian uint32, then the data. Only unsigned-byte files are accepted.
export function parseIdx(bytes, name = 'IDX file') {
  if (bytes.length < 4) throw new LabError(`${name}: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new LabError(`${name}: not an IDX file (bad magic)`);
  if (bytes[2] !== 0x08) throw new LabError(`${name}: IDX type 0x${bytes[2].toString(16)} is not unsigned bytes (0x08)`);
  const ndim = bytes[3];
  if (ndim < 1 || ndim > 4) throw new LabError(`${name}: ${ndim} dimensions (expected 1 to 4)`);
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new LabError(`${name}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = [];
  let size = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    size *= d;
  }
  if (size > MAX_IDX_BYTES) throw new LabError(`${name}: header claims ${size} bytes of data, over the ${MAX_IDX_BYTES} limit`);
  if (bytes.length !== header + size) {
    throw new LabError(`${name}: header says ${dims.join('x')} = ${size} bytes of data, file has ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

// Images (n, 28, 28) and labels (n) from two IDX files into { images, labels, n }.
export function datasetFromIdx(imageBytes, labelBytes, name = 'data') {
  const images = parseIdx(imageBytes, `${name} images`);
  const labels = parseIdx(labelBytes, `${name} labels`);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new LabError(`${name} images: expected n x 28 x 28, got ${images.dims.join(' x ')}`);
  }
  if (labels.dims.length !== 1) throw new LabError(`${name} labels: expected one dimension, got ${labels.dims.length}`);
  const n = images.dims[0];
  if (n === 0) throw new LabError(`${name}: no images`);
  if (labels.dims[0] !== n) throw new LabError(`${name}: ${n} images but ${labels.dims[0]} labels`);
  for (let i = 0; i < n; i++) {
    if (labels.data[i] > 9) throw new LabError(`${name} labels: label ${labels.data[i]} at ${i} is outside 0..9`);
  }
  return { images: images.data, labels: labels.data, n };
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
