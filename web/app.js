// The page's one module: reads the settings (form and URL), talks to two workers through
// WorkerClient (a trainer that owns the run, a view worker that decodes and encodes with a parameter
// snapshot), keeps the page's state, and redraws what changed in animation frames, a few
// milliseconds of drawing per frame at most (the rest waits for the next frame), so no task on this
// thread comes near 50 ms. It computes nothing heavy itself: no wasm here, only drawing and small sums.
import { PRESETS, resolveOptions } from './lib/training.js';
import { WorkerClient } from './lib/worker-client.js';
import { responsibilities } from './lib/mixture-math.js';
import { digitColor } from './draw/common.js';
import { covarianceAxes, drawScatter, drawScatterBase, drawScatterOverlay, drawProbe, viewAround } from './draw/scatter.js';
import { drawLineChart } from './draw/charts.js';
import { drawDigit, drawDigitGrid, drawEmpty, drawPixels } from './draw/digits.js';
import { drawConfusion } from './draw/confusion.js';

const $ = (id) => document.getElementById(id);
// 12,345: by hand, since the first toLocaleString() loads the locale data (30+ ms on this thread).
const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
// The settings, all in the form and the URL. A recipe (preset) sets RECIPE; the rest are the user's.
const NUMBERS = ['epochs', 'batch', 'lr', 'beta', 'warmup', 'seed', 'limit', 'workers'];
const CHOICES = ['kl', 'mixture'];
const RECIPE = ['epochs', 'batch', 'lr', 'beta', 'kl', 'warmup', 'mixture'];
const DEFAULT_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
const SNAP_ITERS = [1, 5, 10, 20, 50];
const SMOOTH = 0.9;               // exponential smoothing of the per-batch loss curves
const FRAME_BUDGET_MS = 6;        // drawing per animation frame; what is left waits for the next frame
const THROTTLE_MS = { loss: 500, progress: 250 };   // redrawn at most this often while training

// --- state -----------------------------------------------------------------------------------------

const state = {
  phase: 'idle',        // idle | waiting-for-data | training | paused | trained | fitting | fitted
  run: null,            // { classes, trainImages, totalImages, epochs, scatterClasses, valLabels, valPerClass }
  losses: null,         // { batch: [[epochX, loss, bce, kl]], epoch: [[epochX, loss, bce, kl]], ema, acc }
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
  for (const f of CHOICES) o[f] = $(f).value || undefined;
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
    if ([...$(f).options].some((opt) => opt.value === q.get(f))) o[f] = q.get(f);
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
const workerUrl = new URL('./worker.js', import.meta.url);
const trainer = new WorkerClient(workerUrl, { role: 'trainer', build });
const viewer = new WorkerClient(workerUrl, { role: 'view', build });

for (const client of [trainer, viewer]) {
  client.on('error', (m) => reportError(m.message));
}
trainer.ready.then((m) => {
  debug.build = m.kind;
  const chip = $('build-chip');
  if (m.kind === 'simd') {
    chip.textContent = 'WebAssembly SIMD';
    chip.className = 'chip good';
  } else {
    chip.textContent = build === 'scalar' ? 'scalar WebAssembly (as asked)' : 'No WASM SIMD in this browser: scalar build (slower)';
    chip.className = 'chip warn';
  }
  trainer.send('load');
}, (error) => {
  $('build-chip').textContent = `WebAssembly failed: ${error.message}`;
  $('build-chip').className = 'chip bad';
  reportError(error.message);
});
viewer.ready.catch(() => {});
// The two workers talk directly: parameters and images never cross this thread.
Promise.all([trainer.ready, viewer.ready]).then(() => {
  const channel = new MessageChannel();
  trainer.send('connect', { port: channel.port1 }, [channel.port1]);
  viewer.send('connect', { port: channel.port2 }, [channel.port2]);
}, () => {});

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
  state.run = {
    id: m.run, classes: m.classes, trainImages: m.trainImages, totalImages: m.totalImages, epochs: m.epochs,
    batchesPerEpoch: m.batchesPerEpoch, testImages: m.testImages, valPerClass, workers: m.workers,
    scatterClasses: Int32Array.from(m.scatterLabels, (l) => m.classes.indexOf(l)),
    valImages: m.val.images, valLabels: m.val.labels,
  };
  debug.workers = m.workers;
  $('latent-sub').textContent = `${count(m.scatterLabels.length)} held-out test images, coloured by digit`;
  setPhase('training');
});

trainer.on('batches', ({ run, reports }) => {
  if (!state.run || run !== state.run.id) return;
  for (const r of reports) addBatch(r);
  dirty.loss = dirty.progress = true;
  schedule();
});

function addBatch(r) {
  const L = state.losses;
  const x = r.epoch + (r.batchInEpoch + 1) / r.batchesPerEpoch;
  // An exponential moving average, bias-corrected so the first batches are not pulled toward zero.
  L.ema = L.ema.map((v, i) => SMOOTH * v + (1 - SMOOTH) * [r.loss, r.bce, r.kl][i]);
  const correction = 1 - SMOOTH ** (L.batch.length + 1);
  L.batch.push([x, ...L.ema.map((v) => v / correction)]);
  L.acc[0] += r.loss * r.count; L.acc[1] += r.bce * r.count; L.acc[2] += r.kl * r.count; L.acc[3] += r.count;
  if (r.epochDone) {
    L.epoch.push([r.epoch + 1, L.acc[0] / L.acc[3], L.acc[1] / L.acc[3], L.acc[2] / L.acc[3]]);
    L.acc = [0, 0, 0, 0];
  }
  state.progress = r;
  debug.batches++;
  debug.imagesSeen = r.imagesSeen;
  debug.firstLoss ??= r.loss;
  debug.lastLoss = L.batch.at(-1)[1];
}

// The view worker's answers carry the run their parameters came from; older runs' are dropped.
const current = (m) => state.run && m.run === state.run.id;

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
  $('fit').disabled = !state.run || phase === 'fitting' || phase === 'waiting-for-data';
  $('fit').textContent = phase === 'fitting' ? 'Fitting…' : state.fit ? 'Refit mixture' : 'Fit mixture';
  for (const el of document.querySelectorAll('#settings input, #settings select')) el.disabled = running || phase === 'fitting';
  if (phase === 'trained' || phase === 'fitted' || phase === 'idle') debug.trainEndedAt ??= performance.now();
  dirty.progress = true;
  schedule();
}

// Forgets everything a run produced: losses, progress, codes, mixture, manifold, reconstructions.
function clearRun() {
  Object.assign(state, { run: null, losses: null, progress: null, codes: null, fit: null, manifold: null, recons: null });
}

async function train() {
  const options = validate();
  if (!options) return;
  debug.trainStartedAt = performance.now();
  debug.trainEndedAt = null;
  clearRun();
  state.losses = { batch: [], epoch: [], ema: [0, 0, 0], acc: [0, 0, 0, 0] };
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
    const result = await trainer.request('fit');
    state.fit = result;
    state.view = viewAround(result.testCodes);
    state.emIter = debug.emIter = result.history.length - 1;
    debug.emIterations = result.history.length - 1;
    debug.metrics = result.metrics;
    const slider = $('em-iter');
    slider.max = String(result.history.length - 1);
    slider.value = String(state.emIter);
    slider.disabled = false;
    $('play').disabled = false;
    $('latent-sub').textContent = `all ${result.testCodes.length / 2} test images, coloured by digit; the mixture's means, 1σ and 2σ`;
    showMetrics(result.metrics);
    markAllDirty();
    setPhase(state.phase);  // the worker has said which phase follows the fit
    if (state.probe) showResponsibilities();
  } catch (error) {
    reportError(error.message);
    setPhase(state.run ? 'trained' : 'idle');
  }
}

function pauseOrResume() {
  if (state.phase === 'training') trainer.send('pause');
  else if (state.phase === 'paused') trainer.send('resume');
}

function reset() {
  trainer.send('reset');
  stopReplay();
  clearRun();
  $('em-iter').disabled = true;
  $('play').disabled = true;
  $('em-iter-out').textContent = '–';
  $('latent-sub').textContent = 'held-out test images, coloured by digit';
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
  }, (error) => reportError(error.message));
}

function drawDecoded() {
  const ctx = $('decoded').getContext('2d');
  if (state.decoded) drawDigit(ctx, { pixels: state.decoded });
  else drawEmpty(ctx, 'hover the plane');
}

function showResponsibilities() {
  const list = $('resp');
  const fitted = state.fit;
  if (!fitted || !state.probe) return;
  const snapshot = fitted.history[state.emIter];
  // Summed per digit: with several components per digit, what a user asks is "which digit is this?".
  const r = responsibilities(snapshot, state.probe);
  const byClass = new Map();
  r.forEach((p, j) => {
    const c = fitted.componentClass[j] ?? j;
    byClass.set(c, (byClass.get(c) ?? 0) + p);
  });
  const items = [...byClass].sort((a, b) => a[0] - b[0]).map(([c, p]) => ({ p, digit: fitted.classes[c] ?? c }));
  if (list.children.length !== items.length || list.firstElementChild.classList.contains('muted')) {
    list.replaceChildren(...items.map(() => {
      const li = document.createElement('li');
      const dot = document.createElement('span'), bar = document.createElement('span'), pct = document.createElement('span');
      dot.className = 'dot'; bar.className = 'bar'; pct.className = 'pct';
      bar.append(document.createElement('span'));
      li.append(dot, bar, pct);
      return li;
    }));
  }
  items.forEach(({ p, digit }, j) => {
    const li = list.children[j];
    li.style.setProperty('--swatch', digitColor(digit));
    li.title = `digit ${digit}`;
    li.children[1].firstElementChild.style.width = `${(100 * p).toFixed(1)}%`;
    li.children[2].textContent = `${(100 * p).toFixed(p > 0.995 || p < 0.005 ? 0 : 1)}%`;
    li.children[0].textContent = '';
    li.firstElementChild.setAttribute('aria-label', `digit ${digit}`);
  });
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

// --- drawing -----------------------------------------------------------------------------------------

const dirty = {};
let frame = 0;

function markAllDirty() {
  snapsTodo = [];
  Object.assign(dirty, { scatter: true, probe: true, loss: true, em: true, snaps: true, manifold: true, recons: true,
    confusion: true, progress: true, decoded: true });
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
  const col = (i) => (L ? L.batch.map((p) => [p[0], p[i]]) : []);
  const dots = (i) => (L ? L.epoch.map((p) => [p[0], p[i]]) : []);
  drawLineChart(ctx, {
    width, height, logY: true, xMin: 0, xLabel: 'epoch', yLabel: 'nats per image (log scale)',
    empty: 'The loss appears here as soon as training starts.',
    series: [
      { name: 'total', color: '#1f2933', points: col(1), dots: dots(1) },
      { name: 'reconstruction (BCE)', color: '#4e79a7', points: col(2), dots: dots(2) },
      { name: 'KL', color: '#f28e2b', points: col(3), dots: dots(3) },
    ],
  });
}

function drawEm() {
  const { ctx, width, height } = prepare($('loglik'));
  const h = state.fit?.history ?? [];
  // Entry 0 is the start (before any iteration); its log-likelihood may be unset.
  const points = h.map((s, t) => [t, s.loglik]).filter(([t, y]) => t > 0 && Number.isFinite(y));
  drawLineChart(ctx, {
    width, height, xMin: 0, xLabel: 'EM iteration', yLabel: 'mean log-likelihood',
    empty: 'Fitted after training: EM on the training codes.',
    series: [{ name: 'log-likelihood per point', color: '#3b5bdb', points, dots: points.length <= 60 ? points : [] }],
    marker: state.fit ? { x: state.emIter, label: `iteration ${state.emIter} of ${h.length - 1}` } : null,
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
      figure.querySelector('figcaption').textContent = fitted && t === last && t < 50 ? `iteration ${t} (converged)` : `iteration ${t}`;
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
  if (!m) {
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
  const phaseText = {
    idle: 'Press Train: the data loads meanwhile.', 'waiting-for-data': 'Waiting for the data…',
    training: 'Training', paused: 'Paused', trained: 'Trained', fitting: 'Fitting the mixture by EM…',
    fitted: 'Done: trained and fitted',
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

function showMetrics(m) {
  const pct = (v) => (m ? `${(100 * v).toFixed(1)}%` : '–');
  $('m-accuracy').textContent = pct(m?.test_accuracy);
  $('m-knn').textContent = pct(m?.knn_accuracy);
  $('m-precision').textContent = pct(m?.test_macro_precision);
  $('m-recall').textContent = pct(m?.test_macro_recall);
  $('m-f1').textContent = pct(m?.test_macro_f1);
  $('m-loss').textContent = m ? `${m.test_bce.toFixed(1)} / ${m.test_kl.toFixed(2)}` : '–';
  let verdict = 'Fitted after training, or on demand with “Fit mixture”.';
  if (m) {
    const gap = m.knn_accuracy - m.test_accuracy;
    verdict = gap > 0.03
      ? `kNN on the same codes does ${(100 * gap).toFixed(1)} points better: the Gaussian mixture, not the representation, limits the result.`
      : 'kNN on the same codes does no better: the representation itself limits the result.';
    verdict += ` EM ran ${m.gmm_iterations} iterations.`;
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
  }],
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
