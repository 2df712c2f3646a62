// The training loop, one batch per next() call (so a worker can pause between batches): the epoch
// shuffles, the warm-ups of beta and the learning rate, and rollback to a snapshot when a step is refused.
import { LabError, PIXELS, STATUS } from '../latent-lab.js';
import { makeRng, permutation } from '../rng.js';
import { gatherFloats } from '../data/images.js';
import { klWeight } from './options.js';

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
      // The new snapshot is copied into the old one's arrays (replicas: they travel there and back), so
      // the old one is gone from here on, whether or not the copy succeeds.
      const arrays = this.snapshot?.state;
      this.snapshot = null;
      return then(this.model.getState(arrays), (state) => {
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
    gatherFloats(this.set.images, this.order.subarray(start, start + count), images);
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
      if (!(error instanceof LabError) || error.status !== STATUS.ENONFINITE) throw error;
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
