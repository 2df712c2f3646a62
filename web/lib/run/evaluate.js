// What the report measures on a trained model: test loss, the codes, the mixture's accuracy and
// kNN separability (or, for unlabelled data, the clusters' sizes). Nothing here trains.
import { LabError, LATENT, PIXELS } from '../latent-lab.js';
import { toFloats } from '../data/images.js';
import { resolveOptions } from './options.js';
import { fitMixture } from './mixture.js';

// The set in chunks of floats in [0, 1]: { images, start, count } for each (images: one buffer reused).
function* chunks(set, size) {
  const buffer = new Float32Array(size * PIXELS);
  for (let start = 0; start < set.n; start += size) {
    const count = Math.min(size, set.n - start);
    const images = toFloats(set.images.subarray(start * PIXELS, (start + count) * PIXELS), buffer.subarray(0, count * PIXELS));
    yield { images, start, count };
  }
}

// Runs fn(images, start, count) over the set in chunks.
export function forEachChunk(set, size, fn) {
  for (const { images, start, count } of chunks(set, size)) fn(images, start, count);
}

// The two slow measurements, as generators that yield the number of images done after each chunk and
// return the result: run straight through here (finish), or a chunk at a time between messages by the
// page's worker for a loaded model.

// Encoder means and log-variances of a whole set: { mu, logvar }, Float32Array(n * 2) each.
export function* encodeSteps(model, set, chunk = 512) {
  const mu = new Float32Array(set.n * LATENT), logvar = new Float32Array(set.n * LATENT);
  for (const { images, start, count } of chunks(set, chunk)) {
    const out = model.encode(images);
    mu.set(out.mu, start * LATENT);
    logvar.set(out.logvar, start * LATENT);
    yield count;
  }
  return { mu, logvar };
}

// Per-image means { loss, bce, kl } over the set, one sampled code per image as in training.
export function* lossSteps(model, set, chunk = 512) {
  let loss = 0, bce = 0, kl = 0;
  for (const { images, start, count } of chunks(set, chunk)) {
    const r = model.evaluate(images, start);
    loss += r.loss * count; bce += r.bce * count; kl += r.kl * count;
    yield count;
  }
  return { loss: loss / set.n, bce: bce / set.n, kl: kl / set.n };
}

// A generator run to its end: its result.
function finish(steps) {
  for (;;) {
    const { done, value } = steps.next();
    if (done) return value;
  }
}

const encodeSet = (model, set) => finish(encodeSteps(model, set));
const evaluateLoss = (model, set) => finish(lossSteps(model, set));

// Each label's index among the classes (what the C side's classification report counts by).
export function classIndices(labels, classes) {
  const index = new Map(classes.map((d, i) => [d, i]));
  return Int32Array.from(labels, (label) => {
    if (!index.has(label)) throw new LabError(`label ${label} is not one of the classes ${classes.join(',')}`);
    return index.get(label);
  });
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
