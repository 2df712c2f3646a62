// The mixture through the wasm boundary: EM recovers a known 3-component mixture from both
// initialisations, its log-likelihood never decreases, the history replays every iteration,
// and bad arguments are refused with a message while the fitted mixture stays usable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { makeRng } from '../web/lib/rng.js';
import { BUILDS, lab } from './helpers.js';

const TRUTH = {
  weights: [0.5, 0.3, 0.2],
  means: [[-3, 0], [3, 1], [0, 4]],
  // Anisotropic and correlated: a mixture with spherical components would hide covariance bugs.
  covs: [[[1.0, 0.3], [0.3, 0.5]], [[0.4, -0.2], [-0.2, 1.2]], [[0.8, 0], [0, 0.2]]],
};

// n samples (and their component) by Cholesky factors of the true covariances.
function sample(n, seed) {
  const rng = makeRng(seed, 3);
  const x = new Float32Array(n * 2), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng();
    const k = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    const [[a, b], [, d]] = TRUTH.covs[k];
    const l11 = Math.sqrt(a), l21 = b / l11, l22 = Math.sqrt(d - l21 * l21);
    const r = Math.sqrt(-2 * Math.log(1 - rng())), t = 2 * Math.PI * rng();
    const z1 = r * Math.cos(t), z2 = r * Math.sin(t);
    x[2 * i] = TRUTH.means[k][0] + l11 * z1;
    x[2 * i + 1] = TRUTH.means[k][1] + l21 * z1 + l22 * z2;
    y[i] = k;
  }
  return { x, y };
}

// Labelled few-shot points: the first 5 samples of each component.
function fewShot({ x, y }) {
  const px = [], py = [];
  for (let k = 0; k < 3; k++) {
    let taken = 0;
    for (let i = 0; i < y.length && taken < 5; i++) if (y[i] === k) { px.push(x[2 * i], x[2 * i + 1]); py.push(k); taken++; }
  }
  return { x: Float32Array.from(px), y: Int32Array.from(py) };
}

// Tolerances for 6000 samples: weights +-0.03, means +-0.1, covariance entries +-15% of the largest entry.
function assertRecovers(snap, order) {
  order.forEach((j, k) => {
    assert.ok(Math.abs(snap.weights[j] - TRUTH.weights[k]) < 0.03, `weight ${k}: ${snap.weights[j]} vs ${TRUTH.weights[k]}`);
    for (let d = 0; d < 2; d++) {
      const m = snap.means[2 * j + d];
      assert.ok(Math.abs(m - TRUTH.means[k][d]) < 0.1, `mean ${k}[${d}]: ${m} vs ${TRUTH.means[k][d]}`);
    }
    const scale = Math.max(...TRUTH.covs[k].flat().map(Math.abs));
    for (let e = 0; e < 4; e++) {
      const c = snap.covs[4 * j + e], t = TRUTH.covs[k][e >> 1][e & 1];
      assert.ok(Math.abs(c - t) < 0.15 * scale, `covariance ${k}[${e}]: ${c} vs ${t}`);
    }
  });
}

for (const build of BUILDS) {
  describe(`the mixture, ${build} build`, () => {
    it('recovers a known 3-component mixture from the few-shot start, and its log-likelihood never decreases', async () => {
      const L = await lab(build);
      const data = sample(6000, 1);
      const shots = fewShot(data);
      const g = L.createMixture({ k: 3, maxIter: 50 });
      g.initLabelled(shots.x, shots.y, 3);
      const iterations = g.fit(data.x, { maxIter: 50, tol: 1e-6 });
      assert.ok(iterations > 1 && iterations < 50, `took ${iterations} iterations`);
      const history = g.history();
      assert.equal(history.length, iterations + 1);
      for (let t = 2; t < history.length; t++) {
        assert.ok(history[t].loglik >= history[t - 1].loglik - 1e-9, `log-likelihood fell at iteration ${t}`);
      }
      assertRecovers(history.at(-1), [0, 1, 2]);
      // Component k was started from class k's labelled points, so it predicts class k.
      const pred = g.predict(data.x).classIndex;
      const accuracy = pred.filter((p, i) => p === data.y[i]).length / data.y.length;
      assert.ok(accuracy > 0.97, `accuracy ${accuracy}`);
      g.free();
    });

    it('recovers it from k-means++ too, up to the order of components', async () => {
      const L = await lab(build);
      const data = sample(6000, 2);
      const g = L.createMixture({ k: 3, maxIter: 100 });
      g.initKmeansPlusPlus(data.x, 5);
      g.fit(data.x, { maxIter: 100, tol: 1e-7 });
      const snap = g.snapshot(g.historyLength - 1);
      // Match each true component to the nearest fitted mean.
      const order = TRUTH.means.map(([mx, my]) => [0, 1, 2].reduce((best, j) =>
        Math.hypot(snap.means[2 * j] - mx, snap.means[2 * j + 1] - my) <
        Math.hypot(snap.means[2 * best] - mx, snap.means[2 * best + 1] - my) ? j : best, 0));
      assert.equal(new Set(order).size, 3, 'two true components matched the same fitted one');
      assertRecovers(snap, order);
      g.free();
    });
  });
}

describe('the mixture refuses bad input', () => {
  it('K < 1, a non-finite point, an empty set and labels outside the classes, and stays usable', async () => {
    const L = await lab('simd');
    assert.throws(() => L.createMixture({ k: 0 }), /K must be 1\.\.256, got 0/);
    const data = sample(500, 3);
    const g = L.createMixture({ k: 3 });
    assert.throws(() => g.fit(data.x), /initialise the mixture before EM/);
    g.initKmeansPlusPlus(data.x, 1);
    g.fit(data.x);
    const before = g.snapshot(g.historyLength - 1);
    const bad = data.x.slice();
    bad[7] = NaN;
    assert.throws(() => g.step(bad), /value 7 is not finite/);
    assert.throws(() => g.fit(new Float32Array(0)), /non-empty/);
    assert.throws(() => g.initLabelled(data.x.subarray(0, 4), [0, 5], 3), /label 5 at 1 is outside 0\.\.2/);
    assert.throws(() => g.initLabelled(data.x.subarray(0, 4), [0, 1], 3), /at least one labelled point/);
    assert.deepEqual(g.snapshot(g.historyLength - 1), before);
    assert.equal(g.predict(data.x).classIndex.length, 500);
    g.free();
  });
});
