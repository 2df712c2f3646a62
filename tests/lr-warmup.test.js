// The learning-rate warm-up of the Trainer: the rate of each step, where it ends, and that a real
// model trains through it (web/lib/run/trainer.js).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PRESETS, resolveOptions } from '../web/lib/run/options.js';
import { Trainer } from '../web/lib/run/trainer.js';
import { lab } from './helpers.js';

// A model that records the hyperparameters each step was taken with.
class RecordingModel {
  constructor() { this.hyper = { lr: 0, beta: 0 }; this.steps = []; this.lrChanges = 0; }
  setHyper(changes) { if ('lr' in changes) this.lrChanges++; this.hyper = { ...this.hyper, ...changes }; }
  trainBatch() { this.steps.push({ ...this.hyper }); return { loss: 1, bce: 1, kl: 0 }; }
}

const set = (n) => ({ images: new Uint8Array(n * 784), labels: new Uint8Array(n), n });

describe('learning-rate warm-up', () => {
  it('ramps the rate linearly over lrWarmup epochs, step by step, then holds it at lr', () => {
    const model = new RecordingModel();
    // 64 images in batches of 8: 8 steps an epoch; half an epoch of warm-up is 4 steps.
    const trainer = new Trainer(model, set(64), resolveOptions({ batch: 8, epochs: 2, lr: 0.01, lrWarmup: 0.5 }));
    while (!trainer.done) trainer.next();
    const lrs = model.steps.map((s) => s.lr);
    assert.equal(lrs.length, 16);
    const expected = [0.0025, 0.005, 0.0075, 0.01, ...new Array(12).fill(0.01)];
    lrs.forEach((lr, i) => assert.ok(Math.abs(lr - expected[i]) < 1e-12, `step ${i}: lr ${lr}, expected ${expected[i]}`));
    // Once at full rate the Trainer stops setting it: a rate changed by hand afterwards stays.
    assert.equal(model.lrChanges, 1 + 4, 'the constructor\'s lr, then one per warm-up step');
  });

  it('without a warm-up every step runs at lr', () => {
    const model = new RecordingModel();
    const trainer = new Trainer(model, set(20), resolveOptions({ batch: 8, epochs: 3, lr: 0.002, lrWarmup: 0 }));
    while (!trainer.done) trainer.next();
    assert.equal(model.steps.length, 9, 'three batches an epoch, the last one short');
    assert.ok(model.steps.every((s) => s.lr === 0.002));
  });

  it('a warm-up of a fractional number of steps ends on its last step at exactly lr, whatever the epoch size', () => {
    for (const batchesPerEpoch of [3, 7, 12, 19, 27, 544]) {
      const model = new RecordingModel();
      const trainer = new Trainer(model, set(batchesPerEpoch * 4), resolveOptions({ batch: 4, epochs: 3, lr: 3e-4, lrWarmup: 2 }));
      while (!trainer.done) trainer.next();
      const lrs = model.steps.map((s) => s.lr);
      const full = lrs.indexOf(3e-4);
      assert.equal(full, 2 * batchesPerEpoch - 1, `${batchesPerEpoch} batches an epoch: lr reached at step ${full}`);
      assert.ok(lrs.slice(full).every((lr) => lr === 3e-4));
      assert.equal(model.lrChanges, 1 + 2 * batchesPerEpoch);
    }
  });

  it('a warm-up longer than the run keeps ramping to the end (a short run trains at part of lr)', () => {
    const model = new RecordingModel();
    const trainer = new Trainer(model, set(32), resolveOptions({ batch: 8, epochs: 1, lr: 0.004, lrWarmup: 2 }));
    while (!trainer.done) trainer.next();
    assert.deepEqual(model.steps.map((s) => s.lr), [0.0005, 0.001, 0.0015, 0.002]);
  });

  it('the lab\'s default recipe warms up over 2 epochs; the authors\' recipe does not', () => {
    assert.equal(resolveOptions({}).lrWarmup, 2);
    assert.equal(PRESETS.authors.lrWarmup, 0);
    assert.equal(resolveOptions({ preset: 'authors' }).lrWarmup, 0);
  });

  it('a real model takes its steps at the warm-up\'s rates and ends at lr, weights finite', async () => {
    const L = await lab('simd');
    const model = L.createModel({ seed: 5 });
    const n = 48, images = new Uint8Array(n * 784).map((_, i) => ((i * 7919) % 13) * 19);
    const seen = [];
    const setHyper = model.setHyper.bind(model);
    model.setHyper = (changes) => { setHyper(changes); if ('lr' in changes) seen.push(model.hyper.lr); };
    const trainer = new Trainer(model, { images, labels: new Uint8Array(n), n }, resolveOptions({ batch: 16, epochs: 2, lrWarmup: 1 }));
    while (!trainer.done) assert.ok(Number.isFinite(trainer.next().loss));
    assert.deepEqual(seen.map((v) => +v.toExponential(6)), [3e-4, 1e-4, 2e-4, 3e-4].map((v) => +v.toExponential(6)));
    assert.equal(model.hyper.lr, 3e-4);
    assert.ok(model.getParams().every(Number.isFinite));
    model.free();
  });
});
