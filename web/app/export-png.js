// Each panel's PNG button: what the panel shows, on white, named after what it is and of which model.
// The plane and the EM snapshots, whose legends are HTML on the page, get theirs drawn in.
import { drawLegend, legendSize } from '../draw/legend.js';
import { drawScatterLegend } from '../draw/scatter.js';
import { legendEntries } from './classes.js';
import { $, reportError } from './dom.js';
import { download, modelTag } from './downloads.js';
import { latentLegend } from './latent.js';
import { state } from './state.js';

// A canvas of the given canvases side by side (scaled to one height), or stacked when `stack`, on
// white: transparent parts print as paper. Captions go under each, when given.
function compose(canvases, { height, stack = false, captions = null, pixelated = false } = {}) {
  const gap = stack ? 0 : 12, captionH = captions ? 22 : 0;
  const h = height ?? canvases[0].height;
  const widths = canvases.map((c) => (stack ? canvases[0].width : Math.round(c.width * h / c.height)));
  const out = document.createElement('canvas');
  out.width = stack ? widths[0] : widths.reduce((a, b) => a + b, 0) + gap * (canvases.length - 1);
  out.height = h + captionH;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = !pixelated;
  let x = 0;
  canvases.forEach((c, i) => {
    ctx.drawImage(c, stack ? 0 : x, 0, widths[i], h);
    if (captions) {
      ctx.fillStyle = '#616e7c';
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(captions[i], x + widths[i] / 2, h + 16);
    }
    if (!stack) x += widths[i] + gap;
  });
  return out;
}

// The plane with its legend in the plot's top right corner, as the figures have it.
function latentWithLegend() {
  const canvas = compose([$('latent'), $('probe')], { stack: true });
  const entries = latentLegend();
  if (state.area && entries.length) {
    const ctx = canvas.getContext('2d');
    const scale = canvas.width / $('latent').getBoundingClientRect().width;
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    drawScatterLegend(ctx, state.area, { digits: entries.map((e) => e.label), names: entries.map((e) => e.name) });
  }
  return canvas;
}

// A canvas with the classes' legend under it, in as many columns as fit its width.
function withLegendBelow(canvas, entries) {
  if (!entries.length) return canvas;
  const out = document.createElement('canvas');
  const ctx = out.getContext('2d');
  const one = legendSize(ctx, entries);
  const columns = Math.max(1, Math.min(entries.length, Math.floor(canvas.width / one.colWidth)));
  const maxHeight = Math.ceil(entries.length / columns) * 16 + 6;
  const size = legendSize(ctx, entries, { maxHeight });
  out.width = Math.max(canvas.width, size.width);
  out.height = canvas.height + size.height + 8;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  drawLegend(ctx, { x: 0, y: canvas.height + 8, entries, maxHeight });
  return out;
}

// Each panel's PNG: what it shows, and a name saying what and of which model.
const PNG = {
  latent: () => ({ canvas: latentWithLegend(), name: 'latent-space' }),
  decoded: () => ({ canvas: compose([$('decoded')]),
    name: state.probe ? `decoded-z${state.probe.map((v) => v.toFixed(2)).join('_')}` : 'decoded' }),
  manifold: () => ({ canvas: compose([$('manifold')]), name: 'manifold' }),
  recons: () => ({ canvas: compose([$('recons')]), name: 'reconstructions' }),
  loss: () => ({ canvas: compose([$('loss')]), name: 'loss' }),
  loglik: () => ({ canvas: compose([$('loglik')]), name: 'em-loglik' }),
  confusion: () => ({ canvas: compose([$('confusion')]), name: 'confusion-matrix' }),
  snapshots: () => {
    const figures = [...document.querySelectorAll('.snap')].filter((f) => !f.hidden);
    const snaps = compose(figures.map((f) => f.querySelector('canvas')), { captions: figures.map((f) => f.querySelector('figcaption').textContent) });
    return { canvas: withLegendBelow(snaps, state.fit ? legendEntries(state.fit.classes) : []), name: 'em-snapshots' };
  },
  path: () => ({ canvas: compose([$('strip')]), name: 'path' }),
  region: () => ({ canvas: compose([$('region')]), name: 'region' }),
  draw: () => ({ canvas: compose([$('draw'), $('draw-input'), $('draw-recon')], { height: $('draw').height, pixelated: true,
    captions: ['drawn', 'model input (28 x 28)', 'reconstruction'] }), name: 'drawn-digit' }),
};

function downloadPng(key) {
  const { canvas, name } = PNG[key]();
  canvas.toBlob((blob) => {
    if (blob) download(blob, `latent-lab-${name}-${modelTag()}.png`);
    else reportError(`could not make a PNG of the ${key} panel`);
  }, 'image/png');
}

export function initPngExport() {
  document.addEventListener('click', (event) => {
    const button = event.target.closest?.('button[data-png]');
    if (button) downloadPng(button.dataset.png);
  });
}
