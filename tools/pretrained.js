// make pretrained [ARGS="--workers 2"]: the model the page shows on first open. The authors' recipe
// (--preset authors: digits 1, 4, 8, 8 epochs, batch 32, Adam lr 3e-4, beta 0.55 on their KL), seed 42,
// trained by tools/train.js's own code (runTraining), with the lab's default mixture (PRESETS.default)
// fitted on its codes. Writes into web/models/ (or --out DIR): pretrained-148.safetensors (float16,
// PyTorch state_dict names; settings, metrics, loss history and mixture in its metadata),
// pretrained-148.mixture.json and PROVENANCE.md.
// Deterministic: the same command (same --workers, same wasm build) writes the same model and mixture
// bytes; only PROVENANCE.md records the date. --epochs and --limit pass through for a short test run,
// and the files then say what they are.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { PRESETS } from '../web/lib/run/options.js';
import { parseFlags, ROOT } from './common.js';
import { runTraining } from './train.js';

const FLAGS = { out: 'string', workers: 'number', epochs: 'number', limit: 'number', build: 'string', quiet: 'boolean' };
const NAME = 'pretrained-148';

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

async function main() {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const out = path.resolve(flags.out ?? path.join(ROOT, 'web', 'models'));
  await mkdir(out, { recursive: true });
  const save = path.join(out, `${NAME}.safetensors`);
  const recipe = { preset: 'authors', digits: '1,4,8', seed: 42, mixture: PRESETS.default.mixture };
  const trainFlags = { ...recipe, workers: flags.workers ?? 1, save, dtype: 'f16', quiet: flags.quiet ?? false,
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}), ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.build ? { build: flags.build } : {}) };
  if (trainFlags.epochs === 0) throw new Error('--epochs 0 would not train anything');
  const { result, written, history } = await runTraining(trainFlags, { extraMetadata: { name: NAME } });

  const command = ['node tools/train.js', ...Object.entries(trainFlags).filter(([k]) => k !== 'quiet' && k !== 'save')
    .map(([k, v]) => `--${k} ${v}`), `--save ${NAME}.safetensors`].join(' ');
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  const short = result.epochs !== 8 || result.train_images !== 18420;
  const lines = [
    `# ${NAME}: the pretrained model the page shows on first open`,
    '',
    short ? `**A short test run (${plural(result.epochs, 'epoch')} of ${result.train_images} images), not the authors' full recipe.**\n` : '',
    `Made by \`node tools/pretrained.js${flags.workers ? ` --workers ${flags.workers}` : ''}${flags.epochs !== undefined ? ` --epochs ${flags.epochs}` : ''}` +
      `${flags.limit !== undefined ? ` --limit ${flags.limit}` : ''}\` (\`make pretrained\`), which runs the code of`,
    `\`${command}\``,
    '(the authors\' recipe for the network, with the lab\'s default mixture on its codes).',
    '',
    `- date: ${new Date().toISOString()}`,
    `- git commit: ${commit ?? 'unknown (no git)'}${dirty ? ' (with uncommitted changes)' : ''}`,
    `- recipe: digits ${result.digits.join(', ')}, ${plural(result.epochs, 'epoch')} of ${result.train_images} images, batch ${result.batch}, ` +
      `Adam lr ${result.lr}, beta ${result.beta} (${result.kl} KL convention), seed ${result.seed}; mixture \`${result.mixture}\``,
    `- training: ${trainFlags.workers} worker(s), ${result.build} wasm, ${result.seconds} s (${result.images_per_s} images/s); ` +
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
    ...history.epochs.map((e) => `| ${e.epoch} | ${fixed(e.loss, 2)} | ${fixed(e.bce, 2)} | ${fixed(e.kl, 3)} |`),
    '',
  ];
  await writeFile(path.join(out, 'PROVENANCE.md'), lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n'));
  process.stderr.write(`wrote ${written.model}, ${written.mixture} and ${path.join(out, 'PROVENANCE.md')}\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  process.stderr.write(`\npretrained: ${error.message}\n`);
  process.exit(1);
});
