// Threads over one shared wasm memory (src/nn/pool.c, web/lib/threads.js, web/lib/run/threaded.js):
// N threads train one model to the same bits as one thread, for any N, and as the plain SIMD build
// does; helpers join, survive the memory growing under them, and stop; what cannot be done is
// refused with a message, and a run that cannot have threads falls back and says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import { loadLab } from '../web/lib/latent-lab.js';
import { MAX_THREADS, ThreadPool } from '../web/lib/threads.js';
import { ThreadedModel } from '../web/lib/run/threaded.js';
import { makeSplit, Run } from '../web/lib/run/pipeline.js';
import { resolveOptions } from '../web/lib/run/options.js';
import { gatherFloats } from '../web/lib/data/images.js';
import { loadBuiltin, nodeReplicas, nodeThreads } from '../tools/common.js';
import { LAYERS, layerPasses } from '../tools/bench-layers.js';
import { lab } from './helpers.js';

const THREADS = nodeThreads('simd');
const spawnHelper = THREADS.spawn;
const HYPER = { lr: 1e-3, beta: 0.55, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const sha = (array) => createHash('sha256').update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength)).digest('hex');

let mnist;
// Real MNIST training images: batches of 32 and one of 33 (a size that tiles unevenly).
const batches = [];
before(async () => {
  mnist = await loadBuiltin('mnist');
  for (const [first, n] of [[0, 32], [32, 32], [64, 33], [97, 32]]) {
    const images = new Float32Array(n * 784);
    gatherFloats(mnist.train.images, Int32Array.from({ length: n }, (_, i) => first + i), images);
    batches.push(images);
  }
});

// The state after the batches: parameters, Adam's moments, and the codes of a few images, hashed.
function train(model) {
  model.setHyper(HYPER);
  const losses = batches.map((b) => model.trainBatch(b).loss);
  const { params, m, v, step } = model.getState();
  const { mu, logvar } = model.encode(batches[0]);
  return { losses, params: sha(params), m: sha(m), v: sha(v), step, codes: sha(mu) + sha(logvar) };
}

// A model of `lab` trained on the caller's thread alone: the bits every pool must give.
function trainAlone(lab, seed) {
  const model = lab.createModel({ seed });
  try {
    return train(model);
  } finally {
    model.free();
  }
}

describe('threads over one shared memory', () => {
  const pools = [];
  after(async () => {
    for (const p of pools) await p.stop();
  });

  it('1, 2, 3 and 8 threads train to the same bits, and so does the plain SIMD build', async () => {
    const plain = await lab('simd');
    const reference = plain.createModel({ seed: 11 });
    const expected = train(reference);
    reference.free();
    for (const threads of [1, 2, 3, 8]) {
      const shared = await loadLab({ build: 'threads', url: THREADS.url });
      const pool = threads > 1 ? await ThreadPool.start(shared, { threads, spawn: spawnHelper }) : null;
      if (pool) pools.push(pool);
      if (pool) assert.equal(shared.x.ll_pool_helpers_running(pool.handle), threads - 1, 'every helper joined');
      const model = shared.createModel({ seed: 11 });
      model.setPool(pool);
      assert.deepEqual(train(model), expected, `${threads} thread(s) against the plain SIMD build`);
      for (let t = 1; t < threads; t++) assert.ok(shared.x.ll_pool_tasks_taken(pool.handle, t) > 0, `helper ${t} of ${threads} took tasks`);
      model.setPool(null);
      model.free();
      await pool?.stop();
      if (pool) assert.equal(shared.x.ll_pool_helpers_running(pool.handle), 0, 'every helper left');
    }
  });

  it('every pass of every layer alone gives the same bits on 1, 2, 3 and 8 threads, at batches 32 and 33', async () => {
    // How a pass is cut into tasks depends on the threads (and on the batch): the sums must not. Two
    // layers wider than the model's: one image is too big for a helper's area, so their forward and
    // input-gradient passes run on the leader alone (but conv 64->32's input gradient, whose Winograd
    // group fits), and their weight gradients are sliced.
    const wide = [
      { name: 'conv 64->32 on 28x28', kind: 'conv', cin: 64, cout: 32, hin: 28, k: 4, s: 2, p: 1, dinp: true },
      { name: 'convT 64->16 from 24x24', kind: 'convT', cin: 64, cout: 16, hin: 24, k: 4, s: 2, p: 1, dinp: true },
    ];
    for (const batch of [32, 33]) {
      let expected;
      for (const threads of [1, 2, 3, 8]) {
        const shared = await loadLab({ build: 'threads', url: THREADS.url });
        const pool = threads > 1 ? await ThreadPool.start(shared, { threads, spawn: spawnHelper }) : null;
        if (pool) pools.push(pool);
        const ws = shared.x.ll_workspace_create();
        shared.check(shared.x.ll_workspace_set_pool(ws, pool?.handle ?? 0));
        const { passes, buffers, free } = layerPasses(shared, ws, batch, [...LAYERS, ...wide]);
        for (const { fn } of passes) fn();
        const hashes = buffers().map(sha);
        if (pool) assert.ok(shared.x.ll_pool_tasks_taken(pool.handle, 1) > 0, `the helper of ${threads} threads took tasks`);
        if (!expected) expected = hashes;
        else assert.deepEqual(hashes, expected, `batch ${batch}, ${threads} threads against 1`);
        free();
        shared.x.ll_workspace_set_pool(ws, 0);
        shared.x.ll_workspace_free(ws);
        await pool?.stop();
      }
    }
  });

  it('helpers keep working when the memory grows under them, and a pool can be stopped and made again', async () => {
    const shared = await loadLab({ build: 'threads', url: THREADS.url });
    const expected = trainAlone(shared, 5);
    for (let round = 0; round < 2; round++) {
      const pool = await ThreadPool.start(shared, { threads: 3, spawn: spawnHelper });
      pools.push(pool);
      const model = shared.createModel({ seed: 5 });
      model.setPool(pool);
      const before = shared.memoryBytes;
      // A batch of 256 needs activations far larger than a batch of 32's: the memory grows.
      const big = new Float32Array(256 * 784);
      gatherFloats(mnist.train.images, Int32Array.from({ length: 256 }, (_, i) => 1000 + i), big);
      model.encode(big);
      assert.ok(shared.memoryBytes > before || round > 0, 'the memory grew while the helpers ran');
      // encode left the buffers for 256 images: training 32 at a time must not care.
      assert.deepEqual(train(model), expected, `round ${round}: 3 threads after growth`);
      model.setPool(null);
      model.free();
      await pool.stop();
    }
  });

  it('a job finishes on the threads that came: the leader takes the home ranges of helpers that never started', async () => {
    const shared = await loadLab({ build: 'threads', url: THREADS.url });
    const expected = trainAlone(shared, 9);
    // A pool of 4 whose helpers were never spawned: every task of every job falls to the leader.
    const handle = shared.x.ll_pool_create(4);
    assert.ok(handle, 'the pool was made');
    try {
      shared.x.ll_pool_busy_jobs(handle, 50, 13, 100);
      assert.equal(shared.x.ll_pool_tasks_taken(handle, 0), 50 * 13, 'the leader took every task');
      for (let t = 1; t < 4; t++) assert.equal(shared.x.ll_pool_tasks_taken(handle, t), 0, `thread ${t} never ran`);
      const model = shared.createModel({ seed: 9 });
      model.setPool({ lab: shared, handle });
      assert.deepEqual(train(model), expected, 'a model trained on it has the bits of one thread');
      model.setPool(null);
      model.free();
    } finally {
      shared.x.ll_pool_free(handle);
    }
    // With its helpers, each thread takes its own range first: every one takes tasks.
    const pool = await ThreadPool.start(shared, { threads: 2, spawn: spawnHelper });
    pools.push(pool);
    shared.x.ll_pool_busy_jobs(pool.handle, 200, 8, 20000);
    const taken = [0, 1].map((t) => shared.x.ll_pool_tasks_taken(pool.handle, t));
    assert.equal(taken[0] + taken[1], 200 * 8, 'every task taken once');
    assert.ok(taken[1] > 0, `the helper took tasks (${taken})`);
    await pool.stop();
  });

  it('refuses what cannot be done, with a message, and leaves the model as it was', async () => {
    const shared = await loadLab({ build: 'threads', url: THREADS.url });
    // MAX_THREADS + 1 is refused by the C side: its limit is the one make train's default keeps under.
    for (const threads of [0, MAX_THREADS + 1, 2.5]) {
      await assert.rejects(ThreadPool.start(shared, { threads, spawn: spawnHelper }), new RegExp(`threads must be 1\\.\\.${MAX_THREADS},`),
        `${threads} threads`);
    }
    await assert.rejects(ThreadPool.start(await lab('simd'), { threads: 2, spawn: spawnHelper }), /needs the threads build/);
    // A helper that cannot start (a worker that fails at once): the pool is refused, not left hanging.
    const broken = () => new Worker('throw new Error("no wasm here")', { eval: true });
    await assert.rejects(ThreadPool.start(shared, { threads: 2, spawn: broken }), /pool helper 1 failed: no wasm here/);
    // A pool of another Lab.
    const other = await loadLab({ build: 'threads', url: THREADS.url });
    const pool = await ThreadPool.start(other, { threads: 2, spawn: spawnHelper });
    pools.push(pool);
    const model = shared.createModel({ seed: 1 });
    assert.throws(() => model.setPool(pool), /a pool of its own Lab/);
    const { loss } = model.trainBatch(batches[0]);
    assert.ok(Number.isFinite(loss), 'the model still trains on its own');
    model.free();
    await pool.stop();
  });
});

describe('a run on several workers', () => {
  const options = resolveOptions({ digits: '1,4,8', epochs: 1, limit: 200, seed: 3 });
  const split = () => makeSplit(options, { builtin: mnist }).split;

  async function runParams(workers, extra = {}) {
    const L = await lab('simd');
    const run = await Run.create(L, options, { split: split(), workers, ...nodeReplicas('simd'), threads: THREADS, ...extra });
    try {
      while (!run.trainer.done) await run.next();
      return { params: sha(await run.syncParams()), kind: run.parallelism, note: run.note };
    } finally {
      run.free();
    }
  }

  it('trains on threads where it can, to the bits of one worker', async () => {
    const one = await runParams(1);
    assert.equal(one.kind, 'one');
    for (const workers of [2, 3]) {
      const r = await runParams(workers);
      assert.equal(r.kind, 'threads', `${workers} workers`);
      assert.equal(r.note, null);
      assert.equal(r.params, one.params, `${workers} threads against one worker`);
    }
  });

  it('falls back to replicas and says why, or refuses a kind it cannot have', async () => {
    const r = await runParams(2, { threads: null });
    assert.equal(r.kind, 'replicas');
    assert.match(r.note, /threads are not available \(this environment cannot start pool helpers\): training on 2 replicas/);
    const L = await lab('simd');
    await assert.rejects(Run.create(L, options, { split: split(), workers: 2, threads: null, parallelism: 'threads' }),
      /cannot train on 2 threads: this environment cannot start pool helpers/);
    await assert.rejects(Run.create(L, options, { split: split(), workers: 2, threads: THREADS, parallelism: 'fibres' }),
      /parallelism must be one of auto, threads, replicas, got "fibres"/);
    const replicas = await runParams(2, { parallelism: 'replicas' });
    assert.equal(replicas.kind, 'replicas');
  });

  it('a threaded model frees its helpers when the run ends', async () => {
    const model = await ThreadedModel.create({ threads: 2, spawn: spawnHelper, url: THREADS.url, seed: 1, hyper: HYPER });
    const { lab: shared } = model.model, handle = model.pool.handle;
    assert.equal(shared.x.ll_pool_helpers_running(handle), 1);
    await model.terminate();
    assert.equal(model.model.handle, 0, 'the model is freed');
    assert.throws(() => model.trainBatch(batches[0]), /freed/);
  });
});
