// The standard normal distribution's quantile function (scipy's norm.ppf), and the manifold's grid of
// latent points built on it; shared by the page's view worker and `make figures`. Nothing else of the
// distribution.

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
export function normalQuantile(p) {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// The report's manifold: the decoder at an n x n grid, the authors' norm.ppf(linspace(0.05, 0.95, n))
// on each axis.
export const MANIFOLD = 20;
export const manifoldQuantiles = (n = MANIFOLD) => Array.from({ length: n }, (_, i) => normalQuantile(0.05 + 0.9 * i / (n - 1)));

// The latent points of the grid xs by ys, row by row, Float32Array(n * n * 2): row 0 at the top holds
// the largest y, as on a plot.
export function gridPoints(xs, ys) {
  const n = xs.length, z = new Float32Array(n * ys.length * 2);
  for (let r = 0; r < ys.length; r++) {
    for (let c = 0; c < n; c++) {
      z[(r * n + c) * 2] = xs[c];
      z[(r * n + c) * 2 + 1] = ys[ys.length - 1 - r];
    }
  }
  return z;
}
