// One replica of the model for data-parallel training, in a Web Worker or a Node worker thread.
// It computes the gradient of its share of each batch, sums its own slice of every replica's
// gradient, takes the Adam step of that slice and takes the other slices' new values from their
// owners (web/lib/run/parallel.js), so all replicas stay identical. Never touches the DOM.
import { loadLab } from '../lib/latent-lab.js';
import { serve } from '../lib/rpc.js';
import { addGradStretches, gatherGrads, outside, paramSlices, stretchesLength } from '../lib/run/parallel.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;

// stretches[w]: the parts of worker w's slice whose gradients travel as values (outside the
// factored weights, whose factors travel instead).
let lab = null, model = null, index = 0, slices = null, stretches = null, peers = [];

// Arrays that came in and were copied into the model, kept (their buffers, at most 8) to carry the
// next slices out: in steady state every array is reused, so no step allocates (and faults in)
// megabytes of fresh memory. A request takes the smallest kept buffer that holds it, and buffers are
// made in sizes rounded up to 16 KiB: what a worker sends and what it receives differ in length (the
// slices' lengths differ by a few floats, their unfactored parts by more), and kept by exact length,
// every 5 MB parameter slice was a fresh array, 2-3 ms of page faults a step.
const spare = [];
const take = (n) => {
  let best = -1;
  for (let i = 0; i < spare.length; i++) {
    if (spare[i].byteLength >= 4 * n && (best < 0 || spare[i].byteLength < spare[best].byteLength)) best = i;
  }
  const buffer = best >= 0 ? spare.splice(best, 1)[0] : new ArrayBuffer(4 * Math.ceil(n / 4096) * 4096);
  return new Float32Array(buffer, 0, n);
};
const copy = (array) => {
  const into = take(array.length);
  into.set(array);
  return into;
};
const keep = (array) => {
  if (spare.length < 8 && !spare.includes(array.buffer)) spare.push(array.buffer);
};

// What the other workers sent over their channels ({ kind: 'part' | 'params', from, part }), by kind.
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

// partFor(v, last) to every other worker v: null, or { values, factors? } whose arrays are moved, not
// copied (so partFor gives each worker its own arrays; `last` lets it hand over an array it made).
function toPeers(kind, partFor) {
  const others = peers.map((_, v) => v).filter((v) => v !== index);
  others.forEach((v, k) => {
    const part = partFor(v, k === others.length - 1);
    peers[v].postMessage({ kind, from: index, part }, part ? Object.values(part).map((array) => array.buffer) : []);
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
      stretches = slices.map((slice) => outside(slice, lab.factoredRanges));
      peers = message.peers ?? [null];
      for (const port of peers) {
        if (!port) continue;
        if (port.on) port.on('message', fromPeer);
        else port.onmessage = (event) => fromPeer(event.data);
      }
      return { kind: lab.kind };
    }
    case 'hyper':
      model.setHyper(message.hyper);
      return null;
    case 'grad': {
      // The gradient of this share (all but the factored weights') and the share's factors, placed
      // at the share's place among the whole batch's factors; to every other worker the values of
      // the slice it owns and a copy of these factors (null if this worker had no share, or failed:
      // the others must not wait for it).
      const { counts } = message, F = lab.factorFloats;
      const total = counts.reduce((s, c) => s + c, 0), before = (w) => counts.slice(0, w).reduce((s, c) => s + c, 0);
      let sums = { bce: 0, klRaw: 0 }, failure = null, factors = null, mine = null;
      try {
        factors = take(total * F);
        mine = factors.subarray(before(index) * F, (before(index) + counts[index]) * F);
        if (message.images) sums = model.shareGrad(message.images, message.firstIndex, message.scale, mine);
        else model.zeroGrad();
      } catch (error) {
        failure = error;
      }
      toPeers('part', (v) => {
        if (failure || !message.images) return null;
        try {
          return { values: gatherGrads(model, stretches[v], take(stretchesLength(stretches[v]))), factors: copy(mine) };
        } catch (error) {
          failure = error;
          return null;
        }
      });
      const parts = await collect('part'); // even after a failure: this step's parts must not linger
      if (failure) throw failure;
      // This worker's slice, summed in worker order. Its own part sits in the model already and float
      // addition is commutative, so the parts of the workers before it are summed first, then added
      // to it in wasm, then the parts after it, one by one.
      let sum = null;
      for (const { from, part } of parts) {
        if (!part || from > index) continue;
        if (!sum) sum = part.values;
        else for (let i = 0; i < sum.length; i++) sum[i] += part.values[i];
      }
      if (sum) addGradStretches(model, stretches[index], sum);
      for (const { from, part } of parts) if (part && from > index) addGradStretches(model, stretches[index], part.values);
      for (const { from, part } of parts) {
        if (!part) continue;
        factors.set(part.factors, before(from) * F);
        keep(part.values);
        keep(part.factors);
      }
      const [a, b] = slices[index];
      model.factoredWeightGrads(factors, total, a, b);
      keep(factors);
      return { sums, finite: model.gradsFinite(a, b) };
    }
    case 'step': {
      const [a, b] = slices[index];
      model.adamStepRange(a, b);
      if (peers.length > 1) {
        const mine = model.paramSlice(a, b, take(b - a));
        toPeers('params', (v, last) => ({ values: last ? mine : copy(mine) }));
        for (const { from, part } of await collect('params')) {
          model.setParamSlice(slices[from][0], part.values);
          keep(part.values);
        }
      }
      return null;
    }
    case 'params': {
      return model.getParams(message.into ?? null);   // into: the caller's array, sent here to be filled
    }
    case 'set-params':
      model.setParams(message.params, { resetOptimizer: message.resetOptimizer ?? true });
      return null;
    case 'state': {
      return model.getState(message.into ?? null);   // its typed arrays travel (transferred)
    }
    case 'set-state':
      model.setState(message.state);
      return null;
    default:
      throw new Error(`grad worker: unknown message type "${message.type}"`);
  }
}

// Messages are handled strictly in order, each after the previous one finished.
serve(port, handle, { inOrder: true });
