// One replica of the model for data-parallel training, in a Web Worker or a Node worker thread.
// It computes the gradient of its share of each batch, sums its own slice of every replica's
// gradient, takes the Adam step of that slice and takes the other slices' new values from their
// owners (web/lib/parallel.js), so all replicas stay identical. Never touches the DOM.
import { loadLab } from './latent-lab.js';
import { paramSlices } from './parallel.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;
const post = (message, transfer = []) => port.postMessage(message, transfer);

let lab = null, model = null, index = 0, slices = null;

async function handle(message) {
  switch (message.type) {
    case 'init': {
      lab = await loadLab({ build: message.build, url: message.url });
      model = lab.createModel({ seed: message.seed });
      model.setHyper(message.hyper);
      if (message.params) model.setParams(message.params);
      index = message.index ?? 0;
      slices = paramSlices(lab.numParams, message.workers ?? 1);
      return post({ type: 'ready', id: message.id, kind: lab.kind });
    }
    case 'hyper':
      model.setHyper(message.hyper);
      return post({ type: 'done', id: message.id });
    case 'grad': {
      // The gradient of this share, and for every other worker the slice of it that worker owns.
      model.zeroGrad();
      const sums = message.images ? model.accumulateGrad(message.images, message.firstIndex, message.scale) : { bce: 0, klRaw: 0 };
      const parts = slices.map(([a, b], v) => (v === index || !message.images ? null : model.gradSlice(a, b)));
      return post({ type: 'grad', id: message.id, sums, parts }, parts.filter(Boolean).map((p) => p.buffer));
    }
    case 'reduce': {
      // parts[v]: worker v's gradient on this worker's slice (null for this worker's own, which sits
      // in the model already, and for a worker with no share). The sum runs in worker order; float
      // addition is commutative, so the parts before this worker's are summed first, then added to
      // it in wasm, then the parts after it, one by one.
      const [a, b] = slices[index];
      let before = null;
      message.parts.forEach((part, v) => {
        if (!part || v > index) return;
        if (!before) before = part;
        else for (let i = 0; i < before.length; i++) before[i] += part[i];
      });
      if (before) model.addGrads(a, before);
      message.parts.forEach((part, v) => {
        if (part && v > index) model.addGrads(a, part);
      });
      return post({ type: 'reduce', id: message.id, finite: model.gradsFinite(a, b) });
    }
    case 'step': {
      const [a, b] = slices[index];
      model.adamStepRange(a, b);
      if (slices.length === 1) return post({ type: 'step', id: message.id, params: null });
      const params = model.paramSlice(a, b);
      return post({ type: 'step', id: message.id, params }, [params.buffer]);
    }
    case 'params-slices':
      message.slices.forEach((values, v) => {
        if (values) model.setParamSlice(slices[v][0], values);
      });
      return post({ type: 'done', id: message.id });
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
