// `make figures` end to end (tools/figures.js): on a tiny model it trains itself (1 epoch of 1,000
// images, evaluated on a 1,000-image sample), it writes every figure of the report as a real PNG of the
// expected size with a picture in it (decoded here: many colours, not blank), a report that lists the
// reconstruction MSE, SSIM and score as numbers in range, and the model it drew, with its loss history.
// That model, loaded back without its loss history, is drawn again with the "no loss history" note.
// Also: the loss curves read from metadata, and the manifold's grid at scipy's norm.ppf values.
// --interpolate on the pretrained model: the strip's end images are the decoder's at the two points,
// each image is named, and a bad --interpolate or --steps is refused in one line with nothing written.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';

import { CHROMIUM, ROOT } from '../tools/common.js';
import { FIGURES, lossCurves, PRETRAINED } from '../tools/figures.js';
import { INTERPOLATION_FILE, stripSize } from '../tools/figures/interpolation.js';
import { stripLayout } from '../web/draw/strip.js';
import { toBytes } from '../web/lib/data/images.js';
import { loadSafetensors, readSafetensorsMetadata, saveSafetensors } from '../web/lib/model-io.js';
import { normalQuantile } from '../web/lib/normal.js';
import { lab } from './helpers.js';

const run = promisify(execFile);
const tmp = await mkdtemp(path.join(os.tmpdir(), 'latent-lab-figures-'));
after(() => rm(tmp, { recursive: true, force: true }));

// The drawing's size in CSS pixels (tools/figures.js) plus the 40-pixel title band, at scale 2.
const SIZES = {
  'latent-scatter.png': [600, 600], 'em-results.png': [600, 600], 'mixture-ellipses.png': [600, 600],
  'manifold.png': [640, 665], 'loss.png': [640, 380], 'em-loglik.png': [640, 360], 'confusion.png': [340, 360],
  'reconstructions.png': [96 + 3 * (5 * 56 + 4 * 2) + 2 * 14 + 12, 40 + 152],
};
for (const t of ['01', '05', '10', '20', '50']) SIZES[`em-iteration-${t}.png`] = [480, 490];

// A PNG's header and pixels: 8-bit RGB or RGBA, not interlaced (what Chromium's encoder writes).
function decodePng(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'not a PNG signature');
  let at = 8, header = null;
  const idat = [];
  while (at < bytes.length) {
    const length = bytes.readUInt32BE(at), type = bytes.toString('latin1', at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9], interlace: body[12] };
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  assert.ok(header, 'no IHDR chunk');
  assert.equal(header.depth, 8);
  assert.equal(header.interlace, 0);
  const channels = { 2: 3, 6: 4 }[header.colour];
  assert.ok(channels, `colour type ${header.colour}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = header.width * channels;
  assert.equal(raw.length, header.height * (stride + 1), 'IDAT does not hold width x height pixels');
  const pixels = Buffer.alloc(header.height * stride);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      assert.ok(predictor !== undefined, `row ${y}: filter type ${filter}`);
      pixels[y * stride + x] = (v + predictor) & 255;
    }
  }
  return { ...header, channels, pixels };
}

// Distinct colours, and the share of pixels that are not white.
function colourStats({ pixels, channels }) {
  const colours = new Set();
  let ink = 0;
  for (let i = 0; i < pixels.length; i += channels) {
    colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    if (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250) ink++;
  }
  return { colours: colours.size, ink: ink / (pixels.length / channels) };
}

// The report's "| name ... | value |" row for a metric, as a number.
function reportNumber(report, label) {
  const row = report.split('\n').find((line) => line.startsWith(`| ${label}`));
  assert.ok(row, `report.md has no "${label}" row`);
  return Number(row.split('|').at(-2).trim());
}

async function figures(args) {
  const { stdout, stderr } = await run('node', [path.join(ROOT, 'tools/figures.js'), ...args], { maxBuffer: 1 << 24 });
  return { summary: JSON.parse(stdout.trim().split('\n').at(-1)), stderr };
}

// blank: figures expected to hold only a note (loss.png of a model with no loss history).
async function checkFigures(dir, { blank = [] } = {}) {
  for (const [file] of FIGURES) {
    const png = decodePng(await readFile(path.join(dir, file)));
    const [w, h] = SIZES[file];
    assert.deepEqual([png.width, png.height], [2 * w, 2 * h], `${file}: size`);
    const { colours, ink } = colourStats(png);
    // Text, axes and points antialiased in several colours; digit images in many greys.
    assert.ok(colours >= 40, `${file}: only ${colours} distinct colours: a blank or flat image`);
    assert.ok(ink > (blank.includes(file) ? 0.001 : 0.01), `${file}: ${(ink * 100).toFixed(2)}% of the pixels are not white`);
  }
}

describe('make figures', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (make figures installs it)` }, () => {
  const out = path.join(tmp, 'trained');

  it('trains a tiny model when given none, and writes every figure, report.md and the model', async () => {
    // 32 steps: the default's 2-epoch learning-rate warm-up would be the whole run (MSE 0.23 measured with it).
    const { summary, stderr } = await figures(['--epochs', '1', '--limit', '1000', '--eval-limit', '1000', '--seed', '3',
      '--mixture', 'authors', '--lr-warmup', '0', '--out', out, '--quiet']);
    assert.equal(stderr, '');
    assert.equal(summary.trained_here, true);
    assert.equal(summary.test_images, 1000);
    await checkFigures(out);

    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    const mse = reportNumber(report, 'reconstruction MSE'), ssim = reportNumber(report, 'SSIM');
    const score = reportNumber(report, 'score (1 - MSE + SSIM) / 2');
    // A barely trained decoder draws a blur: MSE well under the 0.25 of a grey image, SSIM low but real.
    assert.ok(mse > 0 && mse < 0.2, `MSE ${mse}`);
    assert.ok(ssim > -1 && ssim < 1, `SSIM ${ssim}`);
    assert.ok(Math.abs(score - (1 - mse + ssim) / 2) < 2e-4, `score ${score} is not (1 - MSE + SSIM) / 2`);
    assert.ok(Math.abs(summary.recon_score - (1 - summary.recon_mse + summary.recon_ssim) / 2) < 1e-12);
    for (const label of ['mixture accuracy', 'macro precision', 'macro recall', 'macro F1', 'kNN accuracy']) {
      const v = reportNumber(report, label);
      assert.ok(v >= 0 && v <= 1, `${label} ${v}`);
    }
    assert.ok(Number.isFinite(reportNumber(report, 'test ELBO')));
    for (const [file] of FIGURES) assert.ok(report.includes(`](${file})`), `report.md does not embed ${file}`);

    // The model drawn, with the loss of the run that made it.
    const metadata = readSafetensorsMetadata(await lab('simd'), await readFile(path.join(out, 'model.safetensors')));
    const history = JSON.parse(metadata.loss_history);
    assert.equal(history.length, 1);
    assert.equal(history[0].epoch, 1);
    assert.ok(history[0].loss > history[0].bce && history[0].bce > 0);
    const curve = JSON.parse(metadata.loss_curve);
    assert.equal(curve.length, 32, 'one smoothed point per batch');
    assert.equal(curve.at(-1).x, 1);
    assert.equal(metadata.mixture_variant, 'authors');
    assert.equal(metadata.deskew, 'true', 'the default recipe deskews MNIST, and the file says so');
    assert.equal(JSON.parse(metadata.mixture).k, 3);
    assert.ok(existsSync(path.join(out, 'model.mixture.json')));
  });

  it('trains the model make train trains for the same flags: the same tensors and the same loss_curve', async () => {
    assert.ok(existsSync(path.join(out, 'model.safetensors')), 'needs the run above');
    const saved = path.join(tmp, 'train.safetensors');
    await run('node', [path.join(ROOT, 'tools/train.js'), '--epochs', '1', '--limit', '1000', '--seed', '3', '--mixture', 'authors',
      '--lr-warmup', '0', '--workers', '1', '--quiet', '--save', saved], { maxBuffer: 1 << 24 });
    const L = await lab('simd');
    const [byFigures, byTrain] = await Promise.all([path.join(out, 'model.safetensors'), saved].map((f) => readFile(f)));
    const meta = [byFigures, byTrain].map((bytes) => readSafetensorsMetadata(L, bytes));
    assert.ok(JSON.parse(meta[1].loss_curve).length > 1);
    assert.equal(meta[0].loss_curve, meta[1].loss_curve, 'make figures and make train keep different loss curves');
    assert.equal(meta[0].loss_history, meta[1].loss_history);
    // The tensors: the bytes after each file's header.
    const tensors = (bytes) => bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
    assert.ok(tensors(byFigures).equals(tensors(byTrain)), 'make figures trained other weights than make train');
  });

  it('draws a loaded model as it is, with its saved mixture, and says when it has no loss history', async () => {
    assert.ok(existsSync(path.join(out, 'model.safetensors')), 'needs the run above');
    // The same model without loss_history, beside a copy of its mixture.
    const L = await lab('simd');
    const model = L.createModel({ seed: 0 });
    // Without its loss (loss_history, loss_curve) and its embedded mixture: the one beside it is used.
    const { loss_history: _h, loss_curve: _c, mixture: _m, ...metadata } = loadSafetensors(model,
      await readFile(path.join(out, 'model.safetensors')));
    const bare = path.join(tmp, 'bare.safetensors');
    await writeFile(bare, saveSafetensors(model, { metadata }));
    model.free();
    await writeFile(path.join(tmp, 'bare.mixture.json'), await readFile(path.join(out, 'model.mixture.json')));
    const again = path.join(tmp, 'loaded');
    const { summary, stderr } = await figures(['--load', bare, '--eval-limit', '300', '--out', again]);
    assert.match(stderr, /using the mixture saved beside it/);
    assert.equal(summary.trained_here, false);
    assert.equal(summary.loss_history, false);
    assert.equal(summary.seed, 3, 'the split follows the model\'s seed');
    assert.ok(!existsSync(path.join(again, 'model.safetensors')), 'a loaded model is not saved again');
    await checkFigures(again, { blank: ['loss.png'] });
    const report = await readFile(path.join(again, 'report.md'), 'utf8');
    assert.match(report, /No loss history in this model/);
    assert.match(report, /loaded from `.*bare\.mixture\.json` \(3 components\)/);
    await assert.rejects(figures(['--load', bare, '--epochs', '2', '--out', again]), /training flags do not apply to a loaded model/);
  });

  it('draws the strip between two points with --interpolate: its end images are the decoder\'s at them, each named', async () => {
    // The pretrained mixture's heaviest 1 and 8 components (docs/figures.md); its mixture is loaded, so
    // --eval-limit only shortens the metrics, not the strip.
    const a = [-0.052, -1.429], b = [-0.128, -0.148], steps = 7;
    const dir = path.join(tmp, 'interpolated');
    const { summary } = await figures(['--interpolate', `${a}:${b}`, '--steps', String(steps), '--eval-limit', '300',
      '--out', dir, '--quiet']);
    assert.deepEqual(summary.figures.at(-1), INTERPOLATION_FILE);
    const png = decodePng(await readFile(path.join(dir, INTERPOLATION_FILE)));
    const { width, height } = stripSize(steps);
    assert.deepEqual([png.width, png.height], [2 * width, 2 * (height + 40)], 'size');

    // Cell i of the PNG as 784 greys: the centre of each image pixel's square (2 x layout.scale wide).
    const layout = stripLayout(width, height, steps);
    const block = 2 * layout.scale;
    const cell = (i) => Uint8Array.from({ length: 784 }, (_, p) => {
      const x = 2 * (layout.left + i * layout.step) + (p % 28) * block + (block >> 1);
      const y = 2 * (40 + layout.top) + Math.floor(p / 28) * block + (block >> 1);
      const o = (y * png.width + x) * png.channels;
      assert.ok(png.pixels[o] === png.pixels[o + 1] && png.pixels[o + 1] === png.pixels[o + 2], `cell ${i}: pixel ${p} is not grey`);
      return 255 - png.pixels[o];
    });
    const L = await lab('simd');
    const model = L.createModel({ seed: 0 });
    loadSafetensors(model, await readFile(PRETRAINED));
    const ends = toBytes(model.decode(Float32Array.from([...a, ...b])));
    model.free();
    const largestDifference = (p, q) => p.reduce((m, v, i) => Math.max(m, Math.abs(v - q[i])), 0);
    const meanDifference = (p, q) => p.reduce((s, v, i) => s + Math.abs(v - q[i]), 0) / p.length;
    const first = cell(0), last = cell(steps - 1), middle = cell(steps >> 1);
    assert.ok(largestDifference(first, ends.subarray(0, 784)) <= 1, 'the first image is not the decoder\'s at A');
    assert.ok(largestDifference(last, ends.subarray(784)) <= 1, 'the last image is not the decoder\'s at B');
    // A 1 turning into an 8: the middle image is neither end (mean differences of 18 and 34 greys measured).
    assert.ok(meanDifference(middle, first) > 10 && meanDifference(middle, last) > 10, 'the middle image is one of the ends');

    assert.deepEqual(summary.interpolation.from, a);
    assert.equal(summary.interpolation.digits.length, steps);
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    assert.ok(report.includes(`](${INTERPOLATION_FILE})`), 'report.md does not embed the strip');
    assert.match(report, /From A \(-0\.052, -1\.429\) to B \(-0\.128, -0\.148\) in 7 images, the mixture's most likely class at each: 1, (\d, ){5}8; the path (stays inside|crosses)/);
  });

  it('refuses a bad --interpolate or --steps in one line, with exit code 2 and nothing written', async () => {
    const dir = path.join(tmp, 'refused');
    const cases = [['1,2:1,2', /both ends are the point \(1, 2\)/], ['1,2', /expected two points/], ['1,2,3:4,5', /point A "1,2,3" needs two numbers/],
      ['NaN,0:1,1', /"NaN": a point needs finite numbers/], ['1e999,0:1,1', /"1e999" is not a finite number/], ['1,2:3,four', /"four" is not a number/],
      ['1,2:3,4 --steps 41', /--steps must be a whole number from 2 to 40/], ['1,2:3,4 --steps 1', /--steps must be/], ['1,2:3,4 --steps 2.5', /--steps must be/]];
    await Promise.all(cases.map(async ([value, message]) => {
      const [anchors, ...rest] = value.split(' ');
      const error = await figures(['--interpolate', anchors, ...rest, '--out', dir]).then(() => null, (e) => e);
      assert.ok(error, `--interpolate ${value} was accepted`);
      assert.equal(error.code, 2, `--interpolate ${value}: exit code`);
      assert.match(error.stderr, message);
      assert.equal(error.stderr.trim().split('\n').length, 1, `--interpolate ${value}: more than one line: ${error.stderr}`);
    }));
    assert.ok(!existsSync(dir), 'a refused run wrote its folder');
  });

  it('reads loss curves from metadata: loss_history per epoch, loss_curve per batch in any of three shapes', () => {
    assert.equal(lossCurves({}), null);
    assert.equal(lossCurves({ loss_history: 'not json' }), null);
    assert.deepEqual(lossCurves({ loss_curve: '[{"x": 0.5, "loss": 3, "bce": 2, "kl": 1}]' }), { epochs: null, batches: [[0.5, 3, 2, 1]] });
    const history = JSON.stringify([{ epoch: 1, loss: 200, bce: 190, kl: 5 }, { epoch: 2, loss: 150, bce: 140, kl: 6 }]);
    assert.deepEqual(lossCurves({ loss_history: history }), { epochs: [[1, 200, 190, 5], [2, 150, 140, 6]], batches: null });
    assert.deepEqual(lossCurves({ loss_history: history, loss_curve: '[300, 250, 200, 150]' }).batches.map((p) => p.slice(0, 2)),
      [[0.5, 300], [1, 250], [1.5, 200], [2, 150]]);
    assert.deepEqual(lossCurves({ loss_history: history, loss_curve: '[[0.5, 300, 290, 4]]' }).batches, [[0.5, 300, 290, 4]]);
    assert.deepEqual(lossCurves({ loss_history: history, loss_curve: '[{"x": 0.5, "loss": 300, "bce": 290, "kl": 4}]' }).batches,
      [[0.5, 300, 290, 4]]);
  });

  it('lays the manifold on the standard normal quantiles 0.05 ... 0.95, as scipy\'s norm.ppf gives them', () => {
    // scipy.stats.norm.ppf(0.05) and (0.95); the second row: 0.5 * erfc(1.2966930 / sqrt 2) = 0.05 + 0.9 / 19
    assert.ok(Math.abs(normalQuantile(0.05) + 1.6448536269514729) < 1e-8);
    assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
    assert.ok(Math.abs(normalQuantile(0.95) - 1.6448536269514722) < 1e-8);
    assert.ok(Math.abs(normalQuantile(0.05 + 0.9 / 19) + 1.2966929) < 1e-6);
  });
});
