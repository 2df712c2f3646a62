// make bench's PyTorch comparison (tools/bench.js): Debian's PyTorch training the same model
// (tools/pytorch/bench_window.py) in windows that alternate with ours, one process per setting and one
// setting at a time: torch.set_num_threads 1 or 2, with OpenBLAS on 1 or 2 threads. Ours on 1 core is compared with
// PyTorch on 1 thread, ours on 2 cores (2 threads over one shared memory) with PyTorch's best 2-core
// setting; each ratio is the median of the rounds' own. Installs nothing: without /usr/bin/python3 and
// torch it says it was skipped and why.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { median, ROOT } from './common.js';

const PYTHON = '/usr/bin/python3';
const SETTINGS = [[1, 1], [2, 1], [1, 2], [2, 2]]; // [torch threads, OpenBLAS threads]

// Why PyTorch cannot be timed here, or null.
function pytorchUnavailable() {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot run (${r.error.code}): make test-pytorch installs Debian's python3-torch`;
  if (r.status !== 0) return `${PYTHON} cannot import torch: make test-pytorch installs Debian's python3-torch`;
  return null;
}

// A PyTorch process of one setting: window(seconds) -> images/s; stop().
async function start([threads, blas]) {
  const child = spawn(PYTHON, [path.join(ROOT, 'tools', 'pytorch', 'bench_window.py'), String(threads)], {
    cwd: path.join(ROOT, 'tools', 'pytorch'), env: { ...process.env, OPENBLAS_NUM_THREADS: String(blas), OMP_NUM_THREADS: String(threads) },
    stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`PyTorch (${threads} threads, OpenBLAS ${blas}) stopped`);
    return value;
  };
  if ((await next()) !== 'ready') throw new Error('PyTorch did not start');
  return {
    window: async (seconds) => {
      child.stdin.write(`${seconds}\n`);
      return Number(await next());
    },
    stop: () => child.kill(),
  };
}

// ours1(seconds), ours2(seconds): images/s of a window of ours on 1 and on 2 cores (synchronous or
// not). One PyTorch process at a time (idle ones keep OpenBLAS threads that take a core from ours):
// each setting's windows alternate with ours on as many cores (1/1 with ours1, the rest with ours2).
// Returns { skipped } or { torch: { 'T/B': images/s }, best2, ours1, ours2, over1, over2 } (medians).
export async function pytorchSideBySide({ ours1, ours2, rounds, seconds }) {
  const why = pytorchUnavailable();
  if (why) return { skipped: why };
  const torch = [], ratios = [], mine1 = [], mine2 = [];
  for (const [k, setting] of SETTINGS.entries()) {
    const proc = await start(setting);
    try {
      const ours = k === 0 ? ours1 : ours2, mine = k === 0 ? mine1 : mine2;
      await proc.window(seconds); // warm-up
      torch[k] = [];
      ratios[k] = [];
      for (let r = 0; r < rounds; r++) {
        let theirs, x;
        if (r % 2) { theirs = await proc.window(seconds); x = await ours(seconds); }
        else { x = await ours(seconds); theirs = await proc.window(seconds); }
        torch[k].push(theirs);
        mine.push(x);
        ratios[k].push(x / theirs);
      }
    } finally {
      proc.stop();
    }
  }
  const names = SETTINGS.map(([t, b]) => `${t}/${b}`);
  const medians = torch.map(median);
  // PyTorch's best setting on 2 cores (any but 1/1), by its median.
  const best = 1 + medians.slice(1).indexOf(Math.max(...medians.slice(1)));
  return { torch: Object.fromEntries(names.map((n, k) => [n, medians[k]])), best2: names[best],
    ours1: median(mine1), ours2: median(mine2), over1: median(ratios[0]), over2: median(ratios[best]) };
}
