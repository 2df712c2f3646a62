// node tools/bench-pair-threads.js --b other-threads.wasm [--a build/latent-simd-threads.wasm] [--rounds 9] [--seconds 0.7]
// bench-pair.js's twin for the threads build: a whole training step of two builds, each on 1 thread and
// on a pool of 2, in windows that alternate A and B (real MNIST, batch 32, seed 42). Prints each
// build's median ms a step and A/B as the median of the per-round ratios (pairing cancels the host's drift).
import { performance } from 'node:perf_hooks';
import path from 'node:path';

import { toFloats } from '../web/lib/data/images.js';
import { loadLab } from '../web/lib/latent-lab.js';
import { ThreadPool } from '../web/lib/threads.js';
import { BUILD, loadMnist, median, nodeThreads, parseFlags } from './common.js';

const BATCH = 32;

async function setup(file) {
  const lab = await loadLab({ build: 'threads', url: new URL(`file://${path.resolve(file)}`) });
  const pool = await ThreadPool.start(lab, { threads: 2, spawn: nodeThreads('simd').spawn });
  const model = lab.createModel({ seed: 42 });
  return { lab, pool, model, name: path.relative(process.cwd(), path.resolve(file)) };
}

// ms a step of s's model on `threads` threads, over a window of `ms`.
function window(s, threads, batches, ms) {
  s.lab.x.ll_vae_set_pool(s.model.handle, threads === 2 ? s.pool.handle : 0);
  let i = 0;
  s.model.trainBatch(batches[i++ % batches.length]);
  const t0 = performance.now();
  let n = 0;
  for (; performance.now() - t0 < ms; n++) s.model.trainBatch(batches[i++ % batches.length]);
  return (performance.now() - t0) / n;
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { a: 'string', b: 'string', rounds: 'number', seconds: 'number' });
  if (!flags.b) throw new Error('--b: the threads build to pair against --a');
  const { train } = await loadMnist();
  const batches = Array.from({ length: 8 }, (_, b) => toFloats(train.images.subarray(b * BATCH * 784, (b + 1) * BATCH * 784)));
  const sets = [await setup(flags.a ?? path.join(BUILD, 'latent-simd-threads.wasm')), await setup(flags.b)];
  const rounds = flags.rounds ?? 9, ms = (flags.seconds ?? 0.7) * 1000;
  try {
    for (const threads of [1, 2]) {
      const a = [], b = [], ratio = [];
      for (let r = 0; r < rounds; r++) {
        a.push(window(sets[0], threads, batches, ms));
        b.push(window(sets[1], threads, batches, ms));
        ratio.push(a[r] / b[r]);
      }
      console.log(`${threads} thread${threads > 1 ? 's' : ''}: ${sets[0].name} ${median(a).toFixed(2)} ms, ` +
        `${sets[1].name} ${median(b).toFixed(2)} ms, A/B ${median(ratio).toFixed(3)} ` +
        `(${Math.min(...ratio).toFixed(3)}-${Math.max(...ratio).toFixed(3)})`);
    }
  } finally {
    for (const s of sets) await s.pool.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e.message);
  process.exit(1);
});
