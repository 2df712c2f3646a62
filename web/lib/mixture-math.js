// Small closed-form pieces of a 2-D Gaussian mixture that the page needs at pointer speed (the
// responsibilities at a hovered point), computed from a snapshot {weights, means (k*2), covs (k*4)}.
// Not a second EM: fitting stays in the C code.

// p(component j | z) for each j, as a Float64Array(k) summing to 1.
export function responsibilities({ weights, means, covs }, z) {
  const k = weights.length;
  const logp = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const a = covs[4 * j], b = covs[4 * j + 1], c = covs[4 * j + 3];
    const det = a * c - b * b;
    const dx = z[0] - means[2 * j], dy = z[1] - means[2 * j + 1];
    // Mahalanobis distance with the 2x2 inverse [[c, -b], [-b, a]] / det.
    const m = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
    logp[j] = Math.log(weights[j]) - 0.5 * m - 0.5 * Math.log(det) - Math.log(2 * Math.PI);
  }
  const max = Math.max(...logp);
  let sum = 0;
  for (let j = 0; j < k; j++) { logp[j] = Math.exp(logp[j] - max); sum += logp[j]; }
  for (let j = 0; j < k; j++) logp[j] /= sum;
  return logp;
}

// log p(z) under the mixture: the density the EM fitted, in nats (log-sum-exp over the components).
export function logDensity({ weights, means, covs }, z) {
  let max = -Infinity;
  const terms = [];
  for (let j = 0; j < weights.length; j++) {
    const a = covs[4 * j], b = covs[4 * j + 1], c = covs[4 * j + 3];
    const det = a * c - b * b;
    const dx = z[0] - means[2 * j], dy = z[1] - means[2 * j + 1];
    const t = Math.log(weights[j]) - 0.5 * (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det - 0.5 * Math.log(det) - Math.log(2 * Math.PI);
    terms.push(t);
    max = Math.max(max, t);
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

// A point the mixture has not seen the like of: outside the 99% ellipse of every component (in 2-D, a
// component puts 1% of its own points beyond squared Mahalanobis distance -2 ln 0.01 = 9.21).
export const UNLIKE_MAHALANOBIS2 = -2 * Math.log(0.01);

// The squared Mahalanobis distance from z to the nearest component (by that distance, not by weight).
export function nearestMahalanobis2({ means, covs }, z) {
  let best = Infinity;
  for (let j = 0; j < means.length / 2; j++) {
    const a = covs[4 * j], b = covs[4 * j + 1], c = covs[4 * j + 3];
    const dx = z[0] - means[2 * j], dy = z[1] - means[2 * j + 1];
    best = Math.min(best, (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / (a * c - b * b));
  }
  return best;
}
