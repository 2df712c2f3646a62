// The mixture's degenerate cases through the wasm boundary (the API the page and the tools use;
// tests/native/test_gmm.c checks the C under sanitizers): all points identical, fewer points than
// components, a component that loses every point, a single point. Each ends in a finite fit (weights
// summing to 1, every number in the history finite, predictions usable) or in a LabError that says
// what is wrong; never NaN.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { LabError } from '../web/lib/latent-lab.js';
import { BUILDS, lab } from './helpers.js';

// Every weight, mean, covariance and log-likelihood of every EM iteration is finite; the weights sum to 1.
function assertFiniteHistory(mixture, what) {
  for (let t = 0; t < mixture.historyLength; t++) {
    const s = mixture.snapshot(t);
    for (const key of ['weights', 'means', 'covs']) {
      assert.ok(Array.from(s[key]).every(Number.isFinite), `${what}: iteration ${t} has a non-finite value in ${key}`);
    }
    assert.ok(Number.isFinite(s.loglik), `${what}: iteration ${t} has log-likelihood ${s.loglik}`);
    const total = Array.from(s.weights).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-5, `${what}: iteration ${t}'s weights sum to ${total}`);
  }
}

// Responsibilities finite, each row summing to 1, components in range.
function assertPredicts(mixture, points, what) {
  const { component, resp } = mixture.predict(points);
  const n = points.length / 2;
  assert.ok(Array.from(resp).every(Number.isFinite), `${what}: a responsibility is not finite`);
  for (let i = 0; i < n; i++) {
    const row = resp.subarray(i * mixture.k, (i + 1) * mixture.k).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(row - 1) < 1e-4, `${what}: point ${i}'s responsibilities sum to ${row}`);
    assert.ok(component[i] >= 0 && component[i] < mixture.k);
  }
  return component;
}

for (const build of BUILDS) {
  describe(`the mixture's degenerate cases (${build} build)`, () => {
    it('all points identical: a finite fit whose main component sits on the point, with a floored covariance', async () => {
      const L = await lab(build);
      const points = new Float32Array(200);
      for (let i = 0; i < 100; i++) points.set([-0.5, 1.5], 2 * i);
      for (const start of ['kmeans++', 'labelled']) {
        const g = L.createMixture({ k: 3, maxIter: 50 });
        if (start === 'kmeans++') g.initKmeansPlusPlus(points, 1);
        else g.initLabelled(points.subarray(0, 6), Int32Array.from([0, 1, 2]), 3);
        const iterations = g.fit(points, { maxIter: 50, tol: 1e-3 });
        assert.ok(iterations >= 1, `${start}: EM ran ${iterations} iterations`);
        assertFiniteHistory(g, `identical points (${start})`);
        const last = g.snapshot(g.historyLength - 1);
        const main = Array.from(last.weights).indexOf(Math.max(...last.weights));
        assert.deepEqual(Array.from(last.means.subarray(2 * main, 2 * main + 2)), [-0.5, 1.5]);
        assert.ok(last.covs[4 * main] > 0 && last.covs[4 * main + 3] > 0, 'the covariance is floored above 0');
        assertPredicts(g, points, `identical points (${start})`);
        g.free();
      }
    });

    it('fewer points than components: k-means++ says so; from a labelled start EM runs and the spare component keeps a finite state', async () => {
      const L = await lab(build);
      const two = Float32Array.from([0, 0, 1, 1]);
      const g = L.createMixture({ k: 5, maxIter: 50 });
      assert.throws(() => g.initKmeansPlusPlus(two, 1), (e) => e instanceof LabError && /needs at least K = 5 points, got 2/.test(e.message));
      g.free();
      const h = L.createMixture({ k: 3, maxIter: 50 });
      h.initLabelled(Float32Array.from([0, 0, 5, 5, 10, 10]), Int32Array.from([0, 1, 2]), 3);
      h.fit(Float32Array.from([0, 0, 5, 5]), { maxIter: 50, tol: 1e-3 });
      assertFiniteHistory(h, 'two points, three components');
      assert.deepEqual(Array.from(assertPredicts(h, Float32Array.from([0, 0, 5, 5]), 'two points')), [0, 1]);
      h.free();
    });

    it('a component that loses every point keeps a finite, negligible weight and never takes a prediction', async () => {
      const L = await lab(build);
      const points = Float32Array.from({ length: 400 }, (_, i) => 0.3 * Math.sin(i * 1.7));
      const g = L.createMixture({ k: 2, maxIter: 50 });
      g.initLabelled(Float32Array.from([0, 0, 1000, 1000]), Int32Array.from([0, 1]), 2);
      g.fit(points, { maxIter: 50, tol: 1e-3 });
      assertFiniteHistory(g, 'an emptied component');
      const last = g.snapshot(g.historyLength - 1);
      assert.ok(last.weights[1] < 1e-6, `the empty component's weight is ${last.weights[1]}`);
      assert.ok(assertPredicts(g, points, 'an emptied component').every((c) => c === 0));
      // The far point is still predicted by a finite computation.
      assertPredicts(g, Float32Array.from([1000, 1000, -1e4, 1e4]), 'far points');
      g.free();
    });

    it('a single point: a finite one-component fit; non-finite points are refused by name', async () => {
      const L = await lab(build);
      const g = L.createMixture({ k: 1, maxIter: 50 });
      g.initKmeansPlusPlus(Float32Array.from([1, 2]), 1);
      g.fit(Float32Array.from([1, 2]), { maxIter: 50, tol: 1e-3 });
      assertFiniteHistory(g, 'one point');
      assert.throws(() => g.fit(Float32Array.from([1, NaN]), { maxIter: 5, tol: 1e-3 }), LabError);
      assertFiniteHistory(g, 'one point, after a refused fit');
      g.free();
    });
  });
}
