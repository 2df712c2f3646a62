// Models and mixtures in and out. A model travels as safetensors under the report authors' PyTorch
// state_dict names, parsed and written by the C side (src/io/), so a file from here loads into their
// module and the reverse; a mixture travels as a small JSON document checked here, field by field.
// Nothing here touches the network or the DOM: callers bring and take bytes.
import { asBytes, LabError, nulTerminated, STATUS } from './latent-lab.js';
import { checkDataset } from './data/datasets.js';
import { parseDigits } from './data/split.js';
import { klWeight } from './run/options.js';

// Written into every saved model's metadata; tests/safetensors.test.js checks it against package.json.
export const LAB_VERSION = 'latent-lab 0.1.0';

function liveHandle(model) {
  if (!model?.handle) throw new LabError('this model has been freed');
  return model.handle;
}

// Metadata values are strings in safetensors; numbers and booleans are written with String(), other
// values as JSON. A NUL character would cut a C string short, so it is refused.
function metadataEntries(metadata) {
  return Object.entries(metadata ?? {}).map(([key, value]) => {
    if (value === undefined || value === null) throw new LabError(`metadata "${key}" has no value`);
    const text = typeof value === 'string' ? value
      : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
    if (key.includes('\0') || text.includes('\0')) throw new LabError(`metadata "${key}" contains a NUL character`);
    return [key, text];
  });
}

// The model's parameters as a safetensors file: dtype 'f32' (exact) or 'f16' (rounded to nearest even),
// metadata a map of strings (say digits, beta, kl, epochs, seed, metrics, version).
export function saveSafetensors(model, { dtype = 'f32', metadata = {} } = {}) {
  if (dtype !== 'f32' && dtype !== 'f16') throw new LabError(`dtype must be 'f32' or 'f16', got ${JSON.stringify(dtype)}`);
  const { lab } = model;
  const entries = metadataEntries(metadata);
  return lab.scoped(({ alloc, input }) => {
    const keys = Uint32Array.from(entries.map(([k]) => input(nulTerminated(k))));
    const values = Uint32Array.from(entries.map(([, v]) => input(nulTerminated(v))));
    const outPointer = alloc(4), outLength = alloc(4);
    lab.check(lab.x.ll_safetensors_save(liveHandle(model), dtype === 'f16' ? 1 : 0, input(keys), input(values),
      entries.length, outPointer, outLength));
    const [pointer] = lab.read(Uint32Array, outPointer, 1), [length] = lab.read(Uint32Array, outLength, 1);
    try {
      return lab.read(Uint8Array, pointer, length);
    } finally {
      lab.x.free(pointer);
    }
  });
}

// Parses a file in C; calls use(handle) and always closes it.
function withFile(lab, bytes, use) {
  const data = asBytes(bytes);
  return lab.scoped(({ input }) => {
    const file = lab.x.ll_safetensors_open(input(data), data.length);
    if (!file) throw new LabError(lab.lastError(), STATUS.EFORMAT);
    try {
      return use(file);
    } finally {
      lab.x.ll_safetensors_close(file);
    }
  });
}

function readMetadata(lab, file) {
  const entries = [];
  for (let i = 0; i < lab.x.ll_safetensors_num_meta(file); i++) {
    entries.push([lab.cString(lab.x.ll_safetensors_meta_key(file, i)), lab.cString(lab.x.ll_safetensors_meta_value(file, i))]);
  }
  return Object.fromEntries(entries);
}

// A file's metadata (strings), checking the container but not the tensors against the model.
export function readSafetensorsMetadata(lab, bytes) {
  return withFile(lab, bytes, (file) => readMetadata(lab, file));
}

// Replaces every parameter of model with the file's and resets Adam's state; returns the metadata.
// Every tensor of the authors' state_dict must be there with its exact shape, F32 or F16, finite, and
// nothing else; on any error a LabError says what is wrong and the model is unchanged.
export function loadSafetensors(model, bytes) {
  const { lab } = model;
  const handle = liveHandle(model);
  return withFile(lab, bytes, (file) => {
    const metadata = readMetadata(lab, file);
    lab.check(lab.x.ll_safetensors_to_model(file, handle));
    return metadata;
  });
}

// A model of the options' seed (the seed draws its evaluation noise, so a reloaded model measures as
// it did) holding the file's tensors (all or nothing, in C), with the options' learning rate and KL
// weight: { model, metadata }. A refused file frees the model it made and throws.
export function modelFromFile(lab, bytes, options) {
  const model = lab.createModel({ seed: options.seed });
  try {
    const metadata = loadSafetensors(model, bytes);
    model.setHyper({ lr: options.lr, beta: klWeight(options) });
    return { model, metadata };
  } catch (error) {
    model.free();
    throw error;
  }
}

// --- what a saved model says about itself ------------------------------------------------------------

// The metadata a model is saved with (saveSafetensors stringifies the values): what it was trained on
// and how, what it measured, its loss history (LossHistory: loss_history per epoch, loss_curve per
// batch smoothed) and its mixture's JSON document (mixtureToJSON), so one file carries everything the
// page shows. options: resolved training options; extra: more keys, written last.
export function modelMetadata({ options, epochs, metrics, history, mixture, extra = {} }) {
  // 'auto' means different things for MNIST and a user's data: a file records what was done.
  if (typeof options.deskew !== 'boolean') throw new LabError(`deskew must be resolved (effectiveDeskew) before saving, got ${options.deskew}`);
  const metadata = { digits: options.digits.join(','), beta: options.beta, kl: options.kl, epochs, seed: options.seed,
    batch: options.batch, lr: options.lr, warmup: options.warmup, lr_warmup: options.lrWarmup, deskew: options.deskew, preset: options.preset,
    mixture_variant: options.mixture, version: LAB_VERSION };
  // MNIST's files say nothing (as they did before Fashion-MNIST was built in): their bytes stay the same.
  if (options.dataset && options.dataset !== 'mnist') metadata.dataset = options.dataset;
  if (metrics) metadata.metrics = metrics;
  if (history) {
    metadata.loss_history = history.epochs;
    metadata.loss_curve = history.curve();
  }
  if (mixture) metadata.mixture = mixture;
  return Object.assign(metadata, extra);
}

const metaFail = (key, message) => { throw new LabError(`metadata "${key}": ${message}`); };

function metaNumber(metadata, key, { min = -Infinity, integer = false } = {}) {
  if (metadata[key] === undefined) return null;
  const text = metadata[key].trim();
  const v = Number(text);
  if (text === '' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    metaFail(key, `expected ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(metadata[key].slice(0, 40))}`);
  }
  return v;
}

function metaJSON(metadata, key, check) {
  if (metadata[key] === undefined) return null;
  let value;
  try { value = JSON.parse(metadata[key]); } catch (error) { metaFail(key, `not JSON (${error.message})`); }
  check(value);
  return value;
}

function checkLossPoints(key, x) {
  return (value) => {
    if (!Array.isArray(value)) metaFail(key, 'expected an array');
    value.forEach((p, i) => {
      for (const field of [x, 'loss', 'bce', 'kl']) {
        if (typeof p?.[field] !== 'number' || !Number.isFinite(p[field])) metaFail(key, `entry ${i} has no finite "${field}"`);
      }
    });
  };
}

// The keys this lab writes, read back strictly: a present key with a bad value is an error naming it
// (a file is refused whole rather than half-understood); a missing key is null (a file saved from
// PyTorch carries no metadata at all); keys this lab does not know are left alone.
// Returns { dataset, digits, seed, beta, lrWarmup, kl, epochs, limit, preset, mixtureVariant, metrics, lossHistory, lossCurve,
// mixture (the JSON text, checked by mixtureFromJSON when used) }.
export function parseModelMetadata(metadata) {
  let digits = null;
  if (metadata.digits !== undefined) {
    try { digits = parseDigits(metadata.digits); } catch (error) { metaFail('digits', error.message); }
  }
  const kl = metadata.kl ?? null;
  if (kl !== null && kl !== 'authors' && kl !== 'usual') metaFail('kl', `expected "authors" or "usual", got ${JSON.stringify(kl.slice(0, 40))}`);
  // deskew: null when the file does not say (then its images were not deskewed: PyTorch's, older ones).
  const deskew = metadata.deskew ?? null;
  if (deskew !== null && deskew !== 'true' && deskew !== 'false') metaFail('deskew', `expected "true" or "false", got ${JSON.stringify(deskew.slice(0, 40))}`);
  const dataset = metadata.dataset ?? null;
  if (dataset !== null) {
    try { checkDataset(dataset); } catch (error) { metaFail('dataset', error.message); }
  }
  return {
    dataset, digits, kl, deskew: deskew === null ? null : deskew === 'true',
    seed: metaNumber(metadata, 'seed', { min: 0, integer: true }),
    beta: metaNumber(metadata, 'beta', { min: 0 }),
    lrWarmup: metaNumber(metadata, 'lr_warmup', { min: 0 }),
    epochs: metaNumber(metadata, 'epochs', { min: 0 }),
    limit: metaNumber(metadata, 'limit', { min: 0, integer: true }),
    preset: metadata.preset ?? null,
    mixtureVariant: metadata.mixture_variant ?? null,
    metrics: metaJSON(metadata, 'metrics', (v) => { if (typeof v !== 'object' || v === null || Array.isArray(v)) metaFail('metrics', 'expected an object'); }),
    lossHistory: metaJSON(metadata, 'loss_history', checkLossPoints('loss_history', 'epoch')),
    lossCurve: metaJSON(metadata, 'loss_curve', checkLossPoints('loss_curve', 'x')),
    mixture: metadata.mixture ?? null,
  };
}

// --- the mixture as JSON -----------------------------------------------------------------------------
export const MIXTURE_FORMAT = 'latent-lab-mixture';

const fail = (message) => { throw new LabError(`mixture JSON: ${message}`); };

// The latest parameters of a fitted mixture, which class each component predicts, the log-likelihood
// trace of its EM history (entry 0 is the start) and, when EM ran, that history itself (every
// iteration's parameters, so a loaded mixture replays as it was fitted). classLabels optionally names
// the classes (the digits, say: [1, 4, 8]); loglik and history replace the mixture's own (a mixture
// loaded from JSON has no EM history of its own: pass the ones it was loaded with). Entries that are not
// finite (the start of a mixture given its parameters directly has none) are left out of the trace: the
// document always loads back.
export function mixtureToJSON(mixture, { classLabels, loglik, history: given } = {}) {
  const { k, d } = mixture;
  const own = mixture.history();
  if (own.length === 0) throw new LabError('the mixture has no parameters yet: initialise it first');
  const history = given ?? own;
  const { weights, means, covs } = own.at(-1);
  const rows = (flat, n, size) => Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * size, (i + 1) * size)));
  const params = (s) => ({ weights: Array.from(s.weights), means: rows(s.means, k, d),
    covariances: rows(s.covs, k, d * d).map((c) => rows(Float32Array.from(c), d, d)) });
  const json = {
    format: MIXTURE_FORMAT, version: 1, k, d,
    ...params({ weights, means, covs }),
    componentClasses: mixture.componentClasses,
    loglik: (loglik ?? history.map((h) => h.loglik)).filter((v) => Number.isFinite(v)),
  };
  if (classLabels !== undefined) json.classLabels = Array.from(classLabels);
  if (history.length > 1 && history.length <= MAX_HISTORY) {
    json.history = history.map((s) => ({ ...params(s), loglik: Number.isFinite(s.loglik) ? s.loglik : null }));
    // An iteration that would not load back (a component's weight underflowed to 0) drops the history, not the mixture.
    try { checkHistory(json, k, d); } catch { delete json.history; }
  }
  return json;
}

// EM's history kept in a document: at most this many entries (the start and 1000 iterations).
const MAX_HISTORY = 1001;

const isFiniteNumber = (v) => typeof v === 'number' && Number.isFinite(v);

function checkInteger(value, name, lo, hi) {
  if (!Number.isInteger(value) || value < lo || value > hi) fail(`${name} must be an integer in ${lo}..${hi}, got ${JSON.stringify(value)}`);
}

function checkNumbers(array, length, name) {
  if (!Array.isArray(array) || array.length !== length) fail(`${name} must be an array of ${length} numbers`);
  array.forEach((v, i) => { if (!isFiniteNumber(v)) fail(`${name}[${i}] must be a finite number, got ${JSON.stringify(v)}`); });
}

// Cholesky in double: every pivot positive <=> symmetric positive definite.
function positiveDefinite(c, d) {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = c[i][j];
      for (let m = 0; m < j; m++) s -= l[i * d + m] * l[j * d + m];
      if (i === j) {
        if (!(s > 0)) return false;
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j];
      }
    }
  }
  return true;
}

// A mixture's parameters (the document's own, or one entry of its history, named by prefix): k positive
// weights summing to 1, k finite means, k symmetric positive definite covariances.
function checkParams(p, k, d, prefix) {
  checkNumbers(p.weights, k, `${prefix}weights`);
  p.weights.forEach((w, j) => { if (!(w > 0)) fail(`${prefix}weights[${j}] must be positive, got ${w}`); });
  const total = p.weights.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-3) fail(`${prefix}weights must sum to 1, got ${total}`);

  if (!Array.isArray(p.means) || p.means.length !== k) fail(`${prefix}means must be an array of ${k} points`);
  p.means.forEach((m, j) => checkNumbers(m, d, `${prefix}means[${j}]`));

  if (!Array.isArray(p.covariances) || p.covariances.length !== k) fail(`${prefix}covariances must be an array of ${k} matrices`);
  p.covariances.forEach((c, j) => {
    if (!Array.isArray(c) || c.length !== d) fail(`${prefix}covariances[${j}] must be a ${d}x${d} matrix`);
    c.forEach((row, r) => checkNumbers(row, d, `${prefix}covariances[${j}][${r}]`));
    for (let r = 0; r < d; r++) {
      for (let s = 0; s < r; s++) {
        if (Math.abs(c[r][s] - c[s][r]) > 1e-6 * Math.max(1, Math.abs(c[r][s]))) fail(`${prefix}covariances[${j}] is not symmetric`);
      }
    }
    if (!positiveDefinite(c, d)) fail(`${prefix}covariances[${j}] is not positive definite`);
  });
}

// EM's history as saved: 2..MAX_HISTORY entries of parameters and a log-likelihood (null at the start),
// the last one the document's own parameters. Returns it as Mixture.snapshot() gives it.
function checkHistory(doc, k, d) {
  const h = doc.history;
  if (!Array.isArray(h) || h.length < 2 || h.length > MAX_HISTORY) fail(`history must be an array of 2 to ${MAX_HISTORY} iterations`);
  h.forEach((entry, t) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`history[${t}] must be an object`);
    for (const key of Object.keys(entry)) if (!HISTORY_FIELDS.has(key)) fail(`history[${t}]: unknown field "${key}"`);
    checkParams(entry, k, d, `history[${t}].`);
    if (entry.loglik !== null && !isFiniteNumber(entry.loglik)) fail(`history[${t}].loglik must be a finite number or null`);
  });
  const last = h.at(-1), same = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  const flat = (p) => [...p.weights, ...p.means.flat(), ...p.covariances.flat(2)];
  const mine = flat(doc);
  if (!flat(last).every((v, i) => same(v, mine[i]))) fail('the last entry of history must be the mixture\'s own parameters');
  return h.map((entry) => ({ weights: Float32Array.from(entry.weights), means: Float32Array.from(entry.means.flat()),
    covs: Float32Array.from(entry.covariances.flat(2)), loglik: entry.loglik ?? NaN }));
}

const KNOWN_FIELDS = new Set(['format', 'version', 'k', 'd', 'weights', 'means', 'covariances', 'componentClasses', 'loglik',
  'classLabels', 'history']);
const HISTORY_FIELDS = new Set(['weights', 'means', 'covariances', 'loglik']);

// Checks a mixture document (an object or its JSON text) and builds the mixture it describes.
// Returns { mixture, loglik, classLabels, history }: the trace, labels and EM history as saved (null when
// the document has none; the mixture's own history restarts at the loaded parameters). Throws a LabError naming the first thing wrong; nothing is created then.
export function mixtureFromJSON(lab, json, { maxIter = 50 } = {}) {
  let doc = json;
  if (typeof json === 'string') {
    try { doc = JSON.parse(json); } catch (error) { fail(`not JSON (${error.message})`); }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('expected an object');
  for (const key of Object.keys(doc)) if (!KNOWN_FIELDS.has(key)) fail(`unknown field "${key}"`);
  if (doc.format !== MIXTURE_FORMAT) fail(`format must be "${MIXTURE_FORMAT}", got ${JSON.stringify(doc.format)}`);
  if (doc.version !== 1) fail(`version ${JSON.stringify(doc.version)} is not supported (expected 1)`);
  checkInteger(doc.k, 'k', 1, 256);
  checkInteger(doc.d, 'd', 1, 16);
  const { k, d } = doc;

  checkParams(doc, k, d, '');
  if (!Array.isArray(doc.componentClasses) || doc.componentClasses.length !== k) fail(`componentClasses must be an array of ${k} class indices`);
  doc.componentClasses.forEach((c, j) => checkInteger(c, `componentClasses[${j}]`, 0, 255));
  if (!Array.isArray(doc.loglik)) fail('loglik must be an array of numbers');
  checkNumbers(doc.loglik, doc.loglik.length, 'loglik');
  if (doc.classLabels !== undefined) {
    const classes = Math.max(...doc.componentClasses) + 1;
    if (!Array.isArray(doc.classLabels) || doc.classLabels.length < classes) fail(`classLabels must name at least ${classes} classes`);
  }
  const history = doc.history === undefined ? null : checkHistory(doc, k, d);

  const mixture = lab.createMixture({ k, d, maxIter });
  try {
    mixture.initParams({ weights: doc.weights, means: doc.means.flat(), covs: doc.covariances.flat(2) });
    mixture.componentClasses = doc.componentClasses;
  } catch (error) {
    mixture.free();
    throw error;
  }
  return { mixture, loglik: doc.loglik.slice(), classLabels: doc.classLabels?.slice(), history };
}
