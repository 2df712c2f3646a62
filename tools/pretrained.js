// make pretrained [ARGS="--workers 2"]: the model the page shows on first open. The authors' recipe
// (--preset authors: digits 1, 4, 8, 8 epochs, batch 32, Adam lr 3e-4, beta 0.55 on their KL), seed 42,
// trained by tools/train.js's own code (runTraining), with the lab's default mixture (PRESETS.default)
// fitted on its codes. Writes into web/models/ (or --out DIR): pretrained-148.safetensors (float16,
// PyTorch state_dict names; settings, metrics, loss history and mixture in its metadata),
// pretrained-148.mixture.json and PROVENANCE.md.
// --model fashion: the Fashion-MNIST model offered beside it instead (the lab's default recipe for 16
// epochs, --preset long, on all ten classes, seed 42; ~50 min of one core): pretrained-fashion.* and
// PROVENANCE-fashion.md.
// --from FILE: a model this same recipe already trained (make train ... --save FILE): measured and
// saved as above without training it again (its loss history kept); PROVENANCE says so.
// Deterministic: the same command (same --workers, same wasm build) writes the same model and mixture
// bytes; only PROVENANCE.md records the date. --epochs and --limit pass through for a short test run,
// and the files then say what they are.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { readSafetensorsMetadata } from '../web/lib/model-io.js';
import { effectiveDeskew, optionsFromMetadata, PRESETS, resolveOptions } from '../web/lib/run/options.js';
import { loadNodeLab, parseFlags, ROOT } from './common.js';
import { runTraining } from './train.js';

const FLAGS = { out: 'string', workers: 'number', parallel: 'string', epochs: 'number', limit: 'number', build: 'string', quiet: 'boolean',
  model: 'string', from: 'string' };
const MODELS = {
  digits: { name: 'pretrained-148', provenance: 'PROVENANCE.md', fullImages: 18420,
    // kmeans-10-groups by name: what the default (kmeans-groups) fits for three digits, kept so that the
    // committed file's metadata is what this command writes.
    recipe: { preset: 'authors', digits: '1,4,8', seed: 42, mixture: 'kmeans-10-groups' },
    what: 'the pretrained model the page shows on first open',
    about: '(the authors\' recipe for the network, with the lab\'s default mixture on its codes).' },
  fashion: { name: 'pretrained-fashion', provenance: 'PROVENANCE-fashion.md', fullImages: 59950,
    // 16 epochs: on Fashion-MNIST they lift the mixture from 0.635 to 0.670 over three seeds (docs/mixture-quality.md).
    recipe: { preset: 'long', dataset: 'fashion', seed: 42 },
    what: 'the pretrained Fashion-MNIST model the page offers beside the digits one',
    about: '(the lab\'s default recipe for 16 epochs on Fashion-MNIST\'s ten classes, with its default mixture).' },
};

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const sha256 = async (file) => createHash('sha256').update(await readFile(file)).digest('hex');
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const fixed = (v, n) => (Number.isFinite(v) ? v.toFixed(n) : String(v));

// A saved model's metadata (strings), through the lab's own safetensors reader (one module for every read).
let reader = null;
async function readMetadata(file) {
  reader ??= loadNodeLab('simd');
  return readSafetensorsMetadata(await reader, await readFile(file));
}

// --from FILE must have been trained by this recipe, on every image: each option the recipe fixes
// (dataset, classes, epochs, batch, learning rate, beta, KL, warm-ups, deskewing, seed, preset) as the
// file's metadata says it, and no image limit.
async function checkSameRecipe(file, recipe) {
  const metadata = await readMetadata(file);
  const want = resolveOptions(recipe), got = optionsFromMetadata(metadata);
  want.deskew = effectiveDeskew(want, false);
  const keys = ['dataset', 'digits', 'epochs', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lrWarmup', 'deskew', 'seed', 'preset'];
  for (const key of keys) {
    if (String(got[key]) !== String(want[key])) throw new Error(`${file} was trained with ${key} ${got[key]}, this model's recipe has ${want[key]}`);
  }
  if (Number(metadata.limit ?? 0) !== 0) throw new Error(`${file} was trained on ${metadata.limit} images only (--limit)`);
  if (metadata.epochs !== String(want.epochs)) throw new Error(`${file} says ${metadata.epochs ?? 'no'} epochs, this model's recipe has ${want.epochs}`);
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const model = MODELS[flags.model ?? 'digits'];
  if (!model) throw new Error(`--model must be ${Object.keys(MODELS).join(' or ')}, got "${flags.model}"`);
  const NAME = model.name;
  const out = path.resolve(flags.out ?? path.join(ROOT, 'web', 'models'));
  await mkdir(out, { recursive: true });
  const save = path.join(out, `${NAME}.safetensors`);
  const recipe = { mixture: PRESETS.default.mixture, ...model.recipe };
  const trainFlags = { ...recipe, workers: flags.workers ?? 1, save, dtype: 'f16', quiet: flags.quiet ?? false,
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}), ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.build ? { build: flags.build } : {}), ...(flags.parallel ? { parallel: flags.parallel } : {}) };
  if (trainFlags.epochs === 0) throw new Error('--epochs 0 would not train anything');
  if (flags.from) {
    if (flags.epochs !== undefined || flags.limit !== undefined) throw new Error('--from measures a trained model: no --epochs or --limit');
    await checkSameRecipe(flags.from, model.recipe);
    Object.assign(trainFlags, { load: flags.from, epochs: 0 });
  }
  // The tree as it was before this run wrote into it (web/models/ is under git).
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  const { result, written, history } = await runTraining(trainFlags, { extraMetadata: { name: NAME } });

  // A --from model: its own training's worker count and loss per epoch, as its metadata says.
  const trained = flags.from ? await readMetadata(written.model) : null;
  if (trained) trainFlags.workers = Number(trained.workers ?? 1);
  // How several workers shared the training (threads give one worker's bits; replicas, before threads, their own).
  if (trainFlags.workers > 1) trainFlags.parallel = trained ? trained.parallel ?? 'replicas' : result.parallel;
  const epochRows = trained ? JSON.parse(trained.loss_history ?? '[]') : history.epochs;
  const command = ['node tools/train.js', ...Object.entries(trainFlags).filter(([k]) => !['quiet', 'save', 'load', 'epochs'].includes(k) ||
    (k === 'epochs' && !flags.from)).map(([k, v]) => `--${k} ${v}`), `--save ${NAME}.safetensors`].join(' ');
  // A --from model's epochs and images are its training's, as its metadata says.
  const epochs = trained ? Number(trained.epochs) : result.epochs;
  const short = epochs !== PRESETS[model.recipe.preset].epochs || result.train_images !== model.fullImages;
  const own = [flags.model ? ` --model ${flags.model}` : '', flags.workers ? ` --workers ${flags.workers}` : '',
    flags.epochs !== undefined ? ` --epochs ${flags.epochs}` : '', flags.limit !== undefined ? ` --limit ${flags.limit}` : '',
    flags.from ? ` --from ${path.basename(flags.from)}` : ''].join('');
  const workersSaid = `${trainFlags.workers} worker(s)${trainFlags.parallel ? ` (${trainFlags.parallel})` : ''}`;
  const lines = [
    `# ${NAME}: ${model.what}`,
    '',
    short ? `**A short test run (${plural(epochs, 'epoch')} of ${result.train_images} images), not the full recipe.**\n` : '',
    `Made by \`node tools/pretrained.js${own}\` (\`make pretrained\`), which runs the code of`,
    `\`${command}\``,
    model.about,
    flags.from ? `Trained earlier by that command with \`--dtype f32 --save ${path.basename(flags.from)}\` ` +
      '(its loss history is kept in the file); measured and saved as float16 here, without training again.' : '',
    '',
    `- date: ${new Date().toISOString()}`,
    `- git commit: ${commit ?? 'unknown (no git)'}${dirty ? ' (with uncommitted changes)' : ''}`,
    `- recipe: ${result.dataset ? `${result.dataset} classes` : 'digits'} ${result.digits.join(', ')}, ${plural(epochs, 'epoch')} of ${result.train_images} images, batch ${result.batch}, ` +
      `Adam lr ${result.lr}, beta ${result.beta} (${result.kl} KL convention), seed ${result.seed}; mixture \`${result.mixture}\``,
    trained ? `- training: ${workersSaid}, ${result.build} wasm; ` +
      'the same command with the same number of workers gives the same weights'
      : `- training: ${workersSaid}, ${result.build} wasm, ${result.seconds} s (${result.images_per_s} images/s); ` +
      'the same command with the same number of workers gives the same bytes',
    `- files: \`${path.basename(written.model)}\` (float16) SHA-256 \`${await sha256(written.model)}\`; ` +
      `\`${path.basename(written.mixture)}\` SHA-256 \`${await sha256(written.mixture)}\``,
    '',
    `Test set (${result.test_images} images), measured on the float32 model before it was rounded to float16 (the page`,
    'measures the float16 file again when it loads it: the figures differ in the last digits):',
    '',
    '| metric | value |',
    '|---|---|',
    `| test BCE (per image) | ${fixed(result.test_bce, 2)} |`,
    `| test KL (usual) | ${fixed(result.test_kl, 3)} |`,
    `| ELBO | ${fixed(result.test_elbo, 2)} |`,
    `| kNN accuracy (k = 15) | ${fixed(result.knn_accuracy, 4)} |`,
    `| mixture accuracy | ${fixed(result.test_accuracy, 4)} |`,
    `| mixture macro F1 | ${fixed(result.test_macro_f1, 4)} |`,
    '',
    'Loss per epoch (training images; also in the model\'s metadata as `loss_history`, and per batch, smoothed, as `loss_curve`):',
    '',
    '| epoch | loss | BCE | KL |',
    '|---|---|---|---|',
    ...epochRows.map((e) => `| ${e.epoch} | ${fixed(e.loss, 2)} | ${fixed(e.bce, 2)} | ${fixed(e.kl, 3)} |`),
    '',
  ];
  await writeFile(path.join(out, model.provenance), lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n'));
  process.stderr.write(`wrote ${written.model}, ${written.mixture} and ${path.join(out, model.provenance)}\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  process.stderr.write(`\npretrained: ${error.message}\n`);
  process.exit(1);
});
