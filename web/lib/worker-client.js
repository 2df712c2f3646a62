// The page's only door to a worker: request(type, payload) returns a promise settled by the reply
// with the same id; unsolicited messages (progress, batches, ...) go to on(type, fn) listeners.
// It is not a general RPC layer: one worker, plain structured-clone messages, optional transfers.

export class WorkerClient {
  // url: the worker module; role: what the worker should be ("trainer" or "view").
  constructor(url, { role, build }) {
    Object.assign(this, { url, role, build });
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.latest = new Map();
    this.on('ready', (m) => this.readyWaiter?.resolve(m));
    this.on('fatal', (m) => this.readyWaiter?.reject(new Error(m.message)));
    this.#start();
  }

  #start() {
    this.worker = new Worker(this.url, { type: 'module', name: this.role });
    this.worker.addEventListener('message', (event) => this.#receive(event.data));
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#emit('error', { message: event.message || 'the worker failed to start' });
    });
    this.ready = new Promise((resolve, reject) => { this.readyWaiter = { resolve, reject }; });
    this.#post({ type: 'init', role: this.role, build: this.build });
  }

  // A fresh worker in place of this one (after it crashed): the same listeners; what was pending is
  // refused. Resolves when the new worker is ready.
  restart() {
    this.terminate();
    this.latest.clear();
    this.#start();
    return this.ready;
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  // A fire-and-forget message (pause, resume, ...).
  send(type, payload = {}, transfer = []) {
    this.#post({ ...payload, type }, transfer);
  }

  request(type, payload = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.#post({ ...payload, type, id }, transfer);
    });
  }

  // Like request, but while one is in flight only the newest call waits; the calls it replaces
  // resolve to null without ever reaching the worker. For hover: the worker never works on stale points.
  requestLatest(type, payload = {}) {
    let slot = this.latest.get(type);
    if (!slot) this.latest.set(type, slot = { busy: false, queued: null });
    if (slot.busy) {
      slot.queued?.resolve(null);
      return new Promise((resolve, reject) => { slot.queued = { payload, resolve, reject }; });
    }
    slot.busy = true;
    const run = (p) => this.request(type, p).finally(() => {
      const next = slot.queued;
      slot.queued = null;
      if (next) run(next.payload).then(next.resolve, next.reject);
      else slot.busy = false;
    });
    return run(payload);
  }

  terminate() {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error('the worker was stopped'));
    this.pending.clear();
  }

  #post(message, transfer = []) {
    this.worker.postMessage(message, transfer);
  }

  #emit(type, message) {
    for (const fn of this.listeners.get(type) ?? []) fn(message);
  }

  #receive(message) {
    if (message.type === 'reply' || message.type === 'failed') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.type === 'reply') waiting.resolve(message.result);
      else waiting.reject(Object.assign(new Error(message.message), { name: message.name ?? 'Error' }));
      return;
    }
    this.#emit(message.type, message);
  }
}
