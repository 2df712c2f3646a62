// What the explorer adds on the latent plane's overlay: an encoded distribution's 1- and 2-sigma
// ellipses (the encoder's variance is diagonal, so they are axis-aligned), a path's two anchors and
// the points its strip decodes, and a region's rectangle. Each returns where it drew (CSS pixels),
// for the tests.
import { strokeWithHalo } from './common.js';
import { DRAWN_COLOR } from './scatter.js';

const PATH_COLOR = '#0b6e4f';
const REGION_COLOR = '#5a3ea8';

// mu and sigma: [z1, z2]. Dashed, in the drawn digit's colour, under its diamond.
export function drawSpread(ctx, { area, mu, sigma }) {
  if (!mu || !sigma || !area) return null;
  const x = area.x(mu[0]), y = area.y(mu[1]);
  const rx = [1, 2].map((n) => Math.abs(area.x(mu[0] + n * sigma[0]) - x));
  const ry = [1, 2].map((n) => Math.abs(area.y(mu[1] + n * sigma[1]) - y));
  ctx.save();
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
  ctx.clip();
  ctx.setLineDash([5, 3]);
  for (const n of [0, 1]) strokeWithHalo(ctx, (c) => c.ellipse(x, y, Math.max(rx[n], 0.5), Math.max(ry[n], 0.5), 0, 0, 2 * Math.PI), DRAWN_COLOR, 1.6);
  ctx.restore();
  return { x, y, rx, ry };
}

// The anchors A and B (either may be missing), the straight path between them and the n points the
// strip decodes on it.
export function drawPath(ctx, { area, anchors, n }) {
  if (!area) return null;
  const [a, b] = anchors.map((p) => p && { x: area.x(p.z[0]), y: area.y(p.z[1]) });
  ctx.save();
  if (a && b) {
    strokeWithHalo(ctx, (c) => { c.moveTo(a.x, a.y); c.lineTo(b.x, b.y); }, PATH_COLOR, 2);
    ctx.fillStyle = PATH_COLOR;
    for (let i = 1; i < n - 1; i++) {
      ctx.beginPath();
      ctx.arc(a.x + (b.x - a.x) * i / (n - 1), a.y + (b.y - a.y) * i / (n - 1), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.font = 'bold 12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  [a, b].forEach((p, i) => {
    if (!p) return;
    ctx.beginPath();
    ctx.arc(p.x, p.y, 10, 0, 2 * Math.PI);
    ctx.fillStyle = PATH_COLOR;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
    ctx.fillStyle = '#fff';
    ctx.fillText(i ? 'B' : 'A', p.x, p.y + 0.5);
  });
  ctx.restore();
  return { a, b };
}

// A region {x: [lo, hi], y: [lo, hi]}: its outline (dashed while it is being dragged).
export function drawRegion(ctx, { area, box, dragging = false }) {
  if (!area || !box) return null;
  const left = area.x(box.x[0]), right = area.x(box.x[1]), top = area.y(box.y[1]), bottom = area.y(box.y[0]);
  ctx.save();
  ctx.fillStyle = 'rgba(90, 62, 168, 0.08)';
  ctx.fillRect(left, top, right - left, bottom - top);
  ctx.setLineDash(dragging ? [4, 3] : []);
  strokeWithHalo(ctx, (c) => c.rect(left, top, right - left, bottom - top), REGION_COLOR, 1.8);
  ctx.restore();
  return { left, right, top, bottom };
}
