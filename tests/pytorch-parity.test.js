// Parity with PyTorch: the fixture (tools/pytorch/make_fixture.py, run once with Debian's PyTorch 1.13)
// holds the authors' module with seeded random weights as a safetensors file written by Python, four
// real MNIST test images, four latent points, a noise draw, and PyTorch's mu, logvar, decoded images,
// reconstructions from mu and loss for them. Loaded through loadSafetensors, our model must give every
// output within 1e-4 (relative above 1) in both builds. No Python is needed here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import { loadSafetensors } from '../web/lib/model-io.js';
import { assertClose, BUILDS, lab } from './helpers.js';

const FIXTURE = new URL('./fixtures/pytorch-parity/', import.meta.url);
const weights = await readFile(new URL('weights-f16.safetensors', FIXTURE));
const expected = JSON.parse(await readFile(new URL('expected.json', FIXTURE), 'utf8'));
const images = Float32Array.from(expected.images_u8, (v) => Math.fround(v / 255));
const n = images.length / 784;
const f32 = (values) => Float32Array.from(values);

for (const build of BUILDS) {
  describe(`our model with PyTorch's weights (${build})`, () => {
    async function loaded() {
      const L = await lab(build);
      const model = L.createModel({ seed: 1 });
      const metadata = loadSafetensors(model, weights);
      return { model, metadata };
    }

    it('loads the F16 file PyTorch\'s side wrote, with its metadata', async () => {
      const { model, metadata } = await loaded();
      assert.equal(metadata.format, 'pt');
      assert.equal(metadata.seed, String(expected.seed));
      assert.ok(model.getParams().every(Number.isFinite));
      model.free();
    });

    it('encodes the four MNIST digits to PyTorch\'s mu and logvar within 1e-4', async () => {
      const { model } = await loaded();
      const { mu, logvar } = model.encode(images);
      assertClose(mu, f32(expected.mu), 1e-4, 'mu');
      assertClose(logvar, f32(expected.logvar), 1e-4, 'logvar');
      model.free();
    });

    it('decodes the four latent points to PyTorch\'s images within 1e-4', async () => {
      const { model } = await loaded();
      assertClose(model.decode(f32(expected.z)), f32(expected.decoded), 1e-4, 'decoded pixels');
      model.free();
    });

    it('reconstructs the digits from mu as PyTorch does within 1e-4', async () => {
      const { model } = await loaded();
      assertClose(model.reconstruct(images), f32(expected.reconstructed), 1e-4, 'reconstructed pixels');
      model.free();
    });

    it('computes PyTorch\'s loss (BCE sum + beta * sum(mu^2 + e^lv - 1 - lv)) for the same noise within 1e-4', async () => {
      const { model } = await loaded();
      model.setHyper({ beta: expected.beta });
      const { loss, bce, kl } = model.evaluateWithNoise(images, f32(expected.eps));
      // Ours are per-image means with the usual KL (half the sum); PyTorch's are sums over the batch.
      assertClose([bce * n], [expected.bce_sum], 1e-4, 'BCE sum');
      assertClose([2 * kl * n], [expected.kl_raw_sum], 1e-4, 'sum(mu^2 + e^lv - 1 - lv)');
      assertClose([loss * n], [expected.loss_sum], 1e-4, 'loss');
      model.free();
    });
  });
}
