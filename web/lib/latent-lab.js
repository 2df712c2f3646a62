// Loads latent-lab's wasm module (SIMD or scalar build of the same C) in a page, a worker or Node,
// and wraps its exported functions. Every buffer that crosses into wasm is copied in and out here,
// so callers only ever see typed arrays; a failed call throws a LabError with the C side's message.
// The model and the mixture objects it makes are handles.js's.

import { Mixture, VaeModel } from './handles.js';

// A minimal module using one v128 instruction: validates only where WASM SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

export const PIXELS = 784;
export const LATENT = 2;

// The C side's status codes (src/status.h): a LabError from a refused call carries one as .status.
export const STATUS = Object.freeze({ EINVAL: -1, ENOMEM: -2, ENONFINITE: -3, EFORMAT: -4 });

export class LabError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'LabError';
    this.status = status;
  }
}

// A file's bytes as a Uint8Array (over the same memory where they already are one, or an ArrayBuffer or
// another view); anything else is refused, named as `name`.
export function asBytes(bytes, name = 'the file') {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new LabError(`${name}: expected the file's bytes (a Uint8Array), got ${bytes === null ? 'null' : typeof bytes}`);
}

// A NUL-terminated UTF-8 copy of s, for the C side (names in its messages, metadata keys and values).
const utf8 = new TextEncoder();
export const nulTerminated = (s) => utf8.encode(`${s}\0`);

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

// build: 'simd', 'scalar', 'threads' (the SIMD build over a shared memory that pool helpers can
// join: threads.js) or 'auto' (SIMD where the engine has it). url overrides where the .wasm is.
export async function loadLab({ build = 'auto', url } = {}) {
  const kind = build === 'auto' ? (simdSupported() ? 'simd' : 'scalar') : build;
  if (!['simd', 'scalar', 'threads'].includes(kind)) throw new LabError(`unknown build "${build}"`);
  const file = kind === 'threads' ? 'latent-simd-threads' : `latent-${kind}`;
  const where = url ? new URL(url, import.meta.url) : new URL(`../wasm/${file}.wasm`, import.meta.url);
  const module = await WebAssembly.compile(await readBytes(where));
  if (kind === 'threads') {
    const memory = new WebAssembly.Memory({ initial: SHARED_PAGES.initial, maximum: SHARED_PAGES.maximum, shared: true });
    const instance = await WebAssembly.instantiate(module, sharedMemoryImports(module, memory));
    instance.exports.__wasm_call_ctors();   // the leader only: helpers join an initialised memory
    return new Lab(instance.exports, kind, module, memory);
  }
  // The module imports one hook (memory growth) and, from the C library, a few WASI calls it never
  // makes in practice; stubs answer them with ENOSYS.
  const imports = { env: { emscripten_notify_memory_growth() {} }, wasi_snapshot_preview1: {} };
  stubMissing(module, imports, () => 52);
  const instance = await WebAssembly.instantiate(module, imports);
  instance.exports._initialize?.();
  return new Lab(instance.exports, kind, module, instance.exports.memory);
}

function stubMissing(module, imports, stub) {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'function' && !imports[imp.module]?.[imp.name]) (imports[imp.module] ??= {})[imp.name] = stub;
  }
}

// The threads build's memory, in 64 KiB pages: 16 MiB to start, at most 2 GiB (the Makefile's
// MAXIMUM_MEMORY; a shared memory's maximum is reserved up front and must match the module's).
const SHARED_PAGES = { initial: 256, maximum: 32768 };

// The imports of the threads build, for the leader and for every helper that joins its memory. It
// was linked by emcc with -pthread, so it imports Emscripten's runtime calls: growth, big copies and
// the clock are real; the pthread hooks are never reached (our threads are the pool's, started by
// threads.js, not pthread_create) and answer 0.
export function sharedMemoryImports(module, memory) {
  const env = {
    memory,
    // Grows to at least `requested` bytes, by a quarter more where the maximum allows (fewer grows).
    emscripten_resize_heap(requested) {
      const have = memory.buffer.byteLength / 65536, need = Math.ceil((requested >>> 0) / 65536) - have;
      for (const pages of [Math.max(need, have >> 2), need]) {
        try {
          if (pages > 0) memory.grow(pages);
          return 1;
        } catch { /* past the maximum: try the exact size, then give up */ }
      }
      return 0;
    },
    emscripten_memcpy_big(dest, src, n) {
      new Uint8Array(memory.buffer).copyWithin(dest, src, src + n);
    },
    emscripten_get_now: () => performance.now(),
    exit(code) {
      throw new LabError(`the wasm module exited with status ${code}`);
    },
  };
  const imports = { env, wasi_snapshot_preview1: {} };
  stubMissing(module, imports, () => 0);
  return imports;
}

export class Lab {
  constructor(exports, kind, module, memory) {
    this.x = exports;
    this.memory = memory;
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
    return this.memory.buffer.byteLength;
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
      new Uint8Array(this.memory.buffer, p, array.byteLength).set(
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
    return new Type(this.memory.buffer, p, n).slice();
  }

  cString(p) {
    if (!p) return '';
    const bytes = new Uint8Array(this.memory.buffer, p);
    // A copy: TextDecoder refuses views of a shared memory.
    return new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0)));
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
