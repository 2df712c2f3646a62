// Small closed-form pieces of a 2-D Gaussian mixture that the page needs at pointer speed (the
// responsibilities at a hovered point, the density along a path), computed from a snapshot
// {weights, means (k*2), covs (k*4)}. Not a second EM: fitting stays in the C code.

// Component j's squared Mahalanobis distance to z and its covariance's determinant (the 2x2 inverse
// is [[c, -b], [-b, a]] / det).
function mahalanobis2({ means, covs }, j, z) {
  const a = covs[4 * j], b = covs[4 * j + 1], c = covs[4 * j + 3];
  const det = a * c - b * b;
  const dx = z[0] - means[2 * j], dy = z[1] - means[2 * j + 1];
  return { m: (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det, det };
}

// log(weight_j * N(z; mean_j, cov_j)) for each component j, and their largest.
function componentLogTerms(snapshot, z) {
  const k = snapshot.weights.length;
  const terms = new Float64Array(k);
  let max = -Infinity;
  for (let j = 0; j < k; j++) {
    const { m, det } = mahalanobis2(snapshot, j, z);
    terms[j] = Math.log(snapshot.weights[j]) - 0.5 * m - 0.5 * Math.log(det) - Math.log(2 * Math.PI);
    max = Math.max(max, terms[j]);
  }
  return { terms, max };
}

// p(component j | z) for each j, as a Float64Array(k) summing to 1.
export function responsibilities(snapshot, z) {
  const { terms, max } = componentLogTerms(snapshot, z);
  let sum = 0;
  for (let j = 0; j < terms.length; j++) { terms[j] = Math.exp(terms[j] - max); sum += terms[j]; }
  for (let j = 0; j < terms.length; j++) terms[j] /= sum;
  return terms;
}

// The responsibilities summed per class: componentClass[j] is component j's class index. Returns
// { perComponent (k), byClass (Float64Array indexed by class, at least `classes` long), classOf (k) }.
// A component without a class counts as its own (unlabelled clusters).
export function responsibilitiesByClass(snapshot, componentClass, z, classes = 0) {
  const perComponent = responsibilities(snapshot, z);
  const classOf = Array.from(perComponent, (_, j) => componentClass[j] ?? j);
  const byClass = new Float64Array(Math.max(classes, ...classOf.map((c) => c + 1)));
  perComponent.forEach((p, j) => { byClass[classOf[j]] += p; });
  return { perComponent, byClass, classOf };
}

// log p(z) under the mixture: the density the EM fitted, in nats (log-sum-exp over the components).
export function logDensity(snapshot, z) {
  const { terms, max } = componentLogTerms(snapshot, z);
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

// A point the mixture has not seen the like of: outside the 99% ellipse of every component (in 2-D, a
// component puts 1% of its own points beyond squared Mahalanobis distance -2 ln 0.01 = 9.21).
export const UNLIKE_MAHALANOBIS2 = -2 * Math.log(0.01);

// The squared Mahalanobis distance from z to the nearest component (by that distance, not by weight).
export function nearestMahalanobis2(snapshot, z) {
  let best = Infinity;
  for (let j = 0; j < snapshot.means.length / 2; j++) best = Math.min(best, mahalanobis2(snapshot, j, z).m);
  return best;
}
