// A model trained by N threads over one shared memory (web/lib/threads.js): one model, in a Lab of
// the threads build, whose GEMMs and Adam step a pool's threads share. It offers the training
// surface a Trainer drives (setHyper, trainBatch, getParams, setParams, getState, setState), as
// ParallelModel's replicas do, but answers at once, and with the bits one thread would give.
import { loadLab } from '../latent-lab.js';
import { ThreadPool } from '../threads.js';

export class ThreadedModel {
  // threads: 2..16. spawn() starts a worker running web/workers/pool-helper.js. url: the threads
  // build's .wasm (Node); params: parameters to start from instead of the seed's.
  static async create({ threads, spawn, seed, hyper, url, params = null }) {
    const lab = await loadLab({ build: 'threads', url });
    const pool = await ThreadPool.start(lab, { threads, spawn });
    const model = lab.createModel({ seed });
    try {
      model.setHyper(hyper);
      if (params) model.setParams(params);
      model.setPool(pool);
    } catch (error) {
      model.free();
      await pool.stop();
      throw error;
    }
    return new ThreadedModel(model, pool);
  }

  constructor(model, pool) {
    this.model = model;
    this.pool = pool;
    this.kind = 'threads';
  }

  get workers() {
    return this.pool.threads;
  }

  get hyper() {
    return this.model.hyper;
  }

  setHyper(changes) {
    this.model.setHyper(changes);
  }

  trainBatch(images) {
    return this.model.trainBatch(images);
  }

  getParams(into) {
    return this.model.getParams(into);
  }

  setParams(params, options) {
    this.model.setParams(params, options);
  }

  getState(into) {
    return this.model.getState(into);
  }

  setState(state) {
    this.model.setState(state);
  }

  // Frees the model, then ends the helpers (a promise; nothing waits on it but tests).
  terminate() {
    if (!this.model.handle) return this.pool.stopped;
    this.model.free();
    return this.pool.stop();
  }
}
