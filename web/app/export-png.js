// Each panel's PNG button: what the panel shows, on white, named after what it is and of which model.
import { $, reportError } from './dom.js';
import { download, modelTag } from './downloads.js';
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

// Each panel's PNG: what it shows, and a name saying what and of which model.
const PNG = {
  latent: () => ({ canvas: compose([$('latent'), $('probe')], { stack: true }), name: 'latent-space' }),
  decoded: () => ({ canvas: compose([$('decoded')]),
    name: state.probe ? `decoded-z${state.probe.map((v) => v.toFixed(2)).join('_')}` : 'decoded' }),
  manifold: () => ({ canvas: compose([$('manifold')]), name: 'manifold' }),
  recons: () => ({ canvas: compose([$('recons')]), name: 'reconstructions' }),
  loss: () => ({ canvas: compose([$('loss')]), name: 'loss' }),
  loglik: () => ({ canvas: compose([$('loglik')]), name: 'em-loglik' }),
  confusion: () => ({ canvas: compose([$('confusion')]), name: 'confusion-matrix' }),
  snapshots: () => {
    const figures = [...document.querySelectorAll('.snap')].filter((f) => !f.hidden);
    return { canvas: compose(figures.map((f) => f.querySelector('canvas')),
      { captions: figures.map((f) => f.querySelector('figcaption').textContent) }), name: 'em-snapshots' };
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
