// Bad input gets a clear error and changes nothing: the model keeps its parameters and still works.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';

import { resolveOptions } from '../web/lib/run/options.js';
import { ROOT } from '../tools/common.js';
import { lab, sameBits } from './helpers.js';

const run = promisify(execFile);

// Trains until the Trainer stops or finishes: its per-batch reports and the error it stopped with.
function trainUntilStopped(trainer) {
  const reports = [];
  try {
    while (!trainer.done) reports.push(trainer.next());
  } catch (error) {
    return { reports, stopped: error };
  }
  return { reports, stopped: null };
}

describe('the model refuses bad input and stays intact', () => {
  it('wrong sizes, empty data, NaN or out-of-range pixels, a bad hyperparameter', async () => {
    const L = await lab('simd');
    const model = L.createModel({ seed: 1 });
    const good = new Float32Array(2 * 784).fill(0.5);
    model.trainBatch(good);
    const before = model.getParams();
    const steps = model.stepCount;

    assert.throws(() => model.trainBatch(new Float32Array(0)), /non-empty multiple of 784/);
    assert.throws(() => model.trainBatch(new Float32Array(785)), /non-empty multiple of 784 values, got 785/);
    assert.throws(() => model.trainBatch([0.5, 0.5]), /Float32Array/);
    const nan = good.slice(); nan[900] = NaN;
    assert.throws(() => model.trainBatch(nan), /image 1, pixel 116 is NaN/);
    const big = good.slice(); big[3] = 255;
    assert.throws(() => model.trainBatch(big), /pixel 3 is 255: pixels must lie in \[0, 1\]/);
    assert.throws(() => model.encode(nan), /is NaN/);
    assert.throws(() => model.decode(Float32Array.from([0, Infinity])), /latent points: value 1 is not finite/);
    assert.throws(() => model.decode(new Float32Array(3)), /multiple of 2/);
    assert.throws(() => model.setHyper({ lr: -1 }), /learning rate must be in \(0, 1\], got -1/);
    assert.throws(() => model.setHyper({ lr: NaN }), /learning rate/);
    assert.throws(() => model.setHyper({ beta: NaN }), /beta must be in \[0, 1000\], got nan/);
    assert.throws(() => model.setHyper({ lr: '0.1' }), /lr must be a number/);
    assert.throws(() => model.setParams(new Float32Array(10)), /expected a Float32Array of 2680805 values, got 10/);
    const poisoned = before.slice(); poisoned[5] = NaN;
    assert.throws(() => model.setParams(poisoned), /parameters: value 5 is not finite/);

    assert.ok(sameBits(model.getParams(), before), 'a refused call changed the parameters');
    assert.equal(model.stepCount, steps);
    assert.deepEqual(model.hyper, { lr: 3e-4, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    // Still trains and decodes.
    assert.ok(Number.isFinite(model.trainBatch(good).loss));
    assert.ok(model.decode(Float32Array.from([0, 0])).every((p) => p > 0 && p < 1));
    model.free();
    assert.throws(() => model.trainBatch(good), /freed/);
  });

  it('a batch of 0, a negative learning rate and other bad training options are named', () => {
    assert.throws(() => resolveOptions({ batch: 0 }), /batch size must be >= 1, got 0/);
    assert.throws(() => resolveOptions({ lr: -0.1 }), /learning rate must be > 0, got -0.1/);
    assert.throws(() => resolveOptions({ epochs: 1e9 }), /epochs must be <= 1000/);
    assert.throws(() => resolveOptions({ beta: NaN }), /beta must be a finite number/);
    assert.throws(() => resolveOptions({ seed: 1.5 }), /seed must be an integer/);
    assert.throws(() => resolveOptions({ digits: '1,11' }), /digit 11 is outside 0\.\.9/);
    assert.throws(() => resolveOptions({ lrWarmup: -1 }), /learning-rate warm-up epochs must be >= 0, got -1/);
    assert.throws(() => resolveOptions({ lrWarmup: NaN }), /learning-rate warm-up epochs must be a finite number/);
    assert.throws(() => resolveOptions({ lrWarmup: '2' }), /learning-rate warm-up epochs must be a finite number/);
    assert.equal(resolveOptions({}).lr, 3e-4);
  });

  it('make train answers a bad flag with a message, not a stack trace', async () => {
    const train = path.join(ROOT, 'tools/train.js');
    for (const [args, message] of [[['--batch', '0'], /batch size must be >= 1/], [['--lr', 'abc'], /--lr must be a number/],
      [['--digits', '3,12'], /digit 12 is outside 0\.\.9/], [['--epoch', '2'], /unknown flag --epoch/]]) {
      const error = await run('node', [train, ...args]).then(() => null, (e) => e);
      assert.ok(error, `train ${args.join(' ')} succeeded`);
      assert.equal(error.code, 1);
      assert.match(error.stderr, message);
      assert.doesNotMatch(error.stderr, /at .*\.js:\d+/, 'printed a stack trace');
    }
    // And --help says how, trains nothing and exits cleanly.
    const { stdout } = await run('node', [train, '--help']);
    assert.match(stdout, /^make train ARGS=/);
    assert.match(stdout, /\nflags: --digits --epochs .* --parallel\n/);
  });
});

describe('training that cannot silently fail', () => {
  it('an absurd learning rate: diverged steps are skipped, then training stops with the model finite and decoding', async () => {
    const { Trainer } = await import('../web/lib/run/trainer.js');
    const L = await lab('simd');
    const model = L.createModel({ seed: 2 });
    const n = 64, images = new Uint8Array(n * 784).map((_, i) => ((i * 7919) % 13) * 19);
    const trainer = new Trainer(model, { images, labels: new Uint8Array(n), n },
      resolveOptions({ lr: 1, beta: 1000, batch: 8, epochs: 50 }));
    const { reports, stopped } = trainUntilStopped(trainer);
    assert.ok(stopped, 'training went on with a non-finite loss');
    assert.match(stopped.message, /non-finite loss or gradient.*last good weights.*lower the learning rate/);
    assert.ok(reports.some((r) => r.skipped), 'no step was reported as skipped');
    assert.ok(model.getParams().every(Number.isFinite), 'a non-finite value reached the weights');
    const decoded = model.decode(Float32Array.from([0.5, -0.5]));
    assert.ok(decoded.every((p) => p >= 0 && p <= 1));
    model.free();
  });

  it('a run that diverges mid-way rolls back to its last good snapshot (weights and Adam state), says so, then stops there', async () => {
    const { Trainer } = await import('../web/lib/run/trainer.js');
    const L = await lab('simd');
    const model = L.createModel({ seed: 4 });
    const n = 64, images = new Uint8Array(n * 784).map((_, i) => ((i * 7919) % 13) * 19);
    const trainer = new Trainer(model, { images, labels: new Uint8Array(n), n },
      { ...resolveOptions({ batch: 8, epochs: 50, lrWarmup: 0 }), snapshotEvery: 3 });   // no warm-up: it would reset the lr set below
    assert.ok(Number.isFinite(trainer.next().loss));
    const first = trainer.snapshot.state;
    for (let i = 1; i < 7; i++) assert.ok(Number.isFinite(trainer.next().loss), 'a sane step diverged');
    assert.equal(trainer.snapshot.imagesSeen, 48, 'a snapshot every 3 good batches');
    // A snapshot is copied into the arrays of the one it replaces (no fresh 30 MB each time).
    for (const key of ['params', 'm', 'v']) assert.equal(trainer.snapshot.state[key], first[key], `the snapshot's ${key} array is reused`);
    // Then an absurd learning rate, as if the run had wandered somewhere steps blow up.
    model.setHyper({ lr: 1, beta: 1000 });
    const { reports, stopped } = trainUntilStopped(trainer);
    assert.ok(stopped, 'training went on with a non-finite loss');
    assert.match(stopped.message, /non-finite loss or gradient; the model is back at its last good weights \(after \d+ images\); lower the learning rate/);
    const rolled = reports.filter((r) => r.rolledBack);
    assert.ok(rolled.length > 0, 'no step was reported as rolled back');
    assert.ok(rolled.every((r) => r.skipped && Number.isNaN(r.loss)), 'a rolled-back step reports no loss');
    const snap = trainer.snapshot.state;
    const params = model.getParams(), state = model.getState();
    assert.ok(params.every(Number.isFinite), 'a non-finite value reached the weights');
    assert.deepEqual(params, snap.params, 'the weights are the snapshot\'s, bit for bit');
    assert.deepEqual(state.m, snap.m, 'Adam\'s first moment is the snapshot\'s');
    assert.deepEqual(state.v, snap.v, 'Adam\'s second moment is the snapshot\'s');
    assert.equal(state.step, snap.step, 'Adam\'s step count is the snapshot\'s');
    const decoded = model.decode(Float32Array.from([0.5, -0.5]));
    assert.ok(decoded.every((p) => p >= 0 && p <= 1), 'the model still decodes');
    // And it trains again from there at a sane rate.
    model.setHyper({ lr: 3e-4, beta: 0.55 });
    assert.ok(Number.isFinite(model.trainBatch(Float32Array.from(images.subarray(0, 8 * 784), (v) => v / 255)).loss));
    model.free();
  });

  it('getState and setState round-trip the training state and refuse a non-finite or misshapen one', async () => {
    const L = await lab('simd');
    const model = L.createModel({ seed: 6 });
    const batch = Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 17) / 16);
    model.trainBatch(batch);
    const state = model.getState();
    assert.equal(state.step, 1);
    model.trainBatch(batch);
    model.setState(state);
    assert.deepEqual(model.getState(), state);
    const bad = { ...state, v: state.v.slice() };
    bad.v[7] = NaN;
    assert.throws(() => model.setState(bad), /Adam v: value 7 is not finite/);
    assert.throws(() => model.setState({ ...state, m: new Float32Array(3) }), /Adam m: expected a Float32Array/);
    assert.throws(() => model.setState({ ...state, step: -1 }), /step count/);
    assert.deepEqual(model.getState(), state, 'a refused state changes nothing');
    // Copied into the arrays of an earlier state, or of a parameter array, when given: the same arrays
    // come back, holding what fresh copies hold; a misshapen one is refused before anything is written.
    const earlier = model.getState();
    model.trainBatch(batch);
    const fresh = model.getState(), reused = model.getState(earlier);
    for (const key of ['params', 'm', 'v']) {
      assert.equal(reused[key], earlier[key], `${key}: the given array`);
      assert.ok(sameBits(reused[key], fresh[key]), `${key}: the same values as a fresh copy`);
    }
    assert.equal(reused.step, fresh.step);
    const params = new Float32Array(L.numParams);
    assert.equal(model.getParams(params), params);
    assert.ok(sameBits(params, fresh.params), 'getParams(into): the same values as a fresh copy');
    model.trainBatch(batch);   // the state moves on: a copy written before the refusal would show
    const kept = { params: earlier.params.slice(), m: earlier.m.slice() };
    assert.throws(() => model.getState({ ...earlier, v: new Float32Array(5) }), /a state to copy into needs v as a Float32Array of \d+ values, got 5/);
    for (const key of ['params', 'm']) assert.ok(sameBits(earlier[key], kept[key]), `a refused copy writes nothing (${key})`);
    assert.throws(() => model.getParams(new Float32Array(5)), /slice of \d+ values into an array of 5/);
    model.free();
  });
});
