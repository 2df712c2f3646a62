// One replica of the model for data-parallel training, in a Web Worker or a Node worker thread.
// It computes the gradient of its share of each batch, sums its own slice of every replica's
// gradient, takes the Adam step of that slice and takes the other slices' new values from their
// owners (web/lib/parallel.js), so all replicas stay identical. Never touches the DOM.
import { loadLab } from './latent-lab.js';
import { paramSlices } from './parallel.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;
const post = (message, transfer = []) => port.postMessage(message, transfer);

let lab = null, model = null, index = 0, slices = null, peers = [];

// Arrays that came in and were copied into the model, kept by length to carry the next slices out:
// in steady state every array is reused, so no step allocates (and faults in) megabytes of fresh memory.
const spare = new Map();
const take = (n) => spare.get(n)?.pop() ?? new Float32Array(n);
const keep = (array) => {
  if (!spare.has(array.length)) spare.set(array.length, []);
  if (spare.get(array.length).length < 4) spare.get(array.length).push(array);
};

// What the other workers sent over their channels ({ kind: 'part' | 'params', from, values }), by kind.
const inbox = { part: [], params: [] };
let wake = null;
function fromPeer(message) {
  inbox[message.kind].push(message);
  wake?.();
}

// The next message of this kind from every other worker, in worker order.
async function collect(kind) {
  while (inbox[kind].length < peers.length - 1) await new Promise((resolve) => (wake = resolve));
  wake = null;
  return inbox[kind].splice(0, peers.length - 1).sort((a, b) => a.from - b.from);
}

// values to every other worker: the array itself to the last, copies to the rest.
function toPeers(kind, valuesFor) {
  const others = peers.map((_, v) => v).filter((v) => v !== index);
  others.forEach((v, k) => {
    const values = valuesFor(v, k === others.length - 1);
    peers[v].postMessage({ kind, from: index, values }, values ? [values.buffer] : []);
  });
}

async function handle(message) {
  switch (message.type) {
    case 'init': {
      lab = await loadLab({ build: message.build, url: message.url });
      model = lab.createModel({ seed: message.seed });
      model.setHyper(message.hyper);
      if (message.params) model.setParams(message.params);
      index = message.index ?? 0;
      slices = paramSlices(lab.numParams, message.workers ?? 1);
      peers = message.peers ?? [null];
      for (const port of peers) {
        if (!port) continue;
        if (port.on) port.on('message', fromPeer);
        else port.onmessage = (event) => fromPeer(event.data);
      }
      return post({ type: 'ready', id: message.id, kind: lab.kind });
    }
    case 'hyper':
      model.setHyper(message.hyper);
      return post({ type: 'done', id: message.id });
    case 'grad': {
      // The gradient of this share; to every other worker the slice of it that worker owns (null if
      // this worker had no share, or failed: the others must not wait for it).
      let sums = { bce: 0, klRaw: 0 }, failure = null;
      try {
        model.zeroGrad();
        if (message.images) sums = model.accumulateGrad(message.images, message.firstIndex, message.scale);
      } catch (error) {
        failure = error;
      }
      toPeers('part', (v) => (!failure && message.images ? model.gradSlice(...slices[v], take(slices[v][1] - slices[v][0])) : null));
      const parts = await collect('part'); // even after a failure: this step's parts must not linger
      if (failure) throw failure;
      // This worker's slice, summed in worker order. Its own part sits in the model already and float
      // addition is commutative, so the parts of the workers before it are summed first, then added
      // to it in wasm, then the parts after it, one by one.
      const [a, b] = slices[index];
      let before = null;
      for (const { from, values } of parts) {
        if (!values || from > index) continue;
        if (!before) before = values;
        else for (let i = 0; i < before.length; i++) before[i] += values[i];
      }
      if (before) model.addGrads(a, before);
      for (const { from, values } of parts) if (values && from > index) model.addGrads(a, values);
      for (const { values } of parts) if (values) keep(values);
      return post({ type: 'grad', id: message.id, sums, finite: model.gradsFinite(a, b) });
    }
    case 'step': {
      const [a, b] = slices[index];
      model.adamStepRange(a, b);
      if (peers.length > 1) {
        const mine = model.paramSlice(a, b, take(b - a));
        toPeers('params', (v, last) => (last ? mine : mine.slice()));
        for (const { from, values } of await collect('params')) {
          model.setParamSlice(slices[from][0], values);
          keep(values);
        }
      }
      return post({ type: 'done', id: message.id });
    }
    case 'params': {
      const params = model.getParams();
      return post({ type: 'params', id: message.id, params }, [params.buffer]);
    }
    case 'set-params':
      model.setParams(message.params, { resetOptimizer: message.resetOptimizer ?? true });
      return post({ type: 'done', id: message.id });
    case 'state': {
      const state = model.getState();
      return post({ type: 'state', id: message.id, state }, [state.params.buffer, state.m.buffer, state.v.buffer]);
    }
    case 'set-state':
      model.setState(message.state);
      return post({ type: 'done', id: message.id });
    default:
      throw new Error(`grad worker: unknown message type "${message.type}"`);
  }
}

// Messages are handled strictly in order, each after the previous one finished.
let queue = Promise.resolve();
const receive = (message) => {
  queue = queue.then(() => handle(message)).catch((error) =>
    post({ type: 'error', id: message.id, message: error.message }));
};
if (isNode) port.on('message', receive);
else port.onmessage = (event) => receive(event.data);
