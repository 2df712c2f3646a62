// One replica of the model for data-parallel training, in a Web Worker or a Node worker thread.
// It computes the gradient of its share of each batch, and applies the summed gradient with the
// same Adam step as every other replica, so all replicas stay identical. Never touches the DOM.
import { loadLab } from './latent-lab.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;
const post = (message, transfer = []) => port.postMessage(message, transfer);

let lab = null, model = null;

async function handle(message) {
  switch (message.type) {
    case 'init': {
      lab = await loadLab({ build: message.build, url: message.url });
      model = lab.createModel({ seed: message.seed });
      model.setHyper(message.hyper);
      if (message.params) model.setParams(message.params);
      return post({ type: 'ready', id: message.id, kind: lab.kind });
    }
    case 'hyper':
      model.setHyper(message.hyper);
      return post({ type: 'done', id: message.id });
    case 'grad': {
      model.zeroGrad();
      const sums = model.accumulateGrad(message.images, message.firstIndex, message.scale);
      const grads = model.getGrads();
      return post({ type: 'grad', id: message.id, sums, grads }, [grads.buffer]);
    }
    case 'step':
      model.setGrads(message.grads);
      model.adamStep();
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
