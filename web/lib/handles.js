// The objects a Lab makes, each a handle on its C counterpart in the wasm module: the VAE (VaeModel:
// train, encode, decode, parameters in and out) and the Gaussian mixture (Mixture: EM and its
// history, prediction). Their buffers cross into wasm through the Lab's scoped helpers.
import { LabError, PIXELS, LATENT } from './latent-lab.js';

// Points are Float32Array(n * d); labels are class indices 0..C-1.
export class Mixture {
  constructor(lab, handle, k, d) {
    this.lab = lab;
    this.handle = handle;
    this.k = k;
    this.d = d;
  }

  #live() {
    if (!this.handle) throw new LabError('this mixture has been freed');
    return this.handle;
  }

  #count(x) {
    if (!(x instanceof Float32Array) || x.length === 0 || x.length % this.d !== 0) {
      throw new LabError(`expected a non-empty Float32Array of ${this.d}-D points`);
    }
    return x.length / this.d;
  }

  free() {
    if (this.handle) this.lab.x.ll_gmm_free(this.handle);
    this.handle = 0;
  }

  // The authors' few-shot start: component means at the labelled points' class means, identity
  // covariances, equal weights (k / nClasses components per class).
  initLabelled(x, y, nClasses) {
    const n = this.#count(x);
    this.lab.scoped(({ input }) =>
      this.lab.check(this.lab.x.ll_gmm_init_labelled(this.#live(), input(x), input(Int32Array.from(y)), n, nClasses)));
  }

  initKmeansPlusPlus(x, seed = 0) {
    const n = this.#count(x);
    this.lab.scoped(({ input }) => this.lab.check(this.lab.x.ll_gmm_init_kmeanspp(this.#live(), input(x), n, seed)));
  }

  initParams({ weights, means, covs }) {
    this.lab.scoped(({ input }) => this.lab.check(this.lab.x.ll_gmm_init_params(this.#live(),
      input(Float32Array.from(weights)), input(Float32Array.from(means)), input(Float32Array.from(covs)))));
  }

  // Semi-supervised EM: these points keep responsibilities fixed to their class. Empty x clears.
  setLabelled(x, y, nClasses) {
    if (!x || x.length === 0) return void this.lab.check(this.lab.x.ll_gmm_set_labelled(this.#live(), 0, 0, 0, nClasses));
    const n = this.#count(x);
    this.lab.scoped(({ input }) =>
      this.lab.check(this.lab.x.ll_gmm_set_labelled(this.#live(), input(x), input(Int32Array.from(y)), n, nClasses)));
  }

  step(x) {
    const n = this.#count(x);
    this.lab.scoped(({ input }) => this.lab.check(this.lab.x.ll_gmm_step(this.#live(), input(x), n)));
  }

  // EM until maxIter iterations or the mean per-point log-likelihood gains less than tol. Returns iterations run.
  fit(x, { maxIter = 50, tol = 1e-3 } = {}) {
    const n = this.#count(x);
    return this.lab.scoped(({ input }) => this.lab.check(this.lab.x.ll_gmm_fit(this.#live(), input(x), n, maxIter, tol)));
  }

  get historyLength() {
    return this.lab.x.ll_gmm_history_len(this.#live());
  }

  componentClass(j) {
    return this.lab.x.ll_gmm_component_class(this.#live(), j);
  }

  // Which class each component predicts (k entries).
  get componentClasses() {
    return Array.from({ length: this.k }, (_, j) => this.componentClass(j));
  }

  set componentClasses(classes) {
    if (classes.length !== this.k) throw new LabError(`expected ${this.k} component classes, got ${classes.length}`);
    this.lab.scoped(({ input }) =>
      this.lab.check(this.lab.x.ll_gmm_set_component_classes(this.#live(), input(Int32Array.from(classes)))));
  }

  // Iteration t's { weights (k), means (k*d), covs (k*d*d), loglik, objective }; entry 0 is the start.
  snapshot(t) {
    const { k, d } = this;
    return this.lab.scoped(({ alloc }) => {
      const w = alloc(k * 4), mu = alloc(k * d * 4), cov = alloc(k * d * d * 4), ll = alloc(16);
      this.lab.check(this.lab.x.ll_gmm_get(this.#live(), t, w, mu, cov, ll));
      const [loglik, objective] = this.lab.read(Float64Array, ll, 2);
      return { weights: this.lab.read(Float32Array, w, k), means: this.lab.read(Float32Array, mu, k * d),
        covs: this.lab.read(Float32Array, cov, k * d * d), loglik, objective };
    });
  }

  history() {
    return Array.from({ length: this.historyLength }, (_, t) => this.snapshot(t));
  }

  // Under the latest parameters: { component, classIndex } (Int32Array(n)) and responsibilities (n * k).
  predict(x) {
    const n = this.#count(x);
    return this.lab.scoped(({ alloc, input }) => {
      const comp = alloc(n * 4), cls = alloc(n * 4), resp = alloc(n * this.k * 4);
      this.lab.check(this.lab.x.ll_gmm_predict(this.#live(), input(x), n, comp, cls, resp));
      return { component: this.lab.read(Int32Array, comp, n), classIndex: this.lab.read(Int32Array, cls, n),
        resp: this.lab.read(Float32Array, resp, n * this.k) };
    });
  }
}

// Images are Float32Array(n * 784) with pixels in [0, 1]; latent points Float32Array(n * 2).
export class VaeModel {
  constructor(lab, handle, seed) {
    this.lab = lab;
    this.handle = handle;
    this.seed = seed;
    this.hyper = { lr: 3e-4, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  }

  #live() {
    if (!this.handle) throw new LabError('this model has been freed');
    return this.handle;
  }

  #count(images, per) {
    if (!(images instanceof Float32Array)) throw new LabError('expected a Float32Array');
    if (images.length === 0 || images.length % per !== 0) {
      throw new LabError(`expected a non-empty multiple of ${per} values, got ${images.length}`);
    }
    return images.length / per;
  }

  free() {
    if (this.handle) this.lab.x.ll_vae_free(this.handle);
    this.handle = 0;
  }

  // A ThreadPool of this model's Lab whose threads share its GEMMs and Adam step (null: none). The
  // model computes the same bits either way.
  setPool(pool) {
    if (pool && pool.lab !== this.lab) throw new LabError('a model can only use a pool of its own Lab');
    this.lab.check(this.lab.x.ll_vae_set_pool(this.#live(), pool ? pool.handle : 0));
  }

  // Partial updates allowed: setHyper({ lr: 1e-3 }). Nothing changes if any value is rejected.
  setHyper(changes) {
    const next = { ...this.hyper, ...changes };
    for (const [key, value] of Object.entries(next)) {
      if (typeof value !== 'number') throw new LabError(`${key} must be a number, got ${typeof value}`);
    }
    this.lab.check(this.lab.x.ll_vae_set_hyper(this.#live(), next.lr, next.beta, next.beta1, next.beta2, next.eps));
    this.hyper = next;
  }

  get stepCount() {
    return this.lab.x.ll_vae_step_count(this.#live());
  }

  // One Adam step on a batch; per-image means { loss, bce, kl } (kl is the usual KL, with the 1/2).
  trainBatch(images) {
    const n = this.#count(images, PIXELS);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(12);
      this.lab.check(this.lab.x.ll_vae_train_batch(this.#live(), input(images), n, out));
      const [loss, bce, kl] = this.lab.read(Float32Array, out, 3);
      return { loss, bce, kl };
    });
  }

  zeroGrad() {
    this.lab.x.ll_vae_zero_grad(this.#live());
  }

  // grads += scale * gradient of this share of a batch (images firstIndex.. of it). Returns loss sums.
  accumulateGrad(images, firstIndex, scale) {
    const n = this.#count(images, PIXELS);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(16);
      this.lab.check(this.lab.x.ll_vae_accumulate_grad(this.#live(), input(images), n, firstIndex, scale, out));
      const [bce, klRaw] = this.lab.read(Float64Array, out, 2);
      return { bce, klRaw };
    });
  }

  // A data-parallel share whose largest gradients travel as factors (src/vae.c): every gradient but
  // the factored weights' (lab.factoredRanges) set to scale * this share's, and the share's factors
  // written into `factors` (a Float32Array of n * lab.factorFloats).
  shareGrad(images, firstIndex, scale, factors) {
    const n = this.#count(images, PIXELS);
    if (!(factors instanceof Float32Array) || factors.length !== n * this.lab.factorFloats) {
      throw new LabError(`factors: expected a Float32Array of ${n * this.lab.factorFloats} values, got ${factors?.length}`);
    }
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(16), f = alloc(factors.byteLength);
      this.lab.check(this.lab.x.ll_vae_share_grad(this.#live(), input(images), n, firstIndex, scale, out, f));
      factors.set(new Float32Array(this.lab.memory.buffer, f, factors.length));
      const [bce, klRaw] = this.lab.read(Float64Array, out, 2);
      return { bce, klRaw };
    });
  }

  // The factored weights' gradients within parameters [i0, i1), from the factors of all k images of
  // the batch in order (the shares' factors one after the other). Written, not added.
  factoredWeightGrads(factors, k, i0, i1) {
    if (!(factors instanceof Float32Array) || factors.length !== k * this.lab.factorFloats) {
      throw new LabError(`factors: expected a Float32Array of ${k * this.lab.factorFloats} values, got ${factors?.length}`);
    }
    this.lab.scoped(({ input }) =>
      this.lab.check(this.lab.x.ll_vae_factored_weight_grads(this.#live(), input(factors), k, i0, i1)));
  }

  getGrads() {
    return this.lab.read(Float32Array, this.lab.x.ll_vae_grads(this.#live()), this.lab.numParams);
  }

  // Not checked for finiteness: a test marks with NaN what no pass should leave unwritten, and a
  // training step refuses a non-finite gradient on the C side (ll_vae_train_batch, grads_finite_range).
  setGrads(grads) {
    this.#writeBlock(this.lab.x.ll_vae_grads(this.#live()), grads, 'gradients', { checkFinite: false });
  }

  // Sliced data-parallel pieces (web/lib/run/parallel.js): parameters [i0, i1) of the flat buffer,
  // copied into `into` (a Float32Array of i1 - i0 values, reused to spare a fresh allocation) or a new array.
  gradSlice(i0, i1, into) {
    return this.#copySlice(this.lab.x.ll_vae_grads(this.#live()), i0, i1, into);
  }

  // grads[i0 + j] += values[j], in wasm (f32x4).
  addGrads(i0, values) {
    this.lab.scoped(({ input }) => this.lab.check(this.lab.x.ll_vae_add_grads(this.#live(), i0, input(values), values.length)));
  }

  gradsFinite(i0, i1) {
    return this.lab.check(this.lab.x.ll_vae_grads_finite_range(this.#live(), i0, i1)) === 1;
  }

  // The Adam step of parameters [i0, i1) only; the step count advances as for a whole step.
  adamStepRange(i0, i1) {
    this.lab.check(this.lab.x.ll_vae_adam_step_range(this.#live(), i0, i1));
  }

  paramSlice(i0, i1, into) {
    return this.#copySlice(this.lab.x.ll_vae_params(this.#live()), i0, i1, into);
  }

  #copySlice(pointer, i0, i1, into) {
    if (!(i0 >= 0 && i0 <= i1 && i1 <= this.lab.numParams)) throw new LabError(`parameter slice [${i0}, ${i1}) outside [0, ${this.lab.numParams})`);
    const view = new Float32Array(this.lab.memory.buffer, pointer + 4 * i0, i1 - i0);
    if (!into) return view.slice();
    if (into.length !== view.length) throw new LabError(`slice of ${view.length} values into an array of ${into.length}`);
    into.set(view);
    return into;
  }

  // Parameters [i0, i0 + values.length) from another replica's step (finite: it checked them).
  setParamSlice(i0, values) {
    if (!(values instanceof Float32Array) || i0 < 0 || i0 + values.length > this.lab.numParams) {
      throw new LabError(`parameter slice at ${i0} of ${values?.length} values does not fit ${this.lab.numParams}`);
    }
    new Float32Array(this.lab.memory.buffer, this.lab.x.ll_vae_params(this.#live()) + 4 * i0, values.length).set(values);
  }

  // A copy of every parameter, into `into` when given (a Float32Array of numParams, used again: in
  // Chromium the first touch of a fresh 10 MB array costs about 28 ms of page faults, the copy 0.4 ms).
  getParams(into = null) {
    return this.#copySlice(this.lab.x.ll_vae_params(this.#live()), 0, this.lab.numParams, into);
  }

  // Replaces every parameter; refused (model unchanged) if the size is wrong or a value is not finite.
  setParams(params, { resetOptimizer = true } = {}) {
    this.#writeBlock(this.lab.x.ll_vae_params(this.#live()), params, 'parameters');
    if (resetOptimizer) this.lab.x.ll_vae_reset_optimizer(this.handle);
  }

  // The whole training state: parameters, Adam's moments and step count (copies; into the arrays of
  // `into`, an earlier state, when given). A Trainer keeps one as its last good snapshot and rolls back
  // to it when a step diverges.
  getState(into = null) {
    const x = this.lab.x, n = this.lab.numParams, handle = this.#live();
    for (const key of into ? ['params', 'm', 'v'] : []) {   // all checked before any is written
      if (!(into[key] instanceof Float32Array && into[key].length === n)) {
        throw new LabError(`a state to copy into needs ${key} as a Float32Array of ${n} values, got ${into[key]?.length}`);
      }
    }
    return { params: this.getParams(into?.params), m: this.#copySlice(x.ll_vae_adam_m(handle), 0, n, into?.m),
      v: this.#copySlice(x.ll_vae_adam_v(handle), 0, n, into?.v), step: this.stepCount };
  }

  // Restores a getState(); refused, with the model unchanged, if a block has the wrong size or a value
  // that is not finite.
  setState({ params, m, v, step }) {
    const x = this.lab.x, handle = this.#live();
    for (const [what, values] of [['parameters', params], ['Adam m', m], ['Adam v', v]]) {
      if (!(values instanceof Float32Array) || values.length !== this.lab.numParams) {
        throw new LabError(`${what}: expected a Float32Array of ${this.lab.numParams} values, got ${values?.length}`);
      }
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new LabError(`${what}: value ${i} is not finite`);
    }
    if (!(Number.isSafeInteger(step) && step >= 0)) throw new LabError(`Adam step count must be a whole number >= 0, got ${step}`);
    this.lab.check(x.ll_vae_set_step_count(handle, step));
    this.#writeBlock(x.ll_vae_params(handle), params, 'parameters', { checkFinite: false });
    this.#writeBlock(x.ll_vae_adam_m(handle), m, 'Adam m', { checkFinite: false });
    this.#writeBlock(x.ll_vae_adam_v(handle), v, 'Adam v', { checkFinite: false });
  }

  #writeBlock(pointer, values, what, { checkFinite = true } = {}) {
    if (!(values instanceof Float32Array) || values.length !== this.lab.numParams) {
      throw new LabError(`${what}: expected a Float32Array of ${this.lab.numParams} values, got ${values?.length}`);
    }
    for (let i = 0; checkFinite && i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new LabError(`${what}: value ${i} is not finite`);
    }
    new Float32Array(this.lab.memory.buffer, pointer, values.length).set(values);
  }

  // The encoder's mean and log-variance for each image: { mu, logvar }, each Float32Array(n * 2).
  encode(images) {
    const n = this.#count(images, PIXELS);
    return this.lab.scoped(({ alloc, input }) => {
      const mu = alloc(n * 8), logvar = alloc(n * 8);
      this.lab.check(this.lab.x.ll_vae_encode(this.#live(), input(images), n, mu, logvar));
      return { mu: this.lab.read(Float32Array, mu, n * 2), logvar: this.lab.read(Float32Array, logvar, n * 2) };
    });
  }

  // Pixel probabilities, Float32Array(n * 784), for latent points z (n * 2).
  decode(z) {
    const n = this.#count(z, LATENT);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(n * PIXELS * 4);
      this.lab.check(this.lab.x.ll_vae_decode(this.#live(), input(z), n, out));
      return this.lab.read(Float32Array, out, n * PIXELS);
    });
  }

  // Decoded from the mean code, or from one sampled code with sample = true.
  reconstruct(images, { sample = false } = {}) {
    const n = this.#count(images, PIXELS);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(n * PIXELS * 4);
      this.lab.check(this.lab.x.ll_vae_reconstruct(this.#live(), input(images), n, sample ? 1 : 0, out));
      return this.lab.read(Float32Array, out, n * PIXELS);
    });
  }

  // Per-image means { loss, bce, kl } with one sampled code per image, as in training.
  evaluate(images, firstIndex = 0) {
    const n = this.#count(images, PIXELS);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(12);
      this.lab.check(this.lab.x.ll_vae_evaluate(this.#live(), input(images), n, firstIndex, out));
      const [loss, bce, kl] = this.lab.read(Float32Array, out, 3);
      return { loss, bce, kl };
    });
  }

  // The same with the caller's noise eps (n * 2) in z = mu + e^(logvar/2) * eps, to compare implementations.
  evaluateWithNoise(images, eps) {
    const n = this.#count(images, PIXELS);
    if (!(eps instanceof Float32Array) || eps.length !== n * LATENT) throw new LabError(`expected ${n * LATENT} noise values`);
    return this.lab.scoped(({ alloc, input }) => {
      const out = alloc(12);
      this.lab.check(this.lab.x.ll_vae_evaluate_eps(this.#live(), input(images), input(eps), n, out));
      const [loss, bce, kl] = this.lab.read(Float32Array, out, 3);
      return { loss, bce, kl };
    });
  }
}
