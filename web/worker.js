// The page's module worker; it owns the wasm and never touches the DOM. One file, two roles chosen by
// the first message ({type: 'init', role}):
//   trainer  loads MNIST (reporting progress), trains one batch at a time (so pause, resume and reset
//            arrive between batches) on N replica workers it starts itself (lib/grad-worker.js; one
//            core: a model in this worker), keeps a model of its own in step at each snapshot for the
//            evaluation, sends parameter snapshots straight to the view worker, fits the mixture.
//   view     holds a snapshot of the parameters and answers the interactive questions: decode the
//            hovered point (first, always), then encode the scatter sample, reconstruct and decode the
//            manifold in slices of a few milliseconds, so a hover never waits behind them.
// Messages are {type, id?, ...}; a request (with an id) gets {type: 'reply'|'failed', id}. The two
// workers talk over a MessageChannel the page hands them ('connect'), so the parameters (10 MB a
// snapshot) and the images never pass through the page's main thread.
import { loadLab, PIXELS, LATENT } from './lib/latent-lab.js';
import { parseDataFiles } from './lib/data-files.js';
import { splitDigits, subset } from './lib/mnist.js';
import { ParallelModel } from './lib/parallel.js';
import { classIndices, evaluateRun, resolveOptions, Trainer } from './lib/training.js';
import { digitGridPixels } from './draw/digits.js';

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

const post = (message, transfer = []) => self.postMessage(message, transfer);

// Lets the messages already queued run first. A MessageChannel, not setTimeout(0): nested timeouts
// are clamped to 4 ms, which would add 4 ms to every slice.
const yielder = new MessageChannel();
const yieldWaiters = [];
yielder.port1.onmessage = () => yieldWaiters.shift()?.();
const yieldToMessages = () => new Promise((resolve) => { yieldWaiters.push(resolve); yielder.port2.postMessage(0); });

self.addEventListener('message', async (event) => {
  const message = event.data;
  try {
    const result = await handle(message);
    if (message.id !== undefined) post({ type: 'reply', id: message.id, result: result ?? null }, transferablesOf(result));
  } catch (error) {
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
  const handler = handlers[message.type];
  if (!handler) throw new Error(`unknown message type "${message.type}" for the ${role} worker`);
  return handler(message);
}

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

const trainer = { data: null, run: null, runs: 0 };

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

// An even share of each digit's test images, in test-set order.
function scatterSample(test, classes) {
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

// Trains until done or stopped, one batch at a time; between batches the worker reads its messages.
async function trainLoop(run, o) {
  post({ type: 'phase', phase: 'waiting-for-data' });
  const data = await loadData();
  if (run.stopped) return { finished: false };
  const split = splitDigits({ ...data, digits: o.digits, valPerClass: o.valPerClass, seed: o.seed });
  const training = await createTraining(o, o.workers ?? 1);
  Object.assign(run, { model: training.model, parallel: training.parallel });
  if (run.stopped) return { finished: false };
  if (training.note) post({ type: 'note', message: training.note });
  const loop = new Trainer(run.parallel ?? run.model, split.train, o);   // the Trainer sets lr and the KL weight
  // A limited run is evaluated on the images it trained on.
  run.split = o.limit > 0 ? { ...split, train: subset(split.train, Array.from(loop.indices)) } : split;
  run.options = o;
  const scatter = scatterSample(split.test, split.classes);
  // The view worker gets the images; the page only what it shows (labels, the few validation images).
  peer?.postMessage({ type: 'data', run: run.id, scatter: { images: scatter.images, n: scatter.n },
    val: { images: split.val.images, n: split.val.n } });
  post({ type: 'run-start', run: run.id, classes: split.classes, trainImages: loop.n, testImages: split.test.n,
    epochs: o.epochs, batchesPerEpoch: loop.batchesPerEpoch, totalImages: loop.totalImages, workers: training.workers,
    scatterLabels: scatter.labels, val: split.val }, [scatter.labels.buffer]);
  post({ type: 'phase', phase: 'training' });
  // Parameters go to the view worker every few hundred images (and at the start and end).
  const refreshEvery = Math.max(320, o.batch * 8);
  let lastRefresh = -Infinity;
  const sendParams = async () => {
    lastRefresh = loop.imagesSeen;
    const params = await syncParams(run);
    peer?.postMessage({ type: 'params', run: run.id, params, imagesSeen: loop.imagesSeen, final: loop.done }, [params.buffer]);
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
    const r = await loop.next();
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

const trainerHandlers = {
  load: () => { loadData(); },

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

  // The report's evaluation on the model as it is now: EM history, metrics, every test code.
  async fit() {
    const run = trainer.run;
    if (!run?.model || run.stopped) throw new Error('train a model first');
    post({ type: 'phase', phase: 'fitting' });
    if (run.active) await syncParams(run);   // on demand while training: the newest parameters
    const { metrics, mixture, codes, predicted } = evaluateRun(lab, run.model, run.split, run.options);
    try {
      const history = mixture.history().map((s) => ({ weights: s.weights, means: s.means, covs: s.covs, loglik: s.loglik }));
      const componentClass = Array.from({ length: mixture.k }, (_, j) => mixture.componentClass(j));
      const testClasses = classIndices(run.split.test.labels, run.split.classes);
      post({ type: 'phase', phase: run.active ? (run.paused ? 'paused' : 'training') : 'fitted' });
      return { metrics, history, componentClass, classes: run.split.classes, testCodes: codes.test, testClasses, predicted };
    } finally {
      mixture.free();
    }
  },

  // The determinism check's hook: `batches` batches of a run with these options on `workers`
  // workers, from a fresh model, and the SHA-256 of the parameters' bytes. The same code path as a
  // run (createTraining, Trainer), so a Node process doing the same must get the same hash.
  async selftest({ options, batches = 4 }) {
    const o = resolveOptions(options);
    const data = await loadData();
    const split = splitDigits({ ...data, digits: o.digits, valPerClass: o.valPerClass, seed: o.seed });
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

const view = { model: null, params: null, version: 0, busy: false, scatter: null, val: null, manifoldAt: -Infinity };

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

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
function normalQuantile(p) {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
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
      const { params, version, run, final } = view.params;
      view.params = null;
      view.model.setParams(params);
      view.version = version;
      await yieldToMessages();   // setParams copies 10 MB: a waiting hover goes first
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
  params({ params, imagesSeen, run, final }) {
    view.params = { params, version: imagesSeen, run, final };
    refreshViews().catch((error) => post({ type: 'error', message: error.message }));
  },
};

const viewHandlers = {
  // Pixel probabilities (as bytes) for latent points, with the snapshot's version.
  decode({ z }) {
    const images = toBytes(view.model.decode(Float32Array.from(z)));
    return { images, version: view.version };
  },
};
