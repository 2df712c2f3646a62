// make bench's threads section (tools/bench.js): what a step on N threads over one shared memory
// costs beyond its arithmetic, and what that predicts for more cores than this machine has.
// - barrier(N): what a job costs beyond its arithmetic (the pool's wake, claims, done counting and
//   the wait for the last task);
// - a step's jobs and the share of it spent outside them (serial) on 1 and 2 threads, in windows that
//   take turns (this host's speed drifts by a third within seconds);
// - the model: step(N) = serial + inJobs(1) x inflation / N + jobs x barrier(N), where inflation is
//   what sharing the arithmetic cost on 2 threads (cut tiles, operands crossing between cores), read
//   off the 2-thread step. Cores past those here are assumed as fast and as well connected.
import { performance } from 'node:perf_hooks';

import { loadLab } from '../web/lib/latent-lab.js';
import { ThreadPool } from '../web/lib/threads.js';
import { layerPasses } from './bench-layers.js';
import { median, nodeThreads } from './common.js';

const THREADS = nodeThreads('simd');

// µs a job costs beyond its arithmetic on a pool of N threads, N = 2..max: jobs of 4N tasks of
// about 10 µs each (a small GEMM tile), timed on the pool and on this thread alone, paired run by
// run; the overhead is pool time - alone time / min(N, cores). Past the cores the helpers take turns
// on them, and the figure also holds that. Medians of 5 runs of 100 jobs.
export async function barrierCosts(max, cores) {
  const lab = await loadLab({ build: 'threads', url: THREADS.url });
  const WORK = 4000;
  const costs = {};
  for (let n = 2; n <= max; n++) {
    const pool = await ThreadPool.start(lab, { threads: n, spawn: THREADS.spawn });
    const time = (handle) => {
      const t0 = performance.now();
      lab.x.ll_pool_busy_jobs(handle, 100, 4 * n, WORK);
      return ((performance.now() - t0) / 100) * 1000;
    };
    time(pool.handle);
    time(0);
    const runs = [];
    for (let r = 0; r < 5; r++) {
      const shared = time(pool.handle), alone = time(0);
      runs.push(shared - alone / Math.min(n, cores));
    }
    costs[n] = Math.max(0, median(runs));
    await pool.stop();
  }
  return costs;
}

// One model trained by 1 thread and by 2, window by window: { one, two } each { ms (a step), jobs (a
// step), inJobsMs (a step, the leader's time inside jobs), tailMs (a step, of that the leader's wait
// for the other thread's last tasks) }, medians of the windows.
export async function stepProfile(batches, { rounds, seconds }) {
  const lab = await loadLab({ build: 'threads', url: THREADS.url });
  const two = await ThreadPool.start(lab, { threads: 2, spawn: THREADS.spawn });
  const single = lab.x.ll_pool_create(1); // counts nothing: jobs of a 1-thread pool run inline
  const model = lab.createModel({ seed: 42 });
  // The pool's running counts: jobs, the leader's ms inside them, of which waiting for the last tasks.
  const counters = (pool) => (pool ? [lab.x.ll_pool_jobs(pool.handle), lab.x.ll_pool_job_ms(pool.handle), lab.x.ll_pool_tail_ms(pool.handle)] : [0, 0, 0]);
  const windowOf = (pool) => {
    lab.x.ll_vae_set_pool(model.handle, pool?.handle ?? 0);
    const [j0, m0, t0ms] = counters(pool);
    let steps = 0;
    const t0 = performance.now();
    do model.trainBatch(batches[steps++ % batches.length]); while (performance.now() - t0 < seconds * 1000);
    const ms = (performance.now() - t0) / steps;
    const [j1, m1, t1ms] = counters(pool);
    return { ms, jobs: (j1 - j0) / steps, inJobsMs: (m1 - m0) / steps, tailMs: (t1ms - t0ms) / steps };
  };
  try {
    windowOf(null);
    windowOf(two);
    const ones = [], twos = [];
    for (let r = 0; r < rounds; r++) {
      ones.push(windowOf(null));
      twos.push(windowOf(two));
    }
    const pick = (ws) => Object.fromEntries(['ms', 'jobs', 'inJobsMs', 'tailMs'].map((key) => [key, median(ws.map((w) => w[key]))]));
    return { one: pick(ones), two: pick(twos), ratio: median(ones.map((w, r) => w.ms / twos[r].ms)) };
  } finally {
    lab.x.ll_vae_set_pool(model.handle, 0);
    model.free();
    lab.x.ll_pool_free(single);
    await two.stop();
  }
}

// Each pass of each layer alone at batch `batch` on 2 threads against 1 (the same workspace, its pool
// set and unset in turns; a turn times 5 calls after an untimed one, since the first call after a
// switch finds half of its operands in the other core's cache; medians of `reps` paired turns, after
// a 200 ms warm-up each): [{ layer, pass, one_ms, two_ms, ratio }]. Where a step's 2-thread shortfall
// sits, pass by pass.
export async function passScaling(batch, reps) {
  const lab = await loadLab({ build: 'threads', url: THREADS.url });
  const pool = await ThreadPool.start(lab, { threads: 2, spawn: THREADS.spawn });
  const ws = lab.x.ll_workspace_create();
  const { passes, free } = layerPasses(lab, ws, batch);
  const time = (fn, handle) => {
    lab.check(lab.x.ll_workspace_set_pool(ws, handle));
    fn();
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) fn();
    return (performance.now() - t0) / 5;
  };
  try {
    for (const { fn } of passes) for (const t0 = performance.now(); performance.now() - t0 < 200;) time(fn, 0), time(fn, pool.handle);
    const runs = passes.map(() => []);
    for (let r = 0; r < reps; r++) passes.forEach((p, i) => runs[i].push([time(p.fn, 0), time(p.fn, pool.handle)]));
    return passes.map((p, i) => ({ layer: p.layer.name, pass: p.name, one_ms: median(runs[i].map((x) => x[0])),
      two_ms: median(runs[i].map((x) => x[1])), ratio: median(runs[i].map(([one, two]) => one / two)) }));
  } finally {
    lab.x.ll_workspace_set_pool(ws, 0);
    free();
    lab.x.ll_workspace_free(ws);
    await pool.stop();
  }
}

// The step on N threads the model predicts, from stepProfile's 2-thread figures and the barriers.
// The serial part is the 2-thread step's time outside jobs; the arithmetic in jobs is the 2-thread
// in-job time less its barriers, times 2 (both threads busy), shared by N.
export function predictStep({ two }, barrierUs, n) {
  const serial = two.ms - two.inJobsMs;
  const work = 2 * (two.inJobsMs - (two.jobs * barrierUs[2]) / 1000);
  return serial + work / n + (two.jobs * (barrierUs[n] ?? barrierUs[Math.max(...Object.keys(barrierUs).map(Number))])) / 1000;
}
