// Node-side helpers shared by the tools and the tests: where the build puts things, loading the
// wasm, data files (MNIST's and users') from disk, the site's model index and copies of the site with
// test models, IDX files for fixtures, a median, and a small flag parser.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { loadLab } from '../web/lib/latent-lab.js';
import { parseDataFiles } from '../web/lib/data/data-files.js';
import { checkDataset, DATASET_FILES } from '../web/lib/data/datasets.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD = path.join(ROOT, 'build');
export const SITE = path.join(BUILD, 'site');   // the static site make all builds and make serve serves

// The site's list of the models it offers (models/index.json, which the page reads: it asks only for a
// pretrained model that is there). The Makefile writes build/site's; the tests, their copies'.
export async function writeModelIndex(modelsDir) {
  const files = (await readdir(modelsDir)).filter((f) => f !== 'index.json').sort();
  await writeFile(path.join(modelsDir, 'index.json'), JSON.stringify(files) + '\n');
}

// A copy of the built site at root with these model files added to its models/ (and listed), so that
// build/site itself never offers a test model.
export async function siteCopyWithModels(root, files) {
  await rm(root, { recursive: true, force: true });
  await cp(SITE, root, { recursive: true });
  await mkdir(path.join(root, 'models'), { recursive: true });
  for (const file of files) await cp(file, path.join(root, 'models', path.basename(file)));
  await writeModelIndex(path.join(root, 'models'));
}

// Debian's chromium, run headless by playwright-core (never a downloaded browser): the tests, make
// figures and make bench's page section launch it alike.
export const CHROMIUM = '/usr/bin/chromium';
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}

export function loadNodeLab(build = 'simd') {
  return loadLab({ build, url: new URL(`file://${path.join(BUILD, `latent-${build}.wasm`)}`) });
}

// Data-parallel replicas in Node: worker threads running the page's own replica (web/workers/grad.js)
// on the wasm build of this kind ('simd' or 'scalar'), for Run.create or createReplicas.
export const nodeReplicas = (kind) => ({ url: new URL(`file://${path.join(BUILD, `latent-${kind}.wasm`)}`).href,
  spawn: () => new Worker(new URL('../web/workers/grad.js', import.meta.url)) });

// Pool helpers in Node for a run's threads (web/lib/threads.js): worker threads joining a Lab of the
// threads build, which is the SIMD build's code; none for the scalar build (it trains on replicas).
export const nodeThreads = (kind) => (kind !== 'simd' ? null : {
  url: new URL(`file://${path.join(BUILD, 'latent-simd-threads.wasm')}`).href,
  spawn: () => new Worker(new URL('../web/workers/pool-helper.js', import.meta.url)) });

// Data files from disk through the C parsers: paths -> { images, labels, n, format, name }. The parsing
// runs in a lab of its own unless one is given, so unpacking (47 MB for MNIST's training images)
// leaves the caller's wasm heap as it was.
export async function loadDataFiles(paths, lab) {
  lab ??= await loadNodeLab('simd');
  const files = await Promise.all(paths.map(async (p) => ({ name: path.basename(p), bytes: await readFile(p) })));
  return parseDataFiles(lab, files);
}

// A built-in dataset's files as the build prepared them (build/data/, build/data/fashion/; datasets.js):
// { train, test }, each { images, labels, n }. dir: another folder holding the same four files.
export async function loadBuiltin(dataset = 'mnist', { dir, lab } = {}) {
  dir ??= path.join(BUILD, checkDataset(dataset).dir);
  lab ??= await loadNodeLab('simd');
  const set = async (files) => {
    const { images, labels, n } = await loadDataFiles(files.map((f) => path.join(dir, f)), lab);
    return { images, labels, n };
  };
  return { train: await set(DATASET_FILES.train), test: await set(DATASET_FILES.test) };
}

// MNIST's digits (the build's files, or the same four files under dir).
export const loadMnist = (dir, lab) => loadBuiltin('mnist', { dir, lab });

// The middle value (the upper middle of an even count): what the benchmarks report of repeated timings.
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// An IDX file's bytes: the magic (0, 0, type, number of dimensions), each dimension big-endian, then
// the data (unsigned bytes by default). For the fixtures and the tests' own files.
export function idxFile(dims, data = new Uint8Array(0), type = 0x08) {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

// --name value / --name=value / --flag. spec maps a flag to 'number', 'string' or 'boolean'.
export function parseFlags(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    const kind = spec[name];
    if (!kind) throw new Error(`unknown flag --${name} (known: ${Object.keys(spec).map((k) => `--${k}`).join(' ')})`);
    if (kind === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new Error(`--${name} takes no value, =true or =false, got "${value}"`);
      out[name] = value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      value = argv[++i];
    }
    if (kind === 'number') {
      const num = Number(value);
      if (value.trim() === '' || Number.isNaN(num)) throw new Error(`--${name} must be a number, got "${value}"`);
      out[name] = num;
    } else {
      out[name] = value;
    }
  }
  return out;
}

function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

// Trains a run (web/lib/run/pipeline.js) to its end, writing progress to log(line) about once a
// second and a line per epoch (the epoch's mean loss, from the run's loss history). -> seconds taken.
export async function trainWithProgress(run, log) {
  const { trainer, history } = run;
  const start = performance.now();
  let lastPrint = start;
  while (!trainer.done) {
    const r = await run.next();
    const now = performance.now();
    if (r.epochDone) {
      // The epoch's mean; NaN when none of its batches had a finite loss (LossHistory kept no entry).
      const e = history.epochs.at(-1)?.epoch === r.epoch + 1 ? history.epochs.at(-1) : { loss: NaN, bce: NaN, kl: NaN };
      log(`\repoch ${r.epoch + 1}/${trainer.epochs}: loss ${e.loss.toFixed(2)} (bce ${e.bce.toFixed(2)}, kl ${e.kl.toFixed(2)})` +
        `                         \n`);
    } else if (now - lastPrint > 1000) {
      const seconds = (now - start) / 1000, rate = trainer.imagesSeen / seconds;
      log(`\repoch ${r.epoch + 1}/${trainer.epochs}  batch ${r.batchInEpoch + 1}/${r.batchesPerEpoch}  ` +
        `${rate.toFixed(0)} images/s  loss ${history.epochLoss().toFixed(2)}  ${formatTime((trainer.totalImages - trainer.imagesSeen) / rate)} left   `);
      lastPrint = now;
    }
  }
  return (performance.now() - start) / 1000;
}
