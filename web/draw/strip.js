// The interpolation strip: decoded images evenly spaced along a straight path of the latent plane, each
// named by the mixture's most likely class, over the mixture's log density along the path with the
// gaps no component reaches shaded. Drawn through the context's transform (the images unsmoothed, at
// whole-pixel scales of it); shared by the page and `make figures --interpolate`.
import { digitGridPixels } from './digits.js';
import { INK, MUTED } from './common.js';

const SIDE = 28;
const LABEL_FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const SMALL_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const GAP_FILL = 'rgba(225, 87, 89, 0.16)';

// The strip's layout for n images on a canvas of width x height: the cell size, the images' scale and
// where the density chart goes (x(t) puts t of the path, 0..1, under the image at that point).
export function stripLayout(width, height, n) {
  const gap = 6;
  const cell = Math.max(SIDE, Math.floor((width - (n - 1) * gap) / n));
  const scale = Math.max(1, Math.floor(cell / SIDE));
  const size = SIDE * scale;
  const step = size + gap;
  const left = Math.floor((width - (n * size + (n - 1) * gap)) / 2);
  const chart = { left: left + size / 2, right: left + (n - 1) * step + size / 2, top: size + 30, bottom: height - 18 };
  return { n, gap, size, scale, step, left, top: 0, chart, x: (t) => chart.left + t * (chart.right - chart.left),
    centre: (i) => left + i * step + size / 2 };
}

// data: { width, height, images (n * 784 bytes), labels?: [{ name, short?, color }] (one per image: the
//   mixture's most likely class there; short: a shorter name for when the name is wider than its
//   image), density?: densityAlong's result, ends?: ['A', 'B'] }
// Returns the layout.
export function drawStrip(ctx, { width, height, images, labels = null, density = null, ends = ['A', 'B'] }) {
  const n = images.length / (SIDE * SIDE);
  ctx.save();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const layout = stripLayout(width, height, n);
  // putImageData would ignore the transform: the row goes through a canvas of its own and drawImage.
  const row = digitGridPixels({ images, rows: 1, cols: n, scale: layout.scale, gap: layout.gap });
  const rowCanvas = document.createElement('canvas');
  rowCanvas.width = row.width;
  rowCanvas.height = row.height;
  rowCanvas.getContext('2d').putImageData(new ImageData(row.data, row.width, row.height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(rowCanvas, layout.left, layout.top);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'center';
  for (let i = 0; i < n; i++) {
    const x = layout.centre(i), y = layout.size + 11;
    const label = labels?.[i];
    if (!label) continue;
    // The class's name in text, a dot of its colour before it: colour is never the only cue. A name
    // wider than its image gives way to its short form ("Boot"), then to a smaller font.
    const room = layout.size + layout.gap - 12;
    ctx.font = LABEL_FONT;
    const name = ctx.measureText(label.name).width <= room ? label.name : label.short ?? label.name;
    for (let px = 12; ctx.measureText(name).width > room && px >= 10; px--) ctx.font = `${px}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
    const textWidth = ctx.measureText(name).width;
    ctx.fillStyle = label.color;
    ctx.beginPath();
    ctx.arc(x - textWidth / 2 - 7, y, 4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = INK;
    ctx.fillText(name, x + 4, y);
  }
  if (density) drawDensity(ctx, layout, density, ends);
  ctx.restore();
  return layout;
}

// The log density along the path, the gaps shaded and named, the ends lettered.
function drawDensity(ctx, layout, { t, logp, gaps }, ends) {
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
  ctx.font = SMALL_FONT;
  ctx.textBaseline = 'top';
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'left';
  ctx.fillText(ends[0], chart.left - 4, chart.bottom + 3);
  ctx.textAlign = 'right';
  ctx.fillText(ends[1], chart.right + 4, chart.bottom + 3);
  ctx.textAlign = 'center';
  ctx.fillText(gaps.length ? 'log density along the path; shaded: outside every component\u2019s 99% ellipse'
    : 'log density along the path (no gap: every point lies inside some component\u2019s 99% ellipse)',
  (chart.left + chart.right) / 2, chart.bottom + 3);
}
