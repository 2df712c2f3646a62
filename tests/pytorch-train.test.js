// The PyTorch trainer (tools/pytorch/train.py, make pytorch-train) trains our recipe and brings the run
// back as one of ours. Its recipe against web/lib's, through tests/pytorch/probe.py: the same split
// (classes, labelled images chosen by the seed, test set), a limited run's epoch orders, deskewed real
// digits within 1 of 255, the same loss history and curve. Then the 2-process run make test makes before
// the Node tests (make test-pytorch: gloo, CPU, 300 images, one epoch, build/test/pytorch-2proc.*): the
// file says where it was trained (world size 2), our trainer accepts it with --load F --epochs 0 and
// measures finite numbers, and the authors' PyTorch module loads it back. Bad flags fail in one line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { BUILD, loadMnist, ROOT } from '../tools/common.js';
import { deskewImage } from '../web/lib/data/deskew.js';
import { splitDigits } from '../web/lib/data/split.js';
import { parseModelMetadata, readSafetensorsMetadata } from '../web/lib/model-io.js';
import { makeRng, permutation } from '../web/lib/rng.js';
import { LossHistory } from '../web/lib/run/loss-history.js';
import { trainingIndices } from '../web/lib/run/trainer.js';
import { lab } from './helpers.js';

const run = promisify(execFile);
// Debian's PyTorch is for Debian's python, not whichever python3 is first on the PATH.
const PYTHON = '/usr/bin/python3';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

describe('the PyTorch trainer\'s recipe against ours', () => {
  const probeArgs = { digits: '3,5,8', seed: 7, limit: 500, deskewImages: 300 };
  const probed = run(PYTHON, [path.join(ROOT, 'tests/pytorch/probe.py'), '--digits', probeArgs.digits, '--seed', String(probeArgs.seed),
    '--limit', String(probeArgs.limit), '--deskew-images', String(probeArgs.deskewImages)], { maxBuffer: 1 << 26 })
    .then(({ stdout }) => JSON.parse(stdout));
  const mnist = loadMnist();

  it('splits MNIST as splitDigits does: the same labelled images chosen by the seed, training and test images', async () => {
    const ours = splitDigits({ ...(await mnist), digits: probeArgs.digits, seed: probeArgs.seed });
    const theirs = (await probed).split;
    for (const part of ['train', 'val', 'test']) {
      assert.equal(theirs[part].n, ours[part].n, `${part}: image count`);
      assert.equal(theirs[part].labels, sha256(ours[part].labels), `${part}: labels`);
      assert.equal(theirs[part].images, sha256(ours[part].images), `${part}: the same images in the same order`);
    }
  });

  it('visits a limited run\'s images in the order our Trainer does, epoch after epoch', async () => {
    const ours = splitDigits({ ...(await mnist), digits: probeArgs.digits, seed: probeArgs.seed });
    const indices = trainingIndices(ours.train.n, probeArgs.seed, probeArgs.limit);
    const [epoch0, epoch3] = [0, 3].map((epoch) =>
      Array.from(permutation(indices.length, makeRng(probeArgs.seed, 1000 + epoch)), (k) => indices[k]));
    assert.deepEqual((await probed).orders, [epoch0, epoch3]);
  });

  it('deskews real MNIST digits as web/lib/data/deskew.js does, every pixel within 1 of 255', async () => {
    const { train } = await mnist;
    const theirs = (await probed).deskewed;
    let largest = 0, differing = 0, moved = 0;
    for (let i = 0; i < probeArgs.deskewImages; i++) {
      const image = train.images.subarray(i * 784, (i + 1) * 784), ours = deskewImage(image);
      for (let p = 0; p < 784; p++) {
        const diff = Math.abs(theirs[i * 784 + p] - ours[p]);
        if (diff > largest) largest = diff;
        if (diff > 0) differing++;
        if (ours[p] !== image[p]) moved++;
      }
    }
    assert.ok(moved > 0.05 * probeArgs.deskewImages * 784, 'deskewing changed too few pixels for the check to mean anything');
    assert.ok(largest <= 1, `a pixel differs by ${largest} of 255 (${differing} pixels differ at all)`);
    process.stdout.write(`deskew: ${differing} of ${probeArgs.deskewImages * 784} pixels differ from ours\n`);
  });

  it('keeps the loss per epoch and the smoothed curve as LossHistory does (a refused batch left out)', async () => {
    const history = new LossHistory();
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let b = 0; b < 7; b++) {
        const k = epoch * 7 + b, loss = k === 4 ? NaN : 500 / (k + 1) + 100;
        history.add({ epoch, batchInEpoch: b, batchesPerEpoch: 7, count: b === 6 ? 5 : 32, loss, bce: loss - 3.25, kl: 3.25 + 0.1 * k,
          epochDone: b === 6 });
      }
    }
    const theirs = (await probed).history;
    assert.equal(theirs.epochs.length, 2);
    theirs.epochs.forEach((e, i) => {
      for (const key of ['loss', 'bce', 'kl']) assert.ok(Math.abs(e[key] - history.epochs[i][key]) < 1e-9, `epoch ${i + 1} ${key}`);
    });
    assert.deepEqual(theirs.curve, history.curve());
    assert.deepEqual(theirs.curve5, history.curve(5));
  });
});

describe('a 2-process PyTorch run (gloo, CPU, 300 images, one epoch), brought back', () => {
  const model = path.join(BUILD, 'test', 'pytorch-2proc.safetensors');
  const made = () => assert.ok(existsSync(model), `${model} is missing: make test-pytorch makes it (make test and make check run it first)`);

  it('trained on 2 processes and says so: world size 2, gloo, cpu, its loss history and curve, our mixture and metrics', async () => {
    made();
    const line = JSON.parse((await readFile(model.replace(/\.safetensors$/, '.json'), 'utf8')).trim().split('\n').at(-1));
    assert.equal(line.trainer, 'pytorch');
    assert.equal(line.world_size, 2);
    assert.equal(line.train_images, 300);
    assert.equal(line.epochs, 1);
    for (const key of ['test_bce', 'test_kl', 'test_accuracy', 'knn_accuracy', 'images_per_s']) assert.ok(Number.isFinite(line[key]), key);
    const L = await lab('simd');
    const metadata = readSafetensorsMetadata(L, await readFile(model));
    assert.equal(metadata.trainer, 'pytorch');
    assert.equal(metadata.world_size, '2');
    assert.equal(metadata.backend, 'gloo');
    assert.equal(metadata.device, 'cpu');
    const info = parseModelMetadata(metadata);   // strict: a bad value of a key we write would throw
    assert.deepEqual(info.digits, [1, 4, 8]);
    assert.equal(info.epochs, 1);
    assert.equal(info.limit, 300);
    assert.deepEqual(info.lossHistory.map((e) => e.epoch), [1]);
    assert.ok(info.lossCurve.length === 10, `one smoothed point per batch (${info.lossCurve.length})`);
    assert.equal(info.metrics.test_bce, line.test_bce, 'the file holds the metrics of the JSON line');
    assert.ok(info.mixture, 'our mixture is in the file');
    const left = (await readdir(path.dirname(model))).filter((f) => f.includes('unmeasured') || f.endsWith('.partial'));
    assert.deepEqual(left, [], 'nothing half-written is left beside it');
  });

  it('is accepted by make train --load F --epochs 0, which measures the same finite numbers', async () => {
    made();
    const { stdout } = await run('node', [path.join(ROOT, 'tools/train.js'), '--load', model, '--epochs', '0', '--quiet'], { maxBuffer: 1 << 24 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    const saved = JSON.parse((await readFile(model.replace(/\.safetensors$/, '.json'), 'utf8')).trim().split('\n').at(-1));
    for (const key of ['test_bce', 'test_kl', 'test_elbo', 'test_accuracy', 'test_macro_f1', 'knn_accuracy']) {
      assert.ok(Number.isFinite(result[key]), `${key} is ${result[key]}`);
      assert.equal(result[key], saved[key], `${key}: measured as when it was brought back`);
    }
  });

  it('loads back into the authors\' PyTorch module (strict state_dict)', async () => {
    made();
    const { stdout } = await run(PYTHON, [path.join(ROOT, 'tools/pytorch/make_fixture.py'), '--verify', model]);
    const verified = JSON.parse(stdout);
    assert.equal(verified.tensors, 30, 'the 30 tensors of the authors\' state_dict');
    assert.ok(Number.isFinite(verified.decode_origin_mean));
  });

  it('refuses a bad flag in one line, exit code 2, writing nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'latent-lab-pytorch-'));
    for (const [args, message] of [
      [['--nproc', '0'], /--nproc must be an integer 1\.\.256, got 0/],
      [['--preset', 'fast'], /unknown preset "fast" \(known: authors, usual-kl/],
      [['--kl', 'half'], /kl must be "authors" or "usual", got "half"/],
      [['--epochs'], /--epochs needs a value/],
      [['--test-data', 'x.idx'], /--test-data needs --data/],
      [['--save', path.join(dir, 'model.bin')], /--save must name a \.safetensors file/],
    ]) {
      const error = await run(PYTHON, [path.join(ROOT, 'tools/pytorch/train.py'), '--save', path.join(dir, 'm.safetensors'), ...args])
        .then(() => null, (e) => e);
      assert.ok(error, `train.py ${args.join(' ')} succeeded`);
      assert.equal(error.code, 2);
      assert.match(error.stderr, message);
      assert.equal(error.stderr.trim().split('\n').length, 1, `more than one line: ${error.stderr}`);
    }
    assert.deepEqual(await readdir(dir), [], 'a refused run wrote a file');
  });
});
