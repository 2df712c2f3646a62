// make train ARGS="--digits 1,4,8 --epochs 8 --batch 32 --lr 3e-4 --beta 0.55 --seed 42 --limit 0"
// Trains headless in Node, shows progress on stderr, then prints one JSON line of results on stdout.
// --dataset fashion trains on Fashion-MNIST instead of MNIST's digits (--digits then picks its classes by
// label, 0-9: T-shirt/top .. Ankle boot). --preset authors|default|long|usual-kl|... picks a recipe; --kl, --warmup, --lr-warmup, --mixture, --deskew[=false] override
// parts of it (default: MNIST's digits are deskewed, --data files not; a loaded model as its metadata says);
// --save-codes FILE keeps the latent codes (JSON) for mixture experiments without retraining.
// --save model.safetensors writes the model (PyTorch state_dict names; --dtype f16 halves it) and its
// mixture beside it (model.mixture.json); --load model.safetensors starts from a saved model, and with
// --epochs 0 only evaluates it (with --save: the same file measured, its account of its training kept;
// how tools/pytorch/train.py brings a PyTorch run back). A saved model's metadata carries the settings, the metrics, the loss
// per epoch and per batch (loss_history, loss_curve) and the mixture. tools/pretrained.js runs this
// same code (runTraining) for the page's pretrained model.
// --data FILE[,FILE] trains on a user's files instead of MNIST (an npz, or IDX images with or without
// IDX labels, gzipped or not; see web/lib/data/data-files.js); --test-data FILE[,FILE] tests on others, else
// a seeded 10% of the training file is held out. Labelled data: the classes are its labels (--digits
// picks some), with the few-shot validation split and every metric; unlabelled data: the VAE and a
// k-means++ mixture whose components are the clusters (--mixture kmeans-N, default kmeans-10).
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';

import { className, DATASETS } from '../web/lib/data/datasets.js';
import { parseDigits } from '../web/lib/data/split.js';
import { mixtureToJSON, modelFromFile, readSafetensorsMetadata, saveSafetensors } from '../web/lib/model-io.js';
import { optionsFromMetadata, resolveOptions } from '../web/lib/run/options.js';
import { HOLD_OUT, makeSplit, Run } from '../web/lib/run/pipeline.js';
import { MAX_THREADS } from '../web/lib/threads.js';
import { loadBuiltin, loadDataFiles, loadNodeLab, nodeReplicas, nodeThreads, parseFlags, trainWithProgress } from './common.js';

const FLAGS = { digits: 'string', epochs: 'number', batch: 'number', lr: 'number', beta: 'number', seed: 'number',
  limit: 'number', build: 'string', quiet: 'boolean', preset: 'string', kl: 'string', warmup: 'number', 'lr-warmup': 'number',
  mixture: 'string', 'save-codes': 'string', workers: 'number', save: 'string', load: 'string', dtype: 'string',
  data: 'string', 'test-data': 'string', deskew: 'boolean', dataset: 'string', parallel: 'string' };

// Trains (or, with epochs 0, only evaluates) as the flags say; saves when flags.save names a file.
// Returns the result (the JSON line) and, when saved, the paths written. extraMetadata: more keys
// for the saved model's metadata.
export async function runTraining(flags, { extraMetadata = {} } = {}) {
  // --epochs 0 evaluates a loaded model without training (the options themselves want >= 1 epoch).
  const evaluateOnly = flags.epochs === 0;
  if (evaluateOnly && !flags.load) throw new Error('--epochs 0 needs --load MODEL: there is nothing to evaluate');
  if (flags.save && !flags.save.endsWith('.safetensors')) throw new Error(`--save must name a .safetensors file, got "${flags.save}"`);
  const dtype = flags.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`--dtype must be f32 or f16, got "${dtype}"`);
  if (flags['test-data'] && !flags.data) throw new Error('--test-data needs --data: the training files');
  if (flags.dataset !== undefined && flags.data) throw new Error('--dataset picks a built-in dataset, --data your files: give one');
  const { save, load, dtype: _, data, 'test-data': testData, 'lr-warmup': lrWarmup, parallel = 'auto', ...trainFlags } = flags;
  const lab = await loadNodeLab(flags.build ?? 'simd');
  // A loaded model is evaluated (or trained on) as it was trained: its recipe, seed, digits and
  // deskewing as its metadata says, under the flags given.
  const loadBytes = load ? await readFile(load) : null;
  const given = { ...trainFlags, lrWarmup, epochs: evaluateOnly ? 1 : flags.epochs };
  const fileMetadata = loadBytes ? readSafetensorsMetadata(lab, loadBytes) : null;
  // A file that says what it was trained on (our metadata) is measured on that dataset, not another.
  if (fileMetadata && flags.dataset !== undefined && (fileMetadata.digits !== undefined || fileMetadata.dataset !== undefined) &&
      (fileMetadata.dataset ?? 'mnist') !== flags.dataset) {
    throw new Error(`${load} was trained on ${fileMetadata.dataset ?? 'mnist'}, not --dataset ${flags.dataset}`);
  }
  const resolved = fileMetadata ? optionsFromMetadata(fileMetadata, given) : resolveOptions(given);
  let source, what;
  if (data) {
    const files = (list) => list.split(',').map((f) => f.trim()).filter(Boolean);
    const train = await loadDataFiles(files(data));
    const test = testData ? await loadDataFiles(files(testData)) : null;
    source = { data: { train, test, mixtureChosen: flags.mixture !== undefined,
      classes: flags.digits !== undefined ? parseDigits(flags.digits) : null } };
    what = (split) => `${train.name} (${split.labelled ? `classes ${split.classes.join(',')}` : 'unlabelled'})`;
  } else {
    source = { builtin: await loadBuiltin(resolved.dataset) };
    what = () => (resolved.dataset === 'mnist' ? `digits ${resolved.digits.join(',')}`
      : `${DATASETS[resolved.dataset].title} classes ${resolved.digits.map((c) => className(resolved.dataset, c)).join(', ')}`);
  }
  const { split, options } = makeSplit(resolved, source);
  const log = (line) => { if (!flags.quiet) process.stderr.write(line); };
  let loaded = {}, model = null;
  if (load) {
    ({ model, metadata: loaded } = modelFromFile(lab, loadBytes, options));
    const metadata = loaded;
    // The short entries (not the metrics, the loss curves or the mixture).
    const short = Object.entries(metadata).filter(([, v]) => v.length <= 40);
    log(`loaded ${load}${short.length ? ` (${short.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}\n`);
  }
  // --workers N > 1: threads over one shared memory (the bits of one worker), else (--build scalar,
  // --parallel replicas) data-parallel replicas in worker threads; the run's model gets their weights at the end.
  const workers = flags.workers ?? 1;
  const run = await Run.create(lab, options, { split, model, workers, ...nodeReplicas(lab.kind), threads: nodeThreads(lab.kind),
    parallelism: parallel, train: !evaluateOnly, dataName: data ?? null });
  const { trainer } = run;
  if (run.note) log(`${run.note}\n`);
  const how = { threads: `${workers} threads over one shared memory`, replicas: `${workers} replicas`, one: 'one worker' }[run.parallelism];
  if (!evaluateOnly) log(`training on ${trainer.n} images of ${what(split)} (${lab.kind} wasm, ${how}), ` +
    `testing on ${split.test.n}; ${options.epochs} epochs of ${trainer.batchesPerEpoch} batches\n`);
  const seconds = await trainWithProgress(run, log);
  const { metrics, mixture, codes } = await run.evaluate();
  // MNIST runs name their digits; --data runs their files and classes (null when unlabelled).
  const dataFields = data ? { data, test_data: testData ?? `${HOLD_OUT * 100}% held out`, labelled: split.labelled, classes: split.classes }
    : { ...(options.dataset !== 'mnist' ? { dataset: options.dataset } : {}), digits: options.digits };
  const result = {
    preset: options.preset, ...dataFields, epochs: evaluateOnly ? 0 : options.epochs, batch: options.batch, lr: options.lr,
    beta: options.beta, kl: options.kl, warmup: options.warmup, lr_warmup: options.lrWarmup, deskew: options.deskew, mixture: options.mixture, seed: options.seed, train_images: trainer.n, test_images: split.test.n, params: lab.numParams, build: lab.kind,
    workers: run.workers, parallel: run.parallelism, images_per_s: Math.round(trainer.totalImages / seconds * 10) / 10, seconds: Math.round(seconds * 10) / 10,
    ...metrics,
  };
  let written = null;
  if (save) {
    // epochs counts those of the loaded model too, when it says how many it had. Nothing that varies
    // from run to run (time, speed, paths of temporary files) goes in: the same command writes the
    // same bytes.
    const before = /^\d+$/.test(loaded.epochs ?? '') ? Number(loaded.epochs) : 0;
    const mixtureJson = mixtureToJSON(mixture, split.classes ? { classLabels: split.classes } : {});
    const measured = run.metadata({ epochs: before + result.epochs, metrics, mixture: mixtureJson, history: !evaluateOnly,
      extra: evaluateOnly ? extraMetadata : { workers, ...(run.workers > 1 ? { parallel: run.parallelism } : {}), build: lab.kind, ...(load ? { continued_from: load } : {}), ...extraMetadata } });
    const metadata = evaluateOnly ? keptTraining(loaded, measured) : measured;
    await writeFile(save, saveSafetensors(run.model, { dtype, metadata }));
    const mixturePath = save.replace(/\.safetensors$/, '.mixture.json');
    await writeFile(mixturePath, JSON.stringify(mixtureJson) + '\n');
    log(`saved ${save} (${dtype}) and ${mixturePath}\n`);
    written = { model: save, mixture: mixturePath };
  }
  mixture.free();
  const { history } = run;
  run.free();
  if (flags['save-codes']) {
    const set = (name) => (split[name] ? { mu: Array.from(codes[name]), labels: split[name].labels ? Array.from(split[name].labels) : null } : null);
    await writeFile(flags['save-codes'], JSON.stringify({ result, classes: split.classes, train: set('train'),
      val: set('val'), test: set('test') }));
  }
  return { result, written, history };
}

// --epochs 0 --save trains nothing, so what the loaded file says of its training stays: its loss history
// and curve, its image limit and count, its workers and build, or a PyTorch run's trainer, world size
// and device (tools/pytorch/train.py). The settings, metrics and mixture are this evaluation's.
function keptTraining(loaded, measured) {
  const training = new Set(['limit', 'train_images']);
  const fresh = Object.entries(measured).filter(([key]) => !(training.has(key) && key in loaded));
  return { ...loaded, ...Object.fromEntries(fresh) };
}

// --help: this file's opening comment, and every flag's name (the README's flags table says what each does).
async function printUsage() {
  const source = await readFile(new URL(import.meta.url), 'utf8');
  const lines = source.split('\n'), head = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
  process.stdout.write(head.map((line) => line.replace(/^\/\/ ?/, '')).join('\n') + '\n\nflags: ' +
    Object.keys(FLAGS).map((f) => `--${f}`).join(' ') + '\n(README.md, "make train", says what each does and its default)\n');
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) return printUsage();
  // From the command line every core trains, up to a pool's most threads, unless --workers says otherwise
  // (the same N, the same bits).
  const workers = Math.min(availableParallelism(), MAX_THREADS);
  const { result } = await runTraining({ workers, ...parseFlags(process.argv.slice(2), FLAGS) });
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    process.stderr.write(`\ntrain: ${error.message}\n`);
    process.exit(1);
  });
}
