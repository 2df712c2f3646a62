// The mixture as JSON: a fitted mixture saved and loaded predicts exactly as before (same parameters,
// same component classes), its log-likelihood trace, class labels and EM history come back (so the page
// replays a loaded mixture), and a document (or one of its history's iterations) with a
// wrong shape, a non-symmetric or indefinite covariance, a non-positive weight, a non-finite number, an
// unknown field or a foreign format is refused with a message naming what is wrong.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { mixtureFromJSON, mixtureToJSON } from '../web/lib/model-io.js';
import { nearestMahalanobis2, UNLIKE_MAHALANOBIS2 } from '../web/lib/mixture-math.js';
import { makeRng } from '../web/lib/rng.js';
import { lab } from './helpers.js';

// Three correlated 2-D clusters, labelled 0..2.
function sample(n, seed) {
  const rng = makeRng(seed, 5);
  const centres = [[-3, 0], [3, 1], [0, 4]];
  const x = new Float32Array(n * 2), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3, a = rng() - 0.5, b = rng() - 0.5;
    x[2 * i] = centres[k][0] + 2 * a + 0.5 * b;
    x[2 * i + 1] = centres[k][1] + 0.5 * a + b;
    y[i] = k;
  }
  return { x, y };
}

describe('the mixture as JSON', () => {
  it('round-trips a fitted mixture: same parameters, classes and predictions; trace and labels kept', async () => {
    const L = await lab('simd');
    const { x, y } = sample(600, 1);
    const g = L.createMixture({ k: 3 });
    g.initLabelled(x.subarray(0, 30), y.subarray(0, 15), 3);
    g.componentClasses = [2, 0, 1];  // a permutation, so a lost mapping would show
    g.fit(x);
    const json = JSON.stringify(mixtureToJSON(g, { classLabels: [1, 4, 8] }));
    const doc = JSON.parse(json);
    assert.equal(doc.k, 3);
    assert.equal(doc.loglik.length, g.historyLength);

    const { mixture, loglik, classLabels } = mixtureFromJSON(L, json);
    const was = g.snapshot(g.historyLength - 1), now = mixture.snapshot(0);
    assert.deepEqual(now.means, was.means);
    assert.deepEqual(now.covs, was.covs);
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(now.weights[j] - was.weights[j]) < 1e-6);
    assert.deepEqual(mixture.componentClasses, [2, 0, 1]);
    assert.deepEqual(loglik, g.history().map((h) => h.loglik));
    assert.deepEqual(classLabels, [1, 4, 8]);
    const a = g.predict(x), b = mixture.predict(x);
    assert.deepEqual(b.classIndex, a.classIndex);
    for (let i = 0; i < a.resp.length; i++) assert.ok(Math.abs(a.resp[i] - b.resp[i]) < 1e-5, `responsibility ${i}`);
    mixture.step(x);  // and EM goes on from the loaded parameters
    g.free(); mixture.free();
  });

  it('refuses broken documents with a message naming what is wrong', async () => {
    const L = await lab('simd');
    const good = { format: 'latent-lab-mixture', version: 1, k: 2, d: 2, weights: [0.4, 0.6], means: [[0, 0], [1, 1]],
      covariances: [[[1, 0.2], [0.2, 1]], [[0.5, 0], [0, 0.5]]], componentClasses: [0, 1], loglik: [-3.2, -2.9] };
    const { mixture } = mixtureFromJSON(L, good);
    mixture.free();
    const edit = (change) => ({ ...structuredClone(good), ...change });
    const cases = [
      ['not JSON', '{"k": 2,', /mixture JSON: not JSON/],
      ['an array', '[]', /expected an object/],
      ['a foreign format', edit({ format: 'sklearn' }), /format must be "latent-lab-mixture"/],
      ['a later version', edit({ version: 2 }), /version 2 is not supported/],
      ['an unknown field', edit({ extra: 1 }), /unknown field "extra"/],
      ['K = 0', edit({ k: 0 }), /k must be an integer in 1\.\.256, got 0/],
      ['too few weights', edit({ weights: [1] }), /weights must be an array of 2 numbers/],
      ['a negative weight', edit({ weights: [-0.4, 1.4] }), /weights\[0\] must be positive, got -0.4/],
      ['weights not summing to 1', edit({ weights: [0.4, 0.4] }), /weights must sum to 1, got 0.8/],
      ['a non-finite mean', edit({ means: [[0, null], [1, 1]] }), /means\[0\]\[1\] must be a finite number, got null/],
      ['a mean of the wrong size', edit({ means: [[0, 0, 0], [1, 1]] }), /means\[0\] must be an array of 2 numbers/],
      ['a non-symmetric covariance', edit({ covariances: [[[1, 0.2], [0.3, 1]], [[0.5, 0], [0, 0.5]]] }), /covariances\[0\] is not symmetric/],
      ['an indefinite covariance', edit({ covariances: [[[1, 2], [2, 1]], [[0.5, 0], [0, 0.5]]] }), /covariances\[0\] is not positive definite/],
      ['a zero covariance', edit({ covariances: [[[1, 0], [0, 1]], [[0, 0], [0, 0]]] }), /covariances\[1\] is not positive definite/],
      ['a string in a covariance', edit({ covariances: [[[1, 0], [0, '1']], [[0.5, 0], [0, 0.5]]] }), /covariances\[0\]\[1\]\[1\] must be a finite number/],
      ['a class out of range', edit({ componentClasses: [0, 300] }), /componentClasses\[1\] must be an integer in 0\.\.255, got 300/],
      ['a non-numeric trace', edit({ loglik: [-3, 'x'] }), /loglik\[1\] must be a finite number/],
      ['too few class labels', edit({ classLabels: [1] }), /classLabels must name at least 2 classes/],
    ];
    for (const [what, doc, message] of cases) {
      assert.throws(() => mixtureFromJSON(L, doc), (error) => error.name === 'LabError' && message.test(error.message), what);
    }
  });

  it('saves a loaded mixture again (the page re-saves a loaded model): its trace as given, a document that loads', async () => {
    const L = await lab('simd');
    const doc = { format: 'latent-lab-mixture', version: 1, k: 2, d: 2, weights: [0.4, 0.6], means: [[0, 0], [1, 1]],
      covariances: [[[1, 0.2], [0.2, 1]], [[0.5, 0], [0, 0.5]]], componentClasses: [1, 0], loglik: [-3.2, -2.9], classLabels: [3, 5] };
    const { mixture, loglik } = mixtureFromJSON(L, doc);
    const again = mixtureToJSON(mixture, { classLabels: [3, 5], loglik });
    assert.deepEqual(again.loglik, doc.loglik);
    assert.deepEqual(again.componentClasses, [1, 0]);
    // Without the trace: the start has no log-likelihood, and is left out rather than written as null.
    const bare = mixtureToJSON(mixture);
    assert.ok(bare.loglik.every(Number.isFinite));
    mixtureFromJSON(L, JSON.stringify(bare)).mixture.free();
    mixture.free();
  });

  it('keeps EM\'s history: every iteration back as fitted, saved again as loaded; a broken iteration is refused', async () => {
    const L = await lab('simd');
    const { x } = sample(600, 2);
    const g = L.createMixture({ k: 4 });   // one more component than clusters: EM takes a few iterations
    g.initKmeansPlusPlus(x, 7);
    g.fit(x);
    g.componentClasses = [0, 1, 2, 0];
    const doc = JSON.parse(JSON.stringify(mixtureToJSON(g, { classLabels: [1, 4, 8] })));
    assert.ok(g.historyLength >= 3, `EM ran (${g.historyLength - 1} iterations)`);
    assert.equal(doc.history.length, g.historyLength);
    const { mixture, loglik, history } = mixtureFromJSON(L, doc);
    assert.equal(history.length, g.historyLength);
    for (let t = 0; t < g.historyLength; t++) {
      const was = g.snapshot(t);
      assert.deepEqual(history[t].means, was.means, `iteration ${t}: means`);
      assert.deepEqual(history[t].covs, was.covs, `iteration ${t}: covariances`);
      assert.ok(history[t].weights.every((w, j) => Math.abs(w - was.weights[j]) < 1e-7), `iteration ${t}: weights`);
      assert.ok(Number.isFinite(was.loglik) ? history[t].loglik === was.loglik : Number.isNaN(history[t].loglik), `iteration ${t}: loglik`);
    }
    // The page saves a loaded mixture again: the same document.
    assert.deepEqual(JSON.parse(JSON.stringify(mixtureToJSON(mixture, { classLabels: [1, 4, 8], loglik, history }))), doc);

    const edit = (change) => { const d = structuredClone(doc); change(d); return d; };
    const cases = [
      ['a history of one entry', (d) => { d.history = d.history.slice(0, 1); }, /history must be an array of 2 to 1001 iterations/],
      ['a negative weight at iteration 1', (d) => { d.history[1].weights[0] = -d.history[1].weights[0]; }, /history\[1\]\.weights\[0\] must be positive/],
      ['an indefinite covariance at iteration 2', (d) => { d.history[2].covariances[1] = [[1, 2], [2, 1]]; }, /history\[2\]\.covariances\[1\] is not positive definite/],
      ['an unknown field in an iteration', (d) => { d.history[0].resp = []; }, /history\[0\]: unknown field "resp"/],
      ['a text log-likelihood', (d) => { d.history[1].loglik = 'high'; }, /history\[1\]\.loglik must be a finite number or null/],
      ['a last iteration that is not the mixture', (d) => { d.history.at(-1).means[0][0] += 0.5; }, /the last entry of history must be the mixture's own parameters/],
    ];
    for (const [what, change, message] of cases) {
      assert.throws(() => mixtureFromJSON(L, edit(change)), (error) => error.name === 'LabError' && message.test(error.message), what);
    }
    g.free(); mixture.free();
  });

  it('calls a point unlike anything when it lies outside every component\'s 99% ellipse', () => {
    // Two components: a round one at the origin (variance 1) and a long one along x at (10, 0).
    const snapshot = { means: [0, 0, 10, 0], covs: [1, 0, 0, 1, 4, 0, 0, 0.25] };
    assert.ok(Math.abs(UNLIKE_MAHALANOBIS2 - 9.2103) < 1e-4);
    assert.equal(nearestMahalanobis2(snapshot, [0, 3]), 9);                // 3 sigma from the round one
    assert.ok(nearestMahalanobis2(snapshot, [0, 3.1]) > UNLIKE_MAHALANOBIS2);
    assert.ok(nearestMahalanobis2(snapshot, [16, 0]) < UNLIKE_MAHALANOBIS2);  // 3 sigma along the long one's axis
    assert.ok(nearestMahalanobis2(snapshot, [10, 1.6]) > UNLIKE_MAHALANOBIS2); // 3.2 sigma across it
  });
});
