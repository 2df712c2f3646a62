// What the page's two workers (trainer.js, view.js) share: the wasm loaded on 'init', the message
// loop (rpc.js's serve) with the crash rule, yielding to queued messages, and the port between them.
// Each worker owns its wasm module and never touches the DOM.
import { loadLab } from '../lib/latent-lab.js';
import { serve } from '../lib/rpc.js';

export const worker = { lab: null, role: null, post: null, crashed: null };

// Lets the messages already queued run first. A MessageChannel, not setTimeout(0): nested timeouts
// are clamped to 4 ms, which would add 4 ms to every slice.
const yielder = new MessageChannel();
const yieldWaiters = [];
yielder.port1.onmessage = () => yieldWaiters.shift()?.();
export const yieldToMessages = () => new Promise((resolve) => { yieldWaiters.push(resolve); yielder.port2.postMessage(0); });

// A trap in the wasm (a RuntimeError: unreachable, out of bounds, ...) or running out of memory
// leaves the module in no state to trust: the worker says 'crashed' once and refuses everything
// after; the page offers to restart it (the last good model comes back from the view worker's copy).
const isCrash = (error) => error instanceof WebAssembly.RuntimeError || error instanceof RangeError ||
  /out of memory/i.test(error?.message ?? '');

// Starts the worker's message loop. handlers: { type: fn(message) } for the page's messages, answered
// once the wasm is loaded ('init'); onReady(lab): the role's own start-up. Every reply and failure
// takes rpc.js's shape.
export function startWorker(role, handlers, { onReady = () => {} } = {}) {
  worker.role = role;
  const handle = async (message) => {
    if (worker.crashed) throw new Error(`this ${role} worker crashed (${worker.crashed}): restart it`);
    if (message.type === 'init') {
      if (worker.lab) throw new Error('init sent twice');
      worker.lab = await loadLab({ build: message.build ?? 'auto' });
      await onReady(worker.lab);
      return { role, kind: worker.lab.kind, numParams: worker.lab.numParams, cores: navigator.hardwareConcurrency ?? 1,
        nestedWorkers: typeof Worker !== 'undefined' };
    }
    if (!worker.lab) throw new Error(`"${message.type}" before the worker is ready`);
    const handler = handlers[message.type];
    if (!handler) throw new Error(`unknown message type "${message.type}" for the ${role} worker`);
    return handler(message);
  };
  worker.post = serve(self, handle, {
    onError(error, message) {
      if (worker.crashed || !worker.lab || !isCrash(error)) return;
      worker.crashed = `${error.name}: ${error.message}`;
      worker.post({ type: 'crashed', role, message: worker.crashed, during: message.type });
    },
  });
}

// Both roles' test-only handlers: the wasm module's memory now (the page's soak test bounds it), and
// a trap in the wasm (the crash-and-restart test).
export const debugHandlers = {
  memory: () => ({ bytes: worker.lab.memory.buffer.byteLength, role: worker.role }),
  'debug-trap': () => { worker.lab.x.ll_debug_trap(); },
};
