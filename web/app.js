// The page's one module: reads the settings (form and URL), talks to two workers through
// WorkerClient (a trainer that owns the run, a view worker that decodes and encodes with a parameter
// snapshot), keeps the page's state, and redraws what changed in animation frames, a few
// milliseconds of drawing per frame at most (the rest waits for the next frame), so no task on this
// thread comes near 50 ms. It computes nothing heavy itself: no wasm here, only drawing and small sums.
import { LossHistory } from './lib/run/loss-history.js';
import { PRESETS, resolveOptions } from './lib/run/options.js';
import { WorkerClient } from './lib/worker-client.js';
import { responsibilities } from './lib/mixture-math.js';
import { mnistCentre } from './lib/data/drawn-digit.js';
import { digitColor } from './draw/common.js';
import { covarianceAxes, drawDrawnMarker, drawScatter, drawScatterBase, drawScatterOverlay, drawProbe, viewAround } from './draw/scatter.js';
import { drawLineChart } from './draw/charts.js';
import { drawDigit, drawDigitGrid, drawEmpty, drawPixels } from './draw/digits.js';
import { drawConfusion } from './draw/confusion.js';

const $ = (id) => document.getElementById(id);
// 12,345: by hand, since the first toLocaleString() loads the locale data (30+ ms on this thread).
const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
// The settings, all in the form and the URL. A recipe (preset) sets RECIPE; the rest are the user's.
const NUMBERS = ['epochs', 'batch', 'lr', 'beta', 'warmup', 'lrWarmup', 'seed', 'limit', 'workers'];
const CHOICES = ['kl', 'deskew', 'mixture'];
const RECIPE = ['epochs', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lrWarmup', 'deskew', 'mixture'];
// A select's text as the option's value: deskew is true, false or 'auto', the other choices are names.
const choiceValue = (f, text) => (f === 'deskew' && text !== 'auto' ? text === 'true' : text);
const DEFAULT_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
const SNAP_ITERS = [1, 5, 10, 20, 50];
const SMOOTH = 0.9;               // exponential smoothing of the per-batch loss curves
const FRAME_BUDGET_MS = 6;        // drawing per animation frame; what is left waits for the next frame
const THROTTLE_MS = { loss: 500, progress: 250 };   // redrawn at most this often while training
const PRETRAINED = 'pretrained-148';   // web/models/, made by `make pretrained`
const DRAW_EVERY_MS = 60;         // a drawn digit is encoded at most this often while the pen moves
// Opened without settings in the link (a "build" choice aside): the pretrained model is shown.
const FIRST_OPEN = [...new URLSearchParams(location.search).keys()].every((key) => key === 'build');

// --- state -----------------------------------------------------------------------------------------

const state = {
  phase: 'idle',        // idle | waiting-for-data | training | paused | trained | fitting | fitted | evaluating (a loaded model)
  run: null,            // { classes, trainImages, totalImages, epochs, scatterClasses, valLabels, valPerClass }
  losses: null,         // a LossHistory (training.js): smoothed per batch, and per epoch
  progress: null,
  codes: null,          // the live scatter: codes of the test sample
  fit: null,            // { history, componentClass, metrics, testCodes, testClasses, classes }
  emIter: 0,
  view: null,           // the scatter's box { x, y }
  area: null,           // the scatter's pixel mapping (from drawScatter)
  probe: null,          // [z1, z2]
  manifold: null,
  recons: null,
  decoded: null,
  loaded: null,         // the model came from a file: { run, name, info, pretrained, digits }
  drawn: null,          // the drawn digit: { z, input (784 bytes), recon (784 bytes) }
  trainedWith: null,    // the options of the run trained on this page (for file names)
  data: null,           // the user's dataset the next Train uses ({ name, n, labelled, classes, format }); null: MNIST
  dataFiles: null,      // its files ([{ name, file }]), sent again to a restarted trainer
};

// What the browser test (and a curious person in devtools) can read.
const debug = window.__lab = {
  phase: 'idle', build: null, dataReady: false, batches: 0, imagesSeen: 0, firstLoss: null, lastLoss: null,
  scatterPoints: 0, scatterUpdates: 0, ellipses: 0, ellipsePoints: [], meanPoints: [], area: null, emIterations: 0,
  emIter: 0, probeSeq: 0, decodedSeq: 0, decodes: 0, decodedInk: 0, manifolds: 0, recons: 0, metrics: null, errors: [],
  workers: null, notes: [], fieldErrors: {},
  // Hover latency: ms from the pointer event to the decoded digit on its canvas, one entry per decode.
  hoverMs: [],
  // performance.now() when the last run's training started and ended (for the long-task check).
  trainStartedAt: null, trainEndedAt: null,
  // Models from files: the loaded run ({ run, name, pretrained, at }), the view worker's run, the run of
  // the last decoded digit, when the first hover decoded a loaded model (ms since the page opened).
  loaded: null, viewRun: 0, decodedRun: 0, firstLoadedDecodeAt: null, loadErrors: [], downloads: 0,
  // The drawn digit: encodes answered, its code, its marker on the overlay (CSS px), responsibilities.
  drawn: null, drawSeq: 0,
  // Users' data: what is selected (null: MNIST), the messages of refused files, and a lower cap on
  // any one array unpacked that a test may set (0: the C default, 512 MiB).
  data: null, dataErrors: [], dataMaxBytes: 0,
  // A worker whose wasm trapped: its message until restarted, and how many restarts there were.
  crashed: null, restarts: 0,
};

// --- settings: form <-> URL --------------------------------------------------------------------------

function buildDigitBoxes() {
  const box = $('digit-boxes');
  for (let d = 0; d <= 9; d++) {
    const label = document.createElement('label');
    label.className = 'digit-box';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = String(d);
    input.name = 'digit';
    input.setAttribute('aria-label', `digit ${d}`);
    const span = document.createElement('span');
    span.textContent = String(d);
    label.style.setProperty('--swatch', digitColor(d));
    label.append(input, span);
    box.append(label);
  }
}

function writeForm(o) {
  const digits = new Set(o.digits.map(Number));
  for (const input of document.querySelectorAll('input[name="digit"]')) input.checked = digits.has(Number(input.value));
  $('preset').value = o.preset;
  for (const f of [...NUMBERS, ...CHOICES]) if (o[f] !== undefined) $(f).value = String(o[f]);
}

// The form as typed: numbers that are not numbers stay NaN, so the check names them.
function readForm() {
  const digits = [...document.querySelectorAll('input[name="digit"]:checked')].map((i) => Number(i.value));
  const o = { preset: $('preset').value, digits };
  for (const f of NUMBERS) {
    const input = $(f);
    o[f] = input.validity.badInput ? NaN : input.value.trim() === '' ? undefined : Number(input.value);
  }
  for (const f of CHOICES) o[f] = $(f).value ? choiceValue(f, $(f).value) : undefined;
  return o;
}

// ?preset=authors&digits=1,4,8&epochs=1&limit=1500&seed=3&workers=2: a recipe, then the keys given.
// A value the checks refuse is still shown, with its message, so a bad link explains itself.
function readUrl() {
  const q = new URLSearchParams(location.search);
  const urlErrors = {};
  let preset = q.get('preset') ?? 'default';
  if (!Object.hasOwn(PRESETS, preset)) {
    urlErrors.preset = `unknown preset "${preset}" in the link (known: ${Object.keys(PRESETS).join(', ')})`;
    preset = 'default';
  }
  const o = { ...PRESETS[preset], preset, workers: DEFAULT_WORKERS };
  if (q.has('digits')) o.digits = q.get('digits').split(',').filter(Boolean).map(Number);
  for (const f of NUMBERS) if (q.has(f) && q.get(f).trim() !== '') o[f] = Number(q.get(f));
  for (const f of CHOICES) {
    if (!q.has(f)) continue;
    if ([...$(f).options].some((opt) => opt.value === q.get(f))) o[f] = choiceValue(f, q.get(f));
    else urlErrors[f] = `unknown ${f} "${q.get(f)}" in the link`;
  }
  return { options: o, urlErrors };
}

function settingsQuery(o) {
  const q = new URLSearchParams();
  const base = PRESETS[o.preset];
  if (o.preset !== 'default') q.set('preset', o.preset);
  if (o.digits.join(',') !== base.digits.join(',')) q.set('digits', o.digits.join(','));
  for (const f of [...NUMBERS, ...CHOICES]) {
    const reference = f === 'workers' ? DEFAULT_WORKERS : base[f];
    if (o[f] !== undefined && o[f] !== reference) q.set(f, String(o[f]));
  }
  const build = new URLSearchParams(location.search).get('build');
  if (build) q.set('build', build);
  return q.toString();
}

// Each setting checked on its own against its recipe, so every bad one shows its own message beside
// it: { key: message }. resolveOptions (training.js) is the one judge.
function fieldErrors(form) {
  const errors = {};
  let preset = form.preset;
  try {
    resolveOptions({ preset });
  } catch (error) {
    errors.preset = error.message;
    preset = 'default';
  }
  for (const [key, value] of Object.entries(form)) {
    if (key === 'preset' || value === undefined) continue;
    try {
      resolveOptions({ preset, [key]: value });
    } catch (error) {
      errors[key] = error.message;
    }
  }
  return errors;
}

let urlErrors = {};
let lastValid = null;

// Checks the form and shows each problem next to its control. While something is wrong Train waits,
// and the page keeps its last good settings (the URL and the link stay as they were).
function validate() {
  const form = readForm();
  const errors = { ...fieldErrors(form), ...urlErrors };
  let options = null;
  if (Object.keys(errors).length === 0) {
    try {
      options = resolveOptions(form);
    } catch (error) {
      errors.form = error.message;   // a combination no single field explains
    }
  }
  showFieldErrors(errors);
  debug.fieldErrors = errors;
  if (options) {
    lastValid = options;
    const query = settingsQuery(options);
    $('share').href = query ? `?${query}` : '?';
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
  }
  settingsValid = !!options;
  setPhase(state.phase);
  return options;
}

let settingsValid = true;

function showFieldErrors(errors) {
  for (const key of ['preset', 'digits', ...NUMBERS, ...CHOICES]) {
    const message = errors[key];
    const slot = $(`${key}-error`);
    slot.hidden = !message;
    slot.textContent = message ?? '';
    const control = key === 'digits' ? $('digit-boxes') : $(key);
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
  if (errors.form) showError(errors.form);
  else if ($('error').dataset.source === 'form') showError(null);
  if (errors.form) $('error').dataset.source = 'form';
}

// A recipe fills in its values; digits, seed, limit and workers stay as they are.
function applyPreset(name) {
  delete urlErrors.preset;
  if (!Object.hasOwn(PRESETS, name)) return validate();
  const recipe = PRESETS[name];
  for (const f of RECIPE) {
    $(f).value = String(recipe[f]);
    delete urlErrors[f];
  }
  return validate();
}

function showError(message) {
  $('error').hidden = !message;
  $('error').textContent = message ?? '';
  delete $('error').dataset.source;
}

// --- workers --------------------------------------------------------------------------------------

const build = new URLSearchParams(location.search).get('build') ?? 'auto';
const trainer = new WorkerClient(new URL('./workers/trainer.js', import.meta.url), { role: 'trainer', build });
const viewer = new WorkerClient(new URL('./workers/view.js', import.meta.url), { role: 'view', build });

for (const client of [trainer, viewer]) {
  client.on('error', (m) => reportError(m.message));
}
trainer.ready.then((m) => {
  debug.build = m.kind;
  debug.readyAt = performance.now();
  const chip = $('build-chip');
  if (m.kind === 'simd') {
    chip.textContent = 'WebAssembly SIMD';
    chip.className = 'chip good';
  } else {
    chip.textContent = build === 'scalar' ? 'scalar WebAssembly (as asked)' : 'No WASM SIMD in this browser: scalar build (slower)';
    chip.className = 'chip warn';
  }
  // On first open the pretrained model goes first (measuring it then loads MNIST); else MNIST now.
  pretrainedFiles.then(async (files) => {
    $('load-pretrained').hidden = !files;
    if (files && FIRST_OPEN) loadPretrained(files, await pretrainedPrefetch).finally(() => trainer.send('load'));
    else trainer.send('load');
  });
}, (error) => {
  $('build-chip').textContent = `WebAssembly failed: ${error.message}`;
  $('build-chip').className = 'chip bad';
  reportError(error.message);
});
// Hover (or a drawing) before the view worker is ready waits for it, then goes.
let viewReady = false;
viewer.ready.then(() => {
  viewReady = true;
  if (state.probe) requestDecode();
  if (drawing.inked) encodeDrawing();
}, () => {});
// The two workers talk directly: parameters and images never cross this thread.
function connectWorkers() {
  const channel = new MessageChannel();
  trainer.send('connect', { port: channel.port1 }, [channel.port1]);
  viewer.send('connect', { port: channel.port2 }, [channel.port2]);
}
Promise.all([trainer.ready, viewer.ready]).then(connectWorkers, () => {});

// A trap or out-of-memory in the trainer's wasm: it refuses everything from then on. The page says so
// and offers a restart, which brings back the model on show (the view worker's copy of it).
trainer.on('crashed', (m) => {
  debug.crashed = m.message;
  showError(`The training worker failed (${m.message}, while handling "${m.during}"). Press Restart: the model ` +
    'shown comes back as it is; a run in progress is lost.');
  $('restart').hidden = false;
});
viewer.on('crashed', (m) => {
  debug.crashed = m.message;
  reportError(`The view worker failed (${m.message}): reload the page.`);
});

async function restartTrainer() {
  $('restart').disabled = true;
  try {
    await trainer.restart();
    connectWorkers();
    if (state.dataFiles) await trainer.request('load-data', { files: state.dataFiles, options: { seed: Number($('seed').value) } });
    const name = state.loaded?.name ?? 'the model shown before the restart';
    // The options of the run on show, with the deskew its model was trained with (a loaded model's too).
    const options = { ...(state.trainedWith ?? readForm()), deskew: state.run?.deskew ?? false };
    const { run } = await trainer.request('restore', { options, afterRun: state.run?.id ?? 0,
      name, data: state.data });
    if (state.run) state.run.id = run;
    if (state.fit) state.fit.run = run;
    if (state.loaded) state.loaded.run = run;
    if (debug.loaded) debug.loaded.run = run;
    debug.restarts++;
    debug.crashed = null;
    showError(null);
    $('restart').hidden = true;
    $('model-status').textContent = 'The trainer restarted with the model shown before it failed.';
    setPhase(state.run ? (state.fit ? 'fitted' : 'trained') : 'idle');
    if (!state.data) trainer.send('load');
  } catch (error) {
    reportError(`Could not restart the trainer: ${error.message}`);
  } finally {
    $('restart').disabled = false;
  }
}
$('restart').addEventListener('click', restartTrainer);
// Debug hooks for the browser test: a trap in the trainer's wasm, and both modules' memory in bytes.
debug.debugTrap = () => trainer.request('debug-trap').catch((error) => error.message);
debug.memory = () => Promise.all([trainer.request('memory'), viewer.request('memory')])
  .then(([t, v]) => ({ trainer: t.bytes, view: v.bytes }));

function reportError(message) {
  debug.errors.push(message);
  showError(message);
}

trainer.on('note', ({ message }) => {
  debug.notes.push(message);
  $('note').hidden = false;
  $('note').textContent = message;
});

trainer.on('data-progress', ({ loaded, total, unpacking }) => {
  const mb = (b) => (b / 1048576).toFixed(1);
  $('data-text').textContent = unpacking ? 'MNIST: unpacking…' : `MNIST ${mb(loaded)} / ${mb(total)} MB`;
  $('data-fill').style.transform = `scaleX(${total ? loaded / total : 0})`;
});

trainer.on('data-ready', ({ train, test }) => {
  debug.dataReady = true;
  $('data-text').textContent = `MNIST ready: ${count(train)} + ${count(test)} images`;
  $('data-fill').style.transform = 'scaleX(1)';
  $('data-fill').classList.add('done');
  $('data-chip').classList.add('good');
});

trainer.on('phase', ({ phase }) => setPhase(phase));

trainer.on('run-start', (m) => {
  const valPerClass = Math.max(1, Math.round(m.val.n / m.classes.length));
  // A loaded model's run was announced by 'model-loaded'; this completes it, once MNIST is here.
  if (m.loaded && state.run?.id !== m.run) return;
  state.run = {
    id: m.run, classes: m.classes, trainImages: m.trainImages, totalImages: m.totalImages, epochs: m.epochs,
    batchesPerEpoch: m.batchesPerEpoch, testImages: m.testImages, valPerClass, workers: m.workers,
    scatterClasses: Int32Array.from(m.scatterLabels, (l) => m.classes.indexOf(l)),
    valImages: m.val.images, valLabels: m.val.labels, unlabelled: m.labelled === false, data: m.data, deskew: m.deskew,
  };
  debug.workers = m.workers;
  $('latent-sub').textContent = `${count(m.scatterLabels.length)} held-out test images` +
    (m.labelled === false ? ` of ${m.data?.name ?? 'the data'} (unlabelled)` : m.data ? ` of ${m.data.name}, coloured by class` : ', coloured by digit');
  if (!m.loaded) setPhase('training');
  markAllDirty();
});

// A model from a file (or the pretrained one) replaced the run: its parameters are already on their
// way to the view worker, so hover decodes it now; the codes, the mixture and the metrics follow.
trainer.on('model-loaded', (m) => {
  stopReplay();
  clearRun();
  resetEmControls();
  state.run = { id: m.run, classes: m.digits, loaded: true, epochs: m.info.epochs ?? 0, deskew: m.deskew };
  state.loaded = { run: m.run, name: m.name, info: m.info, pretrained: m.pretrained, digits: m.digits };
  state.losses = LossHistory.from({ epochs: m.lossHistory ?? [], curve: m.lossCurve ?? [] });
  debug.loaded = { run: m.run, name: m.name, pretrained: m.pretrained, at: performance.now() };
  debug.metrics = null;
  showMetrics(m.info.metrics?.test_bce !== undefined ? m.info.metrics : null, { recorded: true });
  const what = describeModel(m);
  $('model-status').textContent = `Loaded ${m.pretrained ? 'the pretrained model' : m.name}: ${what}` +
    (m.mixtureFrom === 'file' ? '; mixture from its .json file' : m.mixtureFrom === 'metadata' ? '; mixture from its metadata' : '; no mixture in it: fitting one') +
    (m.usedFallbackDigits ? '. The file does not say its digits: taken to be the ones chosen under Training.' : '.');
  if (m.pretrained) {
    $('banner-text').textContent = `This is the pretrained model (${what}), loaded for you: hover the plane to decode, ` +
      'draw a digit, or press Train to make your own.';
    $('banner').hidden = false;
  } else {
    $('banner').hidden = true;
  }
  markAllDirty();
  setPhase('evaluating');
  if (state.probe) requestDecode();
});

// "digits 1, 4, 8, the authors' recipe, 8 epochs, seed 42", from what a file says about itself.
function describeModel({ digits, info }) {
  const parts = [`digits ${digits.join(', ')}`];
  if (info.preset === 'authors') parts.push('the authors\' recipe');
  if (info.epochs !== null && info.epochs !== undefined) parts.push(`${info.epochs} epoch${info.epochs === 1 ? '' : 's'}`);
  if (info.seed !== null && info.seed !== undefined) parts.push(`seed ${info.seed}`);
  return parts.join(', ');
}

trainer.on('batches', ({ run, reports }) => {
  if (!state.run || run !== state.run.id) return;
  for (const r of reports) addBatch(r);
  dirty.loss = dirty.progress = true;
  schedule();
});

function addBatch(r) {
  state.losses.add(r);   // the smoothed curve per batch and the means per epoch
  state.progress = r;
  debug.batches++;
  debug.imagesSeen = r.imagesSeen;
  debug.firstLoss ??= r.loss;
  debug.lastLoss = state.losses.batches.at(-1)?.loss ?? debug.lastLoss;
}

// The view worker's answers carry the run their parameters came from; older runs' are dropped.
const current = (m) => state.run && m.run === state.run.id;

// The view worker holds another model's parameters: the probe (and a drawn digit) are decoded again.
viewer.on('view-params', ({ run }) => {
  debug.viewRun = run;
  if (state.probe) requestDecode();
  if (state.drawn || drawing.inked) encodeDrawing();
});

viewer.on('codes', ({ mu, run }) => {
  if (!current({ run })) return;
  state.codes = mu;
  debug.scatterUpdates++;
  if (!state.fit) {
    state.view = viewAround(mu);
    dirty.scatter = true;
    schedule();
  }
  if (state.probe) requestDecode();
});

viewer.on('recons', ({ images, run }) => {
  if (!current({ run })) return;
  state.recons = images;
  debug.recons++;
  dirty.recons = true;
  schedule();
});

viewer.on('manifold', (m) => {
  if (!current(m)) return;
  state.manifold = m;
  debug.manifolds++;
  dirty.manifold = true;
  schedule();
});

// --- actions ----------------------------------------------------------------------------------------

function setPhase(phase) {
  state.phase = phase;
  debug.phase = phase;
  const running = phase === 'training' || phase === 'paused' || phase === 'waiting-for-data';
  $('train').disabled = running || phase === 'fitting' || !settingsValid;
  $('train').title = settingsValid ? '' : 'fix the settings marked in red first';
  $('pause').disabled = !(phase === 'training' || phase === 'paused');
  $('pause').textContent = phase === 'paused' ? 'Resume' : 'Pause';
  $('reset').disabled = phase === 'idle';
  $('fit').disabled = !state.run || phase === 'fitting' || phase === 'waiting-for-data' || phase === 'evaluating';
  // A model saves once it has trained a batch or was loaded; loading waits while a run trains.
  $('save').disabled = !state.run || !(state.loaded || state.progress) || phase === 'fitting' || phase === 'waiting-for-data';
  $('save-mixture').disabled = !state.fit;
  $('load-file').disabled = running || phase === 'fitting';
  $('load-button').classList.toggle('disabled', $('load-file').disabled);
  $('load-pretrained').disabled = running || phase === 'fitting';
  $('data-file').disabled = running || phase === 'fitting';
  $('data-button').classList.toggle('disabled', $('data-file').disabled);
  $('use-mnist').disabled = running || phase === 'fitting' || !state.data;
  $('fit').textContent = phase === 'fitting' ? 'Fitting…' : state.fit ? 'Refit mixture' : 'Fit mixture';
  for (const el of document.querySelectorAll('#settings input, #settings select')) el.disabled = running || phase === 'fitting';
  if (phase === 'trained' || phase === 'fitted' || phase === 'idle') debug.trainEndedAt ??= performance.now();
  dirty.progress = true;
  schedule();
}

// Forgets everything a run produced: losses, progress, codes, mixture, manifold, reconstructions.
function clearRun() {
  Object.assign(state, { run: null, losses: null, progress: null, codes: null, fit: null, manifold: null, recons: null,
    loaded: null });
  debug.loaded = null;
}

function resetEmControls() {
  $('em-iter').disabled = true;
  $('play').disabled = true;
  $('em-iter-out').textContent = '–';
  $('latent-sub').textContent = 'held-out test images, coloured by digit';
}

async function train() {
  const options = validate();
  if (!options) return;
  debug.trainStartedAt = performance.now();
  debug.trainEndedAt = null;
  clearRun();
  $('banner').hidden = true;
  $('model-status').textContent = '';
  resetEmControls();
  state.trainedWith = options;
  state.losses = new LossHistory({ smooth: SMOOTH });
  Object.assign(debug, { batches: 0, imagesSeen: 0, firstLoss: null, lastLoss: null, scatterPoints: 0, ellipses: 0,
    emIterations: 0, metrics: null });
  showMetrics(null);
  markAllDirty();
  setPhase('waiting-for-data');
  try {
    const { finished } = await trainer.request('train', { options });
    if (finished) {
      setPhase('trained');
      await fit();
    }
  } catch (error) {
    reportError(error.message);
    setPhase(state.run ? 'trained' : 'idle');
  }
}

async function fit() {
  if (!state.run) return;
  try {
    showFit(await trainer.request('fit'));
  } catch (error) {
    reportError(error.message);
    setPhase(state.run ? 'trained' : 'idle');
  }
}

// An evaluation from the trainer (after training, on Refit, or of a loaded model) on the page.
function showFit(result) {
  if (!result || result.replaced || !state.run || result.run !== state.run.id) return;   // a run since replaced
  state.fit = result;
  state.view = viewAround(result.testCodes);
  state.emIter = debug.emIter = result.history.length - 1;
  debug.emIterations = result.history.length - 1;
  debug.metrics = result.metrics;
  const slider = $('em-iter');
  slider.max = String(result.history.length - 1);
  slider.value = String(state.emIter);
  // A loaded mixture has no EM history to replay: only its parameters (and its log-likelihood trace).
  slider.disabled = result.history.length < 2;
  $('play').disabled = result.history.length < 2;
  $('latent-sub').textContent = `all ${result.testCodes.length / 2} test images, coloured by ` +
    `${result.unlabelled ? 'cluster' : state.run?.data ? 'class' : 'digit'}; the mixture's means, 1σ and 2σ`;
  showMetrics(result.metrics);
  markAllDirty();
  setPhase(state.phase);  // the worker has said which phase follows the fit
  if (state.probe) showResponsibilities();
  showDrawnResponsibilities();
}

function pauseOrResume() {
  if (state.phase === 'training') trainer.send('pause');
  else if (state.phase === 'paused') trainer.send('resume');
}

function reset() {
  trainer.send('reset');
  stopReplay();
  clearRun();
  resetEmControls();
  $('banner').hidden = true;
  $('model-status').textContent = '';
  showMetrics(null);
  markAllDirty();
  setPhase('idle');
}

// --- EM replay ----------------------------------------------------------------------------------------

let replayTimer = null;

function setEmIter(t) {
  if (!state.fit) return;
  state.emIter = debug.emIter = Math.max(0, Math.min(state.fit.history.length - 1, t));
  $('em-iter').value = String(state.emIter);
  dirty.scatter = dirty.em = true;
  highlightSnap();
  if (state.probe) showResponsibilities();
  schedule();
}

function stopReplay() {
  clearInterval(replayTimer);
  replayTimer = null;
  $('play').textContent = '▶ Replay';
}

function replay() {
  if (replayTimer) return stopReplay();
  if (!state.fit) return;
  $('play').textContent = '■ Stop';
  setEmIter(0);
  // About four seconds whatever the number of iterations, at least 120 ms per step.
  const steps = state.fit.history.length - 1;
  replayTimer = setInterval(() => {
    if (state.emIter >= steps) return stopReplay();
    setEmIter(state.emIter + 1);
  }, Math.max(120, 4000 / Math.max(steps, 1)));
}

// --- probe: hover, touch, keys -----------------------------------------------------------------------

function pointerToLatent(event) {
  const area = state.area;
  if (!area) return null;
  const rect = $('latent').getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  if (px < area.left || px > area.right || py < area.top || py > area.bottom) return null;
  return [area.invX(px), area.invY(py)];
}

// at: when the user asked (the pointer event's timeStamp), for the hover latency.
function setProbe(z, at = performance.now()) {
  state.probe = z;
  state.probeAt = at;
  debug.probeSeq++;
  dirty.probe = true;
  schedule();
  if (!z) return;
  $('probe-z').textContent = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
  requestDecode();
  showResponsibilities();
}

// Only the newest pointer position is decoded; superseded requests resolve to null.
// The digit is drawn as soon as it arrives (a 196 x 196 putImageData), not at the next frame.
function requestDecode() {
  if (!viewReady) return;
  const z = state.probe, seq = debug.probeSeq, at = state.probeAt;
  viewer.requestLatest('decode', { z }).then((result) => {
    if (!result) return;
    state.decoded = result.images;
    drawDecoded();
    debug.hoverMs.push(performance.now() - at);
    debug.decodedSeq = seq;
    let ink = 0;
    for (const v of result.images) ink += v;
    debug.decodes++;
    debug.decodedInk = ink / result.images.length / 255;
    debug.decodedRun = result.run;
    if (debug.loaded && result.run === debug.loaded.run) debug.firstLoadedDecodeAt ??= performance.now();
  }, (error) => reportError(error.message));
}

function drawDecoded() {
  const ctx = $('decoded').getContext('2d');
  if (state.decoded) drawDigit(ctx, { pixels: state.decoded });
  else drawEmpty(ctx, 'hover the plane');
}

function showResponsibilities() {
  const fitted = state.fit;
  if (!fitted || !state.probe) return;
  // Summed per digit: with several components per digit, what a user asks is "which digit is this?".
  const { byClass } = mixtureAnswer(fitted, state.probe);
  renderBars($('resp'), byClass.map(({ p, digit }) => ({ p, color: digitColor(digit), label: `digit ${digit}` })));
}

// The mixture's responsibilities at z, at the iteration on show: per component (k, summing to 1) and
// summed per digit ([{ p, digit }] in the order of the classes).
function mixtureAnswer(fitted, z) {
  const perComponent = responsibilities(fitted.history[state.emIter], z);
  const sums = new Map();
  perComponent.forEach((p, j) => {
    const c = fitted.componentClass[j] ?? j;
    sums.set(c, (sums.get(c) ?? 0) + p);
  });
  const byClass = [...sums].sort((a, b) => a[0] - b[0]).map(([c, p]) => ({ p, digit: fitted.classes[c] ?? c }));
  return { perComponent, byClass };
}

// Rows of [swatch or tag] [bar] [percentage] in a list, reusing its rows when their number is unchanged.
function renderBars(list, items) {
  if (list.children.length !== items.length || list.firstElementChild?.classList.contains('muted')) {
    list.replaceChildren(...items.map(() => {
      const li = document.createElement('li');
      const dot = document.createElement('span'), bar = document.createElement('span'), pct = document.createElement('span');
      dot.className = 'dot'; bar.className = 'bar'; pct.className = 'pct';
      bar.append(document.createElement('span'));
      li.append(dot, bar, pct);
      return li;
    }));
  }
  items.forEach(({ p, color, label, tag = '' }, j) => {
    const li = list.children[j];
    li.style.setProperty('--swatch', color);
    li.title = label;
    li.children[1].firstElementChild.style.width = `${(100 * p).toFixed(1)}%`;
    li.children[2].textContent = `${(100 * p).toFixed(p > 0.995 || p < 0.005 ? 0 : 1)}%`;
    li.children[0].textContent = tag;
    li.firstElementChild.setAttribute('aria-label', label);
  });
}

function mutedItem(text) {
  const li = document.createElement('li');
  li.className = 'muted';
  li.textContent = text;
  return li;
}

function onKey(event) {
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  const step = steps[event.key];
  if (!step || !state.view) return;
  event.preventDefault();
  const sx = (state.view.x[1] - state.view.x[0]) * (event.shiftKey ? 0.1 : 0.02);
  const sy = (state.view.y[1] - state.view.y[0]) * (event.shiftKey ? 0.1 : 0.02);
  const z = state.probe ?? [(state.view.x[0] + state.view.x[1]) / 2, (state.view.y[0] + state.view.y[1]) / 2];
  const clamp = (v, [lo, hi]) => Math.max(lo, Math.min(hi, v));
  setProbe([clamp(z[0] + step[0] * sx, state.view.x), clamp(z[1] + step[1] * sy, state.view.y)]);
}

// --- models in and out -------------------------------------------------------------------------------

// Starts a download of a Blob under a file name.
function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  debug.downloads++;
}

// The model on show, for file names: "pretrained-148", "digits148-seed3-2ep", "untrained".
function modelTag() {
  if (state.loaded) return state.loaded.name.replace(/\.safetensors$/i, '').replace(/[^\w.-]+/g, '_');
  if (!state.run || !state.trainedWith) return 'untrained';
  return `digits${state.run.classes.join('')}-seed${state.trainedWith.seed}-${state.losses?.epochs.length ?? 0}ep`;
}

function showLoadError(message) {
  if (message) debug.loadErrors.push(message);
  $('load-error').hidden = !message;
  $('load-error').textContent = message ?? '';
}

async function saveModel() {
  const dtype = $('save-dtype').value;
  try {
    const result = await trainer.request('save', { dtype });
    download(new Blob([result.bytes], { type: 'application/octet-stream' }),
      `latent-lab-${modelTag()}${dtype === 'f16' ? '-f16' : ''}.safetensors`);
    $('model-status').textContent = `Saved ${(result.bytes.length / 1048576).toFixed(1)} MB (${dtype === 'f16' ? 'float16' : 'float32'})` +
      (result.mixture ? ', its mixture in the metadata.' : '; no mixture fitted yet.');
  } catch (error) {
    showLoadError(`Could not save: ${error.message}`);
  }
}

async function saveMixture() {
  try {
    const { mixture } = await trainer.request('save-mixture');
    download(new Blob([mixture], { type: 'application/json' }), `latent-lab-${modelTag()}.mixture.json`);
  } catch (error) {
    showLoadError(`Could not save the mixture: ${error.message}`);
  }
}

// Files dropped on the page: a model (.safetensors, with or without its .json mixture), else data.
function dropFiles(files) {
  if (files.some((f) => /\.(safetensors|json)$/i.test(f.name))) return loadFiles(files);
  return loadData(files);
}

function showDataError(message) {
  if (message) debug.dataErrors.push(message);
  $('data-error').hidden = !message;
  $('data-error').textContent = message ?? '';
}

function showDataStatus() {
  const d = state.data;
  $('data-status').textContent = !d ? 'Training data: MNIST digits (bundled).'
    : `Training data: ${d.name}, ${count(d.n)} images, ${d.labelled ? `labelled, classes ${d.classes.join(', ')}` : 'unlabelled (the mixture\'s clusters are its classes)'}; ` +
      'a seeded 10% is held out for testing. The digit choice above does not apply.';
}

// The trainer worker reads the files with the C parsers and checks them; on success the next Train uses
// them. A refused file changes nothing: the data chosen before, the model and its mixture stay.
async function loadData(files) {
  if (['training', 'paused', 'waiting-for-data', 'fitting'].includes(state.phase)) {
    return showDataError('A run is training: press Reset before loading data. Nothing was changed.');
  }
  if (files.length === 0) return showDataError('Not loaded: no file was given. Nothing was changed.');
  showDataError(null);
  const names = files.map((f) => f.name).join(' + ');
  $('data-status').textContent = `Reading ${names}…`;
  const seed = Number($('seed').value);
  try {
    const sent = files.map((f) => ({ name: f.name, file: f }));
    state.data = await trainer.request('load-data', { files: sent, maxBytes: debug.dataMaxBytes, options: { seed } });
    state.dataFiles = sent;
    debug.data = state.data;
  } catch (error) {
    showDataError(`Not loaded: ${error.message}. Nothing was changed: the training data is still ` +
      `${state.data ? state.data.name : 'MNIST'}, and the model on the page is the one you had.`);
  }
  showDataStatus();
  setPhase(state.phase);
}

async function useMnist() {
  try {
    await trainer.request('use-mnist');
    state.data = debug.data = state.dataFiles = null;
    showDataError(null);
  } catch (error) {
    showDataError(error.message);
  }
  showDataStatus();
  setPhase(state.phase);
}

// Files from the file input or a drop: one .safetensors model and, optionally, one .json mixture.
function loadFiles(files) {
  const models = files.filter((f) => /\.safetensors$/i.test(f.name));
  const mixtures = files.filter((f) => /\.json$/i.test(f.name));
  const other = files.find((f) => !models.includes(f) && !mixtures.includes(f));
  const problem = other ? `${other.name} is neither a .safetensors model nor a .json mixture`
    : models.length > 1 ? 'choose one .safetensors model at a time'
    : models.length === 0 && mixtures.length ? `${mixtures[0].name} is a mixture: choose its .safetensors model with it`
    : models.length === 0 ? 'no file was given'
    : mixtures.length > 1 ? 'choose at most one .json mixture with the model' : null;
  if (problem) return showLoadError(`Not loaded: ${problem}. Nothing was changed.`);
  return loadModel({ model: models[0], mixture: mixtures[0] ?? null, name: models[0].name, mixtureName: mixtures[0]?.name });
}

// The trainer worker reads and checks the files; a refused file changes nothing (the run, its
// mixture and the view worker's parameters stay), and says why here.
async function loadModel({ model, mixture = null, name, mixtureName, pretrained = false }) {
  if (['training', 'paused', 'waiting-for-data', 'fitting'].includes(state.phase)) {
    return showLoadError('A run is training: press Reset before loading a model. Nothing was changed.');
  }
  showLoadError(null);
  const before = state.run?.id;
  const status = $('model-status').textContent;
  $('model-status').textContent = `Loading ${pretrained ? 'the pretrained model' : name}…`;
  try {
    showFit(await trainer.request('load-model', { model, mixture, name, mixtureName, pretrained,
      digits: readForm().digits, mixtureVariant: $('mixture').value }));
  } catch (error) {
    if (state.loaded && state.run?.id !== before) return reportError(error.message);   // loaded, then failed measuring
    $('model-status').textContent = status;
    showLoadError(`Not loaded: ${error.message}. Nothing was changed: the model on the page is the one you had.`);
  }
}

// On first open (no settings in the link), the pretrained model is loaded if the site has one.
// models/index.json (written by make) lists what is there, so a missing model costs no failed request.
const pretrainedFiles = fetch(new URL('./models/index.json', import.meta.url))
  .then((r) => (r.ok ? r.json() : []))
  .then((files) => (Array.isArray(files) && files.includes(`${PRETRAINED}.safetensors`) ? files : null), () => null);

// On first open its files are fetched at once, while the workers start (a Blob crosses to the worker
// without a copy); the Load button fetches them in the worker.
const PRETRAINED_MIXTURE = `${PRETRAINED}.mixture.json`;
const fetchBlob = (name) => fetch(new URL(`./models/${name}`, import.meta.url)).then((r) => {
  if (!r.ok) throw new Error(`could not load models/${name}: HTTP ${r.status}`);
  return r.blob();
});
const pretrainedPrefetch = FIRST_OPEN ? pretrainedFiles.then((files) => files && Promise.all([fetchBlob(`${PRETRAINED}.safetensors`),
  files.includes(PRETRAINED_MIXTURE) ? fetchBlob(PRETRAINED_MIXTURE) : null])).catch(() => null) : Promise.resolve(null);

async function loadPretrained(files, prefetched = null) {
  const [model, mixture] = prefetched ?? [{ url: `models/${PRETRAINED}.safetensors` },
    files.includes(PRETRAINED_MIXTURE) ? { url: `models/${PRETRAINED_MIXTURE}` } : null];
  return loadModel({ model, mixture, name: `${PRETRAINED}.safetensors`, mixtureName: PRETRAINED_MIXTURE, pretrained: true });
}

// --- PNG downloads -------------------------------------------------------------------------------------

// A canvas of the given canvases side by side (scaled to one height), or stacked when `stack`, on
// white: transparent parts print as paper. Captions go under each, when given.
function compose(canvases, { height, stack = false, captions = null, pixelated = false } = {}) {
  const gap = stack ? 0 : 12, captionH = captions ? 22 : 0;
  const h = height ?? canvases[0].height;
  const widths = canvases.map((c) => (stack ? canvases[0].width : Math.round(c.width * h / c.height)));
  const out = document.createElement('canvas');
  out.width = stack ? widths[0] : widths.reduce((a, b) => a + b, 0) + gap * (canvases.length - 1);
  out.height = h + captionH;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = !pixelated;
  let x = 0;
  canvases.forEach((c, i) => {
    ctx.drawImage(c, stack ? 0 : x, 0, widths[i], h);
    if (captions) {
      ctx.fillStyle = '#616e7c';
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(captions[i], x + widths[i] / 2, h + 16);
    }
    if (!stack) x += widths[i] + gap;
  });
  return out;
}

// Each panel's PNG: what it shows, and a name saying what and of which model.
const PNG = {
  latent: () => ({ canvas: compose([$('latent'), $('probe')], { stack: true }), name: 'latent-space' }),
  decoded: () => ({ canvas: compose([$('decoded')]),
    name: state.probe ? `decoded-z${state.probe.map((v) => v.toFixed(2)).join('_')}` : 'decoded' }),
  manifold: () => ({ canvas: compose([$('manifold')]), name: 'manifold' }),
  recons: () => ({ canvas: compose([$('recons')]), name: 'reconstructions' }),
  loss: () => ({ canvas: compose([$('loss')]), name: 'loss' }),
  loglik: () => ({ canvas: compose([$('loglik')]), name: 'em-loglik' }),
  confusion: () => ({ canvas: compose([$('confusion')]), name: 'confusion-matrix' }),
  snapshots: () => {
    const figures = [...document.querySelectorAll('.snap')].filter((f) => !f.hidden);
    return { canvas: compose(figures.map((f) => f.querySelector('canvas')),
      { captions: figures.map((f) => f.querySelector('figcaption').textContent) }), name: 'em-snapshots' };
  },
  draw: () => ({ canvas: compose([$('draw'), $('draw-input'), $('draw-recon')], { height: $('draw').height, pixelated: true,
    captions: ['drawn', 'model input (28 x 28)', 'reconstruction'] }), name: 'drawn-digit' }),
};

function downloadPng(key) {
  const { canvas, name } = PNG[key]();
  canvas.toBlob((blob) => {
    if (blob) download(blob, `latent-lab-${name}-${modelTag()}.png`);
    else reportError(`could not make a PNG of the ${key} panel`);
  }, 'image/png');
}

// --- draw a digit ----------------------------------------------------------------------------------

// The pen's state. generation counts clears, so an answer for a cleared drawing is dropped.
const drawing = { active: false, last: null, inked: false, timer: 0, sentAt: -Infinity, generation: 0 };
const drawCanvas = $('draw');
const drawContext = drawCanvas.getContext('2d', { willReadFrequently: true });

function penPosition(event) {
  const rect = drawCanvas.getBoundingClientRect();
  return { x: (event.clientX - rect.left) * drawCanvas.width / rect.width, y: (event.clientY - rect.top) * drawCanvas.height / rect.height };
}

// A stroke about 2 MNIST pixels wide once a digit-sized drawing is scaled into its 20-pixel box.
function penTo(points) {
  const ctx = drawContext;
  ctx.lineWidth = 16;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#111';
  ctx.beginPath();
  ctx.moveTo(drawing.last.x, drawing.last.y);
  for (const p of points) ctx.lineTo(p.x, p.y);
  if (points.length === 0) ctx.lineTo(drawing.last.x + 0.01, drawing.last.y);   // a dot
  ctx.stroke();
  if (points.length) drawing.last = points.at(-1);
  drawing.inked = true;
  scheduleDrawEncode();
}

function scheduleDrawEncode() {
  if (drawing.timer) return;
  const wait = Math.max(0, DRAW_EVERY_MS - (performance.now() - drawing.sentAt));
  drawing.timer = setTimeout(() => { drawing.timer = 0; encodeDrawing(); }, wait);
}

// Centres the drawing as MNIST's digits were and asks the view worker for its code and
// reconstruction; only the newest drawing is encoded (requestLatest drops the ones it replaces).
function encodeDrawing() {
  if (!viewReady) return;
  drawing.sentAt = performance.now();
  const { width, height } = drawCanvas;
  const { data } = drawContext.getImageData(0, 0, width, height);
  const alpha = new Uint8ClampedArray(width * height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = data[4 * i + 3];
  const image = mnistCentre(alpha, width, height);
  if (!image) return clearDrawn();
  const generation = drawing.generation;
  viewer.requestLatest('encode-drawing', { image }).then((result) => {
    if (!result || generation !== drawing.generation) return;
    // input: what the model saw (deskewed by the view worker if the model was trained so).
    state.drawn = { z: [result.mu[0], result.mu[1]], input: result.input, recon: result.recon };
    debug.drawSeq++;
    dirty.probe = dirty.drawn = true;
    schedule();
    showDrawnResponsibilities();
  }, (error) => reportError(error.message));
}

function clearDrawn() {
  state.drawn = null;
  dirty.probe = dirty.drawn = true;
  schedule();
  showDrawnResponsibilities();
}

function clearDrawing() {
  drawContext.clearRect(0, 0, drawCanvas.width, drawCanvas.height);
  drawing.inked = false;
  drawing.generation++;
  clearTimeout(drawing.timer);
  drawing.timer = 0;
  clearDrawn();
}

function drawDrawnPanels() {
  for (const [id, pixels] of [['draw-input', state.drawn?.input], ['draw-recon', state.drawn?.recon]]) {
    const ctx = $(id).getContext('2d');
    if (pixels) drawDigit(ctx, { pixels });
    else drawEmpty(ctx, '');
  }
}

// The drawn digit's code, and the mixture's responsibilities there: per digit, and per component
// (the largest few, the rest summed).
function showDrawnResponsibilities() {
  const z = state.drawn?.z, fitted = state.fit;
  $('draw-z').textContent = z ? `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})` : 'z = –';
  if (!z || !fitted) {
    $('draw-resp').replaceChildren(mutedItem(z ? 'after the mixture is fitted' : 'draw a digit above'));
    $('draw-comp').replaceChildren();
    debug.drawn = z ? { z, respSum: null, classSum: null } : null;
    return;
  }
  const { perComponent, byClass } = mixtureAnswer(fitted, z);
  renderBars($('draw-resp'), byClass.map(({ p, digit }) => ({ p, color: digitColor(digit), label: `digit ${digit}` })));
  const order = [...perComponent.keys()].sort((a, b) => perComponent[b] - perComponent[a]);
  const shown = order.slice(0, 4);
  const rest = order.slice(4).reduce((sum, j) => sum + perComponent[j], 0);
  const digitOf = (j) => fitted.classes[fitted.componentClass[j] ?? j];
  renderBars($('draw-comp'), [
    ...shown.map((j) => ({ p: perComponent[j], color: digitColor(digitOf(j)), tag: `#${j + 1}`,
      label: `component ${j + 1} (predicts digit ${digitOf(j)})` })),
    ...(order.length > 4 ? [{ p: rest, color: '#9aa5b1', tag: 'rest', label: `the other ${order.length - 4} components` }] : []),
  ]);
  debug.drawn = { z, k: perComponent.length, respSum: perComponent.reduce((a, b) => a + b, 0),
    classSum: byClass.reduce((a, b) => a + b.p, 0), byClass: byClass.map((c) => c.p) };
}

// --- drawing -----------------------------------------------------------------------------------------

const dirty = {};
let frame = 0;

function markAllDirty() {
  snapsTodo = [];
  Object.assign(dirty, { scatter: true, probe: true, loss: true, em: true, snaps: true, manifold: true, recons: true,
    confusion: true, progress: true, decoded: true, drawn: true });
  schedule();
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(draw);
}

// CSS sizes of the canvases, kept by a ResizeObserver: reading them never forces a layout.
const canvasSizes = new WeakMap();
const sizeObserver = new ResizeObserver((entries) => {
  for (const e of entries) canvasSizes.set(e.target, { width: e.contentRect.width, height: e.contentRect.height });
  markAllDirty();
});

// Sizes a canvas's backing store to its CSS box at the device's pixel ratio; returns a context
// drawing in CSS pixels and that size.
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  if (!canvasSizes.has(canvas)) {
    const rect = canvas.getBoundingClientRect();
    canvasSizes.set(canvas, { width: rect.width, height: rect.height });
    sizeObserver.observe(canvas);
  }
  const rect = canvasSizes.get(canvas);
  const w = Math.max(1, Math.round(rect.width)), h = Math.max(1, Math.round(rect.height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width: w, height: h };
}

function scatterData() {
  const run = state.run, fitted = state.fit;
  if (fitted) {
    const snap = fitted.history[state.emIter];
    return { points: fitted.testCodes, classes: fitted.testClasses, digits: fitted.classes,
      mixture: { means: snap.means, covs: snap.covs, componentClass: fitted.componentClass } };
  }
  return { points: state.codes, classes: run?.scatterClasses, digits: run?.classes ?? readForm().digits, mixture: null };
}

// The codes (axes and points) are drawn once per set of codes onto a canvas of their own; a frame
// copies that and draws the mixture on top, so replaying EM redraws ellipses, not 3,000 points.
const latentBase = { canvas: document.createElement('canvas'), key: null, area: null };

function drawLatent() {
  const { ctx, width, height } = prepare($('latent'));
  const data = scatterData();
  const view = state.view ?? { x: [-3, 3], y: [-3, 3] };
  const shown = $('show-points').checked ? data : { ...data, points: data.points && new Float32Array(0) };
  const dpr = window.devicePixelRatio || 1;
  const key = [shown.points, view.x.join(), view.y.join(), width, height, dpr, !!data.mixture, data.digits.join()];
  if (!latentBase.key || key.some((v, i) => v !== latentBase.key[i])) {
    const base = latentBase.canvas;
    base.width = Math.round(width * dpr);
    base.height = Math.round(height * dpr);
    const bctx = base.getContext('2d');
    bctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    latentBase.area = drawScatterBase(bctx, { width, height, view, ...shown });
    latentBase.key = key;
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(latentBase.canvas, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  state.area = latentBase.area;
  drawScatterOverlay(ctx, state.area, { width, height, view, ...shown });
  debug.scatterPoints = data.points ? data.points.length / 2 : 0;
  exposeMixtureGeometry(data);
  if (!data.points) {
    ctx.fillStyle = '#7b8794';
    ctx.font = '13px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(state.phase === 'idle' ? 'Press Train: the codes appear here as the model learns.' : 'Encoding the first codes…',
      (state.area.left + state.area.right) / 2, (state.area.top + state.area.bottom) / 2);
  }
  dirty.probe = true;
}

// Where the means and each 1- and 2-sigma ellipse's first point should be, in CSS pixels, so a test
// can look at the canvas there.
function exposeMixtureGeometry({ mixture, digits, points }) {
  const a = state.area;
  debug.area = { left: a.left, right: a.right, top: a.top, bottom: a.bottom };
  debug.colors = digits.map(digitColor);
  debug.farCodes = farApart(points, a);
  debug.ellipses = 0;
  debug.ellipsePoints = [];
  debug.meanPoints = [];
  if (!mixture) return;
  const k = mixture.means.length / 2;
  for (let j = 0; j < k; j++) {
    const [mx, my] = [mixture.means[2 * j], mixture.means[2 * j + 1]];
    const { sd1, angle } = covarianceAxes(mixture.covs[4 * j], mixture.covs[4 * j + 1], mixture.covs[4 * j + 3]);
    debug.meanPoints.push({ x: a.x(mx), y: a.y(my), classIndex: mixture.componentClass[j] });
    for (const n of [1, 2]) {
      debug.ellipsePoints.push({ sigma: n, color: digitColor(digits[mixture.componentClass[j]]),
        x: a.x(mx + n * sd1 * Math.cos(angle)), y: a.y(my + n * sd1 * Math.sin(angle)) });
      debug.ellipses++;
    }
  }
}

// Two codes far apart (the farthest pair among the extremes along each axis), in CSS pixels.
function farApart(points, a) {
  if (!points || points.length < 4) return [];
  const n = points.length / 2;
  const ext = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    if (points[2 * i] < points[2 * ext[0]]) ext[0] = i;
    if (points[2 * i] > points[2 * ext[1]]) ext[1] = i;
    if (points[2 * i + 1] < points[2 * ext[2] + 1]) ext[2] = i;
    if (points[2 * i + 1] > points[2 * ext[3] + 1]) ext[3] = i;
  }
  const px = ext.map((i) => ({ x: a.x(points[2 * i]), y: a.y(points[2 * i + 1]) }))
    .map(({ x, y }) => ({ x: Math.min(Math.max(x, a.left + 4), a.right - 4), y: Math.min(Math.max(y, a.top + 4), a.bottom - 4) }));
  let best = [px[0], px[1]];
  for (const p of px) for (const q of px) if (Math.hypot(p.x - q.x, p.y - q.y) > Math.hypot(best[0].x - best[1].x, best[0].y - best[1].y)) best = [p, q];
  return best;
}

function drawLoss() {
  const { ctx, width, height } = prepare($('loss'));
  const L = state.losses;
  const col = (key) => (L ? L.batches.map((p) => [p.x, p[key]]) : []);
  const dots = (key) => (L ? L.epochs.map((p) => [p.epoch, p[key]]) : []);
  drawLineChart(ctx, {
    width, height, logY: true, xMin: 0, xLabel: 'epoch', yLabel: 'nats per image (log scale)',
    empty: 'The loss appears here as soon as training starts.',
    series: [
      { name: 'total', color: '#1f2933', points: col('loss'), dots: dots('loss') },
      { name: 'reconstruction (BCE)', color: '#4e79a7', points: col('bce'), dots: dots('bce') },
      { name: 'KL', color: '#f28e2b', points: col('kl'), dots: dots('kl') },
    ],
  });
}

function drawEm() {
  const { ctx, width, height } = prepare($('loglik'));
  const h = state.fit?.history ?? [];
  // Entry 0 is the start (before any iteration); its log-likelihood may be unset. A loaded mixture
  // brings the trace of the EM that fitted it, and is its last iteration.
  const trace = state.fit?.loadedLoglik ?? h.map((s) => s.loglik);
  const points = trace.map((y, t) => [t, y]).filter(([t, y]) => t > 0 && Number.isFinite(y));
  drawLineChart(ctx, {
    width, height, xMin: 0, xLabel: 'EM iteration', yLabel: 'mean log-likelihood',
    empty: 'Fitted after training: EM on the training codes.',
    series: [{ name: 'log-likelihood per point', color: '#3b5bdb', points, dots: points.length <= 60 ? points : [] }],
    marker: state.fit?.loadedLoglik ? { x: trace.length - 1, label: 'the loaded mixture' }
      : state.fit ? { x: state.emIter, label: `iteration ${state.emIter} of ${h.length - 1}` } : null,
  });
  $('em-iter-out').textContent = state.fit ? `${state.emIter} / ${h.length - 1}` : '–';
}

// The report's snapshots at iterations 1, 5, 10, 20 and 50; when EM stopped sooner, the ones it
// reached and its last, each shown once.
function snapshotIterations(last) {
  const its = [...new Set(SNAP_ITERS.map((t) => Math.min(t, last)))].filter((t) => t >= 1);
  return its.length ? its : [0];
}

// One snapshot per call (each is thousands of points): draw() calls again while any is left.
let snapsTodo = [];

function drawSnaps() {
  const fitted = state.fit;
  const last = fitted ? fitted.history.length - 1 : 0;
  const its = fitted ? snapshotIterations(last) : SNAP_ITERS;
  const canvases = [...document.querySelectorAll('.snap-canvas')];
  if (snapsTodo.length === 0) {
    canvases.forEach((canvas, i) => {
      const figure = canvas.closest('.snap');
      figure.hidden = i >= its.length;
      if (figure.hidden) return;
      const t = its[i];
      canvas.dataset.iter = String(t);
      canvas.setAttribute('aria-label', `EM at iteration ${t}`);
      figure.querySelector('figcaption').textContent = fitted?.loadedLoglik ? 'the loaded mixture'
        : fitted && t === last && t < 50 ? `iteration ${t} (converged)` : `iteration ${t}`;
    });
    highlightSnap();
    snapsTodo = its.map((t, i) => i);
  }
  const i = snapsTodo.shift();
  const canvas = canvases[i], t = its[i];
  const { ctx, width, height } = prepare(canvas);
  if (!fitted) {
    drawScatter(ctx, { width, height, compact: true, view: { x: [-3, 3], y: [-3, 3] }, points: null, digits: [] });
  } else {
    const snap = fitted.history[t];
    drawScatter(ctx, { width, height, compact: true, view: state.view, points: fitted.testCodes, classes: fitted.testClasses,
      digits: fitted.classes, mixture: { means: snap.means, covs: snap.covs, componentClass: fitted.componentClass } });
  }
  if (snapsTodo.length) dirty.snaps = true;
}

function highlightSnap() {
  for (const canvas of document.querySelectorAll('.snap-canvas')) {
    canvas.closest('.snap').classList.toggle('current', !!state.fit && state.emIter === Number(canvas.dataset.iter));
  }
}

function drawManifold() {
  const ctx = $('manifold').getContext('2d');
  if (!state.manifold) return drawEmpty(ctx, 'The decoded manifold appears once training starts.');
  drawPixels(ctx, state.manifold);   // laid out by the view worker
}

// Rows: one per digit; columns: that digit's validation images, a gap, then their reconstructions.
function drawRecons() {
  const canvas = $('recons');
  const ctx = canvas.getContext('2d');
  const run = state.run;
  if (!run || !state.recons) {
    if (canvas.width !== 578) { canvas.width = 578; canvas.height = 120; }
    return drawEmpty(ctx, 'Validation images and their reconstructions appear once training starts.');
  }
  const per = run.valPerClass, rows = run.classes.length;
  const width = 2 * (per * 56 + (per - 1) * 2) + 18, height = rows * 56 + (rows - 1) * 2;
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const originals = new Uint8Array(rows * per * 784), recon = new Uint8Array(rows * per * 784);
  const filled = new Array(rows).fill(0);
  run.valLabels.forEach((label, i) => {
    const r = run.classes.indexOf(label);
    const slot = r * per + filled[r]++;
    if (filled[r] > per) return;
    originals.set(run.valImages.subarray(i * 784, (i + 1) * 784), slot * 784);
    recon.set(state.recons.subarray(i * 784, (i + 1) * 784), slot * 784);
  });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const left = reconsScratch;
  const half = drawDigitGrid(offscreen(left, per, rows), { images: originals, rows, cols: per, scale: 2, gap: 2, background: 240 });
  ctx.drawImage(left, 0, 0);
  drawDigitGrid(offscreen(left, per, rows), { images: recon, rows, cols: per, scale: 2, gap: 2, background: 240 });
  ctx.drawImage(left, half.width + 18, 0);
}

const reconsScratch = document.createElement('canvas');

function offscreen(canvas, cols, rows) {
  canvas.width = cols * 56 + (cols - 1) * 2;
  canvas.height = rows * 56 + (rows - 1) * 2;
  return canvas.getContext('2d');
}

function drawConfusionPanel() {
  const { ctx, width, height } = prepare($('confusion'));
  const m = state.fit?.metrics;
  if (!m?.confusion) {
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#f7f9fb';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#7b8794';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('confusion matrix (rows: true digit)', width / 2, height / 2);
    return;
  }
  drawConfusion(ctx, { width, height, matrix: m.confusion, digits: state.fit.classes });
}

function drawProgress() {
  const r = state.progress, run = state.run;
  const loadedName = state.loaded?.pretrained ? 'the pretrained model' : state.loaded?.name;
  const phaseText = {
    idle: 'Press Train: the data loads meanwhile.', 'waiting-for-data': 'Waiting for the data…',
    training: 'Training', paused: 'Paused', trained: 'Trained', fitting: 'Fitting the mixture by EM…',
    fitted: state.loaded ? `Loaded ${loadedName}` : 'Done: trained and fitted',
    evaluating: `Loaded ${loadedName}: measuring it on the test set…`,
  }[state.phase] ?? state.phase;
  let detail = '';
  let fraction = 0;
  if (r && run) {
    fraction = r.imagesSeen / r.totalImages;
    const rate = r.imagesSeen / Math.max(r.seconds, 1e-3);
    const left = (r.totalImages - r.imagesSeen) / rate;
    detail = `epoch ${Math.min(r.epoch + 1, run.epochs)}/${run.epochs} · ${count(r.imagesSeen)} / ` +
      `${count(r.totalImages)} images · ${rate.toFixed(0)} images/s` +
      (r.imagesSeen < r.totalImages ? ` · ${formatTime(left)} left` : ` · ${formatTime(r.seconds)}`);
  }
  if (state.loaded) detail = describeModel(state.loaded);
  $('progress-text').textContent = state.phase === 'training' && r ? `Training: ${(100 * fraction).toFixed(0)}%` : phaseText;
  $('progress-detail').textContent = detail;
  $('progress-fill').style.transform = `scaleX(${fraction.toFixed(4)})`;
  $('progress-fill').classList.toggle('done', fraction >= 1);
}

function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return '…';
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

// recorded: the metrics a loaded file carries, shown until this page has measured the model itself.
function showMetrics(m, { recorded = false } = {}) {
  const pct = (v) => (m && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');
  $('m-accuracy').textContent = pct(m?.test_accuracy);
  $('m-knn').textContent = pct(m?.knn_accuracy);
  $('m-precision').textContent = pct(m?.test_macro_precision);
  $('m-recall').textContent = pct(m?.test_macro_recall);
  $('m-f1').textContent = pct(m?.test_macro_f1);
  $('m-loss').textContent = m ? `${m.test_bce.toFixed(1)} / ${m.test_kl.toFixed(2)}` : '–';
  let verdict = 'Fitted after training, or on demand with “Fit mixture”.';
  if (m?.test_cluster_sizes) {
    verdict = `Unlabelled data: no accuracy. Test images per cluster: ${m.test_cluster_sizes.join(', ')}. EM ran ${m.gmm_iterations} iterations.`;
  } else if (m) {
    const gap = m.knn_accuracy - m.test_accuracy;
    verdict = gap > 0.03
      ? `kNN on the same codes does ${(100 * gap).toFixed(1)} points better: the Gaussian mixture, not the representation, limits the result.`
      : 'kNN on the same codes does no better: the representation itself limits the result.';
    verdict += state.fit?.loadedLoglik ? ' The mixture was loaded with the model.' : ` EM ran ${m.gmm_iterations} iterations.`;
    if (recorded) verdict = 'As recorded in the loaded file; measuring the model on this page…';
  }
  $('m-verdict').textContent = verdict;
  dirty.confusion = true;
}

// In order of urgency. The pointer's panels first; the loss and the progress at most every
// THROTTLE_MS; each panel is one bounded piece of drawing, and the frame stops after FRAME_BUDGET_MS.
const PANELS = [
  ['decoded', drawDecoded],
  ['probe', () => {
    const { ctx, width, height } = prepare($('probe'));
    drawProbe(ctx, { width, height, area: state.area, z: state.probe });
    debug.drawnMarker = drawDrawnMarker(ctx, { area: state.area, z: state.drawn?.z ?? null });
  }],
  ['drawn', drawDrawnPanels],
  ['progress', drawProgress],
  ['scatter', drawLatent],
  ['loss', drawLoss],
  ['em', drawEm],
  ['manifold', drawManifold],
  ['recons', drawRecons],
  ['confusion', drawConfusionPanel],
  ['snaps', drawSnaps],
];
const drawnAt = {};
let throttleTimer = 0;

function draw() {
  frame = 0;
  const start = performance.now();
  let wait = Infinity;
  for (const [key, fn] of PANELS) {
    if (!dirty[key]) continue;
    const since = start - (drawnAt[key] ?? -Infinity);
    if (state.phase === 'training' && THROTTLE_MS[key] && since < THROTTLE_MS[key]) {
      wait = Math.min(wait, THROTTLE_MS[key] - since);
      continue;
    }
    if (performance.now() - start > FRAME_BUDGET_MS) break;
    dirty[key] = false;
    drawnAt[key] = performance.now();
    fn();
  }
  if (PANELS.some(([key]) => dirty[key] && !(THROTTLE_MS[key] && state.phase === 'training' &&
      start - (drawnAt[key] ?? -Infinity) < THROTTLE_MS[key]))) schedule();
  if (wait < Infinity && !throttleTimer) throttleTimer = setTimeout(() => { throttleTimer = 0; schedule(); }, wait);
}

// --- wiring ------------------------------------------------------------------------------------------

buildDigitBoxes();
{
  const fromUrl = readUrl();
  urlErrors = fromUrl.urlErrors;
  writeForm(fromUrl.options);
}
validate();
$('settings').addEventListener('input', (event) => {
  if (event.target.id === 'preset') return applyPreset(event.target.value);
  delete urlErrors[event.target.name];
  validate();
});
$('settings').addEventListener('submit', (event) => event.preventDefault());
$('restore').addEventListener('click', () => applyPreset($('preset').value));
// For the determinism test: a few batches of a run in the trainer worker, and the SHA-256 of the
// parameters; options as for a run (workers included).
debug.selftest = ({ batches = 4, ...options }) => trainer.request('selftest', { options: resolveOptions(options), batches });
// For the save-and-load test: the SHA-256 of the current model's parameters, in the trainer.
debug.paramsHash = () => trainer.request('params-hash').then((r) => r.hash);
$('train').addEventListener('click', () => train());
$('pause').addEventListener('click', pauseOrResume);
$('reset').addEventListener('click', reset);
$('fit').addEventListener('click', () => fit());
$('play').addEventListener('click', replay);
$('show-points').addEventListener('change', () => { dirty.scatter = true; schedule(); });
$('em-iter').addEventListener('input', (event) => { stopReplay(); setEmIter(Number(event.target.value)); });

const latent = $('latent');
latent.addEventListener('pointermove', (event) => { const z = pointerToLatent(event); if (z) setProbe(z, event.timeStamp); });
latent.addEventListener('pointerdown', (event) => {
  const z = pointerToLatent(event);
  if (z) setProbe(z, event.timeStamp);
  if (event.pointerType !== 'mouse') latent.setPointerCapture(event.pointerId);
});
latent.addEventListener('keydown', onKey);

// Models in and out: Save, the mixture alone, Load (a file input, or files dropped anywhere on the page).
$('save').addEventListener('click', saveModel);
$('save-mixture').addEventListener('click', saveMixture);
$('load-file').addEventListener('change', (event) => {
  const files = [...event.target.files];
  event.target.value = '';   // the same file chosen again is a new change
  loadFiles(files);
});
$('load-pretrained').addEventListener('click', () => pretrainedFiles.then((files) => files && loadPretrained(files)));
$('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragover', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
  document.body.classList.add('dropping');
});
document.addEventListener('dragleave', (event) => { if (!event.relatedTarget) document.body.classList.remove('dropping'); });
document.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  document.body.classList.remove('dropping');
  dropFiles([...event.dataTransfer.files]);
});
$('data-file').addEventListener('change', (event) => {
  const files = [...event.target.files];
  event.target.value = '';   // the same file chosen again is a new change
  loadData(files);
});
$('use-mnist').addEventListener('click', useMnist);

// Every panel's PNG button.
document.addEventListener('click', (event) => {
  const button = event.target.closest?.('button[data-png]');
  if (button) downloadPng(button.dataset.png);
});

// Draw a digit: mouse, pen or finger (the canvas takes no touch scrolling: touch-action none).
drawCanvas.addEventListener('pointerdown', (event) => {
  if (event.pointerType === 'mouse' && event.button !== 0) return;
  event.preventDefault();
  drawCanvas.setPointerCapture(event.pointerId);
  drawing.active = true;
  drawing.last = penPosition(event);
  penTo([]);
});
drawCanvas.addEventListener('pointermove', (event) => {
  if (!drawing.active) return;
  const events = event.getCoalescedEvents?.() ?? [];
  penTo((events.length ? events : [event]).map(penPosition));
});
for (const type of ['pointerup', 'pointercancel']) {
  drawCanvas.addEventListener(type, () => {
    if (!drawing.active) return;
    drawing.active = false;
    clearTimeout(drawing.timer);
    drawing.timer = 0;
    encodeDrawing();   // the finished stroke, at once
  });
}
$('draw-clear').addEventListener('click', clearDrawing);

$('manifold').addEventListener('click', (event) => {
  const m = state.manifold;
  if (!m) return;
  const rect = event.currentTarget.getBoundingClientRect();
  const c = Math.min(m.size - 1, Math.floor((event.clientX - rect.left) / rect.width * m.size));
  const r = Math.min(m.size - 1, Math.floor((event.clientY - rect.top) / rect.height * m.size));
  setProbe([m.xs[c], m.ys[m.size - 1 - r]]);
  latent.focus({ preventScroll: true });
});

for (const canvas of document.querySelectorAll('.snap-canvas')) {
  const pick = () => { if (state.fit) { stopReplay(); setEmIter(Number(canvas.dataset.iter)); } };
  canvas.addEventListener('click', pick);
  canvas.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); pick(); } });
}

new ResizeObserver(() => markAllDirty()).observe(document.querySelector('.layout'));
for (const canvas of document.querySelectorAll('canvas.chart, #probe')) prepare(canvas);
window.addEventListener('unhandledrejection', (event) => reportError(String(event.reason?.message ?? event.reason)));
markAllDirty();
