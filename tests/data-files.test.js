// Users' data files through parseDataFiles (the C readers in the wasm module), on the committed
// fixtures that tools/make-bad-data.js writes: every valid file (npz uint8 with labels, float without,
// deflated entries, IDX gzipped or not, in either order, numpy's own npz files) reads back exactly; every
// broken one (tests/fixtures/bad-data/manifest.json) is refused with the message its manifest names, and
// after each refusal a dataset parsed before and a model made before are unchanged and still work.
// Also: the wasm heap does not grow over repeated model create/train/free and parse/free cycles.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { LabError } from '../web/lib/latent-lab.js';
import { parseDataFiles, parseDataFilesSync, parseIdxBytes } from '../web/lib/data/data-files.js';
import { ROOT, loadNodeLab } from '../tools/common.js';
import { BUILDS, lab } from './helpers.js';

const GOOD = path.join(ROOT, 'tests/fixtures/good-data');
const BAD = path.join(ROOT, 'tests/fixtures/bad-data');
const CYCLES = 200;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const read = async (dir, names) => Promise.all(names.map(async (name) => ({ name, bytes: await readFile(path.join(dir, name)) })));

let goodManifest, badManifest;
before(async () => {
  goodManifest = JSON.parse(await readFile(path.join(GOOD, 'manifest.json'), 'utf8'));
  badManifest = JSON.parse(await readFile(path.join(BAD, 'manifest.json'), 'utf8'));
});

for (const build of BUILDS) {
  describe(`data files (${build} build)`, () => {
    it('reads every valid fixture back exactly: images, labels, count and format', async () => {
      const L = await lab(build);
      for (const c of goodManifest) {
        const set = await parseDataFiles(L, await read(GOOD, c.files));
        const what = c.files.join(' + ');
        assert.equal(set.n, c.n, `${what}: count`);
        assert.equal(set.format, c.format, `${what}: format`);
        assert.equal(set.images.length, c.n * 784, `${what}: image bytes`);
        assert.equal(sha256(set.images), c.sha256, `${what}: the images differ from what was written`);
        assert.deepEqual(set.labels === null ? null : Array.from(set.labels), c.labels, `${what}: labels`);
        assert.equal(set.name, what);
      }
    });

    it('reads npz files numpy itself wrote (savez_compressed with int64 labels, savez with float32 data)', async () => {
      const L = await lab(build);
      const dir = path.join(ROOT, 'tests/fixtures/data');
      const compressed = await parseDataFiles(L, await read(dir, ['numpy-compressed.npz']));
      assert.equal(compressed.n, 5);
      assert.deepEqual(Array.from(compressed.labels), [0, 1, 2, 3, 4]);
      assert.equal(compressed.images[783], 255);
      assert.equal(compressed.images[5 * 28 + 10], 200);
      const stored = await parseDataFiles(L, await read(dir, ['numpy-stored.npz']));
      // float32 x / 255 comes back as round(255 x): the same bytes.
      assert.deepEqual(stored.images, compressed.images);
      assert.deepEqual(Array.from(stored.labels), [0, 1, 2, 3, 4]);
    });

    it('refuses every broken fixture with its message; a dataset and a model made before stay intact', async () => {
      const L = await lab(build);
      const kept = await parseDataFiles(L, await read(GOOD, ['images.idx', 'labels.idx']));
      const keptImages = kept.images.slice(), keptLabels = kept.labels.slice();
      const model = L.createModel({ seed: 5 });
      const batch = Float32Array.from(kept.images.subarray(0, 2 * 784), (v) => v / 255);
      model.trainBatch(batch);
      const params = model.getParams();
      const z = Float32Array.from([0.3, -0.2]);
      const decoded = model.decode(z);
      for (const c of badManifest) {
        const files = await read(BAD, c.files);
        const what = c.files.join(' + ');
        const error = await parseDataFiles(L, files, { maxBytes: c.maxBytes ?? 0 }).then(() => null, (e) => e);
        assert.ok(error, `${what} was accepted`);
        assert.ok(error instanceof LabError, `${what}: threw ${error.name}, not a LabError`);
        assert.ok(error.message.includes(c.message), `${what}: message "${error.message}" lacks "${c.message}"`);
        assert.deepEqual(kept.images, keptImages, `${what}: the dataset parsed before changed`);
        assert.deepEqual(kept.labels, keptLabels, `${what}: its labels changed`);
        assert.deepEqual(model.getParams(), params, `${what}: the model changed`);
        assert.deepEqual(model.decode(z), decoded, `${what}: the model decodes differently`);
      }
      // Still usable: trains, and the good files still parse.
      assert.ok(Number.isFinite(model.trainBatch(batch).loss));
      const again = await parseDataFiles(L, await read(GOOD, ['labels.idx.gz', 'images.idx.gz']));
      assert.deepEqual(again.images, keptImages);
      model.free();
    });

    it('refuses what is not a list of one or two files with named bytes, and calls without the Lab', async () => {
      const L = await lab(build);
      await assert.rejects(parseDataFiles(L, []), /give one file .* got 0/);
      await assert.rejects(parseDataFiles(L, [{ name: 'x.idx', bytes: 'text' }]), /x\.idx: expected the file's bytes/);
      await assert.rejects(parseDataFiles(new Uint8Array(4), []), /needs the Lab as its first argument/);
      assert.throws(() => parseIdxBytes(new Uint8Array(8)), /needs the Lab as its first argument/);
      assert.throws(() => parseDataFilesSync(new Uint8Array(8), [{ name: 'x', bytes: new Uint8Array(8) }]), /needs the Lab/);
    });
  });
}

describe('the wasm heap over many cycles', () => {
  it('does not grow over 200 model create/train/free cycles, nor over 200 parse/free cycles', async () => {
    // A fresh instance, so that no other test's allocations move the heap's top. Each cycle trains one
    // step on a 2-image batch; 200 rather than 1000 cycles because one cycle (initialising 2.7 million
    // parameters, one step, a parse) takes 0.1-0.25 s on this shared 2-core machine, and a leak of even
    // one allocation per cycle would show after a few dozen. The native test_leak runs 1000 cycles under
    // LeakSanitizer.
    const L = await loadNodeLab('simd');
    const x = L.x;
    const batch = new Float32Array(2 * 784).fill(0.25);
    const files = await read(GOOD, ['images.idx.gz', 'labels.idx.gz']);
    const cycle = async () => {
      const m = L.createModel({ seed: 1 });
      m.trainBatch(batch);
      m.free();
      await parseDataFiles(L, files);
    };
    for (let i = 0; i < 3; i++) await cycle();   // warm-up: the heap reaches its working size
    const probe = () => { const p = x.malloc(1 << 20); x.free(p); return p; };
    const bytesBefore = x.memory.buffer.byteLength, probeBefore = probe();
    const started = performance.now();
    for (let i = 0; i < CYCLES; i++) await cycle();
    const seconds = (performance.now() - started) / 1000;
    const bytesAfter = x.memory.buffer.byteLength, probeAfter = probe();
    console.log(`${CYCLES} cycles in ${seconds.toFixed(1)} s; wasm memory ${bytesBefore} -> ${bytesAfter} bytes; ` +
      `a 1 MiB malloc lands at ${probeBefore} -> ${probeAfter}`);
    assert.equal(bytesAfter, bytesBefore, 'the wasm memory grew');
    assert.ok(probeAfter <= probeBefore, `a 1 MiB block now lands higher in the heap (${probeBefore} -> ${probeAfter})`);
  });
});
