// make quality: the mixture-quality table. For each digit set, seed and training recipe it trains a
// model (or reuses the codes a previous run saved under build/quality/), then fits every mixture
// variant on the same codes and prints a Markdown table: test accuracy, macro F1, kNN accuracy,
// ELBO and training time, as mean and range over the seeds.
//   node tools/quality.js --sets "1,4,8;3,5,8;0,1,2" --seeds 42,7,1 --recipes authors,default --mixtures all
// A set is MNIST digits ("0,1,2,3,4,5,6,7,8,9") or a built-in dataset's name for all its classes ("fashion").
// --out DIR keeps the saved codes there instead of build/quality/; --jobs N trains N at a time (2).
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';

import { DATASETS } from '../web/lib/data/datasets.js';
import { classIndices } from '../web/lib/run/evaluate.js';
import { fitMixture, MIXTURES } from '../web/lib/run/mixture.js';
import { effectiveDeskew, PRESETS } from '../web/lib/run/options.js';
import { BUILD, loadNodeLab, parseFlags, ROOT } from './common.js';

const run = promisify(execFile);
const flags = parseFlags(process.argv.slice(2), { sets: 'string', seeds: 'string', recipes: 'string', mixtures: 'string',
  jobs: 'number', out: 'string' });
const sets = (flags.sets ?? '1,4,8;3,5,8;0,1,2').split(';');
const seeds = (flags.seeds ?? '42,7,1').split(',').map(Number);
const recipes = (flags.recipes ?? 'authors,default').split(',');
const mixtures = flags.mixtures && flags.mixtures !== 'all' ? flags.mixtures.split(',') : Object.keys(MIXTURES);
const jobs = flags.jobs ?? 2;
const dir = path.resolve(flags.out ?? path.join(BUILD, 'quality'));

// A set's training flags: MNIST digits, or a built-in dataset (all its classes).
const setFlags = (set) => (Object.hasOwn(DATASETS, set) ? ['--dataset', set] : ['--digits', set]);

// Trains (at most `jobs` at a time, one worker each) whatever has no saved codes yet.
async function codesFor(recipe, digits, seed) {
  const file = path.join(dir, `${recipe}-${digits.replaceAll(',', '')}-seed${seed}.json`);
  const dataset = Object.hasOwn(DATASETS, digits) ? digits : 'mnist';
  try {
    const data = JSON.parse(await readFile(file, 'utf8'));
    if (!trainedAs(data.result, recipe, dataset)) throw new Error('trained with other settings');
    return data;
  } catch {
    process.stderr.write(`training ${recipe} on ${digits}, seed ${seed}...\n`);
    await run('node', [path.join(ROOT, 'tools/train.js'), '--preset', recipe, ...setFlags(digits), '--seed', String(seed),
      '--quiet', '--workers', '1', '--save-codes', file], { maxBuffer: 1 << 26 });
    return JSON.parse(await readFile(file, 'utf8'));
  }
}

// Whether saved codes come from the recipe as it is now (a preset changed since they were saved is retrained).
function trainedAs(result, recipe, dataset) {
  const preset = PRESETS[recipe];
  // Codes saved before an option existed were trained without it.
  const lrWarmup = result.lr_warmup ?? 0, deskew = result.deskew ?? false;
  return ['epochs', 'batch', 'lr', 'beta', 'kl', 'warmup'].every((k) => result[k] === preset[k]) &&
    lrWarmup === preset.lrWarmup && deskew === effectiveDeskew({ ...preset, dataset }, false) &&
    (result.dataset ?? 'mnist') === dataset;
}

async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) { const i = next++; results[i] = await tasks[i](); }
  }));
  return results;
}

const stats = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, min: Math.min(...values), max: Math.max(...values) };
};
const fmt = (s, digits = 3) => `${s.mean.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

async function main() {
  await mkdir(dir, { recursive: true });
  for (const r of recipes) if (!Object.hasOwn(PRESETS, r)) throw new Error(`unknown recipe ${r}`);
  const combos = sets.flatMap((digits) => seeds.flatMap((seed) => recipes.map((recipe) => ({ digits, seed, recipe }))));
  const runs = await pool(combos.map((c) => async () => ({ ...c, data: await codesFor(c.recipe, c.digits, c.seed) })), jobs);
  const lab = await loadNodeLab('simd');
  const rows = [];
  for (const digits of sets) {
    for (const recipe of recipes) {
      for (const variant of mixtures) {
        const per = runs.filter((r) => r.digits === digits && r.recipe === recipe).map(({ data, seed }) => {
          const classes = data.classes, nClasses = classes.length;
          const f32 = (a) => Float32Array.from(a);
          const { mixture, iterations } = fitMixture(lab, { trainCodes: f32(data.train.mu), valCodes: f32(data.val.mu),
            valClasses: classIndices(data.val.labels, classes), nClasses, maxIter: 50, tol: 1e-3, variant, seed });
          const testCodes = f32(data.test.mu);
          const predicted = mixture.predict(testCodes).classIndex;
          const report = lab.classificationReport(classIndices(data.test.labels, classes), predicted, nClasses);
          mixture.free();
          const seen = new Set(predicted);
          const never = classes.filter((_, c) => !seen.has(c));
          return { seed, accuracy: report.accuracy, f1: report.f1, iterations, knn: data.result.knn_accuracy, never,
            elbo: data.result.test_elbo ?? -(data.result.test_bce + data.result.test_kl), seconds: data.result.seconds };
        });
        rows.push({ digits, recipe, variant, per });
      }
    }
  }
  // never predicted: the classes some seed's mixture never predicts on the test set (by seed).
  const lines = ['| data | recipe | mixture | test accuracy | macro F1 | kNN accuracy | never predicted | ELBO | train s | seeds |',
    '|---|---|---|---|---|---|---|---|---|---|'];
  const neverText = (per) => per.filter((p) => p.never.length).map((p) => `${p.never.join(',')} (${p.seed})`).join('; ') || 'none';
  for (const { digits, recipe, variant, per } of rows) {
    lines.push(`| ${digits} | ${recipe} | ${variant} | ${fmt(stats(per.map((p) => p.accuracy)))} | ` +
      `${fmt(stats(per.map((p) => p.f1)))} | ${fmt(stats(per.map((p) => p.knn)))} | ${neverText(per)} | ` +
      `${stats(per.map((p) => p.elbo)).mean.toFixed(1)} | ${stats(per.map((p) => p.seconds)).mean.toFixed(0)} | ` +
      `${per.map((p) => p.seed).join(',')} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error) => { process.stderr.write(`quality: ${error.message}\n`); process.exit(1); });
