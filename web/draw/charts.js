// Line charts: the loss curves (per batch, smoothed, and per epoch) and EM's log-likelihood per
// iteration. One function, driven by the data: series of [x, y] points, optional dots and a marker.
import { drawAxes, drawNote, FONT, formatTick, INK, logTicks, MUTED, niceTicks, plotArea } from './common.js';

const MARGIN = { left: 52, right: 14, top: 26, bottom: 34 };

// data: { width, height, series: [{ name, color, points: [[x, y]], dots?: [[x, y]], dashed? }],
//   xLabel, yLabel, logY?, xMin?, integerX? (whole-number ticks), marker?: { x, label }, empty?: string }
// Returns the plot area (null when empty), with the x ticks drawn as area.xTicks.
export function drawLineChart(ctx, data) {
  const { width, height, series, logY = false } = data;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => [...s.points, ...(s.dots ?? [])]).filter(([, y]) => Number.isFinite(y) && (!logY || y > 0));
  if (all.length === 0) {
    drawNote(ctx, data.empty ?? 'no data yet', width / 2, height / 2);
    return null;
  }
  let [x0, x1] = [data.xMin ?? Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  if (x1 <= x0) x1 = x0 + 1;
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  // On a log axis, values far below the top (a KL of almost 0 at the start) would squash the rest.
  if (logY) { y0 = Math.max(y0, y1 / 2000) / 1.25; y1 *= 1.25; } else { const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.05 || 1; y0 -= pad; y1 += pad; }
  const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  // Room on the left for the widest tick label.
  ctx.font = FONT;
  const labelWidth = Math.max(...yTicks.map((t) => ctx.measureText(formatTick(t, yTicks.step)).width));
  const area = plotArea(width, height, { ...MARGIN, left: Math.max(MARGIN.left, labelWidth + 30) }, [x0, x1], [y0, y1], { logY });
  area.xTicks = niceTicks(x0, x1, 6, { integer: !!data.integerX });
  drawAxes(ctx, area, { xTicks: area.xTicks, yTicks, xLabel: data.xLabel, yLabel: data.yLabel });
  ctx.save();
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
  ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.width ?? 1.8;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(area.x(x), area.y(y)) : ctx.moveTo(area.x(x), area.y(y))));
    ctx.stroke();
    ctx.setLineDash([]);
    for (const [x, y] of s.dots ?? []) {
      ctx.beginPath();
      ctx.arc(area.x(x), area.y(y), 3.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1.2;
      ctx.stroke();
    }
  }
  if (data.marker) {
    const x = Math.round(area.x(data.marker.x)) + 0.5;
    ctx.strokeStyle = INK;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();
  drawKey(ctx, area, series.filter((s) => s.name), data.marker);
  return area;
}

// The series names in a row above the plot, and the marker's label.
function drawKey(ctx, area, series, marker) {
  ctx.save();
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  let x = area.left;
  const y = area.top - 13;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 16, y); ctx.stroke();
    ctx.fillStyle = INK;
    ctx.fillText(s.name, x + 21, y);
    x += 21 + ctx.measureText(s.name).width + 14;
  }
  if (marker?.label) {
    ctx.textAlign = 'right';
    ctx.fillStyle = MUTED;
    ctx.fillText(marker.label, area.right, y);
  }
  ctx.restore();
}

export { formatTick };
