// A run on the page: Train, Pause, Reset and Fit sent to the trainer worker, and what the workers report
// of the run (its start, batches, notes, the evaluation; codes, reconstructions and the manifold).
import { LossHistory } from '../lib/run/loss-history.js';
import { viewAround } from '../draw/scatter.js';
import { shownWords } from './classes.js';
import { renderControls } from './controls.js';
import { $, reportError } from './dom.js';
import { drawingInked, encodeDrawing, showDrawnResponsibilities } from './drawing-pad.js';
import { resetEmControls, showEmHistory, stopReplay } from './em-replay.js';
import { refreshExplore } from './explore.js';
import { count, describeModel } from './format.js';
import { dirty, markAllDirty, schedule } from './frames.js';
import { showMetrics } from './panels.js';
import { requestDecode, showResponsibilities } from './probe.js';
import { validate } from './settings.js';
import { clearRun, current, state } from './state.js';
import { hook, record, report, reportOnce, tally } from './test-hooks.js';
import { trainer, viewer } from './workers.js';

const SMOOTH = 0.9;               // exponential smoothing of the per-batch loss curves

async function train() {
  const options = validate();
  if (!options) return;
  report({ trainStartedAt: performance.now(), trainEndedAt: null });
  forgetShownRun();
  state.trainedWith = options;
  state.losses = new LossHistory({ smooth: SMOOTH });
  report({ batches: 0, imagesSeen: 0, firstLoss: null, lastLoss: null, scatterPoints: 0, scatterUpdatesTraining: 0, ellipses: 0,
    emIterations: 0, metrics: null });
  // Until the trainer says its phase (within milliseconds), the controls stay as while a run trains.
  state.trainAsked = true;
  renderControls();
  let finished = false;
  try {
    ({ finished } = await trainer.request('train', { options }));
  } catch (error) {
    reportError(error.message);
  }
  if (state.trainAsked) {   // refused before the trainer said any phase
    state.trainAsked = false;
    renderControls();
  }
  if (finished) await fit();
}

export async function fit() {
  if (!state.run) return;
  try {
    showFit(await trainer.request('fit'));
  } catch (error) {
    reportError(error.message);
  }
}

// An evaluation from the trainer (after training, on Refit, or of a loaded model) on the page.
export function showFit(result) {
  if (!result || result.replaced || !state.run || result.run !== state.run.id) return;   // a run since replaced
  state.fit = result;
  state.mixture = { history: result.history, componentClass: result.componentClass, classes: result.classes };
  state.view = viewAround(result.testCodes);
  showEmHistory(result.history);
  report({ metrics: result.metrics });
  $('latent-sub').textContent = `all ${count(result.testCodes.length / 2)} test images, coloured by ` +
    `${result.unlabelled ? 'cluster' : shownWords().noun}; the mixture's means, 1σ and 2σ`;
  showMetrics(result.metrics);
  showOwnRun();
  markAllDirty();
  renderControls();   // the worker has said which phase follows the fit
  if (state.probe) showResponsibilities();
  showDrawnResponsibilities();
}

// The model panel's "On show" line for a run trained on this page (a loaded model's is model-files.js's):
// what it was started with, and once fitted, its mixture.
function showOwnRun() {
  const run = state.run, options = state.trainedWith;
  if (!run || state.loaded || !options) return;
  const what = describeModel({ digits: run.classes, dataset: run.dataset ?? 'mnist',
    data: run.data ? { name: run.data.name, unlabelled: run.unlabelled } : null,
    info: { preset: options.preset, epochs: run.epochs, seed: options.seed } });
  const k = state.fit?.componentClass?.length;
  $('model-status').textContent = k ? `On show: your run, ${what}; a mixture of ${k} Gaussian${k === 1 ? '' : 's'} fitted on its codes.`
    : `On show: your run as it trains, ${what}.`;
}

function pauseOrResume() {
  if (state.phase === 'training') trainer.send('pause');
  else if (state.phase === 'paused') trainer.send('resume');
}

// The trainer stops the run and says 'idle'; the page forgets what the run produced.
function reset() {
  trainer.send('reset');
  stopReplay();
  forgetShownRun();
  renderControls();
}

// What the page shows of the last run or loaded model, forgotten (Train, Reset): the probe's and the
// drawing's answers wait for a mixture, and the metrics, the EM controls and the model panel's line go.
function forgetShownRun() {
  clearRun();
  showResponsibilities();
  showDrawnResponsibilities();
  resetEmControls();
  $('banner').hidden = true;
  $('model-status').textContent = '';
  showMetrics(null);
  markAllDirty();
}

function addBatch(r) {
  state.losses.add(r);   // the smoothed curve per batch and the means per epoch
  state.progress = r;
  // The last minute of (seconds, images seen), for the images per second the time left is judged by.
  state.rates.push({ seconds: r.seconds, imagesSeen: r.imagesSeen });
  while (state.rates.length > 2 && state.rates[0].seconds < r.seconds - 60) state.rates.shift();
  tally('batches');
  report({ imagesSeen: r.imagesSeen, trainSeconds: r.seconds, lastLoss: state.losses.batches.at(-1)?.loss ?? hook('lastLoss') });
  reportOnce('firstLoss', r.loss);
}

function listenToTrainer() {
  trainer.on('note', ({ message }) => {
    record('notes', message);
    $('note').hidden = false;
    $('note').textContent = message;
  });

  trainer.on('run-start', (m) => {
    const valPerClass = Math.max(1, Math.round(m.val.n / m.classes.length));
    // A loaded model's run was announced by 'model-loaded'; this completes it, once MNIST is here.
    if (m.loaded && state.run?.id !== m.run) return;
    state.run = {
      id: m.run, classes: m.classes, trainImages: m.trainImages, totalImages: m.totalImages, epochs: m.epochs,
      batchesPerEpoch: m.batchesPerEpoch, testImages: m.testImages, valPerClass, workers: m.workers, parallelism: m.parallelism,
      scatterClasses: Int32Array.from(m.scatterLabels, (l) => m.classes.indexOf(l)), scatterIndex: m.scatterIndex,
      valImages: m.val.images, valLabels: m.val.labels, unlabelled: m.labelled === false, data: m.data, dataset: m.dataset ?? null,
      deskew: m.deskew,
    };
    state.rates = [];
    showOwnRun();
    showDrawnResponsibilities();   // the draw pad names this run's classes
    report({ workers: m.workers, parallelism: m.parallelism, run: { dataset: state.run.dataset, classes: m.classes, totalImages: m.totalImages } });
    $('latent-sub').textContent = `${count(m.scatterLabels.length)} held-out test images` +
      (m.labelled === false ? ` of ${m.data?.name ?? 'the data'} (unlabelled)` : m.data ? ` of ${m.data.name}, coloured by class`
        : `, coloured by ${shownWords().noun}`);
    markAllDirty();
  });

  trainer.on('batches', ({ run, reports }) => {
    if (!state.run || run !== state.run.id) return;
    for (const r of reports) addBatch(r);
    dirty.loss = dirty.progress = true;
    schedule();
  });
}

function listenToViewer() {
  // The view worker holds another model's parameters: the probe (and a drawn digit) are decoded again.
  viewer.on('view-params', ({ run }) => {
    report({ viewRun: run });
    if (state.probe) requestDecode();
    if (state.drawn || drawingInked()) encodeDrawing();
    refreshExplore({ newRun: true });
  });

  viewer.on('codes', ({ mu, run }) => {
    if (!current({ run })) return;
    state.codes = mu;
    tally('scatterUpdates');
    if (state.phase === 'training') tally('scatterUpdatesTraining');
    if (!state.fit) {
      state.view = viewAround(mu);
      dirty.scatter = true;
      schedule();
    }
    if (state.probe) requestDecode();
    // Newer weights while training: the drawing's distribution, the strip and the region follow them.
    if (state.drawn || drawingInked()) encodeDrawing();
    refreshExplore();
  });

  viewer.on('recons', ({ images, run }) => {
    if (!current({ run })) return;
    state.recons = images;
    tally('recons');
    dirty.recons = true;
    schedule();
  });

  viewer.on('manifold', (m) => {
    if (!current(m)) return;
    state.manifold = m;
    tally('manifolds');
    dirty.manifold = true;
    schedule();
  });
}

export function initRun() {
  listenToTrainer();
  listenToViewer();
  $('train').addEventListener('click', () => train());
  $('pause').addEventListener('click', pauseOrResume);
  $('reset').addEventListener('click', reset);
  $('fit').addEventListener('click', () => fit());
  $('show-points').addEventListener('change', () => { dirty.scatter = true; schedule(); });
}
