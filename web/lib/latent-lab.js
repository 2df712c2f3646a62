// Loads latent-lab's wasm module (SIMD or scalar build of the same C) in a page, a worker or Node,
// and wraps its exported functions. Every buffer that crosses into wasm is copied in and out here,
// so callers only ever see typed arrays; a failed call throws a LabError with the C side's message.

// A minimal module using one v128 instruction: validates only where WASM SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

export const PIXELS = 784;
export const LATENT = 2;

export class LabError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'LabError';
    this.status = status;
  }
}

export function simdSupported() {
  return WebAssembly.validate(SIMD_PROBE);
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function readBytes(url) {
  if (isNode && (url.protocol === 'file:' || !url.protocol)) {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new LabError(`could not fetch ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// build: 'simd', 'scalar' or 'auto' (SIMD where the engine has it). url overrides where the .wasm is.
export async function loadLab({ build = 'auto', url } = {}) {
  const kind = build === 'auto' ? (simdSupported() ? 'simd' : 'scalar') : build;
  if (kind !== 'simd' && kind !== 'scalar') throw new LabError(`unknown build "${build}"`);
  const where = url ? new URL(url, import.meta.url) : new URL(`../wasm/latent-${kind}.wasm`, import.meta.url);
  const module = await WebAssembly.compile(await readBytes(where));
  // The module imports one hook (memory growth) and, from the C library, a few WASI calls it never
  // makes in practice; stubs answer them with ENOSYS.
  const imports = { env: { emscripten_notify_memory_growth() {} }, wasi_snapshot_preview1: {} };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'function' && !imports[imp.module]?.[imp.name]) {
      (imports[imp.module] ??= {})[imp.name] = () => 52;
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  instance.exports._initialize?.();
  return new Lab(instance.exports, kind, module);
}

export class Lab {
  constructor(exports, kind, module) {
    this.x = exports;
    this.kind = kind;
    this.module = module;
    this.tensors = this.#readTensorTable();
    this.numParams = this.x.ll_num_params();
    // Data-parallel shares (VaeModel.shareGrad): the weights whose gradients travel as factors, as
    // [start, end) ranges of the flat parameters, and the factor values one image contributes.
    this.factoredRanges = this.tensors.filter((t, i) => this.x.ll_vae_tensor_factored(i))
      .map((t) => [t.offset, t.offset + t.size]);
    this.factorFloats = this.x.ll_vae_factor_floats();
  }

  get memoryBytes() {
    return this.x.memory.buffer.byteLength;
  }

  // --- the copy-in / copy-out boundary ----------------------------------------------------------
  // Runs fn with a fresh allocator; everything it allocated is freed afterwards, whatever happens.
  scoped(fn) {
    const pointers = [];
    const alloc = (bytes) => {
      const p = this.x.malloc(Math.max(bytes, 16));
      if (!p) throw new LabError(`out of wasm memory allocating ${bytes} bytes`);
      pointers.push(p);
      return p;
    };
    const input = (array) => {
      const p = alloc(array.byteLength);
      new Uint8Array(this.x.memory.buffer, p, array.byteLength).set(
        new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      return p;
    };
    try {
      return fn({ alloc, input });
    } finally {
      for (const p of pointers) this.x.free(p);
    }
  }

  // A copy of n elements of Type at p (the memory may move when it grows, so never keep views).
  read(Type, p, n) {
    return new Type(this.x.memory.buffer, p, n).slice();
  }

  cString(p) {
    if (!p) return '';
    const bytes = new Uint8Array(this.x.memory.buffer, p);
    return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  }

  lastError() {
    return this.cString(this.x.ll_last_error());
  }

  // Throws the C side's message when a call returns a negative status.
  check(status) {
    if (status < 0) throw new LabError(this.lastError() || `error ${status}`, status);
    return status;
  }

  #readTensorTable() {
    const tensors = [];
    let offset = 0;
    for (let i = 0; i < this.x.ll_num_tensors(); i++) {
      const shape = [];
      for (let d = 0; d < this.x.ll_tensor_ndim(i); d++) shape.push(this.x.ll_tensor_dim(i, d));
      const size = shape.reduce((a, b) => a * b, 1);
      tensors.push({ name: this.cString(this.x.ll_tensor_name(i)), shape, offset, size });
      offset += size;
    }
    return tensors;
  }

  createModel({ seed = 42 } = {}) {
    const handle = this.x.ll_vae_create(seed);
    if (!handle) throw new LabError(this.lastError());
    return new VaeModel(this, handle, seed);
  }

  // A k-component full-covariance Gaussian mixture in d dimensions, keeping up to maxIter EM iterations.
  createMixture({ k, d = LATENT, maxIter = 50 }) {
    const handle = this.x.ll_gmm_create(k, d, maxIter);
    if (!handle) throw new LabError(this.lastError());
    return new Mixture(this, handle, k, d);
  }

  // Class indices 0..nClasses-1 -> { accuracy, precision, recall, f1 (macro), confusion (rows = truth) }.
  classificationReport(truth, pred, nClasses) {
    const n = truth.length;
    if (pred.length !== n) throw new LabError(`${n} true labels but ${pred.length} predictions`);
    return this.scoped(({ alloc, input }) => {
      const cm = alloc(nClasses * nClasses * 4), scores = alloc(16);
      this.check(this.x.ll_classification_report(input(Int32Array.from(truth)), input(Int32Array.from(pred)), n,
        nClasses, cm, scores));
      const [accuracy, precision, recall, f1] = this.read(Float32Array, scores, 4);
      const flat = this.read(Int32Array, cm, nClasses * nClasses);
      const confusion = Array.from({ length: nClasses }, (_, r) => Array.from(flat.subarray(r * nClasses, (r + 1) * nClasses)));
      return { accuracy, precision, recall, f1, confusion };
    });
  }

  // k-nearest-neighbour labels (class indices) of test points, from labelled training points.
  knnClassify(trainX, trainY, testX, { k = 15, d = LATENT, nClasses }) {
    const nTrain = trainY.length, nTest = testX.length / d;
    return this.scoped(({ alloc, input }) => {
      const pred = alloc(nTest * 4);
      this.check(this.x.ll_knn_classify(pred, input(trainX), input(Int32Array.from(trainY)), nTrain, input(testX), nTest,
        d, k, nClasses));
      return this.read(Int32Array, pred, nTest);
    });
  }
}

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

  setCovarianceFloor(reg) {
    this.lab.x.ll_gmm_set_reg(this.#live(), reg);
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

  // Data-parallel training: grads += scale * gradient of this share of a batch. Returns loss sums.
  zeroGrad() {
    this.lab.x.ll_vae_zero_grad(this.#live());
  }

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
      factors.set(new Float32Array(this.lab.x.memory.buffer, f, factors.length));
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

  // Not checked for finiteness here: adamStep refuses a non-finite gradient on the C side.
  setGrads(grads) {
    this.#writeBlock(this.lab.x.ll_vae_grads(this.#live()), grads, 'gradients', { checkFinite: false });
  }

  adamStep() {
    this.lab.check(this.lab.x.ll_vae_adam_step(this.#live()));
  }

  // Sliced data-parallel pieces (web/lib/parallel.js): parameters [i0, i1) of the flat buffer,
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
    const view = new Float32Array(this.lab.x.memory.buffer, pointer + 4 * i0, i1 - i0);
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
    new Float32Array(this.lab.x.memory.buffer, this.lab.x.ll_vae_params(this.#live()) + 4 * i0, values.length).set(values);
  }

  getParams() {
    return this.lab.read(Float32Array, this.lab.x.ll_vae_params(this.#live()), this.lab.numParams);
  }

  // Replaces every parameter; refused (model unchanged) if the size is wrong or a value is not finite.
  setParams(params, { resetOptimizer = true } = {}) {
    this.#writeBlock(this.lab.x.ll_vae_params(this.#live()), params, 'parameters');
    if (resetOptimizer) this.lab.x.ll_vae_reset_optimizer(this.handle);
  }

  // The whole training state: parameters, Adam's moments and step count (copies). A Trainer keeps one
  // as its last good snapshot and rolls back to it when a step diverges.
  getState() {
    const x = this.lab.x, n = this.lab.numParams, handle = this.#live();
    return { params: this.getParams(), m: this.lab.read(Float32Array, x.ll_vae_adam_m(handle), n),
      v: this.lab.read(Float32Array, x.ll_vae_adam_v(handle), n), step: this.stepCount };
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
    new Float32Array(this.lab.x.memory.buffer, pointer, values.length).set(values);
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
