// node tools/bench-workers.js [--batch 32] [--workers 2] [--rounds 25]
// Where the time of a data-parallel step goes, measured on one core (pin it: taskset -c 0), so it can
// be read while the other cores are busy: a worker's gradient work (its share, and its slice of the
// factored weights over the whole batch) against one worker's, paired round by round (the drift of a
// shared machine cancels), then each per-step cost the protocol adds (web/workers/grad.js: values
// and factors out and in, the finite check, Adam on a slice, parameters out and in) and the round
// trip of a message to a worker thread. The last line is the step N workers could take on N
// idle cores: the slowest share's gradient plus the costs on the critical path.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

import { toFloats } from '../web/lib/data/images.js';
import { addGradStretches, gatherGrads, outside, paramSlices, stretchesLength } from '../web/lib/run/parallel.js';
import { loadMnist, loadNodeLab, median, parseFlags } from './common.js';

async function roundTripMs() {
  const w = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  const ping = () => new Promise((resolve) => { w.once('message', resolve); w.postMessage({ type: 'step', id: 1 }); });
  for (let i = 0; i < 200; i++) await ping();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) await ping();
  await w.terminate();
  return (performance.now() - t0) / 1000;
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { batch: 'number', workers: 'number', rounds: 'number' });
  const batch = flags.batch ?? 32, workers = flags.workers ?? 2, rounds = flags.rounds ?? 25;
  const share = Math.ceil(batch / workers);
  const { train } = await loadMnist();
  const images = toFloats(train.images.subarray(0, batch * 784));
  const lab = await loadNodeLab('simd');
  const model = lab.createModel({ seed: 42 });
  const N = lab.numParams, F = lab.factorFloats, slices = paramSlices(N, workers), [a, b] = slices[0];
  const factors = new Float32Array(batch * F);
  // A worker's gradient work: its share's gradient, then the factored weights of its slice over the
  // whole batch; one worker's: the batch's gradient and all of the factored weights.
  const gradient = (n, i0, i1) => {
    const t0 = performance.now();
    model.shareGrad(images.subarray(0, n * 784), 0, 1 / batch, factors.subarray(0, n * F));
    model.factoredWeightGrads(factors, batch, i0, i1);
    return performance.now() - t0;
  };
  // Warm up by time (V8 tiers the kernels up after a while), then the two sizes in alternation.
  for (let t0 = performance.now(); performance.now() - t0 < 3000;) { gradient(share, a, b); gradient(batch, 0, N); }
  const whole = [], part = [], ratio = [];
  for (let r = 0; r < rounds; r++) {
    const x = gradient(share, a, b), y = gradient(batch, 0, N);
    part.push(x); whole.push(y); ratio.push(x / y);
  }
  console.log(`gradient of ${batch} images ${median(whole).toFixed(1)} ms; of ${share} (with its slice of the factored ` +
    `weights) ${median(part).toFixed(1)} ms; paired ratio ${median(ratio).toFixed(3)} (ideal ${(1 / workers).toFixed(3)})`);

  // The costs in the order a step pays them, each round after a gradient as in training, so their
  // operands are as cold as there: timed back to back, hot, they read about half of this.
  const inSequence = (steps) => {
    const ts = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
    for (let r = 0; r < rounds + 3; r++) {
      for (const [name, fn] of Object.entries(steps)) {
        const t0 = performance.now();
        fn();
        if (r >= 3) ts[name].push(performance.now() - t0);
      }
    }
    return Object.fromEntries(Object.entries(ts).map(([name, xs]) => [name, median(xs)]));
  };
  // What travels as values: the slices less the factored weights (web/workers/grad.js).
  const [mine, theirs] = [slices[0], slices[1]].map((slice) => outside(slice, lab.factoredRanges));
  const out = new Float32Array(stretchesLength(theirs)), inbound = new Float32Array(stretchesLength(mine));
  const ours = new Float32Array(b - a), other = new Float32Array(slices[1][1] - slices[1][0]), sent = new Float32Array(share * F);
  const costs = inSequence({
    gradient: () => model.shareGrad(images.subarray(0, share * 784), 0, 1 / batch, factors.subarray(0, share * F)),
    'values out (the other slice, unfactored)': () => gatherGrads(model, theirs, out),
    'factors out (a copy)': () => sent.set(factors.subarray(0, share * F)),
    'values in (added)': () => addGradStretches(model, mine, inbound),
    'factors in (placed)': () => factors.set(sent.subarray(0, (batch - share) * F), share * F),
    gradsFinite: () => model.gradsFinite(a, b),
    'adam (slice)': () => model.adamStepRange(a, b),
    'paramSlice (out)': () => model.paramSlice(a, b, ours),
    'setParamSlice (in)': () => model.setParamSlice(slices[1][0], other),
  });
  delete costs.gradient; // the share's own work, counted above
  const trip = await roundTripMs();
  costs['messages (2 rounds to main, 2 between workers)'] = 4 * trip;
  console.log(`per-step costs of one worker of ${workers} (a slice of ${b - a} of ${N} parameters, ${stretchesLength(mine)} of them ` +
    `outside the factored weights):`);
  for (const [name, ms] of Object.entries(costs)) console.log(`  ${name.padEnd(48)} ${ms.toFixed(3)} ms`);
  // With more workers, every exchange of values and factors happens once more per extra peer.
  const perPeer = ['values out (the other slice, unfactored)', 'factors out (a copy)', 'values in (added)', 'factors in (placed)'];
  const fixed = Object.values(costs).reduce((s, x) => s + x, 0) + (workers - 2) * perPeer.reduce((s, k) => s + costs[k], 0);
  // One worker of the data-parallel trainer (the bench's baseline) takes the same path on the whole batch.
  const alone = inSequence({
    gradient: () => gradient(batch, 0, N),
    finite: () => model.gradsFinite(0, N),
    adam: () => model.adamStepRange(0, N),
  });
  const one = median(whole) + alone.finite + alone.adam + 2 * trip;
  const many = median(ratio) * median(whole) + fixed; // the paired ratio: medians of drifting times need not pair
  console.log(`one worker: ${one.toFixed(1)} ms a step; ${workers} on idle cores: ${many.toFixed(1)} ms, ${(one / many).toFixed(2)}x at best`);
  model.free();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
