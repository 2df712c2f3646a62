// The confusion matrix: rows are the true class, columns the predicted one; each cell shaded by the
// share of its row, with its count written in it, or the share in percent when counts would not fit
// (ten classes in a side column). Rows and columns are named in text (short names when the full ones
// would crowd the grid; long column names stand upright); a swatch of the class's colour beside each.
import { digitColor, fontOf, INK, MUTED, rimFor } from './common.js';

const SWATCH = 3.5;
const FONT = fontOf(12);   // the names: a size up from the axes'

// The grid's place for n classes whose labels are at most labelWidth wide: column labels across when
// they fit a cell, else upright (reading upwards) above it.
function gridLayout(width, height, n, labelWidth) {
  const left = 18 + labelWidth + 2 * SWATCH + 8;
  const fit = (top) => {
    const size = Math.max(n, Math.min(width - left - 8, height - top - 8));
    return { left, top, size, cell: size / n };
  };
  const across = fit(26 + 2 * SWATCH + 12);
  if (labelWidth <= across.cell - 2) return { ...across, upright: false };
  return { ...fit(18 + labelWidth + 2 * SWATCH + 6), upright: true };
}

// "97", "<1" or "0": a cell's share of its row in whole percent, never rounding a confusion away.
const percentText = (count, total) => (count === 0 ? '0' : count / total < 0.005 ? '<1' : String(Math.round(100 * count / total)));

// data: { width, height, matrix (rows of counts), digits (the class labels), names? (their names),
//   shortNames? (for when the names would crowd the grid) }
// Returns the layout { left, top, cell, n, percent } (percent: the cells show shares, not counts).
export function drawConfusion(ctx, { width, height, matrix, digits, names = null, shortNames = null }) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const n = digits.length;
  ctx.font = FONT;
  const widest = (list) => Math.max(...list.map((s) => ctx.measureText(s).width));
  const full = names ?? digits.map(String);
  // The full names while they take at most a quarter of the width, else the short ones.
  const labels = widest(full) <= 0.25 * width || !shortNames ? full : shortNames;
  const layout = gridLayout(width, height, n, widest(labels));
  const { left, top, size, cell, upright } = layout;
  // Counts where the largest fits its cell, else each row's shares in percent.
  const font = Math.max(9, Math.min(14, cell * 0.42));
  ctx.font = fontOf(font);
  const largest = Math.max(0, ...matrix.flat());
  const percent = ctx.measureText(String(largest)).width > cell - 4;

  ctx.font = FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = MUTED;
  ctx.fillText(percent ? 'predicted (cells: % of the row)' : 'predicted', left + size / 2, 8);
  ctx.save();
  ctx.translate(9, top + size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('true', 0, 0);
  ctx.restore();
  const swatch = (x, y, d) => {
    ctx.beginPath();
    ctx.arc(x, y, SWATCH, 0, 2 * Math.PI);
    ctx.fillStyle = digitColor(d);
    ctx.fill();
    ctx.strokeStyle = rimFor(digitColor(d));
    ctx.lineWidth = 1;
    ctx.stroke();
  };
  for (let i = 0; i < n; i++) {
    const middle = i * cell + cell / 2;
    // The row's name, right-aligned against the grid, its swatch between.
    swatch(left - 6 - SWATCH, top + middle, digits[i]);
    ctx.fillStyle = INK;
    ctx.textAlign = 'right';
    ctx.fillText(labels[i], left - 8 - 2 * SWATCH, top + middle);
    // The column's name above it: across, or upright reading upwards from just above its swatch.
    swatch(left + middle, top - 6 - SWATCH, digits[i]);
    ctx.fillStyle = INK;
    if (upright) {
      ctx.save();
      ctx.translate(left + middle, top - 8 - 2 * SWATCH);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(labels[i], 0, 0);
      ctx.restore();
    } else {
      ctx.textAlign = 'center';
      ctx.fillText(labels[i], left + middle, top - 14 - 2 * SWATCH);
    }
  }
  ctx.textAlign = 'center';
  for (let r = 0; r < n; r++) {
    const total = matrix[r].reduce((a, b) => a + b, 0) || 1;
    for (let c = 0; c < n; c++) {
      const count = matrix[r][c], share = count / total;
      const x = left + c * cell, y = top + r * cell;
      ctx.fillStyle = r === c ? `rgba(47, 133, 90, ${0.12 + 0.8 * share})` : `rgba(201, 42, 42, ${share > 0 ? 0.1 + 0.9 * share : 0})`;
      ctx.fillRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      ctx.fillStyle = share > 0.55 ? '#fff' : count === 0 ? MUTED : INK;
      ctx.font = fontOf(font);
      ctx.fillText(percent ? percentText(count, total) : String(count), x + cell / 2, y + cell / 2);
    }
  }
  ctx.font = FONT;
  ctx.strokeStyle = '#d9dee3';
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, size, size);
  return { left, top, cell, n, percent };
}
