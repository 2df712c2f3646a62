// The latent plane: codes coloured by class, axes with ticks, a legend, and the mixture drawn as
// each component's mean with its 1- and 2-sigma ellipses (thinner when there are many components).
// drawScatter returns the pixel mapping so the page can turn a pointer position into a latent point;
// drawProbe marks that point on an overlay.
import { digitColor, drawAxes, INK, niceTicks, plotArea, rimFor, strokeWithHalo } from './common.js';
import { drawLegend, legendSize } from './legend.js';

const MARGIN = { left: 44, right: 12, top: 12, bottom: 36 };

// Axes of the covariance [[a, b], [b, c]]: eigenvalues and the angle of the first eigenvector.
export function covarianceAxes(a, b, c) {
  const mid = (a + c) / 2, diff = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const l1 = mid + diff, l2 = Math.max(mid - diff, 0);
  const angle = Math.abs(b) < 1e-12 ? (a >= c ? 0 : Math.PI / 2) : Math.atan2(l1 - a, b);
  return { sd1: Math.sqrt(l1), sd2: Math.sqrt(l2), angle };
}

// The plane before there are codes: the prior's +-3 sigma on each axis.
export const EMPTY_VIEW = Object.freeze({ x: Object.freeze([-3, 3]), y: Object.freeze([-3, 3]) });

// A view box around points: the 1st..99th percentile of each axis, padded, never degenerate.
export function viewAround(points, pad = 0.12) {
  const n = points.length / 2;
  if (n === 0) return EMPTY_VIEW;
  const range = (axis) => {
    const v = Float32Array.from({ length: n }, (_, i) => points[2 * i + axis]).sort();
    let lo = v[Math.floor(0.005 * (n - 1))], hi = v[Math.ceil(0.995 * (n - 1))];
    const span = Math.max(hi - lo, 0.5);
    lo -= span * pad; hi += span * pad;
    return [lo, hi];
  };
  return { x: range(0), y: range(1) };
}

// data: { width, height, points (n*2), classes (n, class index), digits (class index -> label),
//   names? (class index -> its name; default: the label), view {x, y},
//   mixture? { means (k*2), covs (k*4), componentClass (k) }, compact?, legend? (false: none) }
export function drawScatter(ctx, data) {
  const area = drawScatterBase(ctx, data);
  drawScatterOverlay(ctx, area, data);
  return area;
}

// The part that only changes with the codes: background, axes and points. The page keeps it on a
// canvas of its own and repaints only the overlay when the mixture's iteration changes.
export function drawScatterBase(ctx, data) {
  const { width, height, points, classes, digits, view, mixture, compact = false } = data;
  const margin = compact ? { left: 6, right: 6, top: 6, bottom: 6 } : MARGIN;
  const area = plotArea(width, height, margin, view.x, view.y);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  if (!compact) {
    drawAxes(ctx, area, { xTicks: niceTicks(view.x[0], view.x[1], 6), yTicks: niceTicks(view.y[0], view.y[1], 6),
      xLabel: 'z\u2081', yLabel: 'z\u2082' });
  } else {
    ctx.strokeStyle = '#d9dee3';
    ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
  ctx.clip();
  ctx.globalAlpha = mixture ? 0.45 : 0.7;
  const n = points ? points.length / 2 : 0;
  for (let c = 0; c < digits.length; c++) {
    ctx.fillStyle = digitColor(digits[c]);
    if (compact) {
      // Small squares: a thumbnail of thousands of points costs a fraction of as many arcs.
      for (let i = 0; i < n; i++) {
        if (classes[i] === c) ctx.fillRect(area.x(points[2 * i]) - 1, area.y(points[2 * i + 1]) - 1, 2, 2);
      }
      continue;
    }
    const radius = 2.2;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (classes[i] !== c) continue;
      const x = area.x(points[2 * i]), y = area.y(points[2 * i + 1]);
      ctx.moveTo(x + radius, y);
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
    }
    ctx.fill();
  }
  ctx.restore();
  return area;
}

// The mixture's means and ellipses, and the legend, over a base drawn by drawScatterBase.
export function drawScatterOverlay(ctx, area, data) {
  const { digits, mixture, compact = false } = data;
  if (mixture) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    drawMixture(ctx, area, mixture, digits, compact);
    ctx.restore();
  }
  if (!compact && data.legend !== false) drawScatterLegend(ctx, area, data);
}

// The classes' names and colours, in the order of the classes.
export const legendEntries = ({ digits, names }) => digits.map((d, i) => ({ name: names?.[i] ?? String(d), color: digitColor(d) }));

// The legend in the plot's top right corner, in columns if the classes would not fit its height.
export function drawScatterLegend(ctx, area, data) {
  const entries = legendEntries(data);
  if (entries.length === 0) return;
  const maxHeight = area.bottom - area.top - 16;
  const { width } = legendSize(ctx, entries, { maxHeight });
  drawLegend(ctx, { x: area.right - width - 8, y: area.top + 8, entries, maxHeight });
}

// Past this many components (ten classes at three or four each), lines get thinner, 2-sigma ellipses
// fainter and the means' crosses smaller, so the plane under them stays visible.
const CROWDED = 16;

function drawMixture(ctx, area, { means, covs, componentClass }, digits, compact) {
  const sx = (area.right - area.left) / (area.invX(area.right) - area.invX(area.left));
  const sy = (area.bottom - area.top) / (area.invY(area.top) - area.invY(area.bottom));
  const k = means.length / 2;
  const crowded = k > CROWDED;
  const width = compact ? (crowded ? 0.8 : 1.2) : (crowded ? 1.4 : 2.2);
  const rim = compact || crowded ? 1.5 : 2;
  for (let j = 0; j < k; j++) {
    const color = digitColor(digits[componentClass ? componentClass[j] : j] ?? j);
    const mx = area.x(means[2 * j]), my = area.y(means[2 * j + 1]);
    const { sd1, sd2, angle } = covarianceAxes(covs[4 * j], covs[4 * j + 1], covs[4 * j + 3]);
    for (const [nSigma, dash, alpha] of [[1, [], 1], [2, [5, 4], crowded ? 0.45 : 0.85]]) {
      ctx.save();
      ctx.translate(mx, my);
      ctx.scale(sx, -sy);
      ctx.rotate(angle);
      ctx.beginPath();
      ctx.ellipse(0, 0, nSigma * sd1, nSigma * sd2, 0, 0, 2 * Math.PI);
      ctx.restore();
      ctx.setLineDash(compact ? [] : dash);
      ctx.globalAlpha = alpha;
      ctx.lineWidth = width + rim;
      ctx.strokeStyle = rimFor(color);
      ctx.stroke();
      ctx.lineWidth = width;
      ctx.strokeStyle = color;
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }
  // The means: white-rimmed crosses, after every ellipse, so no other component's ellipse hides one.
  const s = (compact ? 3 : 6) * (crowded ? 0.7 : 1);
  for (let j = 0; j < k; j++) {
    const mx = area.x(means[2 * j]), my = area.y(means[2 * j + 1]);
    for (const [w, style] of crowded ? [[3.4, '#fff'], [1.6, INK]] : [[4.5, '#fff'], [2.2, INK]]) {
      ctx.lineWidth = w;
      ctx.strokeStyle = style;
      ctx.beginPath();
      ctx.moveTo(mx - s, my - s); ctx.lineTo(mx + s, my + s);
      ctx.moveTo(mx - s, my + s); ctx.lineTo(mx + s, my - s);
      ctx.stroke();
    }
  }
}

// The probe on the overlay canvas: a crosshair at latent point z (null clears).
export function drawProbe(ctx, { width, height, area, z }) {
  ctx.clearRect(0, 0, width, height);
  if (!z || !area) return;
  const x = area.x(z[0]), y = area.y(z[1]);
  ctx.save();
  strokeWithHalo(ctx, (c) => {
    c.arc(x, y, 9, 0, 2 * Math.PI);
    c.moveTo(x - 15, y); c.lineTo(x - 5, y);
    c.moveTo(x + 5, y); c.lineTo(x + 15, y);
    c.moveTo(x, y - 15); c.lineTo(x, y - 5);
    c.moveTo(x, y + 5); c.lineTo(x, y + 15);
  }, INK, 1.6);
  ctx.restore();
}

// The drawn digit's code on the overlay: a white-rimmed magenta diamond, unlike the probe's crosshair
// and the mixture's crosses; a code outside the plotted box is shown on its edge. Returns where it is
// (CSS pixels), or null when there is none.
export const DRAWN_COLOR = '#d6336c';

export function drawDrawnMarker(ctx, { area, z }) {
  if (!z || !area) return null;
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const x = clamp(area.x(z[0]), area.left + 6, area.right - 6), y = clamp(area.y(z[1]), area.top + 6, area.bottom - 6);
  ctx.save();
  ctx.beginPath();
  ctx.moveTo(x, y - 9); ctx.lineTo(x + 9, y); ctx.lineTo(x, y + 9); ctx.lineTo(x - 9, y); ctx.closePath();
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#fff';
  ctx.stroke();
  ctx.fillStyle = DRAWN_COLOR;
  ctx.fill();
  ctx.restore();
  return { x, y };
}
