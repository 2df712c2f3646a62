// One training run, shared by the page's worker and the Node tools: options and their checks,
// the epoch/batch loop (driven one batch at a time, so a worker can pause between batches), and
// the evaluation the report makes: test loss, the mixture fitted by EM, and kNN separability.
import { LabError, LATENT, PIXELS } from './latent-lab.js';
import { makeRng, permutation } from './rng.js';
import { parseDigits, splitDataset } from './mnist.js';

// The report's authors' recipe. kl: 'authors' weighs beta * sum(mu^2 + e^lv - 1 - lv), twice the
// usual KL; 'usual' weighs beta * KL. warmup: epochs over which beta ramps up from 0. lrWarmup: epochs
// over which the learning rate ramps up from 0 (Adam's first steps move every weight by about lr
// whatever its gradient; at full size they switch off most of the towers' ReLUs). deskew: every
// image (training, labelled, test, drawn) is deskewed by its moments first (deskew.js); 'auto': MNIST's
// digits are, a user's data is not (its classes may differ by position or slant, which deskewing removes).
export const AUTHORS = Object.freeze({
  digits: [1, 4, 8], epochs: 8, batch: 32, lr: 3e-4, beta: 0.55, kl: 'authors', warmup: 0, lrWarmup: 0, deskew: false, seed: 42,
  valPerClass: 5, mixture: 'authors', gmmMaxIter: 50, gmmTol: 1e-3, limit: 0,
});

// Named starting points for the options; explicit options override them. 'default' is what
// `make train` and the page use when no preset is named.
const USUAL_KL = Object.freeze({ ...AUTHORS, kl: 'usual', mixture: 'kmeans-10' });
export const PRESETS = Object.freeze({
  authors: AUTHORS,
  'usual-kl': USUAL_KL,
  'usual-kl-warmup': Object.freeze({ ...USUAL_KL, warmup: 2 }),
  'usual-kl-deskew': Object.freeze({ ...USUAL_KL, deskew: 'auto' }),
  // The lab's default, chosen by `make quality` (the README's table): the report's formula with the
  // usual KL, deskewed images, a 2-epoch learning-rate warm-up, and a 10-component mixture whose
  // components are named by groups through the labelled codes.
  default: Object.freeze({ ...USUAL_KL, deskew: 'auto', lrWarmup: 2, mixture: 'kmeans-10-groups' }),
});

// Ways to build the mixture on the latent codes, all using only the few labelled validation images.
// perClass: components per class, started from that class's labelled codes (init 'labelled');
// components + init 'kmeans++': an unlabelled start (best likelihood of `starts` seeds);
// semi: the labelled codes keep their responsibilities fixed to their class during EM;
// naming 'init': a component predicts the class it was started from; 'labelled': see nameByLabelled;
// 'groups': see nameByGroups.
export const MIXTURES = Object.freeze({
  authors: { perClass: 1, init: 'labelled', semi: false, naming: 'init', starts: 1 },
  semi: { perClass: 1, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'per-class-2': { perClass: 2, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'per-class-3': { perClass: 3, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'kmeans-6': { components: 6, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-10': { components: 10, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-16': { components: 16, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-6-groups': { components: 6, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
  'kmeans-10-groups': { components: 10, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
  'kmeans-16-groups': { components: 16, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
});

function checkNumber(name, value, { min, max, integer = false, minExclusive = false }) {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new LabError(`${name} must be a finite number, got ${value}`);
  if (integer && !Number.isInteger(value)) throw new LabError(`${name} must be an integer, got ${value}`);
  if (minExclusive ? value <= min : value < min) throw new LabError(`${name} must be ${minExclusive ? '>' : '>='} ${min}, got ${value}`);
  if (value > max) throw new LabError(`${name} must be <= ${max}, got ${value}`);
}

// Fills defaults and checks every option; throws a LabError naming the first bad one.
export function resolveOptions(options = {}) {
  const preset = options.preset ?? 'default';
  if (!Object.hasOwn(PRESETS, preset)) throw new LabError(`unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const o = { ...PRESETS[preset], ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)), preset };
  o.digits = parseDigits(o.digits);
  checkNumber('epochs', o.epochs, { min: 1, max: 1000, integer: true });
  checkNumber('batch size', o.batch, { min: 1, max: 4096, integer: true });
  checkNumber('learning rate', o.lr, { min: 0, max: 1, minExclusive: true });
  checkNumber('beta', o.beta, { min: 0, max: 1000 });
  checkNumber('seed', o.seed, { min: 0, max: 2 ** 53 - 1, integer: true });
  checkNumber('validation images per digit', o.valPerClass, { min: 1, max: 1000, integer: true });
  checkNumber('EM iterations', o.gmmMaxIter, { min: 1, max: 10000, integer: true });
  checkNumber('EM tolerance', o.gmmTol, { min: 0, max: 1e6 });
  checkNumber('limit', o.limit, { min: 0, max: 1e9, integer: true });
  checkNumber('warm-up epochs', o.warmup, { min: 0, max: 1000 });
  checkNumber('learning-rate warm-up epochs', o.lrWarmup, { min: 0, max: 1000 });
  // workers: data-parallel training workers (the page's and `make train --workers`); optional.
  if (o.workers !== undefined) checkNumber('workers', o.workers, { min: 1, max: 64, integer: true });
  if (typeof o.deskew !== 'boolean' && o.deskew !== 'auto') throw new LabError(`deskew must be true, false or "auto", got ${o.deskew}`);
  if (o.kl !== 'authors' && o.kl !== 'usual') throw new LabError(`kl must be "authors" or "usual", got "${o.kl}"`);
  if (!Object.hasOwn(MIXTURES, o.mixture)) {
    throw new LabError(`unknown mixture "${o.mixture}" (known: ${Object.keys(MIXTURES).join(', ')})`);
  }
  return o;
}

// Whether a run's images are deskewed: userData says whether they are a user's files or MNIST's digits.
export function effectiveDeskew(options, userData) {
  return options.deskew === 'auto' ? !userData : options.deskew;
}

// The weight the C side puts on sum(mu^2 + e^lv - 1 - lv): beta, or beta / 2 for the usual KL.
export function klWeight(options) {
  return options.kl === 'usual' ? options.beta / 2 : options.beta;
}

// A user's dataset as a run's split, for `make train --data` and the page's "Load data": the few-shot
// split of splitDataset (without a test set, a seeded HOLD_OUT share of the training images). Unlabelled
// data has no labelled images to start a labelled mixture from: unless the caller chose a k-means++
// variant, its mixture is kmeans-10. -> { split, mixture, deskew }
export const HOLD_OUT = 0.1;

export function splitUserData({ train, test = null, classes = null, options, mixtureChosen = false }) {
  const deskew = effectiveDeskew(options, true);
  const split = splitDataset({ train, test, classes, valPerClass: options.valPerClass, seed: options.seed, holdOut: HOLD_OUT, deskew });
  const keep = split.labelled || mixtureChosen || MIXTURES[options.mixture].init === 'kmeans++';
  return { split, mixture: keep ? options.mixture : 'kmeans-10', deskew };
}

const MAX_FAILURES = 5;         // refused steps in a row, or rollbacks to one snapshot, before training stops
const SNAPSHOT_EVERY = 50;      // good batches between two snapshots of the training state

// then(value, fn): fn(value) now, or once value settles if it is a promise (a ParallelModel's answers).
const then = (value, fn) => (typeof value?.then === 'function' ? value.then(fn) : fn(value));

// The training images a run uses, as indices into its training set: all of them, or with a limit a
// seeded subset (so a short run still sees every digit). A saved model's seed and limit give them back.
export function trainingIndices(n, seed, limit = 0) {
  if (!(limit > 0 && limit < n)) return Int32Array.from({ length: n }, (_, i) => i);
  return permutation(n, makeRng(seed, 2)).subarray(0, limit);
}

// Trains a model over a training set, one batch per next() call. Every epoch visits the images in
// a fresh order drawn from the seed; a last short batch is kept, as PyTorch's DataLoader does.
// It keeps a snapshot of the training state (parameters, Adam's moments and step count: the model's
// getState) from before the first batch and then every `snapshotEvery` good batches (default 50, and
// at least once an epoch). A step the C side refuses as non-finite leaves the model unchanged; the
// Trainer then rolls it back to the snapshot too (a run that drifted into a region where steps blow up
// returns to its last good weights) and reports { skipped, rolledBack }. After MAX_FAILURES refused
// steps in a row, or MAX_FAILURES rollbacks to the same snapshot, it stops (throws) with the model at
// the snapshot. A model without getState (none here) only skips.
export class Trainer {
  constructor(model, trainSet, options) {
    const { epochs, batch, seed, limit = 0, warmup = 0, lrWarmup = 0 } = options;
    this.model = model;
    this.klWeight = klWeight(options);
    this.warmup = warmup;
    this.lr = options.lr;
    this.lrWarmup = lrWarmup;
    this.lrWarming = lrWarmup > 0;
    model.setHyper({ lr: options.lr, beta: this.warmup > 0 ? 0 : this.klWeight });
    this.set = trainSet;
    this.epochs = epochs;
    this.batch = batch;
    this.seed = seed;
    this.indices = trainingIndices(trainSet.n, seed, limit);
    this.n = this.indices.length;
    this.batchesPerEpoch = Math.ceil(this.n / batch);
    this.epoch = 0;
    this.batchInEpoch = 0;
    this.imagesSeen = 0;
    this.buffer = new Float32Array(batch * PIXELS);
    this.failures = 0;
    this.snapshotEvery = Math.max(1, Math.min(options.snapshotEvery ?? SNAPSHOT_EVERY, this.batchesPerEpoch));
    this.snapshot = null;        // { state, imagesSeen, rollbacks }
    this.sinceSnapshot = 0;
    this.rollbacks = 0;          // every rollback of this run
    this.#shuffle();
  }

  #shuffle() {
    const order = permutation(this.n, makeRng(this.seed, 1000 + this.epoch));
    this.order = Int32Array.from(order, (k) => this.indices[k]);
  }

  get totalImages() {
    return this.n * this.epochs;
  }

  get done() {
    return this.epoch >= this.epochs;
  }

  // Trains one batch; returns what a progress display needs (a promise of it for a ParallelModel).
  next() {
    if (this.done) throw new LabError('training is finished');
    const canSnapshot = typeof this.model.getState === 'function';
    if (canSnapshot && (!this.snapshot || this.sinceSnapshot >= this.snapshotEvery)) {
      return then(this.model.getState(), (state) => {
        this.snapshot = { state, imagesSeen: this.imagesSeen, rollbacks: 0 };
        this.sinceSnapshot = 0;
        return this.#step();
      });
    }
    return this.#step();
  }

  #step() {
    const start = this.batchInEpoch * this.batch;
    const count = Math.min(this.batch, this.n - start);
    const images = count === this.batch ? this.buffer : this.buffer.subarray(0, count * PIXELS);
    const src = this.set.images;
    for (let i = 0; i < count; i++) {
      const from = this.order[start + i] * PIXELS;
      for (let p = 0; p < PIXELS; p++) images[i * PIXELS + p] = src[from + p] / 255;
    }
    // A ParallelModel's setHyper answers with a promise; a refusal shows in the trainBatch after it, so
    // the promise itself is not left to reject unhandled.
    const setHyper = (changes) => this.model.setHyper(changes)?.catch?.(() => {});
    const epochsDone = this.epoch + this.batchInEpoch / this.batchesPerEpoch;
    if (this.warmup > 0) setHyper({ beta: this.klWeight * Math.min(1, epochsDone / this.warmup) });
    // The learning rate of this step: (k + 1) / K of lr for the K steps of the warm-up, then lr (set once).
    if (this.lrWarming) {
      const step = this.epoch * this.batchesPerEpoch + this.batchInEpoch + 1, steps = this.lrWarmup * this.batchesPerEpoch;
      const done = step >= steps - 1e-9;   // K = lrWarmup * batchesPerEpoch need not be a whole number
      setHyper({ lr: done ? this.lr : this.lr * (step / steps) });
      if (done) this.lrWarming = false;
    }
    // A model in this thread answers at once; a ParallelModel answers with a promise (await next()).
    // A step whose loss or gradient is not finite is refused by the C side with the model unchanged;
    // here the model goes back to the snapshot, and after MAX_FAILURES training stops.
    const refused = (error) => {
      if (!(error instanceof LabError) || !/not finite/.test(error.message)) throw error;
      this.failures++;
      const snap = this.snapshot;
      if (!snap) return this.#advance({ loss: NaN, bce: NaN, kl: NaN, skipped: error.message }, count);
      snap.rollbacks++;
      this.rollbacks++;
      return then(this.model.setState(snap.state), () => {
        this.sinceSnapshot = 0;
        if (this.failures >= MAX_FAILURES || snap.rollbacks >= MAX_FAILURES) {
          throw new LabError(`training stopped: ${this.failures >= MAX_FAILURES ? `${MAX_FAILURES} steps in a row` : `${MAX_FAILURES} steps since the last snapshot`} ` +
            `had a non-finite loss or gradient; the model is back at its last good weights (after ${snap.imagesSeen} images); ` +
            'lower the learning rate');
        }
        return this.#advance({ loss: NaN, bce: NaN, kl: NaN, skipped: error.message, rolledBack: { imagesSeen: snap.imagesSeen } }, count);
      });
    };
    let losses;
    try {
      losses = this.model.trainBatch(images);
    } catch (error) {
      return refused(error);
    }
    if (typeof losses?.then === 'function') return losses.then((l) => this.#advance(l, count), refused);
    return this.#advance(losses, count);
  }

  #advance(losses, count) {
    if (!losses.skipped) {
      this.failures = 0;
      this.sinceSnapshot++;
    }
    const report = { epoch: this.epoch, batchInEpoch: this.batchInEpoch, batchesPerEpoch: this.batchesPerEpoch,
      count, ...losses, epochDone: false };
    this.imagesSeen += count;
    report.imagesSeen = this.imagesSeen;
    if (++this.batchInEpoch === this.batchesPerEpoch) {
      report.epochDone = true;
      this.batchInEpoch = 0;
      this.epoch++;
      if (!this.done) this.#shuffle();
    }
    return report;
  }
}

// The loss as training goes, from the Trainer's batch reports: per epoch (the mean over its images)
// and per batch smoothed by an exponential moving average, bias-corrected so the first batches are
// not pulled toward zero. The page draws it live; a saved model carries it (metadata loss_history
// and loss_curve), so a loaded model shows its curve and a figure can be drawn from the file.
// A refused step (loss not finite) is left out of both.
export class LossHistory {
  constructor({ smooth = 0.9 } = {}) {
    this.smooth = smooth;
    this.batches = [];   // [{ x: epochs done (fractional), loss, bce, kl }], smoothed, one per batch
    this.epochs = [];    // [{ epoch: 1, 2, ..., loss, bce, kl }], means over each epoch's images
    this.ema = [0, 0, 0];
    this.steps = 0;
    this.sums = [0, 0, 0, 0];   // loss, bce, kl (image-weighted), images: of the epoch so far
  }

  // A saved history (parseModelMetadata's lossHistory and lossCurve) to draw.
  static from({ epochs = [], curve = [] } = {}) {
    const h = new LossHistory();
    h.epochs = epochs.map((e) => ({ ...e }));
    h.batches = curve.map((c) => ({ ...c }));
    return h;
  }

  // r: one report of Trainer.next().
  add(r) {
    const values = [r.loss, r.bce, r.kl];
    if (values.every(Number.isFinite)) {
      this.steps++;
      this.ema = this.ema.map((v, i) => this.smooth * v + (1 - this.smooth) * values[i]);
      const correction = 1 - this.smooth ** this.steps;
      const [loss, bce, kl] = this.ema.map((v) => v / correction);
      this.batches.push({ x: r.epoch + (r.batchInEpoch + 1) / r.batchesPerEpoch, loss, bce, kl });
      values.forEach((v, i) => { this.sums[i] += v * r.count; });
      this.sums[3] += r.count;
    }
    if (r.epochDone) {
      const [loss, bce, kl, n] = this.sums;
      if (n > 0) this.epochs.push({ epoch: r.epoch + 1, loss: loss / n, bce: bce / n, kl: kl / n });
      this.sums = [0, 0, 0, 0];
    }
  }

  // At most n points of the smoothed curve, evenly spaced, the last one always kept; values rounded
  // to 4 decimals (the curve is for drawing, and a 10 MB model should not carry a 1 MB header).
  curve(n = 400) {
    const stride = Math.max(1, Math.ceil(this.batches.length / n));
    const round = (v) => Math.round(v * 1e4) / 1e4;
    return this.batches.filter((_, i) => (this.batches.length - 1 - i) % stride === 0)
      .map(({ x, loss, bce, kl }) => ({ x: round(x), loss: round(loss), bce: round(bce), kl: round(kl) }));
  }
}

// Runs fn over the set in chunks of floats in [0, 1]; fn(images, offset, count).
export function forEachChunk(set, chunk, fn) {
  const buffer = new Float32Array(chunk * PIXELS);
  for (let start = 0; start < set.n; start += chunk) {
    const count = Math.min(chunk, set.n - start);
    const images = buffer.subarray(0, count * PIXELS);
    const src = set.images.subarray(start * PIXELS, (start + count) * PIXELS);
    for (let i = 0; i < src.length; i++) images[i] = src[i] / 255;
    fn(images, start, count);
  }
}

// Encoder means and log-variances of a whole set: { mu, logvar }, Float32Array(n * 2) each.
export function encodeSet(model, set, chunk = 512) {
  const mu = new Float32Array(set.n * LATENT), logvar = new Float32Array(set.n * LATENT);
  forEachChunk(set, chunk, (images, start) => {
    const out = model.encode(images);
    mu.set(out.mu, start * LATENT);
    logvar.set(out.logvar, start * LATENT);
  });
  return { mu, logvar };
}

// Per-image means { loss, bce, kl } over the set, one sampled code per image as in training.
export function evaluateLoss(model, set, chunk = 512) {
  let loss = 0, bce = 0, kl = 0;
  forEachChunk(set, chunk, (images, start, count) => {
    const r = model.evaluate(images, start);
    loss += r.loss * count; bce += r.bce * count; kl += r.kl * count;
  });
  return { loss: loss / set.n, bce: bce / set.n, kl: kl / set.n };
}

export function classIndices(labels, classes) {
  const index = new Map(classes.map((d, i) => [d, i]));
  return Int32Array.from(labels, (label) => {
    if (!index.has(label)) throw new LabError(`label ${label} is not one of the classes ${classes.join(',')}`);
    return index.get(label);
  });
}

// Names each component by the labelled codes. A component most responsible for some labelled codes
// takes their class. Every other component takes the class it is most strongly connected to: the
// strength of a link between two components is how much they share the training codes
// (sum of r_a * r_b, normalised), and of a path its weakest link, so a chain of overlapping
// components along one digit's cluster carries that digit's name across it, while a low-density
// gap between clusters stops it.
function nameByLabelled(mixture, trainCodes, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const seedScore = labelledMass(mixture, valCodes, valClasses, nClasses);
  const link = componentLinks(mixture, trainCodes);
  // Widest-path strength from each class's seed components to every component.
  const strength = Array.from({ length: nClasses }, (_, c) => {
    const width = new Float64Array(k).fill(-1);
    for (let j = 0; j < k; j++) {
      const best = seedScore[j].indexOf(Math.max(...seedScore[j]));
      if (seedScore[j][best] >= 0.5 && best === c) width[j] = Infinity;
    }
    const done = new Uint8Array(k);
    for (;;) {
      let j = -1;
      for (let a = 0; a < k; a++) if (!done[a] && width[a] >= 0 && (j < 0 || width[a] > width[j])) j = a;
      if (j < 0) break;
      done[j] = 1;
      for (let b = 0; b < k; b++) if (!done[b]) width[b] = Math.max(width[b], Math.min(width[j], link[j][b]));
    }
    return width;
  });
  return Array.from({ length: k }, (_, j) => {
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (strength[c][j] > strength[best][j]) best = c;
    // No class reaches it at all: the nearest labelled code decides.
    if (strength[best][j] < 0) best = nearestLabelled(mixture, j, valCodes, valClasses);
    return best;
  });
}

// The class of the labelled code nearest to component j's mean.
function nearestLabelled(mixture, j, valCodes, valClasses) {
  const { means } = mixture.snapshot(mixture.historyLength - 1);
  let nearest = Infinity, best = 0;
  for (let i = 0; i < valClasses.length; i++) {
    const d = Math.hypot(valCodes[2 * i] - means[2 * j], valCodes[2 * i + 1] - means[2 * j + 1]);
    if (d < nearest) { nearest = d; best = valClasses[i]; }
  }
  return best;
}

// mass[j][c]: how much of the labelled codes of class c component j is responsible for.
function labelledMass(mixture, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const mass = Array.from({ length: k }, () => new Array(nClasses).fill(0));
  const valResp = mixture.predict(valCodes).resp;
  for (let i = 0; i < valClasses.length; i++) for (let j = 0; j < k; j++) mass[j][valClasses[i]] += valResp[i * k + j];
  return mass;
}

// Names components by groups: components are merged strongest allowed link first (componentLinks)
// until nothing may merge, and each component takes its group's class (the one with the
// most labelled mass in it). A class holds a group that carries at least half of its labelled codes,
// more of them than of any other. Two groups whose labelled codes say different classes merge only
// when the weaker one's class is held elsewhere: then its few labelled codes are odd ones (a 5 that
// looks like a 3, inside the 3s' cluster) and its group's majority outvotes them; where the
// component-by-component naming would give their whole component their class. Two held groups of
// different classes never merge.
const MIN_LABELLED_MASS = 0.1;

function nameByGroups(mixture, trainCodes, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const perClass = new Array(nClasses).fill(0);
  for (const c of valClasses) perClass[c]++;
  const link = componentLinks(mixture, trainCodes);
  const parent = Int32Array.from({ length: k }, (_, j) => j);
  const find = (j) => (parent[j] === j ? j : (parent[j] = find(parent[j])));
  const mass = labelledMass(mixture, valCodes, valClasses, nClasses);   // by group root
  // Responsibilities are soft: every component has some 1e-20 of every labelled code. Under a tenth of
  // one code is no labelled evidence at all.
  const top = (g) => { const m = mass[g], c = m.indexOf(Math.max(...m)); return m[c] >= MIN_LABELLED_MASS ? c : -1; };
  const holds = (g) => { const c = top(g); return c >= 0 && mass[g][c] >= 0.5 * perClass[c] ? c : -1; };
  const heldElsewhere = (c, ...not) => {
    for (let g = 0; g < k; g++) if (find(g) === g && !not.includes(g) && holds(g) === c) return true;
    return false;
  };
  const mayMerge = (ga, gb) => {
    const ta = top(ga), tb = top(gb);
    if (ta < 0 || tb < 0 || ta === tb) return true;
    const ha = holds(ga), hb = holds(gb);
    if (ha >= 0 && hb >= 0) return false;
    // The side not held (both, if neither is) must be a class held by another group.
    return (ha >= 0 || heldElsewhere(ta, ga, gb)) && (hb >= 0 || heldElsewhere(tb, ga, gb));
  };
  const pairs = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) if (link[a][b] > 0) pairs.push([link[a][b], a, b]);
  pairs.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  // Each merge can allow others (a class comes to hold a group): always take the strongest link allowed now.
  for (;;) {
    const next = pairs.find(([, a, b]) => find(a) !== find(b) && mayMerge(find(a), find(b)));
    if (!next) break;
    const ga = find(next[1]), gb = find(next[2]);
    parent[gb] = ga;
    for (let c = 0; c < nClasses; c++) mass[ga][c] += mass[gb][c];
  }
  return Array.from({ length: k }, (_, j) => {
    const c = top(find(j));
    return c >= 0 ? c : nearestLabelled(mixture, j, valCodes, valClasses);
  });
}

// link[a][b]: how much components a and b share the training codes (sum of r_a * r_b over the codes,
// normalised by sqrt(mass_a * mass_b)).
function componentLinks(mixture, trainCodes) {
  const k = mixture.k;
  const link = Array.from({ length: k }, () => new Float64Array(k));
  const mass = new Float64Array(k);
  const resp = mixture.predict(trainCodes).resp;
  for (let i = 0; i < resp.length / k; i++) {
    const r = resp.subarray(i * k, (i + 1) * k);
    for (let a = 0; a < k; a++) {
      if (r[a] < 1e-4) continue;
      mass[a] += r[a];
      for (let b = a + 1; b < k; b++) link[a][b] += r[a] * r[b];
    }
  }
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) link[b][a] = link[a][b] = link[a][b] / Math.sqrt(Math.max(mass[a] * mass[b], 1e-12));
  }
  return link;
}

// Fits one mixture variant (see MIXTURES) on the training codes. The caller frees result.mixture.
// Without labels (valCodes and valClasses null) only the k-means++ variants apply.
export function fitMixture(lab, { trainCodes, valCodes, valClasses, nClasses, maxIter, tol, variant = 'authors', seed = 0 }) {
  const v = typeof variant === 'string' ? MIXTURES[variant] : variant;
  if (!valClasses && (v.init === 'labelled' || v.semi)) {
    const unlabelled = Object.keys(MIXTURES).filter((name) => MIXTURES[name].init === 'kmeans++');
    throw new LabError(`mixture "${typeof variant === 'string' ? variant : 'custom'}" starts from labelled images; ` +
      `for unlabelled data choose ${unlabelled.join(', ')}`);
  }
  const k = v.components ?? v.perClass * nClasses;
  let best = null;
  for (let start = 0; start < (v.starts ?? 1); start++) {
    const mixture = lab.createMixture({ k, d: LATENT, maxIter });
    try {
      if (v.init === 'labelled') mixture.initLabelled(valCodes, valClasses, nClasses);
      else mixture.initKmeansPlusPlus(trainCodes, seed * 1000 + start);
      if (v.semi) mixture.setLabelled(valCodes, valClasses, nClasses);
      const iterations = mixture.fit(trainCodes, { maxIter, tol });
      const { loglik } = mixture.snapshot(mixture.historyLength - 1);
      if (!best || loglik > best.loglik) {
        best?.mixture.free();
        best = { mixture, iterations, loglik };
      } else {
        mixture.free();
      }
    } catch (error) {
      mixture.free();
      best?.mixture.free();
      throw error;
    }
  }
  // Unlabelled data (no valClasses): the components stay unnamed, component j predicting j.
  const naming = { labelled: nameByLabelled, groups: nameByGroups }[v.naming];
  if (naming && valClasses) best.mixture.componentClasses = naming(best.mixture, trainCodes, valCodes, valClasses, nClasses);
  return { mixture: best.mixture, iterations: best.iterations };
}

// Everything the report measures, on a trained model and a split. The caller frees result.mixture.
// given: pieces already at hand, so a caller can compute the slow ones in slices of its own (the
// page's worker does for a loaded model): test (evaluateLoss of split.test), codes ({ train, val,
// test } encoder means), and mixture (a mixture to measure instead of fitting one; it is returned
// as result.mixture, still the caller's).
// An unlabelled split (split.labelled false, from splitDataset) gets the losses and a k-means++
// mixture whose components are the clusters: no accuracy, no kNN, the test images per cluster instead.
export function evaluateRun(lab, model, split, options, given = {}) {
  const o = resolveOptions(options);
  if (split.labelled === false) return evaluateUnlabelled(lab, model, split, o);
  const nClasses = split.classes.length;
  const test = given.test ?? evaluateLoss(model, split.test);
  const trainCodes = given.codes?.train ?? encodeSet(model, split.train).mu;
  const valCodes = given.codes?.val ?? encodeSet(model, split.val).mu;
  const testCodes = given.codes?.test ?? encodeSet(model, split.test).mu;
  const trainClasses = classIndices(split.train.labels, split.classes);
  const testClasses = classIndices(split.test.labels, split.classes);
  const { mixture, iterations } = given.mixture ? { mixture: given.mixture, iterations: given.mixture.historyLength - 1 }
    : fitMixture(lab, { trainCodes, valCodes, valClasses: classIndices(split.val.labels, split.classes), nClasses,
      maxIter: o.gmmMaxIter, tol: o.gmmTol, variant: o.mixture, seed: o.seed });
  const predicted = mixture.predict(testCodes).classIndex;
  const report = lab.classificationReport(testClasses, predicted, nClasses);
  const knn = lab.knnClassify(trainCodes, trainClasses, testCodes, { k: 15, nClasses });
  const knnReport = lab.classificationReport(testClasses, knn, nClasses);
  const last = mixture.snapshot(mixture.historyLength - 1);
  return {
    metrics: {
      test_bce: test.bce, test_kl: test.kl, test_loss: test.loss, test_elbo: -(test.bce + test.kl),
      gmm_iterations: iterations, gmm_loglik: last.loglik,
      test_accuracy: report.accuracy, test_macro_precision: report.precision, test_macro_recall: report.recall,
      test_macro_f1: report.f1, knn_accuracy: knnReport.accuracy, confusion: report.confusion,
    },
    mixture, codes: { train: trainCodes, val: valCodes, test: testCodes }, predicted,
  };
}

function evaluateUnlabelled(lab, model, split, o) {
  const test = evaluateLoss(model, split.test);
  const trainCodes = encodeSet(model, split.train).mu;
  const testCodes = encodeSet(model, split.test).mu;
  const { mixture, iterations } = fitMixture(lab, { trainCodes, valCodes: null, valClasses: null, nClasses: 0,
    maxIter: o.gmmMaxIter, tol: o.gmmTol, variant: o.mixture, seed: o.seed });
  const predicted = mixture.predict(testCodes).component;
  const sizes = new Array(mixture.k).fill(0);
  for (const j of predicted) sizes[j]++;
  const last = mixture.snapshot(mixture.historyLength - 1);
  return {
    metrics: {
      test_bce: test.bce, test_kl: test.kl, test_loss: test.loss, test_elbo: -(test.bce + test.kl),
      gmm_iterations: iterations, gmm_loglik: last.loglik, test_cluster_sizes: sizes,
    },
    mixture, codes: { train: trainCodes, val: null, test: testCodes }, predicted,
  };
}
