// The interpolation strip: decoded images evenly spaced along a straight path of the latent plane, each
// named by the mixture's most likely class, over the mixture's log density along the path with the
// gaps no component reaches shaded. Drawn through the context's transform (the images unsmoothed, at
// whole-pixel scales of it); shared by the page and `make figures --interpolate`.
import { digitGridPixels } from './digits.js';
import { fontOf, INK, MUTED } from './common.js';

const SIDE = 28;
const LABEL_PX = 13;
const SMALL_PX = 12;
const GAP_FILL = 'rgba(225, 87, 89, 0.16)';

// The strip's layout for n images on a canvas of width x height: the cell size, the images' scale and
// where the density chart goes (x(t) puts t of the path, 0..1, under the image at that point). The
// rows for the names above the chart and the caption below it grow with textScale (drawStrip's).
export function stripLayout(width, height, n, textScale = 1) {
  const gap = 6;
  const cell = Math.max(SIDE, Math.floor((width - (n - 1) * gap) / n));
  const scale = Math.max(1, Math.floor(cell / SIDE));
  const size = SIDE * scale;
  const step = size + gap;
  const left = Math.floor((width - (n * size + (n - 1) * gap)) / 2);
  const chart = { left: left + size / 2, right: left + (n - 1) * step + size / 2, top: size + Math.round(30 * textScale),
    bottom: height - Math.round(18 * textScale) };
  return { n, gap, size, scale, step, left, top: 0, chart, x: (t) => chart.left + t * (chart.right - chart.left),
    centre: (i) => left + i * step + size / 2 };
}

// data: { width, height, images (n * 784 bytes), labels?: [{ name, short?, color }] (one per image: the
//   mixture's most likely class there; short: a shorter name for when the name is wider than the room
//   under its images), density?: densityAlong's result, ends?: ['A', 'B'], textScale?: canvas pixels per
//   CSS pixel where the canvas is shown smaller or larger than its size (the page), so text reads 13 px }
// Returns the layout.
export function drawStrip(ctx, { width, height, images, labels = null, density = null, ends = ['A', 'B'], textScale = 1 }) {
  const font = (px) => fontOf(Math.round(px * textScale));
  const n = images.length / (SIDE * SIDE);
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const layout = stripLayout(width, height, n, textScale);
  // putImageData would ignore the transform: the row goes through a canvas of its own and drawImage.
  const row = digitGridPixels({ images, rows: 1, cols: n, scale: layout.scale, gap: layout.gap });
  const rowCanvas = document.createElement('canvas');
  rowCanvas.width = row.width;
  rowCanvas.height = row.height;
  rowCanvas.getContext('2d').putImageData(new ImageData(row.data, row.width, row.height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(rowCanvas, layout.left, layout.top);
  if (labels) drawRunLabels(ctx, layout, labels, font);
  if (density) drawDensity(ctx, layout, density, ends, font);
  ctx.restore();
  return layout;
}

// The names under the images: consecutive images of one class share one label, a bar of the class's
// colour under them and its name in text centred below (colour is never the only cue). So ten
// Fashion-MNIST names fit where ten cells could not hold them side by side; a name wider than its run
// gives way to its short form ("Boot"), then to a smaller font.
function drawRunLabels(ctx, layout, labels, font) {
  const runs = [];
  labels.forEach((label, i) => {
    if (label && runs.at(-1)?.label.name === label.name) runs.at(-1).last = i;
    else if (label) runs.push({ label, first: i, last: i });
  });
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'center';
  for (const { label, first, last } of runs) {
    const x0 = layout.left + first * layout.step, x1 = layout.left + last * layout.step + layout.size;
    ctx.fillStyle = label.color;
    ctx.fillRect(x0, layout.size + 3, x1 - x0, 3);
    const room = x1 - x0 + layout.gap - 4;
    ctx.font = font(LABEL_PX);
    const name = ctx.measureText(label.name).width <= room ? label.name : label.short ?? label.name;
    for (let px = LABEL_PX - 1; ctx.measureText(name).width > room && px >= 10; px--) ctx.font = font(px);
    ctx.fillStyle = INK;
    ctx.fillText(name, (x0 + x1) / 2, layout.size + 15);
  }
}

// The log density along the path, the gaps shaded and named, the ends lettered.
function drawDensity(ctx, layout, { t, logp, gaps }, ends, font) {
  const { chart } = layout;
  const finite = [...logp].filter(Number.isFinite);
  if (finite.length === 0) return;
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
  const y = (v) => chart.bottom - (v - lo) / (hi - lo) * (chart.bottom - chart.top);
  for (const { from, to } of gaps) {
    const x0 = layout.x(from), x1 = Math.max(layout.x(to), x0 + 2);
    ctx.fillStyle = GAP_FILL;
    ctx.fillRect(x0, chart.top, x1 - x0, chart.bottom - chart.top);
  }
  ctx.strokeStyle = '#d9dee3';
  ctx.lineWidth = 1;
  ctx.strokeRect(chart.left + 0.5, chart.top + 0.5, chart.right - chart.left, chart.bottom - chart.top);
  ctx.strokeStyle = INK;
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  for (let i = 0; i < t.length; i++) {
    const px = layout.x(t[i]), py = y(Math.max(logp[i], lo));
    if (i) ctx.lineTo(px, py); else ctx.moveTo(px, py);
  }
  ctx.stroke();
  ctx.font = font(SMALL_PX);
  ctx.textBaseline = 'top';
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'left';
  ctx.fillText(ends[0], chart.left - 4, chart.bottom + 3);
  ctx.textAlign = 'right';
  ctx.fillText(ends[1], chart.right + 4, chart.bottom + 3);
  ctx.textAlign = 'center';
  // Short enough to fit between A and B on a phone; the line under the strip says the rest in words.
  ctx.fillText(gaps.length ? 'log density along the path; shaded: outside every 99% ellipse' : 'log density along the path',
    (chart.left + chart.right) / 2, chart.bottom + 3);
}
