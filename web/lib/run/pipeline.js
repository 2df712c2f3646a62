// One run, written once for `make train`, `make figures`, `make pretrained`, `make quality`, the
// page's trainer worker and the tests: options -> split -> the model (or its data-parallel replicas)
// -> a trainer that owns its loss history -> evaluation -> metadata. Callers drive the batches and
// show progress their own way; every step in between is here.
import { LabError } from '../latent-lab.js';
import { threadsUnavailable } from '../threads.js';
import { DATASETS } from '../data/datasets.js';
import { splitDataset, subset } from '../data/split.js';
import { modelMetadata } from '../model-io.js';
import { evaluateRun } from './evaluate.js';
import { LossHistory } from './loss-history.js';
import { MIXTURES } from './mixture.js';
import { effectiveDeskew } from './options.js';
import { ParallelModel } from './parallel.js';
import { ThreadedModel } from './threaded.js';
import { Trainer, trainingIndices } from './trainer.js';

// A user's data without a test set: this share of its images, seeded, is held out for testing.
export const HOLD_OUT = 0.1;

// The split a run trains on, and its options as they apply to that data (resolved options in, a copy
// out: deskew 'auto' resolved; unlabelled data, which has no labelled images to start a labelled
// mixture from, takes kmeans-10 unless a k-means++ variant was chosen).
// source: { builtin: { train, test } } for a built-in dataset's classes (options.dataset, options.digits),
// or { data: { train, test?, classes?, mixtureChosen? } } for a user's data (the few-shot split of splitDataset; without a test
// set, a seeded HOLD_OUT share of the training images).
export function makeSplit(options, { builtin = null, data = null }) {
  const o = { ...options };
  if (data) {
    o.deskew = effectiveDeskew(o, true);
    const split = splitDataset({ train: data.train, test: data.test ?? null, classes: data.classes ?? null,
      valPerClass: o.valPerClass, seed: o.seed, holdOut: HOLD_OUT, deskew: o.deskew });
    if (!(split.labelled || data.mixtureChosen || MIXTURES[o.mixture].init === 'kmeans++')) o.mixture = 'kmeans-10';
    return { split, options: o };
  }
  if (!builtin) throw new LabError('a run needs a built-in dataset or a user\'s data to split');
  o.deskew = effectiveDeskew(o, false);
  return { split: splitDataset({ ...builtin, classes: o.digits, valPerClass: o.valPerClass, seed: o.seed, deskew: o.deskew,
    noun: DATASETS[o.dataset].noun }), options: o };
}

// Data-parallel replicas of a model with this seed and these hyperparameters (a ParallelModel over
// `workers` workers that spawn() starts; url: the wasm file, for Node). Run.create makes them for a
// run; the bench makes bare ones to time.
export function createReplicas({ workers, seed, hyper, build, url, spawn }) {
  return ParallelModel.create({ workers, seed, hyper, build, url, spawn });
}

// How a run trains on several workers: 'threads' (one model, its GEMMs shared over one shared
// memory: the bits of one worker) or 'replicas' (a model per worker, gradients exchanged: the same
// bits for the same N); 'auto' takes threads where they can run, else replicas.
const PARALLELISM = ['auto', 'threads', 'replicas'];

// The parallel model of a run on `workers` workers: { parallel, kind, note }. threads: { spawn, url }
// for pool helpers (threads.js), replicas: { spawn, url } for replica workers (either may be absent).
// A kind that was asked for by name and cannot start throws; 'auto' says why it fell back in note.
async function startParallel({ workers, parallelism, threads, replicas, seed, hyper, build, params }) {
  if (!PARALLELISM.includes(parallelism)) throw new LabError(`parallelism must be one of ${PARALLELISM.join(', ')}, got "${parallelism}"`);
  let why = null;
  if (parallelism !== 'replicas') {
    why = !threads ? 'this environment cannot start pool helpers' : threadsUnavailable();
    if (!why) {
      try {
        return { parallel: await ThreadedModel.create({ threads: workers, spawn: threads.spawn, url: threads.url, seed, hyper, params }),
          kind: 'threads', note: null };
      } catch (error) {
        why = error.message;
      }
    }
    if (parallelism === 'threads') throw new LabError(`cannot train on ${workers} threads: ${why}`);
  }
  if (!replicas) throw new LabError(`cannot start ${workers} training workers here${why ? ` (threads: ${why})` : ''}`);
  const parallel = await createReplicas({ workers, seed, hyper, build, url: replicas.url, spawn: replicas.spawn });
  try {
    if (params) await parallel.setParams(params);
  } catch (error) {
    parallel.terminate();
    throw error;
  }
  return { parallel, kind: 'replicas', note: why ? `threads are not available (${why}): training on ${workers} replicas` : null };
}

// A run: the split, this thread's model (for evaluation and saving), the parallel model when
// workers > 1 (threads or replicas), the Trainer and the LossHistory it feeds. Create with
// Run.create; free() when done.
export class Run {
  // lab: this thread's Lab. options: resolved (makeSplit's). split: makeSplit's.
  // model: a model to start from (a loaded one, now the run's); else a fresh one from the seed.
  // workers > 1: threads (threads: { spawn, url } for the pool's helpers) or replicas (spawn, url for
  // the replica workers), as `parallelism` says. fallbackToOne: where neither can start, train on
  // this thread with a note (the page) rather than throw (the tools). dataName: a user's data's name
  // for the metadata (MNIST runs name digits). train: false for a model that is only evaluated
  // (make train --epochs 0): its trainer has no epochs.
  static async create(lab, options, { split, model = null, workers = 1, spawn = null, url, threads = null, parallelism = 'auto',
    fallbackToOne = false, dataName = null, train = true }) {
    const loaded = model !== null;
    model ??= lab.createModel({ seed: options.seed });
    if (!train) workers = 1;
    let parallel = null, kind = null, note = null;
    if (workers > 1) {
      try {
        ({ parallel, kind, note } = await startParallel({ workers, parallelism, threads, replicas: spawn ? { spawn, url } : null,
          seed: options.seed, hyper: model.hyper, build: lab.kind, params: loaded ? model.getParams() : null }));
      } catch (error) {
        if (!fallbackToOne) { model.free(); throw error; }
        note = `${error.message}: training on one core`;
      }
    }
    try {
      const run = new Run({ lab, options, split, model, parallel, workers: parallel ? workers : 1, note, dataName });
      run.parallelism = kind ?? 'one';
      if (!train) run.trainer.epochs = 0;   // done before it starts: straight to the evaluation
      return run;
    } catch (error) {
      parallel?.terminate();
      model.free();
      throw error;
    }
  }

  constructor({ lab, options, split, model, parallel, workers, note, dataName }) {
    Object.assign(this, { lab, options, split, model, parallel, workers, note, dataName });
    this.trainer = new Trainer(parallel ?? model, split.train, options);   // sets lr and the KL weight
    this.history = new LossHistory();
  }

  // Trains one batch (a report of Trainer.next()), kept in the loss history.
  async next() {
    const report = await this.trainer.next();
    this.history.add(report);
    return report;
  }

  // The replicas' parameters and hyperparameters (or this thread's model's), copied into this
  // thread's model; returns the parameters (a copy the caller may transfer), in `into`'s memory when
  // given (a Float32Array of every parameter; the caller's own array, or, from replicas, its buffer
  // sent back).
  async syncParams(into = null) {
    if (!this.model) throw new LabError('the run was freed');
    if (!this.parallel) return this.model.getParams(into);
    const params = await this.parallel.getParams(into);
    if (!this.model) throw new LabError('the run was freed');
    this.model.setParams(params);
    this.model.setHyper(this.parallel.hyper);
    return params;
  }

  // The split a limited run is evaluated on by the page: the training images it trained on (a short
  // run's mixture is fitted in a moment); the tools measure every training image of its classes.
  get trainedSplit() {
    return trainedSubset(this.split, this.options);
  }

  // The report's evaluation (evaluateRun) of the model as it is now, on every training image of its
  // classes. The caller frees result.mixture.
  async evaluate() {
    await this.syncParams();
    return evaluateRun(this.lab, this.model, this.split, this.options);
  }

  // The metadata the model is saved with: the settings, the metrics, the loss history (when trained
  // here), the mixture's JSON document and extra keys, then, for a user's data, its name and classes
  // instead of MNIST's digits. Nothing that varies from run to run: the same run saves the same bytes.
  metadata({ epochs = this.trainer.epoch, metrics = null, mixture = null, history = true, extra = {} } = {}) {
    const metadata = modelMetadata({ options: this.options, epochs, metrics, mixture, history: history ? this.history : null,
      extra: { limit: this.options.limit, train_images: this.trainer.n, ...extra } });
    if (this.dataName !== null) {
      // A user's files are no built-in dataset, whatever the options' dataset says.
      delete metadata.digits;
      delete metadata.dataset;
      Object.assign(metadata, { data: this.dataName, classes: this.split.classes ? this.split.classes.join(',') : 'unlabelled' });
    }
    return metadata;
  }

  free() {
    this.parallel?.terminate();
    this.parallel = null;
    this.model?.free();
    this.model = null;
  }
}

// The training images a limited model was trained on (its seed and limit), as a run picks them.
export function trainedSubset(split, { seed, limit }) {
  if (!(limit > 0)) return split;
  return { ...split, train: subset(split.train, Array.from(trainingIndices(split.train.n, seed, limit))) };
}
