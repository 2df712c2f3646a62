// The latent plane's two panels: the codes with the mixture on top ('scatter'), and the probe and drawn
// digit's markers on the overlay canvas ('probe'); and where the mixture landed, for the tests.
import { digitColor, drawNote } from '../draw/common.js';
import { covarianceAxes, drawDrawnMarker, drawProbe, drawScatterBase, drawScatterOverlay, EMPTY_VIEW } from '../draw/scatter.js';
import { legendEntries, renderLegend, sayClassWords } from './classes.js';
import { $ } from './dom.js';
import { drawExploreMarks } from './explore.js';
import { dirty, prepare } from './frames.js';
import { readForm } from './settings.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

function scatterData() {
  const run = state.run, fitted = state.fit;
  if (fitted) {
    const snap = fitted.history[state.emIter];
    return { points: fitted.testCodes, classes: fitted.testClasses, digits: fitted.classes,
      mixture: { means: snap.means, covs: snap.covs, componentClass: fitted.componentClass } };
  }
  return { points: state.codes, classes: run?.scatterClasses, digits: run?.classes ?? readForm().digits, mixture: null };
}

// The plane's legend is HTML under it (names in text, wrapping on a phone, never over the codes); the
// PNG download draws it onto the picture (export-png.js).
export const latentLegend = () => legendEntries(scatterData().digits);

// The codes (axes and points) are drawn once per set of codes onto a canvas of their own; a frame
// copies that and draws the mixture on top, so replaying EM redraws ellipses, not 3,000 points.
const latentBase = { canvas: document.createElement('canvas'), key: null, area: null };

export function drawLatent() {
  const { ctx, width, height } = prepare($('latent'));
  const data = scatterData();
  const view = state.view ?? EMPTY_VIEW;
  const shown = $('show-points').checked ? data : { ...data, points: data.points && new Float32Array(0) };
  const dpr = window.devicePixelRatio || 1;
  const key = [shown.points, view.x.join(), view.y.join(), width, height, dpr, !!data.mixture, data.digits.join()];
  if (!latentBase.key || key.some((v, i) => v !== latentBase.key[i])) {
    const base = latentBase.canvas;
    base.width = Math.round(width * dpr);
    base.height = Math.round(height * dpr);
    const bctx = base.getContext('2d');
    bctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    latentBase.area = drawScatterBase(bctx, { width, height, view, ...shown });
    latentBase.key = key;
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(latentBase.canvas, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  state.area = latentBase.area;
  drawScatterOverlay(ctx, state.area, { width, height, view, ...shown, legend: false });
  sayClassWords();
  const legend = legendEntries(data.digits);
  renderLegend($('latent-legend'), legend);
  report({ scatterPoints: data.points ? data.points.length / 2 : 0, legend: legend.map((e) => e.name) });
  exposeMixtureGeometry(data);
  // The note sits above the middle: an untrained model encodes a drawing near (0, 0), where its ◆ goes.
  if (!data.points) {
    drawNote(ctx, state.phase === 'idle' ? 'Press Train: the codes appear here as the model learns.' : 'Encoding the first codes…',
      (state.area.left + state.area.right) / 2, state.area.top + 0.3 * (state.area.bottom - state.area.top), '13px system-ui, sans-serif');
  }
  dirty.probe = dirty.strip = true;   // the strip's names follow the mixture on show
}

// The overlay: the probe's cross-hair, the explorer's marks (explore.js) and the drawn digit's marker.
export function drawMarkers() {
  const { ctx, width, height } = prepare($('probe'));
  drawProbe(ctx, { width, height, area: state.area, z: state.probe });
  drawExploreMarks(ctx);
  report({ drawnMarker: drawDrawnMarker(ctx, { area: state.area, z: state.drawn?.z ?? null }) });
}

// Where the means and each 1- and 2-sigma ellipse's first point should be, in CSS pixels, so a test
// can look at the canvas there.
function exposeMixtureGeometry({ mixture, digits, points }) {
  const a = state.area;
  const meanPoints = [], ellipsePoints = [];
  if (mixture) {
    const k = mixture.means.length / 2;
    for (let j = 0; j < k; j++) {
      const [mx, my] = [mixture.means[2 * j], mixture.means[2 * j + 1]];
      const { sd1, angle } = covarianceAxes(mixture.covs[4 * j], mixture.covs[4 * j + 1], mixture.covs[4 * j + 3]);
      meanPoints.push({ x: a.x(mx), y: a.y(my), classIndex: mixture.componentClass[j] });
      for (const n of [1, 2]) {
        ellipsePoints.push({ sigma: n, color: digitColor(digits[mixture.componentClass[j]]),
          x: a.x(mx + n * sd1 * Math.cos(angle)), y: a.y(my + n * sd1 * Math.sin(angle)) });
      }
    }
  }
  report({ area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom }, colors: digits.map(digitColor),
    farCodes: farApart(points, a), ellipses: ellipsePoints.length, ellipsePoints, meanPoints });
}

// Two codes far apart (the farthest pair among the extremes along each axis), in CSS pixels.
function farApart(points, a) {
  if (!points || points.length < 4) return [];
  const n = points.length / 2;
  const ext = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    if (points[2 * i] < points[2 * ext[0]]) ext[0] = i;
    if (points[2 * i] > points[2 * ext[1]]) ext[1] = i;
    if (points[2 * i + 1] < points[2 * ext[2] + 1]) ext[2] = i;
    if (points[2 * i + 1] > points[2 * ext[3] + 1]) ext[3] = i;
  }
  const px = ext.map((i) => ({ x: a.x(points[2 * i]), y: a.y(points[2 * i + 1]) }))
    .map(({ x, y }) => ({ x: Math.min(Math.max(x, a.left + 4), a.right - 4), y: Math.min(Math.max(y, a.top + 4), a.bottom - 4) }));
  let best = [px[0], px[1]];
  for (const p of px) for (const q of px) if (Math.hypot(p.x - q.x, p.y - q.y) > Math.hypot(best[0].x - best[1].x, best[0].y - best[1].y)) best = [p, q];
  return best;
}
