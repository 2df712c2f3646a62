// Each panel's renderer (the latent plane's are in latent.js) and the list the frame scheduler draws,
// in order of urgency; the metrics list and the progress line.
import { fontOf, INK } from '../draw/common.js';
import { drawLineChart } from '../draw/charts.js';
import { drawDigitGrid, drawEmpty, drawPixels } from '../draw/digits.js';
import { drawScatter, EMPTY_VIEW } from '../draw/scatter.js';
import { DATASETS } from '../lib/data/datasets.js';
import { chosenDataset, legendEntries, nameOf, renderLegend } from './classes.js';
import { drawConfusionPanel } from './confusion-panel.js';
import { $ } from './dom.js';
import { drawDrawnPanels } from './drawing-pad.js';
import { count, describeModel, formatTime } from './format.js';
import { dirty, onRedrawAll, prepare } from './frames.js';
import { drawRegionPanel, drawStripPanel } from './explore.js';
import { drawLatent, drawMarkers } from './latent.js';
import { drawDecoded } from './probe.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

const SNAP_ITERS = [1, 5, 10, 20, 50];

function drawLoss() {
  const { ctx, width, height } = prepare($('loss'));
  const L = state.losses;
  const col = (key) => (L ? L.batches.map((p) => [p.x, p[key]]) : []);
  const dots = (key) => (L ? L.epochs.map((p) => [p.epoch, p[key]]) : []);
  drawLineChart(ctx, {
    width, height, logY: true, xMin: 0, xLabel: 'epoch', yLabel: 'nats per image (log scale)', integerX: (L?.epochs.length ?? 0) >= 2,
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
  const area = drawLineChart(ctx, {
    width, height, xMin: 0, xLabel: 'EM iteration', yLabel: 'mean log-likelihood', integerX: true,
    empty: 'Fitted after training: EM on the training codes.',
    series: [{ name: 'log-likelihood per point', color: '#3b5bdb', points, dots: points.length <= 60 ? points : [] }],
    marker: state.fit?.loadedLoglik ? { x: trace.length - 1, label: 'the loaded mixture' }
      : state.fit ? { x: state.emIter, label: `iteration ${state.emIter} of ${h.length - 1}` } : null,
  });
  report({ emTicks: area?.xTicks ?? [] });
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
onRedrawAll(() => { snapsTodo = []; });

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
    $('snaps-sub').textContent = !fitted ? 'iterations 1, 5, 10, 20 and 50, once a mixture is fitted'
      : fitted.loadedLoglik ? 'the loaded mixture only: its file has no EM history to show'
      : `iteration${its.length > 1 ? 's' : ''} ${its.join(', ')}${last < 50 ? ` (EM converged after ${last})` : ''}`;
    snapsTodo = its.map((t, i) => i);
    renderLegend($('snaps-legend'), fitted ? legendEntries(fitted.classes) : []);
  }
  const i = snapsTodo.shift();
  const canvas = canvases[i], t = its[i];
  const { ctx, width, height } = prepare(canvas);
  if (!fitted) {
    drawScatter(ctx, { width, height, compact: true, view: EMPTY_VIEW, points: null, digits: [] });
  } else {
    const snap = fitted.history[t];
    drawScatter(ctx, { width, height, compact: true, view: state.view, points: fitted.testCodes, classes: fitted.testClasses,
      digits: fitted.classes, mixture: { means: snap.means, covs: snap.covs, componentClass: fitted.componentClass } });
  }
  if (snapsTodo.length) dirty.snaps = true;
}

// The snapshot of the EM iteration on show is framed.
export function highlightSnap() {
  for (const canvas of document.querySelectorAll('.snap-canvas')) {
    canvas.closest('.snap').classList.toggle('current', !!state.fit && state.emIter === Number(canvas.dataset.iter));
  }
}

function drawManifold() {
  const ctx = $('manifold').getContext('2d');
  if (!state.manifold) return drawEmpty(ctx, 'The decoded manifold appears once training starts.');
  drawPixels(ctx, state.manifold);   // laid out by the view worker
}

const reconsScratch = document.createElement('canvas');

function offscreen(canvas, cols, rows) {
  canvas.width = cols * 56 + (cols - 1) * 2;
  canvas.height = rows * 56 + (rows - 1) * 2;
  return canvas.getContext('2d');
}

// Rows: one per class, named on the left; columns: that class's validation images, a gap, then their
// reconstructions.
const RECONS_FONT = fontOf(13);
function drawRecons() {
  const canvas = $('recons');
  const ctx = canvas.getContext('2d');
  const run = state.run;
  if (!run || !state.recons) {
    if (canvas.width !== 578) { canvas.width = 578; canvas.height = 120; }
    return drawEmpty(ctx, 'Validation images and their reconstructions appear once training starts.');
  }
  const per = run.valPerClass, rows = run.classes.length;
  // Unlabelled data has one row of test images and no names.
  const names = run.unlabelled ? [] : run.classes.map((c) => nameOf(c));
  ctx.font = RECONS_FONT;
  const labelWidth = names.length ? Math.ceil(Math.max(...names.map((n) => ctx.measureText(n).width))) + 12 : 0;
  const width = labelWidth + 2 * (per * 56 + (per - 1) * 2) + 18, height = rows * 56 + (rows - 1) * 2;
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
  ctx.drawImage(left, labelWidth, 0);
  drawDigitGrid(offscreen(left, per, rows), { images: recon, rows, cols: per, scale: 2, gap: 2, background: 240 });
  ctx.drawImage(left, labelWidth + half.width + 18, 0);
  ctx.font = RECONS_FONT;
  ctx.fillStyle = INK;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  names.forEach((name, r) => ctx.fillText(name, labelWidth - 8, r * 58 + 28));
}

// How the run trains: threads over one shared memory (the bits of one worker), replicas (where the page
// is not cross-origin isolated) or one worker.
function workersText({ workers = 1, parallelism = 'one' }) {
  if (parallelism === 'threads') return `${workers} threads`;
  if (parallelism === 'replicas') return `${workers} replicas`;
  return 'one worker';
}

// Images per second over the last RATE_WINDOW_S seconds of training (state.rates, run.js), so the time
// left follows the machine as it is now (other work on its cores) rather than since the start; the
// whole run's mean until a few seconds have passed.
const RATE_WINDOW_S = 30;
function currentRate(r) {
  const first = state.rates?.find((p) => p.seconds >= r.seconds - RATE_WINDOW_S);
  if (first && r.seconds - first.seconds >= 5) return (r.imagesSeen - first.imagesSeen) / (r.seconds - first.seconds);
  return r.imagesSeen / Math.max(r.seconds, 1e-3);
}

// A built-in dataset's name for the progress line: the run's (a loaded model is measured on its own).
const dataTitle = () => DATASETS[state.run?.dataset ?? chosenDataset()]?.title ?? 'the data';

function drawProgress() {
  const r = state.progress, run = state.run;
  const loadedName = state.loaded?.pretrained ? 'the pretrained model' : state.loaded?.name;
  const title = dataTitle();
  const phaseText = {
    idle: 'Press Train: the data loads meanwhile.', 'waiting-for-data': state.data ? 'Waiting for the data…' : `Waiting for ${title}…`,
    training: 'Training', paused: 'Paused', trained: 'Trained', fitting: 'Fitting the mixture by EM…',
    fitted: state.loaded ? `Loaded ${loadedName}` : 'Done: trained and fitted',
    evaluating: `Loaded ${loadedName}: measuring it…`,
  }[state.phase] ?? state.phase;
  let detail = '';
  let fraction = 0;
  const m = state.measuring;
  if (state.phase === 'evaluating') {
    // What measuring a loaded model does, on which dataset, and how long it has left at the rate so far.
    fraction = m ? m.done / m.total : 0;
    const left = m && m.done > 0 ? ` · about ${formatTime(m.seconds / m.done * (m.total - m.done))} left` : '';
    $('progress-text').textContent = m ? `Loaded ${loadedName}: measuring it, ${(100 * fraction).toFixed(0)}%` : phaseText;
    // The test set is encoded, then evaluated again for its loss: two stages, each counted in images.
    $('progress-detail').textContent = !m
      ? `Loading ${title} to measure it${downloaded(state.run?.dataset) ? ` (${downloaded(state.run?.dataset)})` : ''}: the plane, ` +
        'the test-set metrics and kNN come next. Decoding a point and the mixture’s answers already work.'
      : m.done < m.encoding
        ? `Encoding ${count(m.done)} of ${count(m.encoding)} images of ${title}: the test set for the plane and its metrics, ` +
          `the training set for kNN; then the test loss${left}`
        : `Measuring the test loss on ${count(m.done - m.encoding)} of ${count(m.total - m.encoding)} test images${left}`;
    $('progress-fill').style.transform = `scaleX(${fraction.toFixed(4)})`;
    $('progress-fill').classList.remove('done');
    return;
  }
  if (state.phase === 'waiting-for-data' && !state.data) detail = `${title}: ${downloaded(chosenDataset()) || 'starting'}`;
  if (r && run) {
    fraction = r.imagesSeen / r.totalImages;
    const rate = currentRate(r);
    const left = (r.totalImages - r.imagesSeen) / rate;
    // The time left and the whole run's length at that rate: a full ten-class run is an hour's work.
    detail = `epoch ${Math.min(r.epoch + 1, run.epochs)}/${run.epochs} · ${count(r.imagesSeen)} / ` +
      `${count(r.totalImages)} images · ${rate.toFixed(0)} images/s on ${workersText(run)}` +
      (r.imagesSeen < r.totalImages ? ` · ${formatTime(left)} left (about ${formatTime(r.seconds + left)} in all)` : ` · ${formatTime(r.seconds)}`);
  }
  // Fitting encodes every training and test image before EM and kNN: what takes the time after a long run.
  if (state.phase === 'fitting' && run?.trainImages) {
    detail = `Encoding the ${count(run.trainImages)} training and ${count(run.testImages)} test images, then EM and kNN on their codes`;
  }
  if (state.loaded) detail = describeModel(state.loaded);
  $('progress-text').textContent = state.phase === 'training' && r ? `Training: ${(100 * fraction).toFixed(0)}%` : phaseText;
  $('progress-detail').textContent = detail;
  $('progress-fill').style.transform = `scaleX(${fraction.toFixed(4)})`;
  $('progress-fill').classList.toggle('done', fraction >= 1);
}

// "12.3 / 30.1 MB" of a built-in dataset being fetched, '' when nothing is known yet.
function downloaded(dataset) {
  const d = state.downloads[dataset];
  return d && d.total && !d.ready ? `${(d.loaded / 1048576).toFixed(1)} / ${(d.total / 1048576).toFixed(1)} MB` : '';
}

// The test-set metrics (null: dashes). recorded: the metrics a loaded file carries, shown until this
// page has measured the model itself.
export function showMetrics(m, { recorded = false } = {}) {
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
    // A run that ended inside its learning-rate warm-up has codes still forming: low figures say little.
    const warmup = state.trainedWith?.lrWarmup ?? 0;
    if (!state.loaded && state.run?.epochs && state.run.epochs < warmup) {
      verdict += ` This run ended inside its ${warmup}-epoch learning-rate warm-up: the codes are still forming.`;
    }
    if (recorded) verdict = 'As recorded in the loaded file; measuring the model on this page…';
  }
  $('m-verdict').textContent = verdict;
  dirty.confusion = true;
}

// In order of urgency: the pointer's panels first.
export const PANELS = [
  ['decoded', drawDecoded],
  ['probe', drawMarkers],
  ['drawn', drawDrawnPanels],
  ['strip', drawStripPanel],
  ['region', drawRegionPanel],
  ['progress', drawProgress],
  ['scatter', drawLatent],
  ['loss', drawLoss],
  ['em', drawEm],
  ['manifold', drawManifold],
  ['recons', drawRecons],
  ['confusion', drawConfusionPanel],
  ['snaps', drawSnaps],
];
