// Data-parallel training over N workers (Web Workers in a page, worker threads in Node). Each batch
// is cut into N contiguous shares; every worker computes the gradient of its share (scaled by
// 1/batch, its noise drawn for the images' places in the whole batch), the gradients are summed in
// a fixed order, and every replica takes the same Adam step. So N workers train the model one
// would, up to float summation order, and the same seed with the same N gives the same bits.
import { LabError, PIXELS } from './latent-lab.js';

// Node's Worker has .on('message'); a browser's has .onmessage. One shape for both.
function adapt(worker) {
  const listen = (fn) => (worker.on ? worker.on('message', fn) : (worker.onmessage = (event) => fn(event.data)));
  return { post: (message, transfer = []) => worker.postMessage(message, transfer), listen, terminate: () => worker.terminate() };
}

class Replica {
  constructor(worker) {
    this.worker = adapt(worker);
    this.pending = new Map();
    this.nextId = 1;
    this.worker.listen((message) => {
      const request = this.pending.get(message.id);
      if (!request) return;
      this.pending.delete(message.id);
      if (message.type === 'error') request.reject(new LabError(message.message));
      else request.resolve(message);
    });
    worker.on?.('error', (error) => this.#failAll(error));
    if (!worker.on) worker.onerror = (event) => this.#failAll(new LabError(event.message ?? 'worker failed'));
  }

  #failAll(error) {
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
  }

  request(message, transfer) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.post({ ...message, id }, transfer);
    });
  }
}

// spawn() returns a new worker running grad-worker.js. Implements the model's training surface
// (setHyper, trainBatch, getParams, setParams) asynchronously.
export class ParallelModel {
  static async create({ workers, spawn, seed, hyper, build = 'auto', url, params }) {
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new LabError(`workers must be 1..64, got ${workers}`);
    const replicas = Array.from({ length: workers }, () => new Replica(spawn()));
    const model = new ParallelModel(replicas, hyper);
    try {
      const ready = await Promise.all(replicas.map((r) => r.request({ type: 'init', build, url, seed, hyper, params })));
      model.kind = ready[0].kind;
    } catch (error) {
      model.terminate();
      throw error;
    }
    return model;
  }

  constructor(replicas, hyper) {
    this.replicas = replicas;
    this.hyper = { ...hyper };
  }

  get workers() {
    return this.replicas.length;
  }

  // Takes effect for the next trainBatch even if not awaited: each worker handles messages in order.
  setHyper(changes) {
    this.hyper = { ...this.hyper, ...changes };
    return Promise.all(this.replicas.map((r) => r.request({ type: 'hyper', hyper: this.hyper })));
  }

  // One Adam step on images (Float32Array n*784): per-image means { loss, bce, kl } like VaeModel's.
  async trainBatch(images) {
    const n = images.length / PIXELS;
    if (!Number.isInteger(n) || n < 1) throw new LabError(`expected a non-empty multiple of ${PIXELS} values`);
    const shareSize = Math.ceil(n / this.replicas.length);
    const jobs = [];
    for (let w = 0, first = 0; first < n; w++, first += shareSize) {
      const count = Math.min(shareSize, n - first);
      const share = images.slice(first * PIXELS, (first + count) * PIXELS);
      jobs.push(this.replicas[w].request({ type: 'grad', images: share, firstIndex: first, scale: 1 / n }, [share.buffer]));
    }
    const results = await Promise.all(jobs);
    // Fixed order: replica 0's gradient, plus replica 1's, ...
    const sum = results[0].grads;
    let bce = results[0].sums.bce, klRaw = results[0].sums.klRaw;
    for (let w = 1; w < results.length; w++) {
      const g = results[w].grads;
      for (let i = 0; i < sum.length; i++) sum[i] += g[i];
      bce += results[w].sums.bce;
      klRaw += results[w].sums.klRaw;
    }
    await Promise.all(this.replicas.map((r, w) => {
      const grads = w === this.replicas.length - 1 ? sum : sum.slice();
      return r.request({ type: 'step', grads }, [grads.buffer]);
    }));
    return { loss: (bce + this.hyper.beta * klRaw) / n, bce: bce / n, kl: 0.5 * klRaw / n };
  }

  async getParams() {
    return (await this.replicas[0].request({ type: 'params' })).params;
  }

  async setParams(params, options = {}) {
    await Promise.all(this.replicas.map((r) => r.request({ type: 'set-params', params, ...options })));
  }

  // The training state (parameters, Adam's moments and step count) of the replicas, all identical.
  async getState() {
    return (await this.replicas[0].request({ type: 'state' })).state;
  }

  async setState(state) {
    await Promise.all(this.replicas.map((r) => r.request({ type: 'set-state', state })));
  }

  terminate() {
    for (const r of this.replicas) r.worker.terminate();
  }
}
