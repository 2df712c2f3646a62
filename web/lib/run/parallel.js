// Data-parallel training over N workers (Web Workers in a page, worker threads in Node). Each batch
// is cut into N contiguous shares; every worker computes the gradient of its share (scaled by
// 1/batch, its noise drawn for the images' places in the whole batch). The parameters are cut into
// N slices too, one per worker: each worker sums its slice of every worker's gradient (in worker
// order: worker 0's, plus worker 1's, ...), takes the Adam step of that slice alone, and sends the
// new values of its slice to the others. So N workers train the model one would, up to float
// summation order, and the same seed with the same N gives the same bits. The slices travel between
// the workers over their own message channels, never through this thread, and no thread handles a
// whole gradient (summing it here cost more than a tenth of a 2-worker step). The three big linear
// weights (90% of the parameters) are the exception: their gradients are products of two thin
// factors, so the workers exchange the factors of their images (28 KB an image) instead, and each
// forms those weights' gradients over its own slice from the whole batch's factors (src/vae.c).
import { LabError, PIXELS, STATUS } from '../latent-lab.js';
import { RpcClient } from '../rpc.js';

// One replica's worker: an RpcClient that also refuses what is pending when the worker fails.
function replica(worker) {
  const rpc = new RpcClient(worker);
  const fail = (error) => rpc.failAll(error instanceof Error ? error : new LabError(error?.message ?? 'a training worker failed'));
  if (worker.on) worker.on('error', fail);
  else worker.addEventListener('error', fail);
  return rpc;
}

// The slice of the flat parameter buffer that worker w of n owns: [start, end), starts multiples of 4.
export function paramSlices(numParams, workers) {
  const bounds = Array.from({ length: workers + 1 }, (_, w) => (w === workers ? numParams : 4 * Math.round((w * numParams) / workers / 4)));
  return Array.from({ length: workers }, (_, w) => [bounds[w], bounds[w + 1]]);
}

// The stretches of [start, end) outside the given ranges (sorted, disjoint): the part of a worker's
// slice whose gradients travel as values, not factors.
export function outside([start, end], ranges) {
  const stretches = [];
  let at = start;
  for (const [a, b] of ranges) {
    if (b <= at || a >= end) continue;
    if (a > at) stretches.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < end) stretches.push([at, end]);
  return stretches;
}

// The gradient values of the stretches, one after the other: their count, gathered from a model into
// one array, and such an array added into the model's gradient.
export const stretchesLength = (stretches) => stretches.reduce((n, [a, b]) => n + b - a, 0);
export function gatherGrads(model, stretches, into) {
  let at = 0;
  for (const [a, b] of stretches) {
    model.gradSlice(a, b, into.subarray(at, at + b - a));
    at += b - a;
  }
  return into;
}
export function addGradStretches(model, stretches, values) {
  let at = 0;
  for (const [a, b] of stretches) {
    model.addGrads(a, values.subarray(at, at + b - a));
    at += b - a;
  }
}

// spawn() returns a new worker running web/workers/grad.js. Implements the model's training surface
// (setHyper, trainBatch, getParams, setParams) asynchronously.
export class ParallelModel {
  static async create({ workers, spawn, seed, hyper, build = 'auto', url, params }) {
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new LabError(`workers must be 1..64, got ${workers}`);
    const replicas = Array.from({ length: workers }, () => replica(spawn()));
    const model = new ParallelModel(replicas, hyper);
    // A channel between every two workers: peers[w][v] is worker w's end of its channel to worker v.
    const peers = replicas.map(() => new Array(workers).fill(null));
    for (let w = 0; w < workers; w++) {
      for (let v = w + 1; v < workers; v++) {
        const channel = new MessageChannel();
        peers[w][v] = channel.port1;
        peers[v][w] = channel.port2;
      }
    }
    try {
      const ready = await Promise.all(replicas.map((r, index) =>
        r.request('init', { build, url, seed, hyper, params, index, workers, peers: peers[index] }, peers[index].filter(Boolean))));
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
    return Promise.all(this.replicas.map((r) => r.request('hyper', { hyper: this.hyper })));
  }

  // One Adam step on images (Float32Array n*784): per-image means { loss, bce, kl } like VaeModel's.
  async trainBatch(images) {
    const n = images.length / PIXELS;
    if (!Number.isInteger(n) || n < 1) throw new LabError(`expected a non-empty multiple of ${PIXELS} values`);
    const workers = this.replicas.length, shareSize = Math.ceil(n / workers);
    const firsts = this.replicas.map((r, w) => Math.min(w * shareSize, n));
    const counts = firsts.map((first) => Math.min(shareSize, n - first));
    // 1. Each worker: the gradient of its share (a worker past the end of a short batch has none),
    //    its slices and factors to their owners, the sum of its own slice, and whether it is finite.
    const results = await Promise.all(this.replicas.map((r, w) => {
      const share = counts[w] > 0 ? images.slice(firsts[w] * PIXELS, (firsts[w] + counts[w]) * PIXELS) : null;
      return r.request('grad', { images: share, firstIndex: firsts[w], counts, scale: 1 / n }, share ? [share.buffer] : []);
    }));
    let bce = 0, klRaw = 0;
    for (const result of results) {
      bce += result.sums.bce;
      klRaw += result.sums.klRaw;
    }
    // 2. All or none: each worker steps its slice and takes the others' new values.
    if (!results.every((result) => result.finite)) {
      throw new LabError('a gradient is not finite: the step was skipped; lower the learning rate', STATUS.ENONFINITE);
    }
    await Promise.all(this.replicas.map((r) => r.request('step')));
    return { loss: (bce + this.hyper.beta * klRaw) / n, bce: bce / n, kl: 0.5 * klRaw / n };
  }

  // into: an array of the caller's (a state's arrays for getState) that travels to the first replica
  // to be filled and back, instead of a fresh one (see VaeModel.getParams).
  async getParams(into = null) {
    return this.replicas[0].request('params', { into }, into ? [into.buffer] : []);
  }

  async setParams(params, options = {}) {
    await Promise.all(this.replicas.map((r) => r.request('set-params', { params, ...options })));
  }

  // The training state (parameters, Adam's moments and step count) of the replicas, all identical.
  async getState(into = null) {
    return this.replicas[0].request('state', { into }, into ? [into.params.buffer, into.m.buffer, into.v.buffer] : []);
  }

  async setState(state) {
    await Promise.all(this.replicas.map((r) => r.request('set-state', { state })));
  }

  terminate() {
    for (const r of this.replicas) {
      r.target.terminate();
      r.failAll(new LabError('the training workers were stopped'));
    }
  }
}
