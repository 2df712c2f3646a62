// One helper thread of a pool (web/lib/threads.js), in a Web Worker or a Node worker thread: it joins
// the leader's shared wasm memory and takes tasks until the pool stops. Never touches the DOM.
import { joinPool } from '../lib/threads.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;
const post = (message) => port.postMessage(message);

if (isNode) port.once('message', (message) => joinPool(message, post));
else port.addEventListener('message', (event) => joinPool(event.data, post), { once: true });
