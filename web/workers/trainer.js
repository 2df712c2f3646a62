// The trainer worker: trains on a built-in dataset or a user's data (training-data.js), one batch at a time,
// through the run pipeline (web/lib/run/pipeline.js: pause, resume and reset arrive between batches)
// on N threads over one shared memory where the page is cross-origin isolated (pool-helper.js), else
// on N replica workers it starts itself (grad.js; one core: the model in this worker), sends
// parameter snapshots straight to the view worker, fits the mixture, loads a model from files
// (checked whole before anything is replaced) and saves one. It owns the run's phase: the page only
// shows it. Never touches the DOM.
import { LabError } from '../lib/latent-lab.js';
import { DATASETS } from '../lib/data/datasets.js';
import { subset } from '../lib/data/split.js';
import { saveSafetensors } from '../lib/model-io.js';
import { RpcClient } from '../lib/rpc.js';
import { classIndices, encodeSteps, evaluateRun, lossSteps } from '../lib/run/evaluate.js';
import { effectiveDeskew, klWeight, resolveOptions } from '../lib/run/options.js';
import { makeSplit, Run, trainedSubset } from '../lib/run/pipeline.js';
import { debugHandlers, startWorker, worker, yieldToMessages } from './common.js';
import { bytesOf, checkModelFile, loadedMixtureHistory, mixtureDocument } from './model-files.js';
import { trainerTestHandlers } from './test-handlers.js';
import { data, loadBuiltin, loadUserData, scatterSample, splitFor, userSummary } from './training-data.js';

const REPORT_EVERY_MS = 500;    // batch reports reach the page at most this often

const post = (message, transfer) => worker.post(message, transfer);

// The data (built-in sets, the user's) is training-data.js's. session: what the page shows now (a run trained
// here, a loaded or a restored model); sessions: their count, for ids. view: the port to the view worker.
// spareParams: parameter arrays the view worker sent back once it had taken their values; snapshots:
// the training snapshots sent, and how many of them went in a spare array (a test reads them).
const trainer = { session: null, sessions: 0, view: null, spareParams: [], snapshots: { sent: 0, inSpare: 0 } };
const MAX_SPARE_PARAMS = 3;   // two are in flight at most while the view worker keeps up; one more for when it lags
let viewConnected;
const viewReady = new Promise((resolve) => { viewConnected = resolve; });

// The parameters (10 MB a snapshot) go to the view worker, which decodes what the page hovers.
// The view worker sends each array back, and the next snapshot while training is copied into it: in
// Chromium the first touch of a fresh 10 MB array costs about 28 ms of page faults (the copy, 0.4 ms),
// which every 10 batches was 5% of a run's time on 2 threads.
function takeSpareParams() {
  const params = trainer.spareParams.pop();
  return params?.length === worker.lab.numParams ? params : null;
}

function showParams(session, params, { imagesSeen = 0, final = true, views = true } = {}) {
  trainer.view?.send('params', { run: session.id, params, imagesSeen, final, views, deskew: session.options.deskew }, [params.buffer]);
}

// The run's phase, told to the page: idle | waiting-for-data | training | paused | trained | fitting |
// fitted | evaluating. restingPhase: the phase a session is in when nothing is under way.
const setPhase = (phase) => post({ type: 'phase', phase });
function restingPhase(session) {
  if (!session?.model || session.stopped) return 'idle';
  if (session.active) return session.paused ? 'paused' : 'training';
  return session.mixture ? 'fitted' : 'trained';
}

// --- data --------------------------------------------------------------------------------------------

// The images the views are made of go to the view worker; the page gets what it shows of them.
function sendViewData(session, split) {
  const scatter = scatterSample(split.test, split.classes);
  // Unlabelled data: the views show a few test images as its "validation" row, all of class 0.
  const val = split.val ?? { ...subset(split.test, Array.from({ length: Math.min(5, split.test.n) }, (_, i) => i)), labels: null };
  trainer.view?.send('data', { run: session.id, scatter: { images: scatter.images, n: scatter.n }, val: { images: val.images, n: val.n },
    test: { images: split.test.images, n: split.test.n } });
  return { scatter, val };
}

// --- runs --------------------------------------------------------------------------------------------

function freeSession() {
  const s = trainer.session;
  if (s?.run) s.run.free();
  else s?.model?.free();
  s?.mixture?.free();
  trainer.session = null;
}

// Replicas, and pool helpers for threads (SIMD build only), as nested module workers, where this
// browser can start workers from a worker.
const spawnGrad = typeof Worker === 'undefined' ? null
  : () => new Worker(new URL('./grad.js', import.meta.url), { type: 'module', name: 'grad' });
const poolHelpers = () => (typeof Worker === 'undefined' || worker.lab.kind !== 'simd' ? null
  : { spawn: () => new Worker(new URL('./pool-helper.js', import.meta.url), { type: 'module', name: 'pool-helper' }) });

// Trains until done or stopped, one batch at a time; between batches the worker reads its messages.
async function trainLoop(session, resolved) {
  setPhase('waiting-for-data');
  const { split, options } = await splitFor(resolved);
  if (session.stopped) return { finished: false };
  const run = await Run.create(worker.lab, options, { split, workers: options.workers ?? 1, spawn: spawnGrad, threads: poolHelpers(),
    fallbackToOne: true,
    dataName: data.user?.name ?? null });
  Object.assign(session, { run, model: run.model, options, data: userSummary() });
  if (session.stopped) return { finished: false };
  if (run.note) post({ type: 'note', message: run.note });
  const loop = run.trainer;
  session.split = run.trainedSplit;   // a limited run is measured on the images it trained on
  const { scatter, val } = sendViewData(session, split);
  post({ type: 'run-start', run: session.id, classes: split.classes ?? [0], labelled: split.labelled !== false, trainImages: loop.n,
    testImages: split.test.n, epochs: options.epochs, batchesPerEpoch: loop.batchesPerEpoch, totalImages: loop.totalImages,
    workers: run.workers, parallelism: run.parallelism, scatterLabels: scatter.labels, scatterIndex: scatter.index, val: { images: val.images, labels: val.labels ?? new Uint8Array(val.n), n: val.n },
    data: session.data, dataset: data.user ? null : options.dataset, deskew: options.deskew },
  [scatter.labels.buffer, scatter.index.buffer]);
  setPhase('training');
  // Parameters go to the view worker every few hundred images (and at the start and end).
  const refreshEvery = Math.max(320, options.batch * 8);
  let lastRefresh = -Infinity;
  const sendParams = async () => {
    lastRefresh = loop.imagesSeen;
    const spare = takeSpareParams();
    trainer.snapshots.sent++;
    if (spare) trainer.snapshots.inSpare++;
    showParams(session, await run.syncParams(spare), { imagesSeen: loop.imagesSeen, final: loop.done });
  };
  await sendParams();
  const started = performance.now();
  let pausedFor = 0, reports = [], reportedAt = -Infinity;
  while (!loop.done && !session.stopped) {
    if (session.paused) {
      const t = performance.now();
      setPhase('paused');
      await new Promise((resolve) => { session.resume = resolve; });
      pausedFor += performance.now() - t;
      if (session.stopped) break;
      setPhase('training');
    }
    let r;
    try {
      r = await run.next();
    } catch (error) {
      await sendParams();   // stopped after diverging: hover shows the weights it rolled back to
      throw error;
    }
    if (r.rolledBack) {
      post({ type: 'note', message: `A training step's loss or gradient was not finite: it was skipped and the model went back to ` +
        `its last good weights (after ${r.rolledBack.imagesSeen} images). If this repeats, lower the learning rate.` });
    }
    const seconds = (performance.now() - started - pausedFor) / 1000;
    reports.push({ ...r, totalImages: loop.totalImages, epochs: options.epochs, seconds });
    // Every batch's report, but in one message every REPORT_EVERY_MS: each message is a task on the
    // page's main thread, and fewer tasks there leave it freer.
    if (performance.now() - reportedAt >= REPORT_EVERY_MS || loop.done || session.paused) {
      post({ type: 'batches', run: session.id, reports });
      reports = [];
      reportedAt = performance.now();
    }
    if (loop.imagesSeen - lastRefresh >= refreshEvery || loop.done) await sendParams();
    // A batch on one worker or on threads is synchronous here (the helpers share this thread's step):
    // let pause and reset in. Replicas' batches already waited on their workers' messages.
    if (run.parallelism !== 'replicas') await yieldToMessages();
  }
  return { finished: !session.stopped };
}

// A measurement of evaluate.js (encodeSteps, lossSteps) a chunk at a time, letting the worker's
// messages in between chunks and telling onStep the images done: its result, or null as soon as
// alive() says the session was replaced or reset.
const SLICE_IMAGES = 64;
async function sliced(steps, alive, onStep) {
  for (;;) {
    await yieldToMessages();
    if (!alive()) return null;
    const { done, value } = steps.next();
    if (done) return value;
    onStep(value);
  }
}

// A loaded model, measured as a trained run is (evaluateRun), its slow parts (encoding ~20,000 images,
// the test loss) in slices so Train, Reset or another Load get in. Until its dataset (the one its file
// names: MNIST's digits or Fashion-MNIST) is here, hover already decodes: the view worker has the parameters.
async function measureLoaded(session) {
  const alive = () => trainer.session === session && !session.stopped;
  setPhase('evaluating');
  const { split: full, options: o } = makeSplit(session.options, { builtin: await loadBuiltin(session.options.dataset) });
  if (!alive()) return { replaced: true, run: session.id };
  // A model trained on a limited set is measured on the images it trained on, as after training here.
  const split = session.split = trainedSubset(full, o);
  const { scatter } = sendViewData(session, split);
  showParams(session, session.model.getParams());
  post({ type: 'run-start', run: session.id, loaded: true, classes: split.classes, trainImages: split.train.n,
    testImages: split.test.n, epochs: Number(session.loaded.metadata.epochs ?? 0), batchesPerEpoch: 0, totalImages: 0, workers: 1,
    scatterLabels: scatter.labels, scatterIndex: scatter.index, val: split.val, dataset: o.dataset, deskew: o.deskew },
  [scatter.labels.buffer, scatter.index.buffer]);

  const codes = {};
  // How far it is, for the page's progress line: images encoded (every set, `encoding` of them), then the
  // test set's images evaluated for its loss.
  const encoding = split.test.n + split.val.n + split.train.n;
  const progress = { done: 0, total: encoding + split.test.n, started: performance.now(), postedAt: 0 };
  const advance = (count) => {
    progress.done += count;
    const now = performance.now();
    if (now - progress.postedAt < 250 && progress.done < progress.total) return;
    progress.postedAt = now;
    post({ type: 'measuring', run: session.id, done: progress.done, total: progress.total, encoding, seconds: (now - progress.started) / 1000 });
  };
  for (const part of ['test', 'val', 'train']) {
    const encoded = await sliced(encodeSteps(session.model, split[part], SLICE_IMAGES), alive, advance);
    if (!encoded) return { replaced: true, run: session.id };
    codes[part] = encoded.mu;
  }
  const test = await sliced(lossSteps(session.model, split.test, SLICE_IMAGES), alive, advance);
  if (!test) return { replaced: true, run: session.id };
  const given = { codes, test, mixture: session.mixture ?? undefined };
  const { metrics, mixture, predicted } = evaluateRun(worker.lab, session.model, split, o, given);
  session.mixture = null;   // keepEvaluation owns it from here
  keepEvaluation(session, metrics, mixture);
  setPhase('fitted');
  return fitReply(session, { metrics, mixture, codes, predicted });
}

// The session keeps its newest mixture and metrics (for Save), freeing the mixture they replace.
function keepEvaluation(session, metrics, mixture) {
  if (session.mixture && session.mixture !== mixture) session.mixture.free();
  session.mixture = mixture;
  session.metrics = metrics;
  session.metricsAt = session.run?.trainer.imagesSeen;
}

// What the page draws of an evaluation: EM's history, component classes, every test code, metrics.
// A loaded mixture replays the EM history it was saved with; one saved without has one entry (its
// parameters) and the log-likelihood trace it was saved with.
function fitReply(session, { metrics, mixture, codes, predicted }) {
  const saved = loadedMixtureHistory(session);
  const history = (saved.history ?? mixture.history()).map((s) => ({ weights: s.weights, means: s.means, covs: s.covs, loglik: s.loglik }));
  const loaded = saved.history ? null : saved.loglik;
  if (session.split.labelled === false) {
    // Unlabelled: the clusters are the classes; each test code is coloured by its component.
    const clusters = Array.from({ length: mixture.k }, (_, j) => j);
    return { run: session.id, metrics, history, componentClass: clusters, classes: clusters, unlabelled: true,
      testCodes: codes.test, testClasses: Int32Array.from(predicted), predicted, loadedLoglik: loaded };
  }
  return { run: session.id, metrics, history, componentClass: mixture.componentClasses, classes: session.split.classes,
    testCodes: codes.test, testClasses: classIndices(session.split.test.labels, session.split.classes), predicted,
    loadedLoglik: loaded };
}

// A new session in place of the current one (freed), with the next id.
function newSession(fields) {
  freeSession();
  trainer.session = { id: ++trainer.sessions, active: false, stopped: false, paused: false, resume: null, model: null, run: null,
    mixture: null, metrics: null, ...fields };
  return trainer.session;
}

const refuseWhileTraining = (what) => {
  if (trainer.session?.active && !trainer.session.stopped) throw new LabError(`a run is training: reset it before ${what}`);
};

// --- the page's messages ---------------------------------------------------------------------------

const handlers = {
  ...debugHandlers,
  ...trainerTestHandlers({ trainer, loadBuiltin, spawn: spawnGrad, threads: poolHelpers }),

  // The port to the view worker (the page hands both ends out).
  connect({ port }) {
    trainer.view = new RpcClient(port);
    trainer.view.on('params-back', ({ params }) => {
      if (trainer.spareParams.length < MAX_SPARE_PARAMS) trainer.spareParams.push(params);
    });
    viewConnected();
  },

  // A built-in dataset fetched ahead of Train (the one chosen on the page), its progress told as it comes.
  load: ({ dataset = 'mnist' }) => { loadBuiltin(dataset).catch(() => {}); },

  // A user's data files, read and checked (training-data.js); the next Train uses them.
  async 'load-data'(message) {
    refuseWhileTraining('loading data');
    return loadUserData(message);
  },

  // After a crash, in a fresh trainer: the model the view worker still shows becomes the session (its
  // parameters come over the workers' port, not through the page), as a loaded model does (hover
  // decodes it; Save and Fit work on it), with the options it was trained with. afterRun: the id of
  // the page's run on show, so the new session's id follows it; 0: the page shows none, and nothing
  // is restored.
  async restore({ options = {}, afterRun = 0, name = 'the restored model', data: summary = null }) {
    if (trainer.session) throw new LabError('restore is for a fresh worker');
    if (!(afterRun > 0)) {
      setPhase('idle');
      return { run: 0 };
    }
    await viewReady;
    const { params } = await trainer.view.request('get-params');
    let o;
    try {
      o = resolveOptions(options);
    } catch {
      // Keep what says which data the model knows: its dataset (if known) and seed.
      const dataset = typeof options.dataset === 'string' && DATASETS[options.dataset] ? options.dataset : undefined;
      o = resolveOptions({ seed: options.seed, dataset, deskew: typeof options.deskew === 'boolean' ? options.deskew : undefined });
    }
    // The page sends the deskew the model was trained with; 'auto' is resolved as a run would (its data
    // files, if any, were sent again before this).
    o.deskew = effectiveDeskew(o, !!data.user);
    const model = worker.lab.createModel({ seed: o.seed });
    try {
      model.setParams(params);
      model.setHyper({ lr: o.lr, beta: klWeight(o) });   // the test loss in the run's KL convention
    } catch (error) {
      model.free();
      throw error;
    }
    trainer.sessions = Math.max(trainer.sessions, afterRun);
    const session = newSession({ model, options: o, data: summary, restored: true,
      loaded: { name, metadata: { deskew: String(o.deskew) }, loglik: null, pretrained: false } });
    showParams(session, model.getParams(), { views: false });
    setPhase(restingPhase(session));
    return { run: session.id };
  },

  // Back to the built-in datasets (the one the options name) for the next Train.
  'use-builtin'() {
    refuseWhileTraining('changing the data');
    data.user = null;
    return null;
  },

  // Resolves when training ends ({finished: true}) or is reset ({finished: false}).
  async train({ options }) {
    const o = resolveOptions(options);
    if (trainer.session?.active) {
      if (!trainer.session.stopped) throw new Error('already training');
      await trainer.session.finished;   // a reset run stops after its current batch
    }
    let finish;
    const session = newSession({ active: true, finished: new Promise((resolve) => { finish = resolve; }) });
    try {
      const result = await trainLoop(session, o);
      session.active = false;
      if (result.finished) setPhase('trained');
      return result;
    } catch (error) {
      session.active = false;
      if (trainer.session === session) setPhase(restingPhase(session));
      throw error;
    } finally {
      session.active = false;
      if (session.stopped && trainer.session === session) freeSession();   // a reset run's replicas stop now
      finish();
    }
  },

  pause() {
    if (trainer.session?.active) trainer.session.paused = true;
  },

  resume() {
    const session = trainer.session;
    if (!session) return;
    session.paused = false;
    session.resume?.();
    session.resume = null;
  },

  reset() {
    const session = trainer.session;
    if (session) {
      session.stopped = true;
      session.resume?.();
      if (!session.active) freeSession();   // a running loop stops after its batch; the next train() frees it
    }
    setPhase('idle');
  },

  // The report's evaluation on the model as it is now: EM history, metrics, every test code. The
  // mixture stays with the session (Save writes it).
  async fit() {
    const session = trainer.session;
    if (!session?.model || session.stopped) throw new Error('train a model first');
    if (!session.split && session.restored) {
      // Its data, split as a run splits it, with the options as they apply to that data.
      ({ split: session.split, options: session.options } = await splitFor(session.options));
    }
    if (!session.split || session.evaluating) throw new Error('the loaded model is still being measured: wait for it');
    setPhase('fitting');
    try {
      // While training: the replicas' newest parameters first (after it, the model has the last ones).
      if (session.active) await session.run.syncParams();
      if (trainer.session !== session || session.stopped) throw new LabError('the run was reset before its mixture was fitted');
      const { metrics, mixture, codes, predicted } = evaluateRun(worker.lab, session.model, session.split, session.options);
      keepEvaluation(session, metrics, mixture);
      return fitReply(session, { metrics, mixture, codes, predicted });
    } finally {
      if (trainer.session === session) setPhase(restingPhase(session));
    }
  },

  // Loads a model from a .safetensors file (and its mixture from a .json file or, failing that, from
  // the model's metadata). model and mixture: a File or Blob the page passed, or { url } of the site.
  // Everything is checked on new objects first; a bad file throws with the current session untouched.
  // Then the model replaces the session, the view worker gets its parameters at once (hover decodes
  // it), and it is measured as a trained run is; the reply is what fit() replies.
  async 'load-model'({ model: modelSource, mixture: mixtureSource = null, name = 'the model', mixtureName = 'the mixture',
    digits: fallbackDigits, dataset: fallbackDataset, mixtureVariant, pretrained = false }) {
    refuseWhileTraining('loading a model');
    const [bytes, mixtureBytes] = await Promise.all([bytesOf(modelSource, name), mixtureSource && bytesOf(mixtureSource, mixtureName)]);
    const mixtureText = mixtureBytes ? new TextDecoder().decode(mixtureBytes) : null;
    const loaded = checkModelFile(worker.lab, bytes, mixtureText, { name, mixtureName, fallbackDigits, fallbackDataset, mixtureVariant });
    const { model, mixture, options, info, metadata, digits, loglik, history, mixtureFrom } = loaded;
    try {
      if (trainer.session?.active) await trainer.session.finished;   // a reset run ends its batch first
      await viewReady;   // on first open the view worker may still be starting
    } catch (error) {
      model.free();
      mixture?.free();
      throw error;
    }
    const session = newSession({ model, mixture, options, evaluating: true, loaded: { name, metadata, loglik, history, pretrained } });
    showParams(session, model.getParams(), { views: false });
    // The mixture answers on the page at once; measuring the model (the codes, the metrics) takes longer.
    const answers = mixture && { history: (history ?? [mixture.snapshot(0)]).map(({ weights, means, covs, loglik }) => ({ weights, means, covs, loglik })),
      componentClass: mixture.componentClasses, classes: digits };
    post({ type: 'model-loaded', run: session.id, name, pretrained, digits, dataset: options.dataset, mixtureFrom,
      usedFallbackDigits: !info.digits && !info.dataset, deskew: options.deskew, mixture: answers,
      info: { seed: info.seed, epochs: info.epochs, beta: info.beta, kl: info.kl, preset: info.preset, metrics: info.metrics,
        mixtureVariant: options.mixture, name: metadata.name ?? null },
      lossHistory: info.lossHistory, lossCurve: info.lossCurve });
    try {
      return await measureLoaded(session);
    } catch (error) {
      if (trainer.session === session) setPhase(restingPhase(session));
      throw error;
    } finally {
      session.evaluating = false;
    }
  },

  // The current model as safetensors (dtype 'f32' or 'f16'), its metadata saying how it was made and
  // what it measured, its mixture (if fitted) both in the metadata and as JSON text.
  async save({ dtype = 'f32' }) {
    const session = trainer.session;
    if (!session?.model || session.stopped || !(session.run || session.loaded)) throw new LabError('nothing to save yet: train or load a model first');
    if (session.active) await session.run.syncParams();
    if (trainer.session !== session || session.stopped) throw new LabError('the run was reset before it was saved');
    const mixture = mixtureDocument(session);
    let metadata;
    if (session.loaded) {
      // What the file said, with this page's measures and mixture where it has them.
      metadata = { ...session.loaded.metadata, ...(session.metrics ? { metrics: session.metrics } : {}), ...(mixture ? { mixture } : {}) };
    } else {
      const { run } = session, loop = run.trainer;
      metadata = run.metadata({ epochs: loop.epoch, mixture, metrics: session.metricsAt === loop.imagesSeen ? session.metrics : null,
        extra: { images_seen: loop.imagesSeen, workers: run.workers, ...(run.workers > 1 ? { parallel: run.parallelism } : {}), build: worker.lab.kind } });
    }
    const bytes = saveSafetensors(session.model, { dtype, metadata });
    return { bytes, mixture: mixture && JSON.stringify(mixture) + '\n', digits: session.options.digits, seed: session.options.seed,
      epochs: session.loaded ? Number(metadata.epochs ?? 0) : session.run.trainer.epoch, name: session.loaded?.name ?? null };
  },

  // The current mixture alone, as JSON text (what make train writes beside a model).
  'save-mixture'() {
    const session = trainer.session;
    if (!session?.mixture || session.stopped) throw new LabError('no mixture yet: fit one first');
    return { mixture: JSON.stringify(mixtureDocument(session)) + '\n' };
  },
};

startWorker('trainer', handlers);
