// Threads over one shared wasm memory: a pool of helpers (src/nn/pool.c) that take the tiles of a
// model's GEMMs and the spans of its Adam step. The leader is a Lab of the threads build; each
// helper is another instance of the same module, in its own worker, on the same memory and on a
// stack of its own, that never runs the module's constructors (the memory is already initialised)
// and never allocates. Which thread takes a tile never changes a bit, so a model trains to the same
// bits with any number of threads. Where shared memory is not available (a page without
// cross-origin isolation, an old browser), threadsUnavailable() says why and callers use replicas.
import { LabError, sharedMemoryImports } from './latent-lab.js';

// How long a helper may take to instantiate and join before the pool is given up (a worker that
// cannot start never answers).
const JOIN_TIMEOUT_MS = 30000;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

// The most threads a pool takes (src/nn/pool.h's POOL_MAX_THREADS).
export const MAX_THREADS = 16;

// Why threads cannot run here, or null where they can.
export function threadsUnavailable() {
  // A browser hides SharedArrayBuffer from pages that are not isolated: say the cause, not the symptom.
  if (!isNode && !globalThis.crossOriginIsolated) return 'the page is not cross-origin isolated (the server sends no COOP/COEP headers)';
  if (typeof SharedArrayBuffer === 'undefined') return 'this engine has no SharedArrayBuffer';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this engine has no shared wasm memory';
  }
  return null;
}

const listen = (worker, fn) => (worker.on ? worker.on('message', fn) : worker.addEventListener('message', (e) => fn(e.data)));
const onError = (worker, fn) => (worker.on ? worker.on('error', fn) : worker.addEventListener('error', fn));

// A pool of `threads` threads for a Lab of the threads build: this thread and threads - 1 helpers,
// each a worker that spawn() starts running web/workers/pool-helper.js. Resolves once every helper
// has joined. stop() ends the helpers and frees the pool (after the models using it let go of it).
export class ThreadPool {
  static async start(lab, { threads, spawn }) {
    if (lab.kind !== 'threads') throw new LabError(`a pool needs the threads build, not "${lab.kind}"`);
    if (!Number.isInteger(threads)) throw new LabError(`threads must be 1..${MAX_THREADS}, got ${threads}`);
    const handle = lab.x.ll_pool_create(threads);
    if (!handle) throw new LabError(lab.lastError());
    const pool = new ThreadPool(lab, handle, threads);
    try {
      await Promise.all(Array.from({ length: threads - 1 }, (_, i) => pool.#startHelper(spawn(), i + 1)));
      // 'joined' is said just before a helper enters the pool: wait until every one is inside.
      for (const started = Date.now(); lab.x.ll_pool_helpers_running(handle) < threads - 1;) {
        if (Date.now() - started > JOIN_TIMEOUT_MS) throw new LabError('the pool helpers did not all enter the pool');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  constructor(lab, handle, threads) {
    Object.assign(this, { lab, handle, threads, helpers: [], stopped: null });
  }

  #startHelper(worker, thread) {
    const stopped = new Promise((resolve) => {
      listen(worker, (m) => m.type === 'stopped' && resolve());
      onError(worker, () => resolve());
    });
    this.helpers.push({ worker, stopped });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabError(`pool helper ${thread} did not start within ${JOIN_TIMEOUT_MS / 1000} s`)), JOIN_TIMEOUT_MS);
      const settle = (fn, value) => { clearTimeout(timer); fn(value); };
      listen(worker, (m) => {
        if (m.type === 'joined') settle(resolve);
        else if (m.type === 'failed') settle(reject, new LabError(`pool helper ${thread} failed: ${m.message}`));
      });
      onError(worker, (e) => settle(reject, new LabError(`pool helper ${thread} failed: ${e.message ?? e}`)));
      worker.postMessage({ module: this.lab.module, memory: this.lab.memory, pool: this.handle, thread,
        stackTop: this.lab.x.ll_pool_stack_top(this.handle, thread) });
    });
  }

  // Ends every helper and frees the pool. Models must no longer use it (VaeModel.setPool(null)).
  stop() {
    this.stopped ??= (async () => {
      this.lab.x.ll_pool_stop(this.handle);
      const timeout = new Promise((resolve) => setTimeout(resolve, 5000, 'timeout'));
      const ended = await Promise.race([Promise.all(this.helpers.map((h) => h.stopped)), timeout]);
      for (const { worker } of this.helpers) worker.terminate();
      // A helper that never answered may still be inside the pool: its memory is then kept.
      if (ended !== 'timeout') this.lab.x.ll_pool_free(this.handle);
    })();
    return this.stopped;
  }
}

// A helper's side (web/workers/pool-helper.js): instantiate the module on the shared memory, move to
// the stack the pool set aside for this thread, say so, and take tasks until the pool stops.
export async function joinPool({ module, memory, pool, thread, stackTop }, post) {
  try {
    const { exports } = await WebAssembly.instantiate(module, sharedMemoryImports(module, memory));
    exports.stackRestore(stackTop);
    post({ type: 'joined', thread });
    const status = exports.ll_pool_helper(pool, thread);
    post({ type: 'stopped', thread, status });
  } catch (error) {
    post({ type: 'failed', thread, message: error?.message ?? String(error) });
  }
}
