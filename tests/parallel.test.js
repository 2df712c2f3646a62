// Data-parallel training over worker threads (web/lib/run/parallel.js, used by `make train --workers`
// and the page): two workers train the model one worker trains, up to float summation order, and
// the same seed with the same number of workers gives the same parameters bit for bit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ParallelModel, outside } from '../web/lib/run/parallel.js';
import { resolveOptions } from '../web/lib/run/options.js';
import { Trainer } from '../web/lib/run/trainer.js';
import { nodeReplicas } from '../tools/common.js';
import { assertClose, lab, randomArray, sameBits } from './helpers.js';

const HYPER = { lr: 1e-3, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const batches = [0, 1, 2, 3].map((k) => randomArray(33 * 784, 50 + k, { lo: 0, hi: 1 }).map((v) => (v > 0.7 ? v : 0)));

async function trainParallel(workers, data = batches) {
  const model = await ParallelModel.create({ workers, seed: 8, hyper: HYPER, build: 'simd', ...nodeReplicas('simd') });
  try {
    const losses = [];
    for (const b of data) losses.push((await model.trainBatch(b)).loss);
    const params = await model.getParams();
    // An array (a state) given to fill travels to the first replica and back, filled with the same values.
    const given = new Float32Array(params.length), filled = await model.getParams(given);
    assert.equal(given.length, 0, 'the given array was sent (transferred), not copied');
    assert.ok(sameBits(filled, params), 'the parameters filled in a given array');
    const state = await model.getState(), refilled = await model.getState({ params: filled, m: new Float32Array(params.length),
      v: new Float32Array(params.length) });
    for (const key of ['params', 'm', 'v']) assert.ok(sameBits(refilled[key], state[key]), `${key} filled in a given array`);
    assert.equal(refilled.step, state.step);
    return { params, losses };
  } finally {
    model.terminate();
  }
}

describe('data-parallel training', () => {
  it('2 and 3 workers (a batch of 33 split unevenly) train the model 1 worker trains, within float order', async () => {
    const L = await lab('simd');
    const single = L.createModel({ seed: 8 });
    single.setHyper(HYPER);
    const init = single.getParams();
    const losses = batches.map((b) => single.trainBatch(b).loss);
    const reference = single.getParams();
    single.free();
    for (const workers of [2, 3]) {
      const run = await trainParallel(workers);
      assertClose(run.losses, losses, 1e-4, `losses with ${workers} workers`);
      // Compare the updates, not the parameters: 4 Adam steps move each parameter by ~4e-3 whatever the
      // gradient, so only the update can tell. Adam can flip the step of a parameter whose gradient is
      // ~0 on float-order noise, so the test is on the whole: the updates differ by under 1% on average.
      let updateSize = 0, difference = 0;
      for (let i = 0; i < init.length; i++) {
        updateSize += Math.abs(reference[i] - init[i]);
        difference += Math.abs(run.params[i] - reference[i]);
      }
      assert.ok(difference < 0.01 * updateSize, `${workers} workers: updates differ by ${difference / updateSize} of their size`);
      assert.ok(difference > 0, 'identical to the bit: the split was not exercised');
    }
  });

  it('the same seed and number of workers gives the same parameters bit for bit', async () => {
    const a = await trainParallel(2), b = await trainParallel(2);
    assert.ok(sameBits(a.params, b.params), 'two 2-worker runs differ');
  });

  it('a batch with fewer images than workers trains exactly as one worker does (idle workers still own a slice)', async () => {
    const L = await lab('simd');
    const single = L.createModel({ seed: 8 });
    single.setHyper(HYPER);
    const small = batches.map((b) => b.slice(0, 784)); // one image: worker 0 has it, workers 1 and 2 none
    for (const b of small) single.trainBatch(b);
    const reference = single.getParams();
    single.free();
    const run = await trainParallel(3, small);
    assert.ok(sameBits(run.params, reference), '3 workers on 1 image differ from 1 worker');
  });

  it('a slice less the factored weights: the stretches whose gradients travel as values', () => {
    assert.deepEqual(outside([0, 100], [[10, 20], [50, 60]]), [[0, 10], [20, 50], [60, 100]]);
    assert.deepEqual(outside([15, 55], [[10, 20], [50, 60]]), [[20, 50]]);
    assert.deepEqual(outside([12, 18], [[10, 20]]), []);
    assert.deepEqual(outside([0, 10], [[10, 20]]), [[0, 10]]);
    assert.deepEqual(outside([5, 5], [[10, 20]]), []);
  });

  it('a run on 2 replicas that diverges rolls back to its snapshot, whose arrays went to a replica and back', async () => {
    const L = await lab('simd');
    const model = await ParallelModel.create({ workers: 2, seed: 4, hyper: HYPER, build: 'simd', ...nodeReplicas('simd') });
    try {
      const n = 64, images = new Uint8Array(n * 784).map((_, i) => ((i * 7919) % 13) * 19);
      const trainer = new Trainer(model, { images, labels: new Uint8Array(n), n },
        { ...resolveOptions({ batch: 8, epochs: 50, lrWarmup: 0 }), snapshotEvery: 3 });
      for (let i = 0; i < 6; i++) assert.ok(Number.isFinite((await trainer.next()).loss), 'a sane step diverged');
      const expected = await model.getState();   // what the next snapshot must hold
      assert.ok(Number.isFinite((await trainer.next()).loss));
      assert.equal(trainer.snapshot.imagesSeen, 48, 'a snapshot every 3 good batches (the third in the arrays of the first two)');
      for (const key of ['params', 'm', 'v']) {
        assert.ok(sameBits(trainer.snapshot.state[key], expected[key]), `the snapshot's ${key}, filled in arrays that travelled, hold the state`);
      }
      await model.setHyper({ lr: 1, beta: 1000 });
      let stopped = null;
      try {
        while (!trainer.done) await trainer.next();
      } catch (error) {
        stopped = error;
      }
      assert.match(stopped?.message ?? '', /the model is back at its last good weights/);
      const snap = trainer.snapshot.state, state = await model.getState();
      for (const key of ['params', 'm', 'v']) {
        assert.equal(snap[key].length, L.numParams, `the snapshot's ${key} came back whole`);
        assert.ok(sameBits(state[key], snap[key]), `the replicas' ${key} are the snapshot's`);
      }
      assert.equal(state.step, snap.step);
    } finally {
      model.terminate();
    }
  });

  it('refuses a bad worker count', async () => {
    await assert.rejects(ParallelModel.create({ workers: 0, spawn: () => null, seed: 1, hyper: HYPER }), /workers must be 1\.\.64, got 0/);
  });
});
