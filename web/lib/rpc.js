// Requests and replies between a thread and a worker, the one shape every client and worker here
// uses (the page and its two workers, a run and its data-parallel replicas, in a browser or Node):
// a request {type, id, ...payload} is answered by {type: 'reply', id, result} or, if it failed, by
// {type: 'failed', id, message, name, status}; a message without an id expects no answer. Not a general RPC
// layer: structured-clone messages over one endpoint, typed arrays transferred where asked.
import { LabError } from './latent-lab.js';

// A browser Worker, a worker's own scope, a MessagePort, a Node Worker or parentPort: one shape for all.
function endpoint(target) {
  const node = typeof target.on === 'function';
  return {
    post: (message, transfer = []) => target.postMessage(message, transfer),
    listen: (fn) => (node ? target.on('message', fn) : target.addEventListener('message', (event) => fn(event.data))),
    start: () => target.start?.(),   // a MessagePort listened to with addEventListener starts only when told
  };
}

// The error a 'failed' reply stands for: a LabError (a refusal with its message and the C side's
// status, e.g. a bad file) stays one; any other keeps its name.
function errorFrom({ message, name = 'Error', status }) {
  if (name === 'LabError') return new LabError(message, status);
  return Object.assign(new Error(message), { name });
}

// The typed arrays at the top of a result (or the result itself), whose buffers a reply transfers.
// Results are made for the reply: nothing here is used again after it is sent.
function transferablesOf(result) {
  if (ArrayBuffer.isView(result)) return [result.buffer];
  if (!result || typeof result !== 'object') return [];
  return [...new Set(Object.values(result).filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer))];
}

// The asking side. request(type, payload) -> a promise of the result; send(type, payload) for a
// message that needs no answer; on(type, fn) for the messages that are not replies (progress, ...).
export class RpcClient {
  constructor(target) {
    this.target = target;
    this.io = endpoint(target);
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.latest = new Map();
    this.io.listen((message) => this.#receive(message));
    this.io.start();
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  send(type, payload = {}, transfer = []) {
    this.io.post({ ...payload, type }, transfer);
  }

  request(type, payload = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.io.post({ ...payload, type, id }, transfer);
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

  // Refuses every request still waiting (the worker stopped or failed).
  failAll(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    this.latest.clear();
  }

  emit(type, message) {
    for (const fn of this.listeners.get(type) ?? []) fn(message);
  }

  #receive(message) {
    if (message?.type === 'reply' || message?.type === 'failed') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.type === 'reply') waiting.resolve(message.result);
      else waiting.reject(errorFrom(message));
      return;
    }
    this.emit(message?.type, message);
  }
}

// The answering side: handle(message) gives each request's result (or a promise of it), and what it
// throws becomes the 'failed' reply. A message without an id that fails is reported as
// {type: 'error', message}. inOrder: each message waits for the one before it to finish (a replica's
// steps must not interleave). onError(error, message): a look at every failure first (a worker's
// crash rule). Returns post(message, transfer), for the worker's own messages.
export function serve(target, handle, { inOrder = false, onError = () => {} } = {}) {
  const io = endpoint(target);
  const answer = async (message) => {
    try {
      const result = await handle(message);
      if (message.id !== undefined) io.post({ type: 'reply', id: message.id, result: result ?? null }, transferablesOf(result));
    } catch (error) {
      onError(error, message);
      if (message.id !== undefined) io.post({ type: 'failed', id: message.id, message: error.message, name: error.name, status: error.status });
      else io.post({ type: 'error', message: error.message });
    }
  };
  let queue = Promise.resolve();
  io.listen((message) => {
    if (inOrder) queue = queue.then(() => answer(message));
    else answer(message);
  });
  io.start();
  return io.post;
}
