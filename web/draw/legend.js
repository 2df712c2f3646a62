// A legend drawn on a canvas: a swatch and a name per class, in one column, or in several when one
// would be taller than the room given. For the figures and the PNG downloads, which carry their own
// legend; the page itself shows its legends as HTML text (web/app/classes.js).
import { FONT, INK, rimFor } from './common.js';

const ROW = 16;       // CSS pixels per entry
const SWATCH = 4.5;   // the swatch's radius
const PAD = 6;

// entries: [{ name, color }]; maxHeight: the room the legend may take. -> { width, height, columns, rows, colWidth }
export function legendSize(ctx, entries, { maxHeight = Infinity } = {}) {
  ctx.save();
  ctx.font = FONT;
  const colWidth = Math.ceil(Math.max(0, ...entries.map((e) => ctx.measureText(e.name).width))) + 2 * SWATCH + 3 * PAD;
  ctx.restore();
  const fit = Math.max(1, Math.floor((maxHeight - PAD) / ROW));
  const columns = Math.max(1, Math.ceil(entries.length / fit));
  const rows = Math.ceil(entries.length / columns);
  return { width: columns * colWidth, height: rows * ROW + PAD, columns, rows, colWidth };
}

// Draws the legend with its top left corner at (x, y), on a white, lightly framed box; returns its size.
export function drawLegend(ctx, { x, y, entries, maxHeight = Infinity }) {
  const size = legendSize(ctx, entries, { maxHeight });
  ctx.save();
  ctx.font = FONT;
  ctx.fillStyle = 'rgba(255,255,255,0.9)';
  ctx.strokeStyle = '#d9dee3';
  ctx.lineWidth = 1;
  ctx.fillRect(x, y, size.width, size.height);
  ctx.strokeRect(x + 0.5, y + 0.5, size.width, size.height);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  entries.forEach(({ name, color }, i) => {
    const col = Math.floor(i / size.rows), row = i % size.rows;
    const cx = x + col * size.colWidth + PAD + SWATCH, cy = y + PAD / 2 + ROW * row + ROW / 2;
    ctx.beginPath();
    ctx.arc(cx, cy, SWATCH, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.strokeStyle = rimFor(color);
    ctx.stroke();
    ctx.fillStyle = INK;
    ctx.fillText(name, cx + SWATCH + PAD, cy);
  });
  ctx.restore();
  return size;
}
