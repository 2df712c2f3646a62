// One worker of the benchmark's parallel measurement: loads the SIMD build, trains its own model on
// its own copy of the batches for `seconds`, and posts {images, seconds}. Independent models, no
// gradient exchange: an upper bound on what data-parallel training across workers can reach.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

import { loadNodeLab } from './common.js';

const { batches, seconds, warmup } = workerData; // warmup in seconds
const lab = await loadNodeLab('simd');
const model = lab.createModel({ seed: 42 });
// Warm up by time, not steps: with every core busy, V8's optimising compiler (a background thread)
// needs a while before the fast code replaces the baseline code.
const w0 = performance.now();
for (let i = 0; performance.now() - w0 < warmup * 1000; i++) model.trainBatch(batches[i % batches.length]);
parentPort.postMessage({ type: 'ready' });
// Every worker starts timing on the same signal, so their windows overlap.
await new Promise((resolve) => parentPort.once('message', resolve));
let images = 0, i = 0;
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) {
  const batch = batches[i++ % batches.length];
  model.trainBatch(batch);
  images += batch.length / 784;
}
parentPort.postMessage({ type: 'done', images, seconds: (performance.now() - t0) / 1000 });
