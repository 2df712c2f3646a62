// Paths and regions of the latent plane: the evenly spaced points of a straight path between two
// anchors, the mixture's density along it (and where it crosses a gap no component reaches), and the
// grid of points of a rectangle. Shared by the page (the view worker decodes the points) and `make
// figures --interpolate`. Pure functions of numbers.
import { logDensity, nearestMahalanobis2, UNLIKE_MAHALANOBIS2 } from './mixture-math.js';

// n points from a to b, both ends included: Float32Array(n * 2).
export function pathPoints(a, b, n) {
  const z = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = n === 1 ? 0 : i / (n - 1);
    z[2 * i] = a[0] + t * (b[0] - a[0]);
    z[2 * i + 1] = a[1] + t * (b[1] - a[1]);
  }
  return z;
}

// The mixture snapshot {weights, means, covs}'s log density at `samples` evenly spaced points of the
// path, and its gaps: the stretches where the path lies outside every component's 99% ellipse (the
// same rule as the draw pad's "unlike anything it was trained on"), as fractions of the path.
export function densityAlong(snapshot, a, b, samples = 101) {
  const t = new Float64Array(samples), logp = new Float64Array(samples), outside = new Uint8Array(samples);
  const points = pathPoints(a, b, samples);
  for (let i = 0; i < samples; i++) {
    const z = [points[2 * i], points[2 * i + 1]];
    t[i] = samples === 1 ? 0 : i / (samples - 1);
    logp[i] = logDensity(snapshot, z);
    outside[i] = nearestMahalanobis2(snapshot, z) > UNLIKE_MAHALANOBIS2 ? 1 : 0;
  }
  const gaps = [];
  for (let i = 0; i < samples; i++) {
    if (!outside[i]) continue;
    let j = i;
    while (j + 1 < samples && outside[j + 1]) j++;
    gaps.push({ from: t[i], to: t[j] });
    i = j;
  }
  return { t, logp, outside, gaps };
}

// The gaps as stretches of the way, in words: "38–61%", "12% and 40–55%" (dash: between two ends).
export function gapSpans(gaps, dash = '\u2013') {
  const percent = (t) => Math.round(100 * t);
  const spans = gaps.map(({ from, to }) => (percent(from) === percent(to) ? `${percent(from)}%` : `${percent(from)}${dash}${percent(to)}%`));
  return spans.length < 2 ? spans.join('') : `${spans.slice(0, -1).join(', ')} and ${spans.at(-1)}`;
}

// The corners of a rectangle in any order, as {x: [lo, hi], y: [lo, hi]}.
export const regionOf = (p, q) => ({ x: [Math.min(p[0], q[0]), Math.max(p[0], q[0])], y: [Math.min(p[1], q[1]), Math.max(p[1], q[1])] });

// The n x n points that sample a region at the centres of its cells, row by row, the top row at the
// largest y (as on the plot): Float32Array(n * n * 2).
export function regionPoints({ x, y }, n) {
  const z = new Float32Array(n * n * 2);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      z[(r * n + c) * 2] = x[0] + (c + 0.5) / n * (x[1] - x[0]);
      z[(r * n + c) * 2 + 1] = y[1] - (r + 0.5) / n * (y[1] - y[0]);
    }
  }
  return z;
}
