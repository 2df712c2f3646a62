// The reconstruction metrics of `make figures` (web/lib/image-metrics.js): SSIM as Wang et al. define it
// (Gaussian 11x11 window, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2 for pixels in [0, 1]) and the per-pixel MSE.
// Checked against closed forms, a plain transcription of the formula, and its basic properties.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { gaussianKernel, mse, reconstructionScores, ssim } from '../web/lib/image-metrics.js';
import { randomArray } from './helpers.js';

const C1 = 0.01 ** 2, C2 = 0.03 ** 2;

// SSIM straight from the paper's definition: every window position, the 2-D Gaussian weights, the
// weighted means, variances and covariance, averaged. Slow and obvious, unlike the separable filter.
function ssimByDefinition(x, y, width, height) {
  const s = 11, half = 5;
  const w = [];
  let total = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
    const v = Math.exp(-((i - half) ** 2 + (j - half) ** 2) / (2 * 1.5 * 1.5));
    w.push(v); total += v;
  }
  let sum = 0, count = 0;
  for (let oy = 0; oy + s <= height; oy++) {
    for (let ox = 0; ox + s <= width; ox++) {
      let mx = 0, my = 0;
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
        const p = (oy + i) * width + ox + j, wt = w[i * s + j] / total;
        mx += wt * x[p]; my += wt * y[p];
      }
      let vx = 0, vy = 0, cxy = 0;
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
        const p = (oy + i) * width + ox + j, wt = w[i * s + j] / total;
        vx += wt * (x[p] - mx) ** 2; vy += wt * (y[p] - my) ** 2; cxy += wt * (x[p] - mx) * (y[p] - my);
      }
      sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      count++;
    }
  }
  return sum / count;
}

const image = (seed) => randomArray(784, seed, { lo: 0, hi: 1 });
const clamp01 = (v) => Math.min(1, Math.max(0, v));

describe('SSIM and MSE for reconstructions', () => {
  it('the window is the 11-tap Gaussian of sigma 1.5, summing to 1 (centre weight 0.26601)', () => {
    const g = gaussianKernel();
    assert.equal(g.length, 11);
    assert.ok(Math.abs(g.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    for (let i = 0; i < 5; i++) assert.equal(g[i], g[10 - i]);
    // 1 / sum_k exp(-k^2 / 4.5), k = -5..5, by hand: 1 / 3.75924 = 0.266011
    assert.ok(Math.abs(g[5] - 0.266011) < 1e-6, `centre weight ${g[5]}`);
  });

  it('an image compared with itself has SSIM 1 and MSE 0', () => {
    const x = image(1);
    assert.ok(Math.abs(ssim(x, x, 28, 28) - 1) < 1e-12);
    assert.equal(mse(x, x), 0);
    const scores = reconstructionScores(x, x.slice(), 1);
    assert.ok(Math.abs(scores.score - 1) < 1e-12, `score ${scores.score}`);
  });

  it('two flat images: SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1), worked by hand', () => {
    const a = new Float32Array(784).fill(0.25), b = new Float32Array(784).fill(0.75);
    // (2 * 0.25 * 0.75 + 0.0001) / (0.0625 + 0.5625 + 0.0001) = 0.3751 / 0.6251 = 0.600064...
    assert.ok(Math.abs(ssim(a, b, 28, 28) - 0.3751 / 0.6251) < 1e-6, `${ssim(a, b, 28, 28)}`);
    assert.ok(Math.abs(mse(a, b) - 0.25) < 1e-12);
  });

  it('agrees with a direct transcription of the definition on random images of odd sizes', () => {
    for (const [w, h, seed] of [[28, 28, 2], [13, 11, 3], [17, 20, 4]]) {
      const x = randomArray(w * h, seed, { lo: 0, hi: 1 });
      const y = Float32Array.from(x, (v, i) => clamp01(0.7 * v + 0.2 + 0.2 * Math.sin(i)));
      const fast = ssim(x, y, w, h), slow = ssimByDefinition(x, y, w, h);
      assert.ok(Math.abs(fast - slow) < 1e-9, `${w}x${h}: ${fast} against ${slow}`);
    }
  });

  it('falls as more noise is added, and MSE rises', () => {
    const x = image(5), noise = randomArray(784, 6);
    let lastSsim = 1, lastMse = 0;
    for (const level of [0.02, 0.05, 0.1, 0.2, 0.4]) {
      const y = Float32Array.from(x, (v, i) => clamp01(v + level * noise[i]));
      const s = ssim(x, y, 28, 28), e = mse(x, y);
      assert.ok(s < lastSsim, `noise ${level}: SSIM ${s} is not below ${lastSsim}`);
      assert.ok(e > lastMse, `noise ${level}: MSE ${e} is not above ${lastMse}`);
      lastSsim = s; lastMse = e;
    }
    assert.ok(lastSsim < 0.9);
  });

  it('is symmetric, and refuses images smaller than the window or of different sizes', () => {
    const x = image(7), y = image(8);
    assert.ok(Math.abs(ssim(x, y, 28, 28) - ssim(y, x, 28, 28)) < 1e-12);
    assert.throws(() => ssim(new Float32Array(100), new Float32Array(100), 10, 10), /smaller than the 11x11 window/);
    assert.throws(() => ssim(x, y.subarray(1), 28, 28), /expected two 28x28 images/);
  });

  it('averages over images: the mean of each image\'s MSE and SSIM, and the score (1 - MSE + SSIM) / 2', () => {
    const a = new Float32Array(2 * 784), b = new Float32Array(2 * 784);
    a.set(image(9)); b.set(image(9));
    a.fill(0.25, 784); b.fill(0.75, 784);
    const r = reconstructionScores(a, b, 2);
    const s2 = 0.3751 / 0.6251;
    assert.ok(Math.abs(r.mse - 0.125) < 1e-9, `mse ${r.mse}`);
    assert.ok(Math.abs(r.ssim - (1 + s2) / 2) < 1e-6, `ssim ${r.ssim}`);
    assert.ok(Math.abs(r.score - (1 - r.mse + r.ssim) / 2) < 1e-12);
  });
});
