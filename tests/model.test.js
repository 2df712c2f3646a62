// The whole model: the gradient of the full loss (BCE + beta * KL, through the reparameterisation)
// against central differences, determinism (same seed, same run, bit for bit), PyTorch's
// initialisation ranges, and the parameter table in the authors' state_dict order and shapes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { assertClose, BUILDS, lab, randomArray } from './helpers.js';

// A few image-like inputs: mostly dark, some bright strokes.
function images(n, seed) {
  const u = randomArray(n * 784, seed, { lo: 0, hi: 1 });
  return u.map((v) => (v > 0.8 ? (v - 0.8) * 5 : 0));
}

const objective = (s, beta) => s.bce + beta * s.klRaw;

describe('the VAE', () => {
  it('has the authors\' 30 tensors in state_dict order with PyTorch shapes, 2,680,805 parameters', async () => {
    const L = await lab('simd');
    assert.equal(L.numParams, 2680805);
    assert.deepEqual(L.tensors.slice(0, 2).map((t) => [t.name, t.shape]), [['conv1.weight', [32, 1, 4, 4]], ['conv1.bias', [32]]]);
    const byName = Object.fromEntries(L.tensors.map((t) => [t.name, t.shape]));
    assert.deepEqual(byName['fc_mu.0.weight'], [256, 3136]);
    assert.deepEqual(byName['fc_logvar.4.weight'], [2, 128]);
    assert.deepEqual(byName['fc_dec.4.weight'], [3136, 256]);
    assert.deepEqual(byName['deconv1.weight'], [64, 64, 4, 4]);
    assert.deepEqual(byName['deconv3.weight'], [32, 1, 3, 3]);
    assert.equal(L.tensors.at(-1).name, 'deconv3.bias');
  });

  it('initialises like PyTorch: each tensor uniform within +-1/sqrt(fan_in), and filling that range', async () => {
    const L = await lab('simd');
    const model = L.createModel({ seed: 3 });
    const params = model.getParams();
    model.free();
    const fanIn = (t) => t.name.startsWith('deconv') ? t.shape[1] * t.shape[2] * t.shape[3] : null;
    let weightFanIn = 0;
    for (const t of L.tensors) {
      if (t.name.endsWith('weight')) weightFanIn = fanIn(t) ?? t.shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(weightFanIn);
      const values = params.subarray(t.offset, t.offset + t.size);
      const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(max <= bound * (1 + 1e-6), `${t.name}: |value| ${max} exceeds 1/sqrt(fan_in) = ${bound}`);
      if (t.size >= 64) assert.ok(max > bound * 0.9, `${t.name}: values only reach ${max} of ${bound}`);
    }
  });

  for (const build of BUILDS) {
    it(`the full-loss gradient matches central differences in every tensor (${build})`, async () => {
      const L = await lab(build);
      const model = L.createModel({ seed: 5 });
      const x = images(4, 11);
      // A few steps first: at initialisation the decoder ignores z and the encoder's gradient is noise-sized.
      model.setHyper({ lr: 1e-3 });
      for (let step = 0; step < 40; step++) model.trainBatch(x);
      const pair = x.subarray(0, 2 * 784);
      const params = model.getParams();
      model.zeroGrad();
      model.accumulateGrad(pair, 0, 1);
      const grads = model.getGrads();
      const loss = (p) => {
        model.setParams(p, { resetOptimizer: false }); // keeps the step count, hence the same noise
        model.zeroGrad();
        return objective(model.accumulateGrad(pair, 0, 1), 0.55);
      };
      // Per tensor, the derivative along its own gradient direction g/|g|, which must equal |g|. The
      // loss (~470) is float32, so its rounding noise limits a difference to about 1e-3; logvar enters
      // through exponentials, so larger steps bend: the best of four step sizes counts. The largest
      // (1e-2) is for tensors whose gradient is at that noise floor (conv2.bias, |g| ~ 0.008). The
      // images' background is exactly zero, so every background pixel of a channel has the same
      // pre-activation: where that sits at a ReLU's kink, hundreds of units bend at once and the loss
      // has two slopes along the direction (measured: 0.128 on the left and 0.095 on the right of
      // conv3.bias's, backward 0.127). Backward gives one side's (ReLU' = 0 at 0), so the one-sided
      // differences of each step size count too.
      const here = loss(params); // the loss where every tensor's differences start
      for (const t of L.tensors) {
        const g = grads.subarray(t.offset, t.offset + t.size);
        const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0)), largest = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const along = (eps) => {
          const p = params.slice();
          for (let i = 0; i < t.size; i++) p[t.offset + i] += eps * g[i] / norm;
          return loss(p);
        };
        const numeric = [1e-2, 1e-3, 3e-4, 1e-4].flatMap((h) => {
          const eps = h * norm / largest; // no single parameter moves by more than h
          const right = along(eps), left = along(-eps);
          return [(right - left) / (2 * eps), (right - here) / eps, (here - left) / eps];
        });
        const error = Math.min(...numeric.map((v) => Math.abs(v - norm)));
        assert.ok(error <= 0.05 * norm + 1e-3,
          `d loss / d ${t.name} along its gradient: backward gives ${norm}, central differences ${numeric.join(', ')}`);
      }
      model.free();
    });
  }

  it('trains bit for bit the same from the same seed, and differently from another seed', async () => {
    const L = await lab('simd');
    const run = (seed) => {
      const model = L.createModel({ seed });
      for (let step = 0; step < 3; step++) model.trainBatch(images(4, 20 + step));
      const p = model.getParams();
      model.free();
      return p;
    };
    const a = run(9), b = run(9), c = run(10);
    assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), 'two runs from seed 9 differ');
    assert.ok(!Buffer.from(a.buffer).equals(Buffer.from(c.buffer)), 'seeds 9 and 10 gave identical models');
  });

  it('splitting a batch into shares with offsets gives the gradient of the whole batch', async () => {
    const L = await lab('simd');
    const x = images(6, 31);
    const model = L.createModel({ seed: 4 });
    model.zeroGrad();
    model.accumulateGrad(x, 0, 1 / 6);
    const whole = model.getGrads();
    model.zeroGrad();
    model.accumulateGrad(x.subarray(0, 4 * 784), 0, 1 / 6);
    model.accumulateGrad(x.subarray(4 * 784), 4, 1 / 6);
    const split = model.getGrads();
    model.free();
    const scale = whole.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(split.map((v) => v / scale), whole.map((v) => v / scale), 1e-5, 'split-batch gradient');
  });

  // Data-parallel shares (web/lib/run/parallel.js): the big linear weights' gradients are formed by their
  // owners from every share's factors over the whole batch, the rest is each share's own gradient.
  // A share of 1-2 images takes other kernels than a batch (dot products), so only a whole batch as
  // one share gives the same bits as one worker; the pieces of the weights agree with one call.
  for (const build of BUILDS) {
    it(`${build}: shares with factors give the gradient of the whole batch`, async () => {
      const L = await lab(build), F = L.factorFloats, N = L.numParams;
      assert.deepEqual(L.factoredRanges.map(([a, b]) => b - a), [802816, 802816, 802816]);
      for (const [n, cut] of [[1, 1], [3, 2], [33, 17], [32, 32]]) {
        const x = images(n, 40 + n);
        const model = L.createModel({ seed: 6 });
        model.zeroGrad();
        model.accumulateGrad(x, 0, 1 / n);
        const whole = model.getGrads();
        // Share 1 (images [0, cut)) and share 2 (the rest), each into its place among the batch's factors.
        // NaN first wherever a gradient is left alone, so an element nothing writes cannot pass.
        const factors = new Float32Array(n * F), unwritten = new Float32Array(N).fill(NaN);
        model.setGrads(unwritten);
        model.shareGrad(x.subarray(0, cut * 784), 0, 1 / n, factors.subarray(0, cut * F));
        const first = model.getGrads();
        let second = new Float32Array(N);
        if (cut < n) {
          model.shareGrad(x.subarray(cut * 784), cut, 1 / n, factors.subarray(cut * F));
          second = model.getGrads();
        }
        model.setGrads(unwritten);
        model.factoredWeightGrads(factors, n, 0, N);
        const once = model.getGrads();
        // The same over ragged pieces of the parameters (cuts inside rows).
        model.setGrads(unwritten);
        const cuts = [0, 1000003, 1340404, 1340405, 2000001, N];
        for (let i = 0; i + 1 < cuts.length; i++) model.factoredWeightGrads(factors, n, cuts[i], cuts[i + 1]);
        const pieces = model.getGrads();
        model.free();
        const scale = whole.reduce((m, v) => Math.max(m, Math.abs(v)), 0), summed = new Float32Array(N);
        for (let i = 0; i < N; i++) summed[i] = (first[i] + second[i]) / scale;
        for (const [a, b] of L.factoredRanges) {
          for (let i = a; i < b; i++) {
            if (pieces[i] !== once[i]) assert.fail(`${build}, ${n} images: factored gradient ${i} in pieces is ${pieces[i]}, at once ${once[i]}`);
            if (cut === n && once[i] !== whole[i]) assert.fail(`${build}, ${n} images as one share: factored gradient ${i} is ${once[i]}, expected ${whole[i]}`);
            summed[i] = once[i] / scale;
          }
        }
        for (const [a, b] of L.factoredRanges) assert.ok(whole.subarray(a, b).some((v) => v !== 0), `no gradient in [${a}, ${b})`);
        assertClose(summed, whole.map((v) => v / scale), 1e-5, `${build}, ${n} images in shares of ${cut} and ${n - cut}`);
      }
    });
  }

  it('refuses factors of the wrong size and a factored gradient of no images, and keeps the model', async () => {
    const L = await lab('simd');
    const model = L.createModel({ seed: 6 });
    const before = model.getParams();
    assert.throws(() => model.shareGrad(images(2, 3), 0, 0.5, new Float32Array(L.factorFloats)),
      /factors: expected a Float32Array of 14080 values, got 7040/);
    assert.throws(() => model.factoredWeightGrads(new Float32Array(0), 0, 0, 10), /factored weight gradients of 0 images/);
    assert.throws(() => model.factoredWeightGrads(new Float32Array(L.factorFloats), 1, 0, L.numParams + 1),
      /parameter slice \[0, .*\) outside \[0, 2680805\)/);
    assert.ok(Buffer.from(model.getParams().buffer).equals(Buffer.from(before.buffer)));
    model.free();
  });
});
