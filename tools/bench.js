// make bench [ARGS="--quick"]: every speed and memory figure of issues 6 and 17 from one run, side by side
// on the same model, data (the first MNIST training images) and batch size (32). A table goes to
// stderr, one JSON line to stdout. The machine is shared and noisy, so every speed is also given as
// a share of the in-run ceiling, sampled right before it was measured.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { toFloats } from '../web/lib/data/images.js';
import { createReplicas } from '../web/lib/run/pipeline.js';
import { ThreadedModel } from '../web/lib/run/threaded.js';
import { BUILD, loadMnist, loadNodeLab, median, nodeReplicas, nodeThreads, parseFlags } from './common.js';
import { barrierCosts, passScaling, predictStep, stepProfile } from './bench-threads.js';
import { pytorchSideBySide } from './bench-pytorch.js';
import { pageBesideHeadless } from './bench-page.js';
import { LAYERS, layerGeometry, layerPasses } from './bench-layers.js';
import { tfjsImagesPerSecond } from './bench-tfjs.js';

const BATCH = 32;
const log = (line) => process.stderr.write(line + '\n');
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// --- the ceiling -------------------------------------------------------------------------------
// ll_peak_probe: f32x4 mul+add on six independent chains over 1024 floats in L1, 48 flops per vector
// read. The best of five short samples: interference from other processes only ever lowers it.
function makeCeiling(lab) {
  const n = 1024, x = lab.x.malloc(n * 4);
  new Float32Array(lab.memory.buffer, x, n).fill(1);
  const passes = 4000;
  lab.x.ll_peak_probe(x, n, passes * 10); // tier up
  // samples: how many short probes to take the best of (1: one probe of ~1 ms, right before a run).
  return (samples = 5) => {
    let best = 0;
    for (let t = 0; t < samples; t++) {
      const t0 = performance.now();
      lab.x.ll_peak_probe(x, n, passes);
      best = Math.max(best, (passes * (n / 4) * 48) / ((performance.now() - t0) * 1e6));
    }
    return best; // GFLOP/s
  };
}

// --- the model's passes --------------------------------------------------------------------------
// Heavy passes the targets name: convolutions with >= 3 MFLOP per image, the 3136-wide linears.
const HEAVY_CONV = new Set(['conv2', 'conv3', 'deconv1', 'deconv2']);
const LARGE_LINEAR = new Set(['fc 3136->256 (x2)', 'fc 256->3136']);

const flopsPerImage = () => LAYERS.reduce((sum, l) => {
  const f = layerGeometry(l, 1).flops * (l.times ?? 1);
  return sum + f * (l.dinp ? 3 : 2); // forward, weight gradient, input gradient
}, 0);

// Times forward, weight gradient and input gradient (bench-layers.js) of each layer alone at batch
// 32, `reps` runs each. This host's speed swings by a third within seconds (other tenants), so every
// run gets its own ceiling probe right before it, and a pass's share is the median of its runs'
// shares; the times are medians too (the fastest run's share is in the JSON). The passes take turns,
// round by round, as the training windows do: a slow second of the host then costs every pass one
// run, not one pass all of its runs. Each timed run follows an untimed one of the same pass, so its
// operands are as warm as when the pass is repeated back to back.
function timeLayers(lab, ceiling, reps) {
  const ws = lab.x.ll_workspace_create();
  const all = layerPasses(lab, ws, BATCH);
  const passes = all.passes.map((p) => ({ ...p, ts: [], shares: [], peaks: [] }));
  // Warm up by time, not by count: V8 first runs a function's baseline (Liftoff) code and only
  // swaps in the optimised one after it has run a while. Three calls left the first layer's and
  // deconv3's own kernels measured on baseline code (3-4x slower than in training).
  for (const { fn } of passes) for (let i = 0, t0 = performance.now(); i < 3 || performance.now() - t0 < 200; i++) fn();
  for (let r = 0; r < reps; r++) {
    for (const p of passes) {
      p.fn();
      const peak = ceiling(1);
      const t0 = performance.now();
      p.fn();
      const ms = performance.now() - t0;
      p.ts.push(ms);
      p.shares.push(p.flops / (ms * 1e6) / peak);
      p.peaks.push(peak);
    }
  }
  const rows = LAYERS.map((l) => {
    const mine = passes.filter((p) => p.layer === l);
    const row = { layer: l.name, peak_gflops: round(median(mine.flatMap((p) => p.peaks))) };
    for (const p of mine) {
      const ms = median(p.ts);
      Object.assign(row, { [`${p.name}_ms`]: round(ms, 3), [`${p.name}_gflops`]: round(p.flops / (ms * 1e6)),
        [`${p.name}_share`]: round(median(p.shares), 3), [`${p.name}_best_share`]: round(Math.max(...p.shares), 3) });
    }
    return row;
  });
  all.free();
  lab.x.ll_workspace_free(ws);
  return rows;
}

// --- whole training steps ------------------------------------------------------------------------
// Median images/s over `windows` windows of at least `seconds` each, after `warmup` steps.
// Images/s of one model training for at least `ms`, cycling through batches from a shared position.
function trainer(batches) {
  let i = 0;
  return (model, ms) => {
    let steps = 0;
    const t0 = performance.now();
    do { model.trainBatch(batches[i++ % batches.length]); steps++; } while (performance.now() - t0 < ms);
    return (steps * BATCH) / ((performance.now() - t0) / 1000);
  };
}

// SIMD and scalar training side by side, window by window (which goes first alternates), each window
// right after a ceiling probe: rates are medians over the rounds, and SIMD's share of the ceiling and
// SIMD / scalar are the medians of each round's own (the host's speed drifts more within seconds than
// the 4-5x measured; one block of windows after the other would read the drift as a ratio).
function trainRates(simd, scalar, batches, { warmupMs, rounds, seconds }, ceiling, fpi) {
  const models = [simd, scalar].map((lab) => lab.createModel({ seed: 42 }));
  const window = trainer(batches);
  for (const model of models) window(model, warmupMs);
  const rates = [[], []], shares = [], peaks = [];
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? [1, 0] : [0, 1]) {
      const peak = ceiling(1);
      const rate = window(models[m], seconds * 1000);
      rates[m].push(rate);
      if (m === 0) { shares.push((rate * fpi) / 1e9 / peak); peaks.push(peak); }
    }
  }
  for (const model of models) model.free();
  return { simd: median(rates[0]), scalar: median(rates[1]), share: median(shares), peak: median(peaks),
    ratio: median(rates[0].map((rate, r) => rate / rates[1][r])) };
}

function nativeRate(seconds) {
  const exe = path.join(BUILD, 'bench_native');
  if (!existsSync(exe)) return null; // `make bench` builds it; a bare `node tools/bench.js` may not have
  const r = spawnSync(exe, [String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench_native failed: ${r.stderr}`);
  return JSON.parse(r.stdout).images_per_s;
}

// Data-parallel training with 1..N replica workers (web/lib/run/parallel.js, the code `make train
// --workers` and the page use): each batch is shared, gradients summed, one Adam step everywhere.
// All the models live side by side and take turns, window by window, and the scaling is the median
// of each round's ratio: this machine's speed drifts by a third within seconds (other tenants), more
// than the effect measured, and one window per worker count after the other read that drift as scaling.
// Each round also runs N separate 1-worker trainings at once, with no exchange between them: what N
// cores give this very code at that moment, the bound data-parallel training is read against. A
// data-parallel step waits for its slowest share, so its bound is N times the slowest of them.
// With N > 1 the same rounds also time N threads over one shared memory (ThreadedModel: one model,
// its GEMMs and Adam shared), the kind `make train --workers N` takes where it can.
async function workersRates(counts, batches, { warmup, rounds, seconds }) {
  const models = [], alone = [];
  const hyper = { lr: 3e-4, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const create = (n) => createReplicas({ workers: n, seed: 42, hyper, build: 'simd', ...nodeReplicas('simd') });
  const top = counts[counts.length - 1];
  try {
    for (const n of counts) models.push(await create(n));
    if (top > 1) models.push(await ThreadedModel.create({ threads: top, seed: 42, hyper, ...nodeThreads('simd') }));
    alone.push(models[0]);
    while (alone.length < top) alone.push(await create(1));
    let i = 0;
    const window = async (model, ms) => {
      let images = 0;
      const t0 = performance.now();
      do {
        const batch = batches[i++ % batches.length];
        await model.trainBatch(batch);
        images += batch.length / 784;
      } while (performance.now() - t0 < ms);
      return images / ((performance.now() - t0) / 1000);
    };
    // Warm up by time: V8's optimising compiler needs a while on every worker.
    for (const model of [...models, ...alone.slice(1)]) await window(model, warmup * 1000);
    const rates = models.map(() => []), separate = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...models.keys()].reverse() : [...models.keys()];
      for (const m of order) rates[m].push(await window(models[m], seconds * 1000));
      if (top > 1) separate.push(await Promise.all(alone.map((model) => window(model, seconds * 1000))));
    }
    const last = counts.length - 1;
    const ratio = (xs) => median(xs.map((x, r) => x / rates[0][r]));
    const sum = (xs) => xs.reduce((s, x) => s + x, 0);
    const threads = top > 1 ? { rate: median(rates[last + 1]), scaling: ratio(rates[last + 1]),
      overReplicas: median(rates[last + 1].map((x, r) => x / rates[last][r])),
      ofApart: median(rates[last + 1].map((x, r) => x / sum(separate[r]))) } : null;
    return { rates: Object.fromEntries(counts.map((n, m) => [n, median(rates[m])])), scaling: ratio(rates[last]), threads,
      separate: top > 1 ? { rate: median(separate.map(sum)), scaling: ratio(separate.map(sum)),
        slowest: ratio(separate.map((xs) => top * Math.min(...xs))) } : null };
  } finally {
    for (const model of [...models, ...alone.slice(1)]) model.terminate();
  }
}

// --- memory and decode ---------------------------------------------------------------------------
// A fresh instance, one model, a few training steps at batch 32: wasm memory only grows, so its size
// afterwards is the peak. Decode latency: one latent point, the median of every call over 3 s (the
// host has slow spells of a few hundred ms that double it: a median of 100 back-to-back calls read
// 1.0 or 2.0 ms on the same instance, seconds apart), and the 90th percentile beside it.
async function memoryAndDecode(batches) {
  const lab = await loadNodeLab('simd');
  const model = lab.createModel({ seed: 42 });
  for (let i = 0; i < 3; i++) model.trainBatch(batches[i % batches.length]);
  const peak = lab.memoryBytes;
  const z = new Float32Array([0.3, -0.7]);
  // Warm up by time, as for the layers: after 20 calls some kernels were still on baseline code.
  for (let t0 = performance.now(); performance.now() - t0 < 500;) model.decode(z);
  const ts = [];
  for (let start = performance.now(); performance.now() - start < 3000;) {
    const t0 = performance.now();
    model.decode(z);
    ts.push(performance.now() - t0);
  }
  model.free();
  ts.sort((a, b) => a - b);
  return { peak, decodeMs: median(ts), decodeP90: ts[Math.floor(0.9 * (ts.length - 1))] };
}

// Threads past the cores here, on paper: the barrier for N = 2..16 threads (on these cores: past
// them, the helpers take turns, so those rows are upper bounds), the step's jobs and serial share on
// 1 and 2 threads, and the predicted rate for 4, 8 and 16 cores (bench-threads.js has the model).
async function threadsScaling(batches, { rounds, seconds }) {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const barriers = await barrierCosts(16, cores);
  const profile = await stepProfile(batches, { rounds, seconds });
  const rate = (ms) => (1000 * BATCH) / ms;
  log(`\nthreads: ${profile.two.jobs.toFixed(0)} jobs (barriers) a step; 1 thread ${profile.one.ms.toFixed(1)} ms a step, ` +
    `2 threads ${profile.two.ms.toFixed(1)} ms (${profile.ratio.toFixed(2)}x, paired windows), ` +
    `of which ${(profile.two.ms - profile.two.inJobsMs).toFixed(1)} ms outside jobs (serial) and ${profile.two.tailMs.toFixed(1)} ms ` +
    `the leader waiting for the other thread's last tasks (jobs' tails)`);
  log(`cost of a job beyond its arithmetic, µs, by threads (past ${cores} they share ${cores} cores): ${Object.entries(barriers).map(([n, us]) => `${n}: ${us.toFixed(1)}`).join(', ')}`);
  const passes = await passScaling(BATCH, rounds);
  const byLayer = LAYERS.map((l) => `${l.name} ${['forward', 'dweight', 'dinput'].map((name) =>
    passes.find((p) => p.layer === l.name && p.pass === name)?.ratio.toFixed(2) ?? '-').join(' ')}`);
  const sum = (key) => passes.reduce((t, p) => t + p[key], 0);
  log(`each pass alone on 2 threads against 1 (forward, weight grad, input grad; medians of paired runs): ${byLayer.join(', ')}; ` +
    `all passes ${(sum('one_ms') / sum('two_ms')).toFixed(2)}x`);
  const predicted = Object.fromEntries([2, 4, 8, 16].map((n) => [n, rate(predictStep(profile, barriers, n))]));
  log(`predicted images/s on N equal cores: ${Object.entries(predicted).map(([n, r]) => `${n}: ${r.toFixed(0)}`).join(', ')} ` +
    `(measured here: 1: ${rate(profile.one.ms).toFixed(0)}, 2: ${rate(profile.two.ms).toFixed(0)})`);
  return { threads_jobs_per_step: round(profile.two.jobs), threads_serial_ms: round(profile.two.ms - profile.two.inJobsMs, 2),
    threads_tail_ms: round(profile.two.tailMs, 2),
    threads_barrier_us: Object.fromEntries(Object.entries(barriers).map(([n, us]) => [n, round(us, 2)])),
    threads_predicted_images_per_s: Object.fromEntries(Object.entries(predicted).map(([n, r]) => [n, round(r)])),
    threads_passes: passes.map((p) => ({ ...p, one_ms: round(p.one_ms, 3), two_ms: round(p.two_ms, 3), ratio: round(p.ratio, 2) })) };
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { quick: 'boolean', 'skip-tfjs': 'boolean', 'skip-page': 'boolean', workers: 'number' });
  const q = flags.quick ? 0.4 : 1; // --quick: shorter windows, for a smoke test
  const started = performance.now();
  const { train } = await loadMnist();
  const batches = Array.from({ length: 8 }, (_, b) => toFloats(train.images.subarray(b * BATCH * 784, (b + 1) * BATCH * 784)));

  const simd = await loadNodeLab('simd'), scalar = await loadNodeLab('scalar');
  const ceiling = makeCeiling(simd);
  const fpi = flopsPerImage();
  log(`latent-lab bench: batch ${BATCH}, ${round(fpi / 1e6)} MFLOP per trained image, ${os.cpus()[0]?.model} x${os.cpus().length}, node ${process.version}`);

  const layers = timeLayers(simd, ceiling, flags.quick ? 5 : 21);
  log('\nlayer                 forward            weight grad        input grad     (medians: ms, GFLOP/s, share of a ceiling probed before each run)');
  const cell = (ms, gf, share) => (ms === undefined ? '-'.padEnd(19) : `${ms.toFixed(2).padStart(6)} ${gf.toFixed(1).padStart(5)} ${(share * 100).toFixed(0).padStart(3)}%  `);
  for (const r of layers) {
    log(`${r.layer.padEnd(20)}  ${cell(r.forward_ms, r.forward_gflops, r.forward_share)}${cell(r.dweight_ms, r.dweight_gflops, r.dweight_share)}` +
      `${cell(r.dinput_ms, r.dinput_gflops, r.dinput_share)} (ceiling ${r.peak_gflops})`);
  }

  const paired = trainRates(simd, scalar, batches, { warmupMs: 1000, rounds: flags.quick ? 3 : 7, seconds: 1.2 * q }, ceiling, fpi);
  const { simd: simdRate, scalar: scalarRate, peak: peakSimd } = paired;
  const stepGflops = (simdRate * fpi) / 1e9;
  log(`\nSIMD wasm      ${simdRate.toFixed(1).padStart(7)} images/s  ${stepGflops.toFixed(1)} GFLOP/s = ${(paired.share * 100).toFixed(0)}% of the ceiling (median of rounds; ceiling ${peakSimd.toFixed(1)})`);
  log(`scalar wasm    ${scalarRate.toFixed(1).padStart(7)} images/s  (SIMD is ${paired.ratio.toFixed(2)}x, median of paired rounds)`);
  const native = nativeRate(5 * q);
  log(`native gcc -O3 ${native === null ? '   (not built)' : native.toFixed(1).padStart(7) + ' images/s'}  (plain-C kernels; for profiling, not a target)`);

  // TensorFlow.js's wasm backend in windows paired with windows of our SIMD training, as SIMD and
  // scalar are: ours / theirs is the median of each pair's ratio.
  let tfWasm = null, tfCpu = null, peakTf = null, overTf = null;
  if (!flags['skip-tfjs']) {
    peakTf = ceiling();
    const ours = simd.createModel({ seed: 42 }), ratios = [];
    const window = trainer(batches);
    let oursRate = 0;
    const oursWindow = () => { oursRate = window(ours, 1000 * q); };
    oursWindow(); // warm-up
    tfWasm = await tfjsImagesPerSecond('wasm', batches.slice(0, 2), { warmup: 2, windows: flags.quick ? 3 : 5,
      stepsPerWindow: flags.quick ? 1 : 3, before: oursWindow, onWindow: (rate) => ratios.push(oursRate / rate) });
    ours.free();
    overTf = median(ratios);
    log(`tfjs wasm      ${tfWasm.toFixed(1).padStart(7)} images/s  (SIMD build, one thread; ours is ${overTf.toFixed(1)}x, median of paired windows)`);
    tfCpu = await tfjsImagesPerSecond('cpu', batches.slice(0, 1), { warmup: 1, windows: 1, stepsPerWindow: 2 });
    log(`tfjs cpu       ${tfCpu.toFixed(1).padStart(7)} images/s  (a few batches)`);
  }

  // --workers N: up to N workers whatever the cores (to account for the protocol's costs on one pinned core).
  const cores = flags.workers ?? Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
  const parallelKind = 'data_parallel';
  const { rates: perWorkers, scaling, separate, threads } = await workersRates(Array.from({ length: cores }, (_, k) => k + 1),
    batches, { warmup: 2, rounds: flags.quick ? 3 : 11, seconds: 1.2 * q });
  log(`${cores} workers     ${perWorkers[cores].toFixed(1).padStart(7)} images/s  (1 worker ${perWorkers[1].toFixed(1)}; scaling ${scaling.toFixed(3)}x, median of paired rounds; ` +
    `replicas: a model each, gradients summed across workers every batch)`);
  if (threads) {
    log(`${cores} threads     ${threads.rate.toFixed(1).padStart(7)} images/s  (${threads.scaling.toFixed(2)}x 1 worker, ${threads.overReplicas.toFixed(2)}x ` +
      `${cores} replicas, ${(100 * threads.ofApart).toFixed(0)}% of ${cores} apart; one model over one shared memory: the bits of 1 worker)`);
  }
  if (separate) {
    log(`${cores} apart       ${separate.rate.toFixed(1).padStart(7)} images/s  (${cores} separate 1-worker trainings at once, no exchange: ` +
      `${separate.scaling.toFixed(2)}x one; ${cores} x the slowest: ${separate.slowest.toFixed(2)}x, the bound of equal shares)`);
  }

  // PyTorch, side by side: ours on 1 core (1 worker) and on 2 (2 threads) against its 1-thread and best 2-core settings.
  const hyper = { lr: 3e-4, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const one = simd.createModel({ seed: 42 }), window = trainer(batches);
  const two = cores > 1 ? await ThreadedModel.create({ threads: 2, seed: 42, hyper, ...nodeThreads('simd') }) : null;
  let torch, threadsMemory = null;
  try {
    window(one, 1000);
    if (two) window(two, 1000);
    torch = await pytorchSideBySide({ ours1: (s) => window(one, s * 1000), ours2: (s) => (two ? window(two, s * 1000) : NaN),
      rounds: flags.quick ? 2 : 5, seconds: 1.5 * q });
    if (two) threadsMemory = { bytes: two.model.lab.memoryBytes, perHelper: two.model.lab.x.ll_pool_helper_bytes() };
  } finally {
    one.free();
    await two?.terminate();
  }
  if (torch.skipped) log(`pytorch        skipped: ${torch.skipped}`);
  else {
    log(`pytorch        ${Object.entries(torch.torch).map(([k, r]) => `${k}: ${r.toFixed(0)}`).join(', ')} images/s (torch threads/OpenBLAS threads; ` +
      `CPU only, no GPU here); ours / PyTorch: 1 core ${torch.over1.toFixed(2)}x (${torch.ours1.toFixed(0)} against 1/1), ` +
      `2 cores ${torch.over2.toFixed(2)}x (2 threads, ${torch.ours2.toFixed(0)}, against its best 2-core setting ${torch.best2}); medians of paired windows`);
  }

  const threadsModel = await threadsScaling(batches, { rounds: flags.quick ? 3 : 9, seconds: 1.2 * q });

  // The page in Chromium beside the same run headless, on 1 worker and on all the cores.
  const pageSide = flags['skip-page'] ? { skipped: '--skip-page' }
    : await pageBesideHeadless({ workers: [...new Set([1, cores])], rounds: flags.quick ? 3 : 7, seconds: 3 * q });
  if (pageSide.skipped) log(`page           skipped: ${pageSide.skipped}`);
  else {
    for (const [n, r] of Object.entries(pageSide.byWorkers)) {
      log(`page, ${n} worker${n > 1 ? 's' : ' '} ${r.page.toFixed(1).padStart(7)} images/s  (${(100 * r.ratio).toFixed(0)}% of the same run headless, ` +
        `${r.headless.toFixed(0)} images/s; the page on ${r.parallelism === 'one' ? 'one worker' : r.parallelism}, views refreshing; median of paired windows)`);
    }
    log(`page engine    Chromium's wasm trains ${(100 * pageSide.engine).toFixed(0)}% as fast as Node's on one model in a loop (the page's share of the gap is the rest)`);
  }

  const { peak, decodeMs, decodeP90 } = await memoryAndDecode(batches);
  const wasmBytes = statSync(path.join(BUILD, 'latent-simd.wasm')).size;
  log(`memory         ${(peak / 2 ** 20).toFixed(1)} MiB of wasm memory training at batch ${BATCH}; module ${(wasmBytes / 1024).toFixed(0)} KiB`);
  if (threadsMemory) {
    log(`memory, threads ${(threadsMemory.bytes / 2 ** 20).toFixed(1)} MiB of shared wasm memory training on 2 threads at batch ${BATCH} ` +
      `(each helper thread adds ${(threadsMemory.perHelper / 1024).toFixed(0)} KiB: its GEMM scratch, its area for the convolutions' images, its stack)`);
  }
  log(`decode         ${decodeMs.toFixed(3)} ms for one latent point (median of the calls in 3 s; 90th percentile ${decodeP90.toFixed(3)} ms)`);
  log(`(bench took ${((performance.now() - started) / 1000).toFixed(0)} s)`);

  const result = {
    date: new Date().toISOString(), machine: `${os.cpus()[0]?.model} x${os.cpus().length}`, node: process.version,
    batch: BATCH, mflop_per_image: round(fpi / 1e6, 2),
    peak_gflops: round(peakSimd, 2),
    simd_images_per_s: round(simdRate), scalar_images_per_s: round(scalarRate), native_images_per_s: native,
    tfjs_wasm_images_per_s: tfWasm === null ? null : round(tfWasm, 2), tfjs_cpu_images_per_s: tfCpu === null ? null : round(tfCpu, 2),
    simd_gflops: round(stepGflops, 2), simd_share_of_peak: round(paired.share, 3),
    simd_over_scalar: round(paired.ratio, 2), simd_over_tfjs_wasm: overTf === null ? null : round(overTf, 2),
    peak_gflops_tfjs_run: peakTf === null ? null : round(peakTf, 2),
    workers: cores, parallel_images_per_s: round(perWorkers[cores]), parallel_kind: parallelKind,
    parallel_by_workers: Object.fromEntries(Object.entries(perWorkers).map(([n, r]) => [n, round(r)])),
    parallel_scaling: round(scaling, 3),
    separate_images_per_s: separate && round(separate.rate), separate_scaling: separate && round(separate.scaling, 3),
    separate_slowest_scaling: separate && round(separate.slowest, 3),
    threads_images_per_s: threads && round(threads.rate), threads_scaling: threads && round(threads.scaling, 3),
    threads_over_replicas: threads && round(threads.overReplicas, 3), threads_of_apart: threads && round(threads.ofApart, 3),
    ...threadsModel,
    pytorch: torch.skipped ? { skipped: torch.skipped } : { images_per_s: Object.fromEntries(Object.entries(torch.torch).map(([k, r]) => [k, round(r)])),
      best_2core_setting: torch.best2, ours_over_pytorch_1core: round(torch.over1, 3), ours_over_pytorch_2core: round(torch.over2, 3) },
    page: pageSide.skipped ? { skipped: pageSide.skipped } : { chromium_over_node_engine: round(pageSide.engine, 3),
      by_workers: Object.fromEntries(Object.entries(pageSide.byWorkers).map(([n, r]) => [n, { page_images_per_s: round(r.page),
        headless_images_per_s: round(r.headless), page_over_headless: round(r.ratio, 3), parallelism: r.parallelism }])) },
    wasm_bytes: wasmBytes, peak_memory_bytes: peak, threads_memory_bytes: threadsMemory?.bytes ?? null,
    threads_bytes_per_helper: threadsMemory?.perHelper ?? null, decode_ms: round(decodeMs, 3), decode_p90_ms: round(decodeP90, 3),
    layers,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
