// The confusion matrix: rows are the true digit, columns the predicted one; each cell shaded by the
// share of its row, with the count written in it.
import { digitColor, FONT, INK, MUTED } from './common.js';

// data: { width, height, matrix (rows of counts), digits }
export function drawConfusion(ctx, { width, height, matrix, digits }) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const n = digits.length;
  const left = 46, top = 30, size = Math.min(width - left - 8, height - top - 8);
  const cell = size / n;
  ctx.font = FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = MUTED;
  ctx.fillText('predicted', left + size / 2, 8);
  ctx.save();
  ctx.translate(10, top + size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('true', 0, 0);
  ctx.restore();
  for (let r = 0; r < n; r++) {
    const total = matrix[r].reduce((a, b) => a + b, 0) || 1;
    ctx.fillStyle = digitColor(digits[r]);
    ctx.fillText(String(digits[r]), left - 12, top + (r + 0.5) * cell);
    ctx.fillText(String(digits[r]), left + (r + 0.5) * cell, top - 10);
    for (let c = 0; c < n; c++) {
      const share = matrix[r][c] / total;
      const x = left + c * cell, y = top + r * cell;
      ctx.fillStyle = r === c ? `rgba(47, 133, 90, ${0.12 + 0.8 * share})` : `rgba(201, 42, 42, ${share > 0 ? 0.1 + 0.9 * share : 0})`;
      ctx.fillRect(x + 1, y + 1, cell - 2, cell - 2);
      ctx.fillStyle = share > 0.55 ? '#fff' : INK;
      ctx.font = `${Math.max(9, Math.min(14, cell / 3.6))}px system-ui, sans-serif`;
      ctx.fillText(String(matrix[r][c]), x + cell / 2, y + cell / 2);
      ctx.font = FONT;
    }
  }
  ctx.strokeStyle = '#d9dee3';
  ctx.strokeRect(left + 0.5, top + 0.5, size, size);
}
