// The page's door to one of its workers (web/workers/trainer.js or view.js): started, asked to load
// the wasm ('init', whose answer is `ready`), and restarted fresh after a crash, with the same
// listeners. Requests and replies are rpc.js's; the rest of the page never touches postMessage.
import { RpcClient } from './rpc.js';

export class WorkerClient {
  // url: the worker module; role: its name in the browser's tools ("trainer" or "view").
  constructor(url, { role, build }) {
    Object.assign(this, { url, role, build });
    this.listeners = [];
    this.#start();
  }

  #start() {
    this.worker = new Worker(this.url, { type: 'module', name: this.role });
    this.rpc = new RpcClient(this.worker);
    for (const [type, fn] of this.listeners) this.rpc.on(type, fn);
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.rpc.emit('error', { message: event.message || 'the worker failed to start' });
    });
    this.ready = this.rpc.request('init', { build: this.build });
  }

  // A fresh worker in place of this one (after it crashed): the same listeners; what was pending is
  // refused. Resolves when the new worker is ready.
  restart() {
    this.terminate();
    this.#start();
    return this.ready;
  }

  on(type, fn) {
    this.listeners.push([type, fn]);
    this.rpc.on(type, fn);
  }

  send(type, payload = {}, transfer = []) {
    this.rpc.send(type, payload, transfer);
  }

  request(type, payload = {}, transfer = []) {
    return this.rpc.request(type, payload, transfer);
  }

  requestLatest(type, payload = {}) {
    return this.rpc.requestLatest(type, payload);
  }

  terminate() {
    this.worker.terminate();
    this.rpc.failAll(new Error('the worker was stopped'));
  }
}
