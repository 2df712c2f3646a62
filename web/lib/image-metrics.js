// How close a reconstruction is to its image: mean squared error and SSIM (Wang, Bovik, Sheikh and
// Simoncelli 2004, "Image quality assessment: from error visibility to structural similarity"), for
// grey images with pixels in [0, 1]. Plain JavaScript over Float32Arrays; not a general image library
// (one channel, one scale, no colour, no down-sampling).

// The reference parameters: an 11 x 11 Gaussian window of sigma 1.5 (normalised to sum 1),
// C1 = (K1 L)^2 and C2 = (K2 L)^2 with K1 = 0.01, K2 = 0.03 and the data range L = 1.
export const SSIM_DEFAULTS = Object.freeze({ window: 11, sigma: 1.5, k1: 0.01, k2: 0.03, range: 1 });

// The 1-D Gaussian whose outer product is the 2-D window (it is separable), summing to 1.
export function gaussianKernel(size = SSIM_DEFAULTS.window, sigma = SSIM_DEFAULTS.sigma) {
  const half = (size - 1) / 2;
  const g = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / sum);
}

// Mean of (x - y)^2 over the pixels of one image (or any two arrays of the same length).
export function mse(x, y) {
  if (x.length !== y.length || x.length === 0) throw new Error(`mse: arrays of ${x.length} and ${y.length} values`);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
  return sum / x.length;
}

// Filters a width x height image with the separable window g, keeping only the positions where the
// window lies wholly inside the image ("valid", as Wang et al.'s reference ssim_index.m does with
// filter2(window, img, 'valid')): (width - s + 1) x (height - s + 1) values.
function filterValid(img, width, height, g, tmp, out) {
  const s = g.length, ow = width - s + 1, oh = height - s + 1;
  for (let y = 0; y < height; y++) {          // along rows: tmp is ow x height
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += g[k] * img[y * width + x + k];
      tmp[y * ow + x] = acc;
    }
  }
  for (let y = 0; y < oh; y++) {              // then along columns: out is ow x oh
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += g[k] * tmp[(y + k) * ow + x];
      out[y * ow + x] = acc;
    }
  }
}

// The mean SSIM of two width x height images: the mean over every window position of
//   ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
// with the local means, variances and covariance weighted by the Gaussian window. 1 for identical images.
export function ssim(x, y, width, height, options = {}) {
  const { window, sigma, k1, k2, range } = { ...SSIM_DEFAULTS, ...options };
  if (x.length !== width * height || y.length !== width * height) {
    throw new Error(`ssim: expected two ${width}x${height} images, got ${x.length} and ${y.length} values`);
  }
  if (width < window || height < window) throw new Error(`ssim: a ${width}x${height} image is smaller than the ${window}x${window} window`);
  const g = gaussianKernel(window, sigma);
  const c1 = (k1 * range) ** 2, c2 = (k2 * range) ** 2;
  const n = width * height, ow = width - window + 1, oh = height - window + 1, m = ow * oh;
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) { xx[i] = x[i] * x[i]; yy[i] = y[i] * y[i]; xy[i] = x[i] * y[i]; }
  const tmp = new Float64Array(ow * height);
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((img) => {
    const out = new Float64Array(m);
    filterValid(img, width, height, g, tmp, out);
    return out;
  });
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
    sum += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) / ((mx[i] ** 2 + my[i] ** 2 + c1) * (vx + vy + c2));
  }
  return sum / m;
}

// Over n images of width x height stored one after another: { mse, ssim } (means over the images)
// and score = (1 - mse + ssim) / 2, the assignment's reconstruction score.
export function reconstructionScores(originals, reconstructions, n, width = 28, height = 28) {
  const size = width * height;
  if (originals.length !== n * size || reconstructions.length !== n * size) {
    throw new Error(`expected ${n} images of ${width}x${height} in both sets`);
  }
  let sumMse = 0, sumSsim = 0;
  for (let i = 0; i < n; i++) {
    const a = originals.subarray(i * size, (i + 1) * size), b = reconstructions.subarray(i * size, (i + 1) * size);
    sumMse += mse(a, b);
    sumSsim += ssim(a, b, width, height);
  }
  const result = { mse: sumMse / n, ssim: sumSsim / n };
  result.score = (1 - result.mse + result.ssim) / 2;
  return result;
}
