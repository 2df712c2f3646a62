// The view worker: holds a snapshot of the model's parameters and answers the page's interactive
// questions: decode the hovered point (first, always), then encode the scatter sample, reconstruct
// and decode the manifold in slices of a few milliseconds, so a hover never waits behind them; encode
// a drawn digit or a test image with samples of its distribution; decode a path's or a region's points. The trainer sends it parameters and images over their port, never through
// the page. Never touches the DOM.
import { LabError, LATENT, PIXELS } from '../lib/latent-lab.js';
import { deskewImage } from '../lib/data/deskew.js';
import { toBytes, toFloats } from '../lib/data/images.js';
import { gridPoints, MANIFOLD, manifoldQuantiles, normalQuantile } from '../lib/normal.js';
import { makeRng } from '../lib/rng.js';
import { serve } from '../lib/rpc.js';
import { digitGridPixels } from '../draw/digits.js';
import { debugHandlers, startWorker, worker, yieldToMessages } from './common.js';

const MANIFOLD_EVERY_MS = 5000;
const SLICE_MS = 4;              // the longest stretch of work between two looks at the messages
// While a run trains, the views' refreshes take at most this share of one core: after a refresh of
// W ms the next waits W * (1 / VIEW_BUDGET - 1) ms (newer snapshots replace the waiting one). The
// training threads or replicas then keep the cores (the page trains at near its headless rate); a
// hover is answered at once all the same, and the final snapshot is shown without waiting. On a
// loaded or slow machine a refresh takes long in wall time: the wait is capped so the plane still moves.
const VIEW_BUDGET = 0.1;
const MAX_REST_MS = 5000;
const GRID_QUANTILES = manifoldQuantiles(MANIFOLD);
const MAX_POINTS = 1024;         // points one decode-points request may ask for (a 32 x 32 region)
// Fixed standard-normal draws for the samples of an encoded distribution: the same noise for every
// drawing, so the samples move with the pen instead of flickering.
const SAMPLES = 6;
const SAMPLE_NOISE = (() => {
  const uniform = makeRng(2024, 7);
  return Float32Array.from({ length: SAMPLES * LATENT }, () => normalQuantile(0.001 + 0.998 * uniform()));
})();

const post = (message, transfer) => worker.post(message, transfer);
// toTrainer: posts to the trainer over the port between the two workers.
const view = { model: null, params: null, version: 0, run: 0, busy: false, toTrainer: null, scatter: null, val: null, test: null,
  manifoldAt: -Infinity, restUntil: 0 };

// The codes' 2nd..98th percentile box per axis: the manifold's N(0,1) quantiles are scaled to it.
function latentBox(mu) {
  const n = mu.length / LATENT;
  const box = [];
  for (let a = 0; a < LATENT; a++) {
    const v = Float32Array.from({ length: n }, (_, i) => mu[i * LATENT + a]).sort();
    const lo = v[Math.floor(0.02 * (n - 1))], hi = v[Math.ceil(0.98 * (n - 1))];
    box.push({ center: (lo + hi) / 2, half: Math.max((hi - lo) / 2, 1e-3) });
  }
  return box;
}

// Runs fn(start, count) over [0, n) `step` items at a time, looking at the worker's messages every
// SLICE_MS or so: a hover's decode waits at most one slice.
async function sliced(n, step, fn) {
  let sliceStart = performance.now();
  for (let start = 0; start < n; start += step) {
    fn(start, Math.min(step, n - start));
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToMessages();
      sliceStart = performance.now();
    }
  }
}

// One refresh with the newest parameters: codes of the scatter sample, reconstructions, manifold.
async function refreshViews() {
  if (view.busy) return;
  view.busy = true;
  try {
    while (view.params) {
      const rest = view.params.final || view.params.run !== view.run ? 0 : view.restUntil - performance.now();
      if (rest > 0) {
        await new Promise((resolve) => setTimeout(resolve, rest));
        continue;   // the newest snapshot by now
      }
      const started = performance.now();
      const { params, version, run, final, views, deskew } = view.params;
      view.params = null;
      view.model.setParams(params);
      giveBack(params);
      view.deskew = deskew;   // how the model saw its images: a drawn digit is prepared the same way
      view.version = version;
      if (view.run !== run) post({ type: 'view-params', run });   // the page decodes its probe again
      view.run = run;
      await yieldToMessages();   // setParams copies 10 MB: a waiting hover goes first
      if (!views) continue;   // parameters for hover only: the images for this run's views are on their way
      if (view.scatter?.run === run) {
        const { images, n } = view.scatter;
        const mu = new Float32Array(n * LATENT);
        await sliced(n, 2, (start, count) => {
          mu.set(view.model.encode(images.subarray(start * PIXELS, (start + count) * PIXELS)).mu, start * LATENT);
        });
        view.box = latentBox(mu);   // before mu's buffer moves to the page
        post({ type: 'codes', mu, version, run }, [mu.buffer]);
      }
      if (view.val?.run === run) {
        const { n } = view.val;
        const images = new Uint8Array(n * PIXELS);
        await sliced(n, 2, (start, count) => {
          images.set(toBytes(view.model.reconstruct(view.val.images.subarray(start * PIXELS, (start + count) * PIXELS))),
            start * PIXELS);
        });
        post({ type: 'recons', images, version, run }, [images.buffer]);
      }
      // The manifold (400 decodes) is the dearest view: at most every few seconds while training.
      if (view.box && (final || !(performance.now() - view.manifoldAt < MANIFOLD_EVERY_MS))) {
        view.manifoldAt = performance.now();
        const [bx, by] = view.box;
        const xs = GRID_QUANTILES.map((q) => bx.center + q / GRID_QUANTILES.at(-1) * bx.half);
        const ys = GRID_QUANTILES.map((q) => by.center + q / GRID_QUANTILES.at(-1) * by.half);
        const z = gridPoints(xs, ys);
        const images = new Uint8Array(MANIFOLD * MANIFOLD * PIXELS);
        await sliced(MANIFOLD * MANIFOLD, 2, (start, count) => {
          images.set(toBytes(view.model.decode(z.subarray(start * 2, (start + count) * 2))), start * PIXELS);
        });
        // The page only puts these pixels on its canvas: the grid is laid out here.
        const grid = digitGridPixels({ images, rows: MANIFOLD, cols: MANIFOLD, gap: 1, background: 228 });
        post({ type: 'manifold', rgba: grid.data, width: grid.width, height: grid.height, xs, ys, size: MANIFOLD, version, run },
          [grid.data.buffer]);
      }
      view.restUntil = performance.now() + Math.min(MAX_REST_MS, (performance.now() - started) * (1 / VIEW_BUDGET - 1));
    }
  } finally {
    view.busy = false;
  }
}

// A snapshot's array, its values taken: back to the trainer, which copies the next snapshot into it.
function giveBack(params) {
  view.toTrainer?.({ type: 'params-back', params }, [params.buffer]);
}

// What the trainer sends over the port between the two workers.
const portHandlers = {
  // The images the views are made of: the scatter sample (test) and the labelled validation images.
  // test: every test image as bytes (a test image picked on the plane is encoded from here).
  data({ run, scatter, val, test }) {
    view.scatter = { run, images: toFloats(scatter.images), n: scatter.n };
    view.val = { run, images: toFloats(val.images), n: val.n };
    view.test = test ? { run, images: test.images, n: test.n } : null;
    view.box = null;
    view.manifoldAt = -Infinity;
  },

  // A new snapshot; only the newest waiting one is used.
  // views: false: for hover only, no refresh of the views (a loaded model before its images arrive).
  params({ params, imagesSeen, run, final, views = true, deskew = false }) {
    if (view.params) giveBack(view.params.params);   // replaced before it was taken
    view.params = { params, version: imagesSeen, run, final, views, deskew };
    refreshViews().catch((error) => post({ type: 'error', message: error.message }));
  },

  // The parameters on show (what hover decodes) and their run: after a crash, a fresh trainer takes
  // the last good model from here.
  'get-params'() {
    return { params: view.model.getParams(), run: view.run, deskew: view.deskew ?? false };
  },
};

const pageHandlers = {
  ...debugHandlers,

  // The port to the trainer (the page hands both ends out): its messages are answered here.
  connect({ port }) {
    view.toTrainer = serve(port, (message) => {
      if (worker.crashed) throw new Error(`the view worker crashed (${worker.crashed})`);
      const handler = portHandlers[message.type];
      if (!handler) throw new Error(`unknown message type "${message.type}" on the view port`);
      return handler(message);
    }, { onError: (error, message) => { if (message.id === undefined) post({ type: 'error', message: error.message }); } });
  },

  // Pixel probabilities (as bytes) for latent points, with the snapshot's version.
  decode({ z }) {
    const images = toBytes(view.model.decode(Float32Array.from(z)));
    return { images, version: view.version, run: view.run };
  },

  // A path's and a region's points, decoded a few at a time (two kinds: the page keeps the newest
  // request of each).
  'decode-path': decodePoints,
  'decode-region': decodePoints,

  // A drawn digit, centred as MNIST's are (the page did that), deskewed here if the model on show was
  // trained deskewed. input: the 784 bytes the model saw, for the page to show.
  'encode-drawing'({ image }) {
    if (image?.length !== PIXELS) throw new LabError(`a drawn digit has ${PIXELS} pixels, got ${image?.length}`);
    return encoded(view.deskew ? deskewImage(Float32Array.from(image)) : Float32Array.from(image));
  },

  // Test image `index` of run `run`, as the model saw it (prepared as its training images were).
  'encode-test'({ index, run }) {
    const test = view.test;
    if (!test || test.run !== run) throw new LabError('the test images of this run are not here yet');
    if (!Number.isInteger(index) || index < 0 || index >= test.n) throw new LabError(`no test image ${index} (there are ${test.n})`);
    return encoded(toFloats(test.images.subarray(index * PIXELS, (index + 1) * PIXELS)));
  },
};

// Pixel probabilities (as bytes) for up to MAX_POINTS latent points, decoded two at a time so a hover's
// decode goes between them.
async function decodePoints({ z }) {
  const n = z?.length / LATENT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_POINTS) throw new LabError(`a path or region has 1..${MAX_POINTS} points, got ${n}`);
  if (!Array.prototype.every.call(z, Number.isFinite)) throw new LabError('a point of the path or region is not a finite number');
  const points = Float32Array.from(z), images = new Uint8Array(n * PIXELS);
  // New parameters may arrive between two slices: then the points are decoded again, so that one
  // strip or grid comes from one model.
  for (let attempt = 1; ; attempt++) {
    const { version, run } = view;
    await sliced(n, 2, (start, count) => {
      images.set(toBytes(view.model.decode(points.subarray(start * LATENT, (start + count) * LATENT))), start * PIXELS);
    });
    if ((view.version === version && view.run === run) || attempt === 3) return { images, version: view.version, run: view.run };
  }
}

// An image's encoded distribution: its mean and log-variance, the decode of the mean, and SAMPLES
// decodes of z = mu + sigma * eps (fixed eps), with the image as the model saw it.
function encoded(x) {
  const { mu, logvar } = view.model.encode(x);
  const z = new Float32Array(SAMPLES * LATENT);
  for (let i = 0; i < SAMPLES; i++) {
    for (let a = 0; a < LATENT; a++) z[i * LATENT + a] = mu[a] + Math.exp(0.5 * logvar[a]) * SAMPLE_NOISE[i * LATENT + a];
  }
  return { mu, logvar, recon: toBytes(view.model.decode(mu)), input: toBytes(x), samples: toBytes(view.model.decode(z)), sampleZ: z,
    version: view.version, run: view.run };
}

startWorker('view', pageHandlers, { onReady: (lab) => { view.model = lab.createModel({ seed: 0 }); } });
