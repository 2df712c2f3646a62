// The page `make figures` (tools/figures.js) renders in headless Chromium: one figure per call of
// window.renderFigure(spec), drawn with the page's own drawing modules (web/draw/*.js) onto one canvas
// and returned as a PNG data URL. It computes nothing: the numbers come from Node, already final.
import { drawLineChart } from '../../web/draw/charts.js';
import { FONT, INK, MUTED } from '../../web/draw/common.js';
import { drawConfusion } from '../../web/draw/confusion.js';
import { digitGridPixels } from '../../web/draw/digits.js';
import { drawScatter } from '../../web/draw/scatter.js';
import { drawStrip } from '../../web/draw/strip.js';

const TITLE_HEIGHT = 40;    // CSS pixels above every figure for its title and subtitle

// The digits are laid out at the device resolution, then placed unsmoothed: sharp pixels.
function drawGrid(ctx, scale, { images, rows, cols, cellScale, gap, background }, x, y) {
  const grid = digitGridPixels({ images, rows, cols, scale: cellScale * scale, gap: gap * scale, background });
  const tmp = document.createElement('canvas');
  tmp.width = grid.width;
  tmp.height = grid.height;
  tmp.getContext('2d').putImageData(new ImageData(grid.data, grid.width, grid.height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, y, grid.width / scale, grid.height / scale);
  return { width: grid.width / scale, height: grid.height / scale, cell: grid.cell / scale, gap };
}

function text(ctx, s, x, y, { align = 'center', baseline = 'middle', color = MUTED, font = FONT } = {}) {
  ctx.font = font;
  ctx.fillStyle = color;
  ctx.textAlign = align;
  ctx.textBaseline = baseline;
  ctx.fillText(s, x, y);
}

// The report's 20 x 20 manifold with the latent value of every row and column beside it.
function drawManifold(ctx, scale, { images, size, xs, ys, height }) {
  const left = 44, top = 6;
  const grid = drawGrid(ctx, scale, { images, rows: size, cols: size, cellScale: 1, gap: 1, background: 228 }, left, top);
  const small = '9px system-ui, sans-serif';
  for (let i = 0; i < size; i++) {
    const middle = i * (grid.cell + 1) + grid.cell / 2;   // of column i and of row i
    text(ctx, xs[i].toFixed(2), left + middle, top + grid.height + 4, { baseline: 'top', font: small });
    // Row 0 at the top holds the largest z2, as on a plot.
    text(ctx, ys[size - 1 - i].toFixed(2), left - 5, top + middle, { align: 'right', font: small });
  }
  text(ctx, 'z\u2081', left + grid.width / 2, height - 2, { baseline: 'bottom', color: INK });
  ctx.save();
  ctx.translate(10, top + grid.height / 2);
  ctx.rotate(-Math.PI / 2);
  text(ctx, 'z\u2082', 0, 0, { color: INK });
  ctx.restore();
}

// Validation images in the top row, their reconstructions below, grouped by digit.
function drawReconstructions(ctx, scale, { originals, reconstructions, groups }) {
  const left = 96, top = 22, cellScale = 2, gap = 2, groupGap = 14;
  let x = left;
  for (const { digit, name, count, start } of groups) {
    const slice = (images) => images.slice(start * 784, (start + count) * 784);
    const a = drawGrid(ctx, scale, { images: slice(originals), rows: 1, cols: count, cellScale, gap, background: 240 }, x, top);
    drawGrid(ctx, scale, { images: slice(reconstructions), rows: 1, cols: count, cellScale, gap, background: 240 }, x, top + a.height + 8);
    text(ctx, name ?? `digit ${digit}`, x + a.width / 2, top - 8, { color: INK });
    x += a.width + groupGap;
  }
  const cell = 28 * cellScale;
  text(ctx, 'original', left - 10, top + cell / 2, { align: 'right', color: INK });
  text(ctx, 'reconstruction', left - 10, top + cell + 8 + cell / 2, { align: 'right', color: INK });
}

// Typed arrays travel from Node as { typed: 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint8Array', base64 }.
const TYPES = { Float32Array, Float64Array, Int32Array, Uint8Array };
function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  if (value.typed) {
    const bytes = Uint8Array.from(atob(value.base64), (c) => c.charCodeAt(0));
    return new TYPES[value.typed](bytes.buffer);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
}

const DRAW = {
  scatter: (ctx, scale, data) => drawScatter(ctx, data),
  line: (ctx, scale, data) => drawLineChart(ctx, data),
  confusion: (ctx, scale, data) => drawConfusion(ctx, data),
  manifold: (ctx, scale, data) => drawManifold(ctx, scale, data),
  reconstructions: (ctx, scale, data) => drawReconstructions(ctx, scale, data),
  strip: (ctx, scale, data) => drawStrip(ctx, data),
};

// spec: { kind, title, subtitle?, width, height (the drawing, CSS pixels), scale (device pixels per
// CSS pixel), data }. Returns the PNG as a data URL.
window.renderFigure = (spec) => {
  const { kind, title, subtitle, width, height, scale = 2 } = spec;
  if (!DRAW[kind]) throw new Error(`unknown figure kind "${kind}"`);
  const canvas = document.getElementById('figure');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round((height + TITLE_HEIGHT) * scale);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height + TITLE_HEIGHT);
  text(ctx, title, 12, 15, { align: 'left', color: INK, font: `600 14px system-ui, sans-serif` });
  if (subtitle) text(ctx, subtitle, 12, 32, { align: 'left', font: '11.5px system-ui, sans-serif' });
  ctx.save();
  ctx.translate(0, TITLE_HEIGHT);
  ctx.beginPath();
  ctx.rect(0, 0, width, height);
  ctx.clip();
  DRAW[kind](ctx, scale, { ...revive(spec.data), width, height });
  ctx.restore();
  return canvas.toDataURL('image/png');
};
window.figuresReady = true;
