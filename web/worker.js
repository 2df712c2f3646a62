// The page's module worker; it owns the wasm and never touches the DOM. One file, two roles chosen by
// the first message ({type: 'init', role}):
//   trainer  loads MNIST (reporting progress), trains one batch at a time (so pause, resume and reset
//            arrive between batches) on N replica workers it starts itself (lib/grad-worker.js; one
//            core: a model in this worker), keeps a model of its own in step at each snapshot for the
//            evaluation, sends parameter snapshots straight to the view worker, fits the mixture;
//            loads a model from files (checked whole before anything is replaced) and saves one.
//   view     holds a snapshot of the parameters and answers the interactive questions: decode the
//            hovered point (first, always), then encode the scatter sample, reconstruct and decode the
//            manifold in slices of a few milliseconds, so a hover never waits behind them; and
//            encodes a drawn digit.
// Messages are {type, id?, ...}; a request (with an id) gets {type: 'reply'|'failed', id}. The two
// workers talk over a MessageChannel the page hands them ('connect'), so the parameters (10 MB a
// snapshot) and the images never pass through the page's main thread.
import { LabError, loadLab, PIXELS, LATENT } from './lib/latent-lab.js';
import { parseDataFiles } from './lib/data/data-files.js';
import { parseDigits, splitDigits, subset } from './lib/data/mnist.js';
import { deskewImage } from './lib/data/deskew.js';
import { loadSafetensors, mixtureFromJSON, mixtureToJSON, modelMetadata, parseModelMetadata, readSafetensorsMetadata,
  saveSafetensors } from './lib/model-io.js';
import { ParallelModel } from './lib/run/parallel.js';
import { classIndices, evaluateRun } from './lib/run/evaluate.js';
import { LossHistory } from './lib/run/loss-history.js';
import { MIXTURES } from './lib/run/mixture.js';
import { effectiveDeskew, klWeight, resolveOptions } from './lib/run/options.js';
import { splitUserData } from './lib/run/pipeline.js';
import { Trainer, trainingIndices } from './lib/run/trainer.js';
import { digitGridPixels } from './draw/digits.js';
import { normalQuantile } from './lib/normal.js';

const DATA_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz'];
const SCATTER_IMAGES = 600;      // held-out images in the live scatter (their codes are recomputed often)
const MANIFOLD = 20;             // the report's 20 x 20 grid
const MANIFOLD_EVERY_MS = 5000;
const REPORT_EVERY_MS = 200;    // the trainer's batch reports reach the page at most this often
const SLICE_MS = 4;              // the view worker's longest stretch of work between two looks at its messages
const GRID_QUANTILES = Array.from({ length: MANIFOLD }, (_, i) => normalQuantile(0.05 + 0.9 * i / (MANIFOLD - 1)));

let lab = null;
let role = null;
let peer = null;                 // the MessagePort to the other worker
let peerConnected;
const peerReady = new Promise((resolve) => { peerConnected = resolve; });

const post = (message, transfer = []) => self.postMessage(message, transfer);

// Lets the messages already queued run first. A MessageChannel, not setTimeout(0): nested timeouts
// are clamped to 4 ms, which would add 4 ms to every slice.
const yielder = new MessageChannel();
const yieldWaiters = [];
yielder.port1.onmessage = () => yieldWaiters.shift()?.();
const yieldToMessages = () => new Promise((resolve) => { yieldWaiters.push(resolve); yielder.port2.postMessage(0); });

// A trap in the wasm (a RuntimeError: unreachable, out of bounds, ...) or running out of memory
// leaves the module in no state to trust: the worker says 'crashed' once and refuses everything
// after; the page offers to restart it (the last good model comes back from the view worker's copy).
let crashed = null;
const isCrash = (error) => error instanceof WebAssembly.RuntimeError || error instanceof RangeError ||
  /out of memory/i.test(error?.message ?? '');

self.addEventListener('message', async (event) => {
  const message = event.data;
  try {
    if (crashed) throw new Error(`this ${role} worker crashed (${crashed}): restart it`);
    const result = await handle(message);
    if (message.id !== undefined) post({ type: 'reply', id: message.id, result: result ?? null }, transferablesOf(result));
  } catch (error) {
    if (!crashed && lab && isCrash(error)) {
      crashed = `${error.name}: ${error.message}`;
      post({ type: 'crashed', role, message: crashed, during: message.type });
    }
    if (message.id !== undefined) post({ type: 'failed', id: message.id, message: error.message, name: error.name });
    else post({ type: message.type === 'init' ? 'fatal' : 'error', message: error.message });
  }
});

function transferablesOf(result) {
  if (!result || typeof result !== 'object') return [];
  return Object.values(result).filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer);
}

function handle(message) {
  if (message.type === 'init') return init(message);
  if (message.type === 'connect') return connect(message);
  if (!lab) throw new Error(`"${message.type}" before the worker is ready`);
  const handlers = role === 'trainer' ? trainerHandlers : viewHandlers;
  const handler = handlers[message.type] ?? commonHandlers[message.type];
  if (!handler) throw new Error(`unknown message type "${message.type}" for the ${role} worker`);
  return handler(message);
}

// Both roles: the wasm module's memory now (the page's soak test bounds it), and a debug-only trap.
const commonHandlers = {
  memory: () => ({ bytes: lab.x.memory.buffer.byteLength, role }),
  'debug-trap': () => { lab.x.ll_debug_trap(); },
};

async function init({ role: wanted, build = 'auto' }) {
  if (lab) throw new Error('init sent twice');
  if (wanted !== 'trainer' && wanted !== 'view') throw new Error(`unknown worker role "${wanted}"`);
  role = wanted;
  lab = await loadLab({ build });
  if (role === 'view') view.model = lab.createModel({ seed: 0 });
  post({ type: 'ready', role, kind: lab.kind, numParams: lab.numParams,
    cores: navigator.hardwareConcurrency ?? 1, nestedWorkers: typeof Worker !== 'undefined' });
}

// The port to the other worker: the trainer sends on it, the view listens on it.
function connect({ port }) {
  peer = port;
  peerConnected();
  peer.onmessage = (event) => {
    const message = event.data;
    try {
      const handler = viewPortHandlers[message.type];
      if (!handler) throw new Error(`unknown message type "${message.type}" on the view port`);
      handler(message);
    } catch (error) {
      post({ type: 'error', message: error.message });
    }
  };
}

// --- trainer ---------------------------------------------------------------------------------------

// userData: a dataset the page loaded ({ set, name, format, labelled, classes }), trained on instead of MNIST.
const trainer = { data: null, userData: null, run: null, runs: 0 };

// Reads a response's body, counting bytes as they arrive.
async function readCounting(response, name, onBytes) {
  if (!response.ok) throw new Error(`could not load ${name}: HTTP ${response.status}`);
  const chunks = [];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.length);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

function loadData() {
  trainer.data ??= (async () => {
    const responses = await Promise.all(DATA_FILES.map((name) => fetch(new URL(`./data/${name}`, import.meta.url))));
    const total = responses.reduce((sum, r) => sum + Number(r.headers.get('content-length') || 0), 0);
    let loaded = 0, lastPost = 0;
    const onBytes = (n) => {
      loaded += n;
      const now = performance.now();
      if (now - lastPost > 100) { lastPost = now; post({ type: 'data-progress', loaded, total }); }
    };
    const bytes = await Promise.all(responses.map((r, i) => readCounting(r, DATA_FILES[i], onBytes)));
    post({ type: 'data-progress', loaded: total, total, unpacking: true });
    // The C parsers in this worker's wasm module read the files (as they read a user's).
    const set = async (i, j) => {
      const { images, labels, n } = await parseDataFiles(lab, [{ name: DATA_FILES[i], bytes: bytes[i] }, { name: DATA_FILES[j], bytes: bytes[j] }]);
      return { images, labels, n };
    };
    const data = { train: await set(0, 1), test: await set(2, 3) };
    post({ type: 'data-ready', train: data.train.n, test: data.test.n });
    return data;
  })();
  trainer.data.catch((error) => post({ type: 'error', message: `loading MNIST: ${error.message}` }));
  return trainer.data;
}

// An even share of each digit's test images, in test-set order (unlabelled: the first ones, all class 0).
function scatterSample(test, classes) {
  if (!test.labels) {
    const sample = subset(test, Array.from({ length: Math.min(test.n, SCATTER_IMAGES) }, (_, i) => i));
    return { ...sample, labels: new Uint8Array(sample.n) };
  }
  const per = Math.ceil(SCATTER_IMAGES / classes.length);
  const counts = new Map(classes.map((c) => [c, 0]));
  const chosen = [];
  for (let i = 0; i < test.n; i++) {
    const label = test.labels[i];
    if (counts.get(label) < per) { counts.set(label, counts.get(label) + 1); chosen.push(i); }
  }
  return subset(test, chosen);
}

function freeRun() {
  trainer.run?.model?.free();
  trainer.run?.mixture?.free();
  trainer.run?.parallel?.terminate();
  trainer.run = null;
}

// What a run trains: N > 1 replicas in nested module workers (a ParallelModel), else the model in
// this worker. `model` is this worker's own, for evaluation; with replicas it gets their parameters
// at every snapshot. Where nested workers are missing or fail to start, one core it is, with a note.
async function createTraining(o, workers) {
  const model = lab.createModel({ seed: o.seed });
  let parallel = null, note = null;
  if (workers > 1 && typeof Worker === 'undefined') {
    note = 'this browser cannot start workers from a worker: training on one core';
  } else if (workers > 1) {
    try {
      parallel = await ParallelModel.create({ workers, seed: o.seed, hyper: model.hyper, build: lab.kind,
        spawn: () => new Worker(new URL('./lib/grad-worker.js', import.meta.url), { type: 'module', name: 'grad' }) });
    } catch (error) {
      note = `could not start ${workers} training workers (${error.message}): training on one core`;
    }
  }
  return { model, parallel, workers: parallel ? workers : 1, note };
}

// The replicas' parameters (or the local model's), copied into the local model.
async function syncParams(run) {
  if (!run.parallel) return run.model.getParams();
  const params = await run.parallel.getParams();
  run.model.setParams(params);
  return params;
}

// The split a run trains on: the loaded dataset's (splitUserData, as make train --data makes it), or
// MNIST's digits. Sets o.mixture to kmeans-10 for unlabelled data unless a k-means++ variant was chosen.
async function runSplit(o) {
  if (trainer.userData) {
    const { split, mixture, deskew } = splitUserData({ train: trainer.userData.set, options: o });
    o.mixture = mixture;
    o.deskew = deskew;
    return split;
  }
  const data = await loadData();
  o.deskew = effectiveDeskew(o, false);
  return splitDigits({ ...data, digits: o.digits, valPerClass: o.valPerClass, seed: o.seed, deskew: o.deskew });
}

// What the page shows of a loaded dataset.
function dataSummary(d) {
  return { name: d.name, n: d.set.n, format: d.format, gzipped: d.gzipped, labelled: d.labelled, classes: d.classes };
}

// Trains until done or stopped, one batch at a time; between batches the worker reads its messages.
async function trainLoop(run, o) {
  post({ type: 'phase', phase: 'waiting-for-data' });
  const split = await runSplit(o);
  if (run.stopped) return { finished: false };
  const training = await createTraining(o, o.workers ?? 1);
  Object.assign(run, { model: training.model, parallel: training.parallel });
  if (run.stopped) return { finished: false };
  if (training.note) post({ type: 'note', message: training.note });
  const loop = new Trainer(run.parallel ?? run.model, split.train, o);   // the Trainer sets lr and the KL weight
  Object.assign(run, { loop, history: new LossHistory(), workers: training.workers });
  // A limited run is evaluated on the images it trained on.
  run.split = o.limit > 0 ? { ...split, train: subset(split.train, Array.from(loop.indices)) } : split;
  run.options = o;
  run.data = trainer.userData ? dataSummary(trainer.userData) : null;
  const scatter = scatterSample(split.test, split.classes);
  // Unlabelled data: the views show a few test images as its "validation" row, all of class 0.
  const val = split.val ?? { ...subset(split.test, Array.from({ length: Math.min(5, split.test.n) }, (_, i) => i)), labels: null };
  const valLabels = val.labels ?? new Uint8Array(val.n);
  // The view worker gets the images; the page only what it shows (labels, the few validation images).
  peer?.postMessage({ type: 'data', run: run.id, scatter: { images: scatter.images, n: scatter.n },
    val: { images: val.images, n: val.n } });
  post({ type: 'run-start', run: run.id, classes: split.classes ?? [0], labelled: split.labelled !== false, trainImages: loop.n,
    testImages: split.test.n, epochs: o.epochs, batchesPerEpoch: loop.batchesPerEpoch, totalImages: loop.totalImages,
    workers: training.workers, scatterLabels: scatter.labels, val: { images: val.images, labels: valLabels, n: val.n },
    data: trainer.userData ? dataSummary(trainer.userData) : null, deskew: o.deskew }, [scatter.labels.buffer]);
  post({ type: 'phase', phase: 'training' });
  // Parameters go to the view worker every few hundred images (and at the start and end).
  const refreshEvery = Math.max(320, o.batch * 8);
  let lastRefresh = -Infinity;
  const sendParams = async () => {
    lastRefresh = loop.imagesSeen;
    const params = await syncParams(run);
    peer?.postMessage({ type: 'params', run: run.id, params, imagesSeen: loop.imagesSeen, final: loop.done, deskew: run.options.deskew },
      [params.buffer]);
  };
  await sendParams();
  const started = performance.now();
  let pausedFor = 0, reports = [], reportedAt = -Infinity;
  while (!loop.done && !run.stopped) {
    if (run.paused) {
      const t = performance.now();
      post({ type: 'phase', phase: 'paused' });
      await new Promise((resolve) => { run.resume = resolve; });
      pausedFor += performance.now() - t;
      if (run.stopped) break;
      post({ type: 'phase', phase: 'training' });
    }
    let r;
    try {
      r = await loop.next();
    } catch (error) {
      await sendParams();   // stopped after diverging: hover shows the weights it rolled back to
      throw error;
    }
    run.history.add(r);
    if (r.rolledBack) {
      post({ type: 'note', message: `A training step's loss or gradient was not finite: it was skipped and the model went back to ` +
        `its last good weights (after ${r.rolledBack.imagesSeen} images). If this repeats, lower the learning rate.` });
    }
    const seconds = (performance.now() - started - pausedFor) / 1000;
    reports.push({ ...r, totalImages: loop.totalImages, epochs: o.epochs, seconds });
    // Every batch's report, but in one message every REPORT_EVERY_MS: each message is a task on the
    // page's main thread, and fewer tasks there leave it freer.
    if (performance.now() - reportedAt >= REPORT_EVERY_MS || loop.done || run.paused) {
      post({ type: 'batches', run: run.id, reports });
      reports = [];
      reportedAt = performance.now();
    }
    if (loop.imagesSeen - lastRefresh >= refreshEvery || loop.done) await sendParams();
    if (!run.parallel) await yieldToMessages();   // a batch here is synchronous: let pause and reset in
  }
  return { finished: !run.stopped };
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

// --- models from files -------------------------------------------------------------------------------

// The bytes of a File or Blob the page passed (read here, off the page's thread), or of a URL of the site.
async function bytesOf(source, name) {
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  if (typeof source?.url === 'string') {
    const response = await fetch(new URL(source.url, import.meta.url));
    if (!response.ok) throw new LabError(`could not load ${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new LabError(`${name}: expected a file`);
}

// Reads the file's metadata (strictly), makes a model with the file's seed (the seed picks the noise of
// the test loss, so a reloaded model measures as it did) and reads the tensors into it (all or
// nothing, in C), then the mixture (its own file first, else the metadata's), and checks they fit
// together. Returns what it made, or throws a LabError naming the file and what is wrong, having
// freed whatever it made.
function checkModelFile(bytes, mixtureText, { name, mixtureName, fallbackDigits, mixtureVariant }) {
  const named = (what, fn) => {
    try { return fn(); } catch (error) { throw new LabError(`${what}: ${error.message}`); }
  };
  const metadata = named(name, () => readSafetensorsMetadata(lab, bytes));
  const info = named(name, () => parseModelMetadata(metadata));
  // A file without digits (one saved from PyTorch, say) is taken to be for the page's digits.
  const digits = info.digits ?? named('the digits chosen on the page', () => parseDigits(fallbackDigits));
  // For a refit: the variant the file names (if this lab knows it), else the page's choice.
  const variant = [info.mixtureVariant, mixtureVariant].find((v) => v && Object.hasOwn(MIXTURES, v)) ?? undefined;
  const options = named(name, () => resolveOptions({ preset: info.kl === 'authors' ? 'authors' : 'default', digits,
    seed: info.seed ?? undefined, beta: info.beta ?? undefined, kl: info.kl ?? undefined, limit: info.limit ?? undefined,
    deskew: info.deskew ?? false,   // a file that does not say was not deskewed
    mixture: variant }));
  const model = lab.createModel({ seed: options.seed });
  let mixture = null;
  try {
    named(name, () => loadSafetensors(model, bytes));
    model.setHyper({ lr: options.lr, beta: klWeight(options) });   // the test loss in the file's convention
    const text = mixtureText ?? info.mixture;
    if (!text) return { model, metadata, info, digits, options, mixture: null, loglik: null, mixtureFrom: null };
    const where = mixtureText ? mixtureName : `${name} (its mixture)`;
    const parsed = named(where, () => mixtureFromJSON(lab, text));
    mixture = parsed.mixture;
    const { loglik, classLabels } = parsed;
    if (classLabels && classLabels.join(',') !== digits.join(',')) {
      throw new LabError(`${where}: it is for digits ${classLabels.join(', ')}, the model for ${digits.join(', ')}`);
    }
    const top = Math.max(...mixture.componentClasses);
    if (top >= digits.length) throw new LabError(`${where}: a component predicts class ${top}, the model has ${digits.length} digits`);
    if (mixture.d !== LATENT) throw new LabError(`${where}: it is ${mixture.d}-dimensional, the latent space ${LATENT}`);
    return { model, metadata, info, digits, options, mixture, loglik, mixtureFrom: mixtureText ? 'file' : 'metadata' };
  } catch (error) {
    model.free();
    mixture?.free();
    throw error;
  }
}

// Runs fn(images, start, count) over a set in chunks of floats in [0, 1], letting the worker's messages
// in between chunks; stops (returns false) as soon as alive() says the run was replaced or reset.
async function eachChunkSliced(set, alive, fn, chunk = 64) {
  const buffer = new Float32Array(chunk * PIXELS);
  for (let start = 0; start < set.n; start += chunk) {
    await yieldToMessages();
    if (!alive()) return false;
    const count = Math.min(chunk, set.n - start);
    const images = buffer.subarray(0, count * PIXELS);
    const src = set.images.subarray(start * PIXELS, (start + count) * PIXELS);
    for (let i = 0; i < src.length; i++) images[i] = src[i] / 255;
    fn(images, start, count);
  }
  return true;
}

// A loaded model, measured as a trained run is (evaluateRun), its slow parts (encoding ~20,000 images,
// the test loss) in slices so Train, Reset or another Load get in. Until MNIST is here, hover already
// decodes: the view worker has the parameters.
async function measureLoaded(run) {
  const alive = () => trainer.run === run && !run.stopped;
  post({ type: 'phase', phase: 'evaluating' });
  const data = await loadData();
  if (!alive()) return { replaced: true, run: run.id };
  const o = run.options;
  const full = splitDigits({ ...data, digits: o.digits, valPerClass: o.valPerClass, seed: o.seed, deskew: o.deskew });
  // A model trained on a limited set is measured on the images it trained on, as after training here.
  const split = run.split = o.limit > 0 ? { ...full, train: subset(full.train, Array.from(trainingIndices(full.train.n, o.seed, o.limit))) } : full;
  const scatter = scatterSample(split.test, split.classes);
  peer?.postMessage({ type: 'data', run: run.id, scatter: { images: scatter.images, n: scatter.n },
    val: { images: split.val.images, n: split.val.n } });
  const params = run.model.getParams();
  peer?.postMessage({ type: 'params', run: run.id, params, imagesSeen: 0, final: true, deskew: o.deskew }, [params.buffer]);
  post({ type: 'run-start', run: run.id, loaded: true, classes: split.classes, trainImages: split.train.n,
    testImages: split.test.n, epochs: Number(run.loaded.metadata.epochs ?? 0), batchesPerEpoch: 0, totalImages: 0, workers: 1,
    scatterLabels: scatter.labels, val: split.val, deskew: o.deskew }, [scatter.labels.buffer]);

  let loss = 0, bce = 0, kl = 0;
  const codes = {};
  for (const part of ['test', 'val', 'train']) {
    const set = split[part];
    const mu = codes[part] = new Float32Array(set.n * LATENT);
    if (!await eachChunkSliced(set, alive, (images, start) => mu.set(run.model.encode(images).mu, start * LATENT))) {
      return { replaced: true, run: run.id };
    }
  }
  const measured = await eachChunkSliced(split.test, alive, (images, start, count) => {
    const r = run.model.evaluate(images, start);
    loss += r.loss * count; bce += r.bce * count; kl += r.kl * count;
  });
  if (!measured) return { replaced: true, run: run.id };
  const n = split.test.n;
  const given = { codes, test: { loss: loss / n, bce: bce / n, kl: kl / n }, mixture: run.mixture ?? undefined };
  const { metrics, mixture, predicted } = evaluateRun(lab, run.model, split, o, given);
  run.mixture = null;   // keepEvaluation owns it from here
  keepEvaluation(run, metrics, mixture);
  post({ type: 'phase', phase: 'fitted' });
  return fitReply(run, { metrics, mixture, codes, predicted });
}

// The run keeps its newest mixture and metrics (for Save), freeing the mixture they replace.
function keepEvaluation(run, metrics, mixture) {
  if (run.mixture && run.mixture !== mixture) run.mixture.free();
  run.mixture = mixture;
  run.metrics = metrics;
  run.metricsAt = run.loop?.imagesSeen;
}

// The run's mixture as its JSON document (null when none is fitted). A mixture loaded from a file,
// never refitted, keeps the log-likelihood trace it came with.
function mixtureDocument(run) {
  if (!run.mixture) return null;
  const loadedTrace = run.loaded && run.mixture.historyLength === 1 ? run.loaded.loglik : undefined;
  const classLabels = run.split?.labelled === false ? undefined : run.split?.classes ?? run.options.digits;
  return mixtureToJSON(run.mixture, { classLabels, loglik: loadedTrace ?? undefined });
}

// What the page draws of an evaluation: EM's history, component classes, every test code, metrics.
// A loaded mixture has one history entry (its parameters) and the log-likelihood trace it was saved with.
function fitReply(run, { metrics, mixture, codes, predicted }) {
  const history = mixture.history().map((s) => ({ weights: s.weights, means: s.means, covs: s.covs, loglik: s.loglik }));
  const loaded = run.loaded && mixture.historyLength === 1 ? run.loaded.loglik : null;
  if (run.split.labelled === false) {
    // Unlabelled: the clusters are the classes; each test code is coloured by its component.
    const clusters = Array.from({ length: mixture.k }, (_, j) => j);
    return { run: run.id, metrics, history, componentClass: clusters, classes: clusters, unlabelled: true,
      testCodes: codes.test, testClasses: Int32Array.from(predicted), predicted, loadedLoglik: loaded };
  }
  return { run: run.id, metrics, history, componentClass: mixture.componentClasses, classes: run.split.classes,
    testCodes: codes.test, testClasses: classIndices(run.split.test.labels, run.split.classes), predicted,
    loadedLoglik: loaded };
}

const trainerHandlers = {
  load: () => { loadData(); },

  // A user's data files ([{ name, file: File | Blob | bytes }]), parsed here by the C readers with every
  // check, and split as a run would split them (so a set too small for the few-shot split is refused
  // now, not at Train). On success the next Train uses them; a refused file throws a LabError naming
  // it, and the data already chosen, the run, its model and mixture stay as they were.
  // maxBytes: a lower cap on any one array unpacked (the tests use it; 0 is the C default).
  async 'load-data'({ files, maxBytes = 0, options = {} }) {
    if (trainer.run?.active && !trainer.run.stopped) throw new LabError('a run is training: reset it before loading data');
    if (!Array.isArray(files) || files.length === 0) throw new LabError('no file was given');
    const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await bytesOf(f.file, f.name) })));
    const set = await parseDataFiles(lab, named, { maxBytes });
    // The seed picks the held-out images; one the settings do not give yet is the default's.
    const o = resolveOptions({ seed: Number.isSafeInteger(options.seed) && options.seed >= 0 ? options.seed : undefined });
    try {
      splitUserData({ train: set, options: o });
    } catch (error) {
      throw new LabError(`${set.name}: ${error.message}`);
    }
    const classes = set.labels ? [...new Set(set.labels)].sort((a, b) => a - b) : null;
    trainer.userData = { set: { images: set.images, labels: set.labels, n: set.n }, name: set.name, format: set.format,
      gzipped: set.gzipped, labelled: !!set.labels, classes };
    return dataSummary(trainer.userData);
  },

  // After a crash, in a fresh trainer: the model the view worker still shows (params) becomes the run,
  // as a loaded model does (hover decodes it; Save and Fit work on it), with the options it was
  // trained with. afterRun: the page's last run id, so the new run's id follows it.
  async restore({ params, options = {}, afterRun = 0, name = 'the restored model', data = null }) {
    if (trainer.run) throw new LabError('restore is for a fresh worker');
    let o;
    try {
      o = resolveOptions(options);
    } catch {
      o = resolveOptions({ seed: options.seed, deskew: typeof options.deskew === 'boolean' ? options.deskew : undefined });
    }
    // The page sends the deskew the model was trained with; 'auto' is resolved as a run would (its data
    // files, if any, were sent again before this).
    o.deskew = effectiveDeskew(o, !!trainer.userData);
    const model = lab.createModel({ seed: o.seed });
    try {
      model.setParams(params);
      await peerReady;
    } catch (error) {
      model.free();
      throw error;
    }
    trainer.runs = Math.max(trainer.runs, afterRun);
    trainer.run = { id: ++trainer.runs, active: false, stopped: false, model, mixture: null, options: o, metrics: null,
      data, restored: true, loaded: { name, metadata: { deskew: String(o.deskew) }, loglik: null, pretrained: false },
      history: new LossHistory() };
    const copy = model.getParams();
    peer?.postMessage({ type: 'params', run: trainer.run.id, params: copy, imagesSeen: 0, final: true, views: false, deskew: o.deskew },
      [copy.buffer]);
    return { run: trainer.run.id };
  },

  // Back to the bundled MNIST digits for the next Train.
  'use-mnist'() {
    if (trainer.run?.active && !trainer.run.stopped) throw new LabError('a run is training: reset it before changing the data');
    trainer.userData = null;
    return null;
  },

  // Resolves when training ends ({finished: true}) or is reset ({finished: false}).
  async train({ options }) {
    const o = resolveOptions(options);
    if (trainer.run?.active) {
      if (!trainer.run.stopped) throw new Error('already training');
      await trainer.run.finished;   // a reset run stops after its current batch
    }
    freeRun();
    let finish;
    const run = trainer.run = { id: ++trainer.runs, active: true, stopped: false, paused: false, resume: null, model: null,
      finished: new Promise((resolve) => { finish = resolve; }) };
    try {
      return await trainLoop(run, o);
    } finally {
      run.active = false;
      if (run.stopped && trainer.run === run) freeRun();   // a reset run's replicas stop now
      finish();
    }
  },

  pause() {
    if (trainer.run?.active) trainer.run.paused = true;
  },

  resume() {
    const run = trainer.run;
    if (!run) return;
    run.paused = false;
    run.resume?.();
    run.resume = null;
  },

  reset() {
    const run = trainer.run;
    if (run) {
      run.stopped = true;
      run.resume?.();
      if (!run.active) freeRun();   // a running loop stops after its batch; the next train() frees it
    }
  },

  // The report's evaluation on the model as it is now: EM history, metrics, every test code. The
  // mixture stays with the run (Save writes it).
  async fit() {
    const run = trainer.run;
    if (!run?.model || run.stopped) throw new Error('train a model first');
    if (!run.split && run.restored) run.split = await runSplit(run.options);   // its data, as a run splits it
    if (!run.split || run.evaluating) throw new Error('the loaded model is still being measured: wait for it');
    post({ type: 'phase', phase: 'fitting' });
    if (run.active) await syncParams(run);   // on demand while training: the newest parameters
    const { metrics, mixture, codes, predicted } = evaluateRun(lab, run.model, run.split, run.options);
    keepEvaluation(run, metrics, mixture);
    post({ type: 'phase', phase: run.active ? (run.paused ? 'paused' : 'training') : 'fitted' });
    return fitReply(run, { metrics, mixture, codes, predicted });
  },

  // Loads a model from a .safetensors file (and its mixture from a .json file or, failing that, from
  // the model's metadata). model and mixture: a File or Blob the page passed, or { url } of the site.
  // Everything is checked on new objects first; a bad file throws with the current run untouched.
  // Then the model replaces the run, the view worker gets its parameters at once (hover decodes it),
  // and, when MNIST is at hand, it is measured as a trained run is; the reply is what fit() replies.
  async 'load-model'({ model: modelSource, mixture: mixtureSource = null, name = 'the model', mixtureName = 'the mixture',
    digits: fallbackDigits, mixtureVariant, pretrained = false }) {
    if (trainer.run?.active && !trainer.run.stopped) throw new LabError('a run is training: reset it before loading a model');
    const [bytes, mixtureBytes] = await Promise.all([bytesOf(modelSource, name), mixtureSource && bytesOf(mixtureSource, mixtureName)]);
    const mixtureText = mixtureBytes ? new TextDecoder().decode(mixtureBytes) : null;
    const loaded = checkModelFile(bytes, mixtureText, { name, mixtureName, fallbackDigits, mixtureVariant });
    const { model, mixture, options, info, metadata, digits, loglik, mixtureFrom } = loaded;
    try {
      if (trainer.run?.active) await trainer.run.finished;   // a reset run ends its batch first
      await peerReady;   // on first open the view worker may still be starting
    } catch (error) {
      model.free();
      mixture?.free();
      throw error;
    }
    freeRun();
    const run = trainer.run = { id: ++trainer.runs, active: false, stopped: false, model, mixture, options, metrics: null,
      evaluating: true, loaded: { name, metadata, loglik, pretrained },
      history: LossHistory.from({ epochs: info.lossHistory ?? [], curve: info.lossCurve ?? [] }) };
    const params = model.getParams();
    peer?.postMessage({ type: 'params', run: run.id, params, imagesSeen: 0, final: true, views: false, deskew: options.deskew },
      [params.buffer]);
    post({ type: 'model-loaded', run: run.id, name, pretrained, digits, mixtureFrom, usedFallbackDigits: !info.digits,
      deskew: options.deskew,
      info: { seed: info.seed, epochs: info.epochs, beta: info.beta, kl: info.kl, preset: info.preset, metrics: info.metrics,
        mixtureVariant: options.mixture, name: metadata.name ?? null },
      lossHistory: info.lossHistory, lossCurve: info.lossCurve });
    try {
      return await measureLoaded(run);
    } finally {
      run.evaluating = false;
    }
  },

  // The current model as safetensors (dtype 'f32' or 'f16'), its metadata saying how it was made and
  // what it measured, its mixture (if fitted) both in the metadata and as JSON text.
  async save({ dtype = 'f32' }) {
    const run = trainer.run;
    if (!run?.model || run.stopped || !(run.loop || run.loaded)) throw new LabError('nothing to save yet: train or load a model first');
    if (run.active) await syncParams(run);
    const mixture = mixtureDocument(run);
    let metadata;
    if (run.loaded) {
      // What the file said, with this page's measures and mixture where it has them.
      metadata = { ...run.loaded.metadata, ...(run.metrics ? { metrics: run.metrics } : {}), ...(mixture ? { mixture } : {}) };
    } else {
      const { loop } = run;
      metadata = modelMetadata({ options: run.options, epochs: loop.epoch, history: run.history, mixture,
        metrics: run.metricsAt === loop.imagesSeen ? run.metrics : null,
        extra: { limit: run.options.limit, train_images: loop.n, images_seen: loop.imagesSeen, workers: run.workers,
          build: lab.kind } });
      // A user's data names its file and classes instead of MNIST digits, as make train --data does.
      if (run.data) {
        delete metadata.digits;
        Object.assign(metadata, { data: run.data.name, classes: run.data.classes ? run.data.classes.join(',') : 'unlabelled' });
      }
    }
    const bytes = saveSafetensors(run.model, { dtype, metadata });
    return { bytes, mixture: mixture && JSON.stringify(mixture) + '\n', digits: run.options.digits, seed: run.options.seed,
      epochs: run.loaded ? Number(metadata.epochs ?? 0) : run.loop.epoch, name: run.loaded?.name ?? null };
  },

  // The current mixture alone, as JSON text (what tools/train.js writes beside a model).
  'save-mixture'() {
    const run = trainer.run;
    if (!run?.mixture || run.stopped) throw new LabError('no mixture yet: fit one first');
    return { mixture: JSON.stringify(mixtureDocument(run)) + '\n' };
  },

  // SHA-256 of the current model's parameters (the page's tests compare a saved and reloaded model).
  async 'params-hash'() {
    const run = trainer.run;
    if (!run?.model) throw new LabError('no model');
    const params = await syncParams(run);
    return { hash: hex(await crypto.subtle.digest('SHA-256', params)), run: run.id };
  },

  // The determinism check's hook: `batches` batches of a run with these options on `workers`
  // workers, from a fresh model, and the SHA-256 of the parameters' bytes. The same code path as a
  // run (createTraining, Trainer), so a Node process doing the same must get the same hash.
  async selftest({ options, batches = 4 }) {
    const o = resolveOptions(options);
    const data = await loadData();
    const split = splitDigits({ ...data, digits: o.digits, valPerClass: o.valPerClass, seed: o.seed, deskew: effectiveDeskew(o, false) });
    const training = await createTraining(o, o.workers ?? 1);
    try {
      const loop = new Trainer(training.parallel ?? training.model, split.train, o);
      const losses = [];
      for (let i = 0; i < batches && !loop.done; i++) losses.push((await loop.next()).loss);
      const params = training.parallel ? await training.parallel.getParams() : training.model.getParams();
      return { hash: hex(await crypto.subtle.digest('SHA-256', params)), workers: training.workers, losses, kind: lab.kind };
    } finally {
      training.model.free();
      training.parallel?.terminate();
    }
  },
};

// --- view ------------------------------------------------------------------------------------------

const view = { model: null, params: null, version: 0, run: 0, busy: false, scatter: null, val: null, manifoldAt: -Infinity };

function toFloat(images) {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
  return out;
}

function toBytes(probabilities) {
  const out = new Uint8Array(probabilities.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(probabilities[i] * 255);
  return out;
}

// The codes' 2nd..98th percentile box per axis: the manifold's N(0,1) quantiles are scaled to it.
function latentBox(mu) {
  const n = mu.length / LATENT;
  const box = [];
  for (let a = 0; a < LATENT; a++) {
    const v = Float32Array.from({ length: n }, (_, i) => mu[i * LATENT + a]).sort();
    const lo = v[Math.floor(0.02 * (n - 1))], hi = v[Math.ceil(0.98 * (n - 1))];
    box.push({ center: (lo + hi) / 2, half: Math.max((hi - lo) / 2, 1e-3) });
  }
  return box;
}

// Runs fn(start, count) over [0, n) `step` items at a time, looking at the worker's messages every
// SLICE_MS or so: a hover's decode waits at most one slice.
async function sliced(n, step, fn) {
  let sliceStart = performance.now();
  for (let start = 0; start < n; start += step) {
    fn(start, Math.min(step, n - start));
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToMessages();
      sliceStart = performance.now();
    }
  }
}

// One refresh with the newest parameters: codes of the scatter sample, reconstructions, manifold.
async function refreshViews() {
  if (view.busy) return;
  view.busy = true;
  try {
    while (view.params) {
      const { params, version, run, final, views, deskew } = view.params;
      view.params = null;
      view.model.setParams(params);
      view.deskew = deskew;   // how the model saw its images: a drawn digit is prepared the same way
      view.version = version;
      if (view.run !== run) post({ type: 'view-params', run });   // the page decodes its probe again
      view.run = run;
      await yieldToMessages();   // setParams copies 10 MB: a waiting hover goes first
      if (!views) continue;   // parameters for hover only: the images for this run's views are on their way
      if (view.scatter?.run === run) {
        const { images, n } = view.scatter;
        const mu = new Float32Array(n * LATENT);
        await sliced(n, 2, (start, count) => {
          mu.set(view.model.encode(images.subarray(start * PIXELS, (start + count) * PIXELS)).mu, start * LATENT);
        });
        view.box = latentBox(mu);   // before mu's buffer moves to the page
        post({ type: 'codes', mu, version, run }, [mu.buffer]);
      }
      if (view.val?.run === run) {
        const { n } = view.val;
        const images = new Uint8Array(n * PIXELS);
        await sliced(n, 2, (start, count) => {
          images.set(toBytes(view.model.reconstruct(view.val.images.subarray(start * PIXELS, (start + count) * PIXELS))),
            start * PIXELS);
        });
        post({ type: 'recons', images, version, run }, [images.buffer]);
      }
      // The manifold (400 decodes) is the dearest view: at most every few seconds while training.
      if (view.box && (final || !(performance.now() - view.manifoldAt < MANIFOLD_EVERY_MS))) {
        view.manifoldAt = performance.now();
        const [bx, by] = view.box;
        const xs = GRID_QUANTILES.map((q) => bx.center + q / GRID_QUANTILES.at(-1) * bx.half);
        const ys = GRID_QUANTILES.map((q) => by.center + q / GRID_QUANTILES.at(-1) * by.half);
        const z = new Float32Array(MANIFOLD * MANIFOLD * LATENT);
        // Row r from the top holds the largest y, as on a plot.
        for (let r = 0; r < MANIFOLD; r++) {
          for (let c = 0; c < MANIFOLD; c++) {
            z[(r * MANIFOLD + c) * 2] = xs[c];
            z[(r * MANIFOLD + c) * 2 + 1] = ys[MANIFOLD - 1 - r];
          }
        }
        const images = new Uint8Array(MANIFOLD * MANIFOLD * PIXELS);
        await sliced(MANIFOLD * MANIFOLD, 2, (start, count) => {
          images.set(toBytes(view.model.decode(z.subarray(start * 2, (start + count) * 2))), start * PIXELS);
        });
        // The page only puts these pixels on its canvas: the grid is laid out here.
        const grid = digitGridPixels({ images, rows: MANIFOLD, cols: MANIFOLD, gap: 1, background: 228 });
        post({ type: 'manifold', rgba: grid.data, width: grid.width, height: grid.height, xs, ys, size: MANIFOLD, version, run },
          [grid.data.buffer]);
      }
    }
  } finally {
    view.busy = false;
  }
}

// What the trainer sends the view worker over their port.
const viewPortHandlers = {
  // The images the views are made of: the scatter sample (test) and the labelled validation images.
  data({ run, scatter, val }) {
    view.scatter = { run, images: toFloat(scatter.images), n: scatter.n };
    view.val = { run, images: toFloat(val.images), n: val.n };
    view.box = null;
    view.manifoldAt = -Infinity;
  },

  // A new snapshot; only the newest waiting one is used.
  // views: false: for hover only, no refresh of the views (a loaded model before its images arrive).
  params({ params, imagesSeen, run, final, views = true, deskew = false }) {
    view.params = { params, version: imagesSeen, run, final, views, deskew };
    refreshViews().catch((error) => post({ type: 'error', message: error.message }));
  },
};

const viewHandlers = {
  // The parameters on show (what hover decodes) and their run: the page's copy of the last good
  // model, handed to a restarted trainer.
  'get-params'() {
    return { params: view.model.getParams(), run: view.run };
  },

  // Pixel probabilities (as bytes) for latent points, with the snapshot's version.
  decode({ z }) {
    const images = toBytes(view.model.decode(Float32Array.from(z)));
    return { images, version: view.version, run: view.run };
  },

  // A drawn digit (784 values in [0, 1], centred as MNIST's): its code and its reconstruction from the
  // mean code, as bytes.
  // A drawn digit, centred as MNIST's are (the page did that), deskewed here if the model on show was
  // trained deskewed. input: the 784 bytes the model saw, for the page to show.
  'encode-drawing'({ image }) {
    if (image?.length !== PIXELS) throw new LabError(`a drawn digit has ${PIXELS} pixels, got ${image?.length}`);
    const x = view.deskew ? deskewImage(Float32Array.from(image)) : Float32Array.from(image);
    const { mu, logvar } = view.model.encode(x);
    return { mu, logvar, recon: toBytes(view.model.decode(mu)), input: toBytes(x), version: view.version, run: view.run };
  },
};
