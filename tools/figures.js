// make figures ARGS="--load model.safetensors [--mixture model.mixture.json] [--out build/figures]"
// The report's figures as PNG files, headless, from a trained model, and a metrics report beside them
// (report.md, metrics.json). Everything is computed here in Node with the wasm the page uses; the
// figures are drawn by the page's own drawing code (web/draw/*.js) in headless Chromium
// (tools/figures/figures-page.js), served from this checkout with every other request refused.
// Without --load it uses web/models/pretrained-148.safetensors if it is there and no training flag is
// given, else trains a short model (--epochs, --limit, --seed, --digits, ... as tools/train.js) and
// saves it beside the figures. --interpolate "x1,y1:x2,y2" [--steps N] adds interpolation.png, the
// strip between two latent points (tools/figures/interpolation.js).
// Not a training tool: a loaded model is drawn as it is.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { reconstructionScores } from '../web/lib/image-metrics.js';
import { PIXELS } from '../web/lib/latent-lab.js';
import { toBytes, toFloats } from '../web/lib/data/images.js';
import { subset } from '../web/lib/data/split.js';
import { mixtureFromJSON, mixtureToJSON, modelFromFile, readSafetensorsMetadata, saveSafetensors } from '../web/lib/model-io.js';
import { gridPoints, MANIFOLD, manifoldQuantiles } from '../web/lib/normal.js';
import { makeRng, permutation } from '../web/lib/rng.js';
import { classIndices, evaluateRun, forEachChunk } from '../web/lib/run/evaluate.js';
import { componentCount, fitMixture, MIXTURES } from '../web/lib/run/mixture.js';
import { metadataNumber, metadataVariant, optionsFromMetadata, resolveOptions } from '../web/lib/run/options.js';
import { makeSplit, Run } from '../web/lib/run/pipeline.js';
import { viewAround } from '../web/draw/scatter.js';
import { className, DATASETS, shortClassName } from '../web/lib/data/datasets.js';
import { BUILD, CHROMIUM, launchChromium, loadBuiltin, loadNodeLab, parseFlags, ROOT, trainWithProgress } from './common.js';
import { INTERPOLATION_FILE, interpolationFigure, interpolationRequest, UsageError } from './figures/interpolation.js';

const FLAGS = { load: 'string', mixture: 'string', out: 'string', digits: 'string', epochs: 'number', limit: 'number',
  seed: 'number', batch: 'number', lr: 'number', beta: 'number', kl: 'string', warmup: 'number', 'lr-warmup': 'number', deskew: 'boolean', preset: 'string',
  build: 'string', scale: 'number', quiet: 'boolean', 'eval-limit': 'number', interpolate: 'string', steps: 'string' };
// Flags that only shape a training run: meaningless for a loaded model, which is drawn as it is.
const TRAINING_FLAGS = ['epochs', 'limit', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lr-warmup', 'deskew', 'preset'];
// What this tool trains when it has no model: a minute or two on one core; the digits' clusters begin
// to form (a full run, make train, separates them).
const SHORT_RUN = { epochs: 2, limit: 4000 };

export const PRETRAINED = path.join(ROOT, 'web', 'models', 'pretrained-148.safetensors');
const SNAPSHOT_ITERATIONS = [1, 5, 10, 20, 50];
const HOST = 'http://figures.latent-lab.invalid';

// The report's figures, in its order: file name and caption (the report's words where it has them).
export const FIGURES = [
  ['latent-scatter.png', 'Visualization of the latent space: the test images\' codes, coloured by class.'],
  ['manifold.png', 'Manifold generation: the decoder at a 20 x 20 grid of latent points, the standard normal\'s quantiles 0.05 ... 0.95 on each axis.'],
  ['loss.png', 'Loss function during training the VAE (per image; BCE + beta KL).'],
  ['reconstructions.png', 'Reconstruction of validation images: originals above, reconstructions below.'],
  ['em-results.png', 'Results of the EM algorithm on the dataset: the test codes coloured by the mixture\'s predicted class.'],
  ['confusion.png', 'The mixture\'s confusion matrix on the test images (rows: true class).'],
  ['mixture-ellipses.png', 'The clusters as a mixture of Gaussians: means and 1- and 2-sigma ellipses over the test codes.'],
  ['em-loglik.png', 'Convergence of the log-likelihood for the GMM.'],
  ...SNAPSHOT_ITERATIONS.map((t) => [`em-iteration-${String(t).padStart(2, '0')}.png`, `EM at iteration ${t}.`]),
];

// A file as the report names it: from the checkout's root if it is inside, else in full.
const shown = (file) => {
  const relative = path.relative(ROOT, path.resolve(file));
  return relative.startsWith('..') ? path.resolve(file) : relative;
};
const log = (flags, line) => { if (!flags.quiet) process.stderr.write(line); };

// --- the model ----------------------------------------------------------------------------------

// The loss curves a model's metadata carries: loss_history (per epoch: [{epoch, loss, bce, kl}]) and
// loss_curve (per batch, smoothed: [{x, loss, bce, kl}] as make train --save writes it; plain numbers
// or [x, loss, bce, kl] rows are read too). Returns { epochs, batches }, each [[x, loss, bce, kl]] or
// null, or null when the model has neither.
export function lossCurves(metadata) {
  const parse = (key) => {
    if (metadata[key] === undefined) return null;
    try {
      const value = JSON.parse(metadata[key]);
      return Array.isArray(value) && value.length ? value : null;
    } catch {
      return null;
    }
  };
  const history = parse('loss_history'), raw = parse('loss_curve');
  if (!history && !raw) return null;
  const epochs = history && history.map((h, i) => [Number(h.epoch ?? i + 1), Number(h.loss), Number(h.bce), Number(h.kl)]);
  // Bare numbers spread evenly over the epochs trained.
  const span = epochs ? Math.max(...epochs.map((e) => e[0])) : Number(metadata.epochs) || 1;
  const batches = raw && raw.map((p, i) => (typeof p === 'number' ? [(i + 1) * span / raw.length, p, NaN, NaN]
    : Array.isArray(p) ? p.map(Number)
      : [Number(p.x ?? p.epoch ?? (i + 1) * span / raw.length), Number(p.loss), Number(p.bce), Number(p.kl)]));
  return { epochs, batches };
}

// --eval-limit N: a seeded sample of at most N images of a set, in their original order (a quick look).
function sample(set, n, seed, stream) {
  if (!n || n >= set.n) return set;
  return subset(set, Array.from(permutation(set.n, makeRng(seed, stream)).subarray(0, n)).sort((a, b) => a - b));
}

// --- the mixture --------------------------------------------------------------------------------

// The variant whose EM a loaded mixture most likely came from (its JSON keeps no per-iteration
// history, so the snapshots come from re-running that EM on the same codes).
function variantFor(k, nClasses) {
  if (k === nClasses) return 'authors';
  if (k === componentCount('kmeans-groups', nClasses)) return 'kmeans-groups';
  if (k === 3 * nClasses) return 'per-class-3';
  if (MIXTURES[`kmeans-${k}`]) return `kmeans-${k}`;
  if (k === 2 * nClasses) return 'per-class-2';
  return 'kmeans-10';
}

// Iteration t's components as the scatter draws them, each in the colour of the digit it predicts.
const componentsOf = (mixture, t) => {
  const s = mixture.snapshot(t);
  return { means: s.means, covs: s.covs, componentClass: mixture.componentClasses };
};

// --- drawing ------------------------------------------------------------------------------------

// Typed arrays cross into the page as base64 (see revive() in figures-page.js).
function pack(value) {
  if (ArrayBuffer.isView(value)) {
    return { typed: value.constructor.name, base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) return value.map(pack);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pack(v)]));
}

// Serves this checkout's web/ and tools/figures/ to the page and refuses every other request.
async function openRenderer() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: make figures installs it (the $(CHROMIUM_STAMP) rule)`);
  const browser = await launchChromium();
  const problems = [];
  try {
    const context = await browser.newContext({ deviceScaleFactor: 1 });
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      const file = path.join(ROOT, decodeURIComponent(url.pathname));
      const allowed = url.origin === HOST && ['web', 'tools/figures'].some((dir) => file.startsWith(path.join(ROOT, dir) + path.sep));
      if (!allowed || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        problems.push(`refused request ${url.href}`);
        return route.abort();
      }
      const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
      return route.fulfill({ status: 200, contentType: type, body: await readFile(file) });
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    await page.goto(`${HOST}/tools/figures/figures.html`);
    await page.waitForFunction(() => window.figuresReady === true, null, { timeout: 30_000 });
    return {
      async render(spec) {
        const url = await page.evaluate((s) => window.renderFigure(s), pack(spec));
        if (problems.length) throw new Error(`the figures page failed: ${problems.join('; ')}`);
        return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
      },
      close: () => browser.close(),
    };
  } catch (error) {
    await browser.close();
    throw new Error(`${error.message}${problems.length ? ` (${problems.join('; ')})` : ''}`);
  }
}

// --- the report ---------------------------------------------------------------------------------

const fmt = (v, digits = 4) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

function reportMarkdown({ full, source, options, metadata, metrics, scores, mixtureNote, lossNote, snapshotNotes, classes, names, timings, strip }) {
  const lines = ['# latent-lab: the report\'s figures, reproduced', ''];
  lines.push(`Model: ${source}.`, '');
  lines.push('| recipe | value |', '|---|---|');
  const recipe = [['preset', metadata.preset ?? 'not recorded'], ['dataset', DATASETS[options.dataset].title],
    [options.dataset === 'mnist' ? 'digits' : 'classes', names.join(', ')], ['seed', options.seed], ['epochs', metadata.epochs ?? 'not recorded'],
    ['KL convention', metadata.kl ?? `${options.kl} (not recorded; assumed)`], ['beta', metadata.beta ?? `${options.beta} (not recorded; assumed)`],
    ['batch', metadata.batch ?? 'not recorded'], ['learning rate', metadata.lr ?? 'not recorded'],
    ['version', metadata.version ?? 'not recorded'], ['mixture', mixtureNote]];
  for (const [k, v] of recipe) lines.push(`| ${k} | ${v} |`);
  lines.push('', '## Metrics on the test images', '');
  lines.push(`${metrics.test_images} test images of ${options.dataset === 'mnist' ? 'digits' : 'classes'} ${names.join(', ')}; ${metrics.train_images} training codes for EM and kNN` +
    `${full.test > metrics.test_images || full.train > metrics.train_images ? ` (a seeded sample, --eval-limit: of ${full.test} and ${full.train})` : ''}.`, '');
  lines.push('| metric | value |', '|---|---|');
  const rows = [
    ['mixture accuracy', fmt(metrics.test_accuracy)], ['macro precision', fmt(metrics.test_macro_precision)],
    ['macro recall', fmt(metrics.test_macro_recall)], ['macro F1', fmt(metrics.test_macro_f1)],
    ['kNN accuracy (k = 15, training codes)', fmt(metrics.knn_accuracy)],
    ['test BCE (nats per image, one sampled z)', fmt(metrics.test_bce, 2)], ['test KL (usual, nats per image)', fmt(metrics.test_kl, 3)],
    ['test ELBO = -(BCE + KL)', fmt(metrics.test_elbo, 2)],
    ['reconstruction MSE (per pixel, pixels in [0, 1], mean over images)', fmt(scores.mse, 5)],
    ['SSIM (Gaussian 11x11, sigma 1.5, mean over images)', fmt(scores.ssim, 4)],
    ['score (1 - MSE + SSIM) / 2', fmt(scores.score, 4)],
  ];
  for (const [k, v] of rows) lines.push(`| ${k} | ${v} |`);
  lines.push('', `Confusion matrix of the mixture (rows: true ${DATASETS[options.dataset].noun}, columns: predicted):`, '');
  lines.push(`| true \\ predicted | ${names.join(' | ')} |`, `|---|${classes.map(() => '---').join('|')}|`);
  metrics.confusion.forEach((row, r) => lines.push(`| ${names[r]} | ${row.join(' | ')} |`));
  lines.push('', 'Reconstructions are decoded from the mean code (no sampling). SSIM is Wang et al.\'s (2004): local',
    'statistics under the Gaussian window at every position where it fits inside the 28 x 28 image (18 x 18',
    'positions), C1 = 0.01^2, C2 = 0.03^2 for a data range of 1.', '');
  lines.push('## Figures', '');
  for (const [file, caption] of FIGURES) {
    let note = '';
    if (file === 'loss.png' && lossNote) note = ` ${lossNote}`;
    if (snapshotNotes[file]) note = ` ${snapshotNotes[file]}`;
    lines.push(`![${caption}](${file})`, '', `*${file}*: ${caption}${note}`, '');
  }
  if (strip) lines.push(`![${strip.caption}](${INTERPOLATION_FILE})`, '', `*${INTERPOLATION_FILE}*: ${strip.caption} ${strip.line}`, '');
  lines.push(`Made in ${timings.total.toFixed(1)} s (${Object.entries(timings).filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}).`, '');
  return lines.join('\n');
}

// --- main ---------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  const timings = {};
  const lap = (name, since) => { timings[name] = (performance.now() - since) / 1000; return performance.now(); };
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const interpolation = interpolationRequest(flags);   // checked before anything is read or written
  const out = path.resolve(flags.out ?? path.join(BUILD, 'figures'));
  const scale = flags.scale ?? 2;
  const evalLimit = flags['eval-limit'] ?? 0;
  if (!(Number.isInteger(evalLimit) && evalLimit >= 0)) throw new Error(`--eval-limit must be a whole number, got ${evalLimit}`);
  if (!(scale >= 1 && scale <= 4)) throw new Error(`--scale must be in 1..4, got ${scale}`);
  // --mixture: a mixture JSON file (made by make train --save), or the name of a variant to fit here.
  let variant, mixtureFile;
  if (flags.mixture !== undefined) {
    if (Object.hasOwn(MIXTURES, flags.mixture)) variant = flags.mixture;
    else if (existsSync(flags.mixture)) mixtureFile = flags.mixture;
    else throw new Error(`--mixture "${flags.mixture}" is neither a file nor a mixture variant (${Object.keys(MIXTURES).join(', ')})`);
  }
  let modelFile = flags.load;
  // Training flags without --load ask for a model trained here, even when the pretrained one is there.
  const trainingAsked = TRAINING_FLAGS.some((f) => flags[f] !== undefined);
  if (!modelFile && !trainingAsked && existsSync(PRETRAINED)) {
    modelFile = PRETRAINED;
    log(flags, `no --load: using ${path.relative(process.cwd(), PRETRAINED)}\n`);
  }
  if (modelFile) {
    const given = TRAINING_FLAGS.filter((f) => flags[f] !== undefined);
    if (given.length) throw new Error(`--${given.join(', --')}: training flags do not apply to a loaded model (drawn as it is); ` +
      'to train it further use make train --load MODEL --save NEW');
    // The mixture saved beside the model (make train --save writes both), unless a variant was asked for.
    const sibling = modelFile.replace(/\.safetensors$/, '.mixture.json');
    if (!mixtureFile && !variant && sibling !== modelFile && existsSync(sibling)) {
      mixtureFile = sibling;
      log(flags, `using the mixture saved beside it: ${path.relative(process.cwd(), sibling)}\n`);
    }
  }

  const lab = await loadNodeLab(flags.build ?? 'simd');
  let t = performance.now();
  let metadata = {}, options, losses = null, source, trained = null, model;
  if (modelFile) {
    // The model's seed also seeds its evaluation noise: the same test BCE as make train reported.
    const bytes = await readFile(modelFile);
    metadata = readSafetensorsMetadata(lab, bytes);
    options = optionsFromMetadata(metadata, { digits: flags.digits, seed: flags.seed, mixture: variant });
    ({ model } = modelFromFile(lab, bytes, options));
    losses = lossCurves(metadata);
    source = `\`${shown(modelFile)}\``;
    log(flags, `loaded ${modelFile}: digits ${options.digits.join(',')}, seed ${options.seed}` +
      `${metadata.epochs ? `, ${metadata.epochs} epochs` : ''}\n`);
  } else {
    const given = Object.fromEntries(['digits', 'seed', ...TRAINING_FLAGS].filter((k) => flags[k] !== undefined)
      .map((k) => [k === 'lr-warmup' ? 'lrWarmup' : k, flags[k]]));
    options = resolveOptions({ ...SHORT_RUN, ...given, mixture: variant });
    log(flags, `no --load and no ${path.relative(process.cwd(), PRETRAINED)}: training a short model ` +
      `(${options.epochs} epochs${options.limit ? ` of ${options.limit} images` : ''}, seed ${options.seed}); ` +
      'pass --load MODEL to draw a trained one\n');
  }
  let split;
  // deskew 'auto' -> what it means for the model's dataset
  ({ split, options } = makeSplit(options, { builtin: await loadBuiltin(options.dataset) }));
  const nClasses = split.classes.length;
  if (!modelFile) {
    // Trained as make train trains it (the same pipeline, one worker): the same flags give the same model.
    trained = await Run.create(lab, options, { split });
    log(flags, `training on ${trained.trainer.n} images of digits ${options.digits.join(',')}: ${options.epochs} epochs of ` +
      `${trained.trainer.batchesPerEpoch} batches\n`);
    const seconds = await trainWithProgress(trained, (line) => log(flags, line));
    model = trained.model;
    // The settings make train --save writes, as text: what a file read back gives (the report reads them so).
    metadata = Object.fromEntries(Object.entries(trained.metadata({ history: false })).map(([k, v]) => [k, String(v)]));
    losses = lossCurves({ loss_history: JSON.stringify(trained.history.epochs), loss_curve: JSON.stringify(trained.history.curve()) });
    source = `trained by \`make figures\` for this report (${options.epochs} epochs of ${trained.trainer.n} images, ` +
      `${seconds.toFixed(0)} s), saved as \`model.safetensors\``;
    t = lap('training', t);
  } else {
    t = lap('loading', t);
  }

  const full = { train: split.train.n, test: split.test.n };
  if (evalLimit) {
    split.train = sample(split.train, evalLimit, options.seed, 3);
    split.test = sample(split.test, evalLimit, options.seed, 4);
    log(flags, `--eval-limit ${evalLimit}: evaluating on ${split.test.n} of ${full.test} test images, ` +
      `${split.train.n} of ${full.train} training codes\n`);
  }

  // The mixture: loaded (its final parameters and log-likelihood trace) from --mixture FILE, the file
  // beside the model or the model's own metadata (key "mixture"), or fitted here by EM.
  let loaded = null, mixtureSource = null;
  if (mixtureFile) {
    mixtureSource = `\`${shown(mixtureFile)}\``;
    loaded = mixtureFromJSON(lab, await readFile(mixtureFile, 'utf8'));
  } else if (modelFile && !variant && metadata.mixture?.trim().startsWith('{')) {
    mixtureSource = 'the model\'s metadata';
    log(flags, 'using the mixture saved in the model\'s metadata\n');
    loaded = mixtureFromJSON(lab, metadata.mixture);
  }
  if (loaded?.classLabels && loaded.classLabels.join() !== split.classes.join()) {
    loaded.mixture.free();
    throw new Error(`the mixture (${mixtureSource}) names digits ${loaded.classLabels.join(',')}, the model's split has ${split.classes.join(',')}`);
  }
  const run = evaluateRun(lab, model, split, options, { mixture: loaded?.mixture });
  const { metrics, mixture, codes, predicted } = run;
  // EM's history for the snapshots and, for a fitted mixture, the log-likelihood.
  let history = mixture, historyNote = '', mixtureNote;
  if (loaded) {
    // The variant named (flag or metadata) if it has as many components, else a guess from the count.
    const named = variant ?? metadataVariant(metadata);
    const k = (v) => componentCount(v, nClasses);
    const refitVariant = named && k(named) === mixture.k ? named : variantFor(mixture.k, nClasses);
    history = fitMixture(lab, { trainCodes: codes.train, valCodes: codes.val, valClasses: classIndices(split.val.labels, split.classes),
      nClasses, maxIter: options.gmmMaxIter, tol: options.gmmTol, variant: refitVariant, seed: options.seed }).mixture;
    mixtureNote = `loaded from ${mixtureSource} (${mixture.k} components)`;
    historyNote = `The mixture file keeps no per-iteration parameters: these are EM re-run here with the "${refitVariant}" variant on this model's training codes.`;
    metrics.gmm_iterations = loaded.loglik.length - 1;
    metrics.gmm_loglik = loaded.loglik.at(-1);
  } else {
    mixtureNote = `"${options.mixture}" variant (${mixture.k} components), fitted here by EM in ${metrics.gmm_iterations} iterations`;
  }
  const lastIteration = history.historyLength - 1;
  const loglikTrace = loaded ? loaded.loglik : Array.from({ length: history.historyLength }, (_, i) => history.snapshot(i).loglik);
  t = lap('evaluation', t);

  // Reconstructions of every test image (from the mean code) for MSE and SSIM; of the validation
  // images for the figure.
  const originals = new Float32Array(split.test.n * PIXELS), reconstructions = new Float32Array(split.test.n * PIXELS);
  forEachChunk(split.test, 256, (images, start) => {
    originals.set(images, start * PIXELS);
    reconstructions.set(model.reconstruct(images), start * PIXELS);
  });
  const scores = reconstructionScores(originals, reconstructions, split.test.n);
  const valRecon = toBytes(model.reconstruct(toFloats(split.val.images)));
  // The manifold: the authors' grid, scipy's norm.ppf(linspace(0.05, 0.95, 20)) on both axes.
  const quantiles = manifoldQuantiles(MANIFOLD);
  const z = gridPoints(quantiles, quantiles);
  const manifold = toBytes(model.decode(z));
  t = lap('reconstructions', t);

  // The figures.
  const testClasses = classIndices(split.test.labels, split.classes);
  const view = viewAround(codes.test);
  const digits = split.classes;
  // The classes by name (Fashion-MNIST's "Ankle boot"; MNIST's digits by their digit), as the page names them.
  const names = digits.map((d) => className(options.dataset, d)), shortNames = digits.map((d) => shortClassName(options.dataset, d));
  const noun = DATASETS[options.dataset].noun;
  const scatter = (mix, classes = testClasses) => ({ points: codes.test, classes, digits, names, view, mixture: mix ?? undefined });
  const finalMixture = componentsOf(mixture, mixture.historyLength - 1);
  const lossSeries = (losses) => ['total', 'reconstruction (BCE)', 'KL'].map((name, i) => ({
    name, color: ['#1f2933', '#4e79a7', '#f28e2b'][i],
    points: (losses?.batches ?? []).map((p) => [p[0], p[i + 1]]).filter(([, y]) => Number.isFinite(y)),
    dots: (losses?.epochs ?? []).map((p) => [p[0], p[i + 1]]),
  }));
  const lossNote = !losses ? 'No loss history in this model (its metadata has neither loss_history nor loss_curve).'
    : !losses.batches ? 'Per-epoch values only: the model keeps no per-batch curve.'
      : !losses.epochs ? 'Per-batch values only: the model keeps no per-epoch loss_history.' : '';
  const llPoints = loglikTrace.map((y, i) => [i, y]).filter(([i, y]) => i > 0 && Number.isFinite(y));
  const snapshotNotes = {};
  const em = `${split.test.n} test codes; accuracy ${fmt(metrics.test_accuracy, 3)}, macro F1 ${fmt(metrics.test_macro_f1, 3)}`;
  const specs = {
    'latent-scatter.png': { kind: 'scatter', title: 'Latent space', width: 600, height: 560,
      subtitle: `test codes (encoder means) of ${split.test.n} images, coloured by ${noun}`, data: scatter(null) },
    'manifold.png': { kind: 'manifold', title: 'Manifold', width: 640, height: 625,
      subtitle: 'decoded at norm.ppf(0.05 ... 0.95) on each axis, 20 x 20', data: { images: manifold, size: MANIFOLD, xs: quantiles, ys: quantiles } },
    'loss.png': { kind: 'line', title: 'Loss during training', width: 640, height: 340,
      subtitle: losses ? `per image: ${[losses.batches && 'lines per batch (smoothed)', losses.epochs && 'dots per epoch'].filter(Boolean).join(', ')}`
        : 'no loss history in this model',
      data: { logY: true, xMin: 0, xLabel: 'epoch', yLabel: 'nats per image (log scale)', empty: 'no loss history in this model',
        series: lossSeries(losses) } },
    'reconstructions.png': (() => {
      const groups = [], per = options.valPerClass;
      const order = [];
      digits.forEach((d) => { for (let i = 0; i < split.val.n; i++) if (split.val.labels[i] === d) order.push(i); });
      digits.forEach((d, g) => groups.push({ digit: d, name: `${noun} ${names[g]}`, count: per, start: g * per }));
      const pick = (bytes) => { const o = new Uint8Array(order.length * PIXELS); order.forEach((i, j) => o.set(bytes.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS)); return o; };
      const width = 96 + digits.length * (per * 56 + (per - 1) * 2) + (digits.length - 1) * 14 + 12;
      return { kind: 'reconstructions', title: 'Reconstructions of validation images', width, height: 22 + 56 + 8 + 56 + 10,
        subtitle: `the ${per} labelled validation images per ${noun} (above) and their reconstructions from the mean code (below)`,
        data: { originals: pick(split.val.images), reconstructions: pick(valRecon), groups } };
    })(),
    'em-results.png': { kind: 'scatter', title: 'Results of EM on the test set', width: 600, height: 560,
      subtitle: `coloured by the mixture's predicted ${noun}; ${em}`, data: scatter(null, predicted) },
    'confusion.png': { kind: 'confusion', title: 'Confusion matrix', width: 340, height: 320,
      subtitle: `the mixture on ${split.test.n} test images`, data: { matrix: metrics.confusion, digits, names, shortNames } },
    'mixture-ellipses.png': { kind: 'scatter', title: 'The mixture', width: 600, height: 560,
      subtitle: `${mixture.k} components: means (crosses), 1-sigma (solid) and 2-sigma (dashed) ellipses`, data: scatter(finalMixture) },
    'em-loglik.png': { kind: 'line', title: 'EM: log-likelihood per iteration', width: 640, height: 320,
      subtitle: `mean log-likelihood per training code; ${llPoints.length} iterations`,
      data: { xMin: 0, xLabel: 'EM iteration', yLabel: 'mean log-likelihood',
        series: [{ name: 'log-likelihood per point', color: '#3b5bdb', points: llPoints, dots: llPoints.length <= 60 ? llPoints : [] }] } },
  };
  // The strip between the two points, under the mixture's final parameters.
  const strip = interpolation && interpolationFigure({ model, snapshot: mixture.snapshot(mixture.historyLength - 1),
    componentClass: mixture.componentClasses, digits, names, shortNames, noun }, interpolation);
  if (strip) specs[INTERPOLATION_FILE] = strip.spec;
  const files = [...FIGURES.map(([file]) => file), ...(strip ? [INTERPOLATION_FILE] : [])];
  for (const it of SNAPSHOT_ITERATIONS) {
    const at = Math.min(it, lastIteration);
    const file = `em-iteration-${String(it).padStart(2, '0')}.png`;
    const stopped = at < it ? `EM stopped at iteration ${lastIteration}: its final state` : '';
    snapshotNotes[file] = [stopped && `${stopped}.`, historyNote].filter(Boolean).join(' ');
    specs[file] = { kind: 'scatter', title: `EM iteration ${it}`, width: 480, height: 450,
      subtitle: stopped || `the mixture after ${it} iteration${it > 1 ? 's' : ''} of EM on the training codes`,
      data: scatter(componentsOf(history, at)) };
  }
  await mkdir(out, { recursive: true });
  const renderer = await openRenderer();
  try {
    for (const file of files) await writeFile(path.join(out, file), await renderer.render({ scale, ...specs[file] }));
  } finally {
    await renderer.close();
  }
  t = lap('drawing', t);

  if (trained) {
    // The model drawn here, with its loss history, so the figures can be made again with --load: the
    // metadata make train --save writes for the same flags.
    const mixtureJSON = mixtureToJSON(mixture, { classLabels: digits });
    await writeFile(path.join(out, 'model.safetensors'), saveSafetensors(model, {
      metadata: trained.metadata({ metrics, mixture: mixtureJSON, extra: { workers: 1, build: lab.kind } }) }));
    await writeFile(path.join(out, 'model.mixture.json'), JSON.stringify(mixtureJSON) + '\n');
  }
  timings.total = (performance.now() - t0) / 1000;
  const summary = { model: modelFile ? path.resolve(modelFile) : path.join(out, 'model.safetensors'), trained_here: !!trained,
    digits, seed: options.seed, epochs: metadataNumber(metadata, 'epochs') ?? null, mixture: mixtureFile ? path.resolve(mixtureFile) : loaded ? 'model metadata' : options.mixture,
    mixture_components: mixture.k, train_images: split.train.n, test_images: split.test.n, eval_limit: evalLimit,
    ...metrics, recon_mse: scores.mse, recon_ssim: scores.ssim, recon_score: scores.score,
    loss_history: !!losses, figures: files, ...(strip && { interpolation: strip.summary }), seconds: timings };
  await writeFile(path.join(out, 'metrics.json'), JSON.stringify(summary, null, 1) + '\n');
  await writeFile(path.join(out, 'report.md'), reportMarkdown({ full, source, options, metadata, metrics: { ...metrics,
    test_images: split.test.n, train_images: split.train.n }, scores, mixtureNote, lossNote, snapshotNotes, classes: digits, names, timings, strip }));
  if (history !== mixture) history.free();
  mixture.free();
  if (trained) trained.free();
  else model.free();
  log(flags, `wrote ${files.length} figures, report.md and metrics.json to ${path.relative(process.cwd(), out) || '.'} ` +
    `in ${timings.total.toFixed(1)} s: accuracy ${fmt(metrics.test_accuracy, 3)}, MSE ${fmt(scores.mse, 4)}, ` +
    `SSIM ${fmt(scores.ssim, 3)}, score ${fmt(scores.score, 3)}\n`);
  process.stdout.write(JSON.stringify(summary) + '\n');
}

// Run as a program (not when a test imports FIGURES or lossCurves).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    // A mistake in the flags is one line (nothing was written) and exit code 2, as a usage error.
    if (error instanceof UsageError) {
      process.stderr.write(`figures: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`\nfigures: ${error.message}\n`);
    process.exit(1);
  });
}
