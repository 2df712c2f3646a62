// The mixture as JSON: a fitted mixture saved and loaded predicts exactly as before (same parameters,
// same component classes), its log-likelihood trace and class labels come back, and a document with a
// wrong shape, a non-symmetric or indefinite covariance, a non-positive weight, a non-finite number, an
// unknown field or a foreign format is refused with a message naming what is wrong.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { mixtureFromJSON, mixtureToJSON } from '../web/lib/model-io.js';
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
});
