// Shared by the drawing modules: the class palette, tick placement and number formatting.
// Pure helpers; nothing here touches the DOM or keeps state.

// Ten colours for ten classes, told apart by colour-blind readers too: Paul Tol's 'muted' scheme (nine
// colours made for that) and a tenth, #0066ee, the blue that keeps the set's closest pair as far apart
// as Tol's nine alone: CIEDE2000 11.5 or more for every pair under simulated protanopia, deuteranopia and
// tritanopia (Machado et al. 2009; tests/palette.test.js measures it). Tableau 10, used before, falls
// to 0.7 for deuteranopes (its red and green). Ordered so that the pretrained digits 1, 4, 8 get the
// three strongest. Colour is a second cue only: every legend, bar and label also names its class.
export const PALETTE = ['#332288', '#0066ee', '#ddcc77', '#88ccee', '#cc6677', '#aa4499', '#44aa99', '#999933',
  '#117733', '#882255'];
export const INK = '#1f2933';
export const MUTED = '#7b8794';
export const GRID = '#e4e7eb';
// The figures' type: fontOf(13) for 13 px; FONT the axes' and notes' 11 px.
const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
export const fontOf = (px) => `${px}px ${FONT_FAMILY}`;
export const FONT = fontOf(11);

// The colour of class d (a digit, a Fashion-MNIST label): fixed per class, so a 4 is the same colour
// whatever subset is trained.
export const digitColor = (d) => PALETTE[d % PALETTE.length];

// A rim that keeps a line of this colour visible on white paper and on the plane's dots: white for the
// dark colours, a grey one for the pale ones (sand, cyan), which white would swallow.
export function rimFor(color) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  // Relative luminance above 0.45: less than 2:1 against white.
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? 'rgba(31, 41, 51, 0.55)' : 'rgba(255, 255, 255, 0.9)';
}

// About n round-numbered ticks covering [lo, hi]; integer: whole numbers only (an axis of iterations
// or epochs has no tick between two of them).
export function niceTicks(lo, hi, n = 5, { integer = false } = {}) {
  if (!(hi > lo)) return [lo];
  const raw = integer ? Math.max(1, (hi - lo) / n) : (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = (integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]).map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(i === 0 ? 0 : i * step);
  ticks.step = step;
  return ticks;
}

// Strokes the path trace(ctx) draws in `color`, over a white rim that keeps it readable on the dots
// of the plane.
export function strokeWithHalo(ctx, trace, color, width) {
  for (const [w, style] of [[width + 2.4, 'rgba(255,255,255,0.9)'], [width, color]]) {
    ctx.lineWidth = w;
    ctx.strokeStyle = style;
    ctx.beginPath();
    trace(ctx);
    ctx.stroke();
  }
}

// A line of grey text centred at (x, y): an empty panel's placeholder.
export function drawNote(ctx, text, x, y, font = FONT) {
  ctx.fillStyle = MUTED;
  ctx.font = font;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, x, y);
}

// Ticks at 1, 2, 5 x 10^k inside [lo, hi] (both > 0); only powers of ten over a wide range.
export function logTicks(lo, hi) {
  const ticks = [];
  const mantissas = Math.log10(hi / lo) > 2.5 ? [1] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mantissas) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

// A tick label; with the ticks' step, exactly as many decimals as the step needs.
export function formatTick(v, step) {
  if (v === 0) return '0';
  if (step && Math.abs(v) < 1e5 && step >= 1e-6) return v.toFixed(Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

// A plot area inside a box with margins; x and y map data to pixels.
export function plotArea(width, height, margin, xRange, yRange, { logY = false } = {}) {
  const left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom;
  const fy = logY ? Math.log10 : (v) => v;
  const [y0, y1] = [fy(yRange[0]), fy(yRange[1])];
  return {
    left, right, top, bottom, width, height,
    x: (v) => left + (v - xRange[0]) / (xRange[1] - xRange[0] || 1) * (right - left),
    y: (v) => bottom - (fy(v) - y0) / (y1 - y0 || 1) * (bottom - top),
    invX: (px) => xRange[0] + (px - left) / (right - left) * (xRange[1] - xRange[0]),
    invY: (py) => yRange[0] + (bottom - py) / (bottom - top) * (yRange[1] - yRange[0]),
  };
}

// Axes with grid lines, tick labels and titles for a plot area.
export function drawAxes(ctx, area, { xTicks, yTicks, xLabel, yLabel, formatX = formatTick, formatY = formatTick }) {
  ctx.save();
  ctx.font = FONT;
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = Math.round(area.x(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
    ctx.fillText(formatX(t, xTicks.step), x, area.bottom + 5);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = Math.round(area.y(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(area.left, y); ctx.lineTo(area.right, y); ctx.stroke();
    ctx.fillText(formatY(t, yTicks.step), area.left - 6, y);
  }
  ctx.strokeStyle = '#9aa5b1';
  ctx.strokeRect(area.left + 0.5, area.top + 0.5, area.right - area.left, area.bottom - area.top);
  ctx.fillStyle = INK;
  if (xLabel) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(xLabel, (area.left + area.right) / 2, area.height - 2);
  }
  if (yLabel) {
    ctx.translate(12, (area.top + area.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(yLabel, 0, 0);
  }
  ctx.restore();
}
