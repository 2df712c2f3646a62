// node tools/bench-pair.js [--a build/latent-simd.wasm] [--b other.wasm] [--rounds 5] [--reps 5] [--only conv2,deconv2] [--cpu]
// A kernel-development tool for a shared, noisy machine: times every layer pass (and a whole training
// step) of one or two SIMD builds in one process, alternating A and B round by round, each timing
// the best of a few runs right after a ceiling sample. Prints per pass the median over rounds of
// the share of the ceiling, and B/A as the median of the per-round ratios (pairing cancels drift).
import { performance } from 'node:perf_hooks';
import path from 'node:path';

import { toFloats } from '../web/lib/data/images.js';
import { loadLab } from '../web/lib/latent-lab.js';
import { LAYERS, layerGeometry } from './bench-layers.js';
import { BUILD, loadMnist, median, parseFlags } from './common.js';

const BATCH = 32;
let clock = () => performance.now();
async function setup(file, batches) {
  const lab = await loadLab({ build: 'simd', url: new URL(`file://${path.resolve(file)}`) });
  const x = lab.x, ws = x.ll_workspace_create();
  const fill = (n) => {
    const p = x.malloc(n * 4), f = new Float32Array(x.memory.buffer, p, n);
    for (let i = 0; i < n; i++) f[i] = Math.sin(i * 12.9898) * 0.5;
    return p;
  };
  const probe = fill(1024);
  const ceiling = () => {
    let best = 0;
    for (let t = 0; t < 5; t++) {
      const t0 = clock();
      x.ll_peak_probe(probe, 1024, 4000);
      best = Math.max(best, (4000 * 256 * 48) / ((clock() - t0) * 1e6));
    }
    return best;
  };
  x.ll_peak_probe(probe, 1024, 40000);
  const passes = [];
  for (const l of LAYERS) {
    const g = layerGeometry(l, BATCH);
    const pre = { conv: 'll_conv2d', convT: 'll_conv_transpose2d', linear: 'll_linear' }[l.kind];
    const [inp, out, w, b, dinp, dw, db, dout] = [g.inN, g.outN, g.wN, l.cout, g.inN, g.wN, l.cout, g.outN].map(fill);
    passes.push({ name: `${l.name} fwd`, flops: g.flops, fn: () => lab.check(x[`${pre}_forward`](ws, out, inp, w, b, ...g.args)) });
    passes.push({ name: `${l.name} dW`, flops: g.flops, fn: () => lab.check(x[`${pre}_backward`](ws, 0, dw, db, dout, inp, w, ...g.args)) });
    if (l.dinp) passes.push({ name: `${l.name} dX`, flops: g.flops, fn: () => lab.check(x[`${pre}_backward_input`](ws, dinp, dout, w, ...g.args)) });
  }
  const model = lab.createModel({ seed: 42 });
  let i = 0;
  passes.push({ name: 'step', flops: 95.1e6 * BATCH, fn: () => model.trainBatch(batches[i++ % batches.length]) });
  return { passes, ceiling };
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), { a: 'string', b: 'string', rounds: 'number', only: 'string', reps: 'number', cpu: 'boolean' });
  // --cpu: time by this process's CPU time (user + system) instead of the wall clock, so that time
  // the scheduler gave to other processes is not counted (the ceiling likewise).
  if (flags.cpu) clock = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const { train } = await loadMnist();
  const batches = Array.from({ length: 8 }, (_, b) => toFloats(train.images.subarray(b * BATCH * 784, (b + 1) * BATCH * 784)));
  const builds = [flags.a ?? path.join(BUILD, 'latent-simd.wasm')];
  if (flags.b) builds.push(flags.b);
  const sets = [];
  for (const f of builds) sets.push(await setup(f, batches));
  const only = flags.only ? flags.only.split(',') : null;
  const names = sets[0].passes.map((p) => p.name).filter((n) => !only || only.some((o) => n.startsWith(o)));
  const rounds = flags.rounds ?? 5, reps = flags.reps ?? 5;
  for (const s of sets) for (const p of s.passes) if (names.includes(p.name)) for (let k = 0; k < 3; k++) p.fn();
  const shares = sets.map(() => Object.fromEntries(names.map((n) => [n, []])));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const order = r % 2 ? [...sets.keys()].reverse() : [...sets.keys()];
      for (const si of order) {
        const p = sets[si].passes.find((q) => q.name === n);
        const peak = sets[si].ceiling();
        let best = Infinity;
        for (let k = 0; k < reps; k++) { const t0 = clock(); p.fn(); best = Math.min(best, clock() - t0); }
        shares[si][n].push(p.flops / (best * 1e6) / peak);
      }
    }
  }
  const pct = (x) => `${(x * 100).toFixed(1).padStart(5)}%`;
  console.log(`pass          ${builds.map((b) => path.basename(b).padStart(14)).join(' ')}${sets.length > 1 ? '    B/A' : ''}`);
  for (const n of names) {
    let line = n.padEnd(14) + shares.map((s) => pct(median(s[n])).padStart(14)).join(' ');
    if (sets.length > 1) line += `  ${median(shares[1][n].map((v, r) => v / shares[0][n][r])).toFixed(3).padStart(6)}`;
    console.log(line);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
