// The mixture variants the lab offers beyond the authors' EM, on synthetic codes with a known
// answer: two long, curved classes and a round one, where a single Gaussian per class cannot
// follow a class. Only 5 labelled points per class are given, as in the report. The overcomplete
// variants name their components through chains of overlapping components (widest path from the
// components the labelled points fall in), so a class's name crosses its whole cluster.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { makeRng } from '../web/lib/rng.js';
import { componentCount, fitMixture, MIXTURES } from '../web/lib/run/mixture.js';
import { PRESETS } from '../web/lib/run/options.js';
import { lab } from './helpers.js';

// Class 0: an arc; class 1: a long bar beside it; class 2: a blob. 1200 points each.
function codes(seed, perClass = 1200) {
  const rng = makeRng(seed, 11);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const x = [], y = [];
  for (let i = 0; i < perClass; i++) {
    const t = Math.PI * rng();
    x.push(4 * Math.cos(t) + 0.25 * normal(), 4 * Math.sin(t) + 0.25 * normal()); y.push(0);
    x.push(-6 + 12 * rng(), -2 + 0.25 * normal()); y.push(1);
    x.push(0.5 * normal(), 1.2 + 0.4 * normal()); y.push(2);
  }
  return { x: Float32Array.from(x), y: Int32Array.from(y) };
}

function labelled(data, perClass, seed) {
  const rng = makeRng(seed, 12);
  const x = [], y = [];
  for (let c = 0; c < 3; c++) {
    const members = [...data.y.keys()].filter((i) => data.y[i] === c);
    for (let k = 0; k < perClass; k++) {
      const i = members[Math.floor(rng() * members.length)];
      x.push(data.x[2 * i], data.x[2 * i + 1]); y.push(c);
    }
  }
  return { x: Float32Array.from(x), y: Int32Array.from(y) };
}

// odd: one labelled point of class 1 moved into class 0's arc (a 5 that looks like a 3).
async function accuracyOf(variant, seed, { odd = false } = {}) {
  const L = await lab('simd');
  const train = codes(seed), test = codes(seed + 100), shots = labelled(train, 5, seed);
  if (odd) shots.x.set([4 * Math.cos(1), 4 * Math.sin(1)], 2 * 5);   // shots 5..9 are class 1's
  const { mixture } = fitMixture(L, { trainCodes: train.x, valCodes: shots.x, valClasses: shots.y, nClasses: 3,
    maxIter: 200, tol: 1e-6, variant, seed });
  const pred = mixture.predict(test.x).classIndex;
  const k = mixture.k;
  mixture.free();
  return { accuracy: pred.filter((p, i) => p === test.y[i]).length / test.y.length, k };
}

describe('mixture variants on curved classes with 5 labels each', () => {
  it('the authors\' one-Gaussian-per-class EM cannot follow the classes (the test can tell good from bad)', async () => {
    const results = await Promise.all([1, 2, 3].map((seed) => accuracyOf('authors', seed)));
    assert.ok(Math.min(...results.map((r) => r.accuracy)) < 0.93, `authors' EM: ${results.map((r) => r.accuracy)}`);
  });

  for (const variant of ['kmeans-10', 'kmeans-16', 'kmeans-10-groups', 'kmeans-16-groups']) {
    it(`${variant}: an overcomplete mixture named by the labelled points follows them (accuracy > 0.95)`, async () => {
      for (const seed of [1, 2, 3]) {
        const { accuracy, k } = await accuracyOf(variant, seed);
        assert.equal(k, MIXTURES[variant].components);
        assert.ok(accuracy > 0.95, `${variant}, seed ${seed}: accuracy ${accuracy}`);
      }
    });
  }

  it('one odd labelled point inside another class: naming by groups outvotes it, naming by components does not', async () => {
    for (const seed of [1, 2, 3]) {
      const groups = await accuracyOf('kmeans-10-groups', seed, { odd: true });
      const components = await accuracyOf('kmeans-10', seed, { odd: true });
      assert.ok(groups.accuracy > 0.95, `kmeans-10-groups, seed ${seed}: accuracy ${groups.accuracy}`);
      // The component the odd point falls in (about a tenth of the points) takes its class.
      assert.ok(components.accuracy < groups.accuracy - 0.03, `kmeans-10, seed ${seed}: ${components.accuracy} vs groups ${groups.accuracy}`);
    }
  });

  it('per-class-3: three components per class started from that class\'s labels, semi-supervised', async () => {
    const { accuracy, k } = await accuracyOf('per-class-3', 1);
    assert.equal(k, 9);
    assert.ok(accuracy > 0.85, `accuracy ${accuracy}`);
  });
});

// n curved classes around a ring: class c is an arc (1.4 pi of a circle of radius 1.2) centred on the
// ring at angle 2 pi c / n, each turned its own way, with neighbours' centres 3.4 apart (a gap of about 1).
function ringOfArcs(n, seed, perClass = 800) {
  const rng = makeRng(seed, 13);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const radius = 1.7 / Math.sin(Math.PI / n), x = [], y = [];
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < n; c++) {
      const at = 2 * Math.PI * c / n, t = 2 * Math.PI * ((c * 0.618034) % 1) + 1.4 * Math.PI * rng();
      x.push(radius * Math.cos(at) + 1.2 * Math.cos(t) + 0.15 * normal(), radius * Math.sin(at) + 1.2 * Math.sin(t) + 0.15 * normal());
      y.push(c);
    }
  }
  return { x: Float32Array.from(x), y: Int32Array.from(y) };
}

// Five labelled points per class, as the report has, from the training points.
function fewLabels(data, n, seed) {
  const rng = makeRng(seed, 14), x = [], y = [];
  for (let c = 0; c < n; c++) {
    const members = [...data.y.keys()].filter((i) => data.y[i] === c);
    for (let k = 0; k < 5; k++) {
      const i = members[Math.floor(rng() * members.length)];
      x.push(data.x[2 * i], data.x[2 * i + 1]); y.push(c);
    }
  }
  return { x: Float32Array.from(x), y: Int32Array.from(y) };
}

async function ringResult(variant, n, seed) {
  const L = await lab('simd');
  const train = ringOfArcs(n, seed), test = ringOfArcs(n, seed + 100), shots = fewLabels(train, n, seed);
  const { mixture } = fitMixture(L, { trainCodes: train.x, valCodes: shots.x, valClasses: shots.y, nClasses: n,
    maxIter: 50, tol: 1e-3, variant, seed });
  const pred = mixture.predict(test.x).classIndex, k = mixture.k;
  mixture.free();
  const predicted = new Set(pred);
  return { accuracy: pred.filter((p, i) => p === test.y[i]).length / test.y.length, k,
    never: Array.from({ length: n }, (_, c) => c).filter((c) => !predicted.has(c)) };
}

describe('the default mixture follows the number of classes (curved classes around a ring, 5 labels each)', () => {
  const variant = PRESETS.default.mixture;
  for (const n of [3, 5, 10]) {
    it(`${n} classes: every class predicted, accuracy > 0.9, ${componentCount(variant, n)} components`, async () => {
      for (const seed of [1, 2, 3]) {
        const { accuracy, k, never } = await ringResult(variant, n, seed);
        assert.equal(k, componentCount(variant, n));
        assert.deepEqual(never, [], `${n} classes, seed ${seed}: classes ${never} never predicted`);
        assert.ok(accuracy > 0.9, `${n} classes, seed ${seed}: accuracy ${accuracy}`);
      }
    });
  }

  it('ten components for ten classes cannot follow them (the test can tell): kmeans-10-groups', async () => {
    const results = await Promise.all([1, 2, 3].map((seed) => ringResult('kmeans-10-groups', 10, seed)));
    assert.ok(Math.max(...results.map((r) => r.accuracy)) < 0.8, `kmeans-10-groups: ${results.map((r) => r.accuracy)}`);
  });

  it('three classes: the default is kmeans-10-groups exactly (the same components, names and predictions)', async () => {
    const L = await lab('simd');
    for (const seed of [1, 2]) {
      const train = ringOfArcs(3, seed), test = ringOfArcs(3, seed + 100), shots = fewLabels(train, 3, seed);
      const fit = (v) => fitMixture(L, { trainCodes: train.x, valCodes: shots.x, valClasses: shots.y, nClasses: 3,
        maxIter: 50, tol: 1e-3, variant: v, seed }).mixture;
      const [a, b] = [fit(variant), fit('kmeans-10-groups')];
      assert.deepEqual(a.snapshot(a.historyLength - 1).means, b.snapshot(b.historyLength - 1).means);
      assert.deepEqual(a.componentClasses, b.componentClasses);
      assert.deepEqual(a.predict(test.x).classIndex, b.predict(test.x).classIndex);
      a.free(); b.free();
    }
  });

  it('the component count: three per class, at least 10 (three classes keep kmeans-10-groups), at most 40', () => {
    assert.deepEqual([1, 3, 4, 10, 20].map((n) => componentCount('kmeans-groups', n)), [10, 10, 12, 30, 40]);
    assert.equal(componentCount('kmeans-groups', 0), 10, 'unlabelled data');
  });
});
