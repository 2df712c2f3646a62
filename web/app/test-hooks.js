// window.__lab, built here only: what the browser test (and a curious person in devtools) reads of the
// page. The other modules report into it through report, tally, record and reportOnce; none touches window.__lab.
import { resolveOptions } from '../lib/run/options.js';

const lab = window.__lab = {
  phase: 'idle', build: null, readyAt: null, dataReady: false, batches: 0, imagesSeen: 0, trainSeconds: 0, firstLoss: null, lastLoss: null,
  // The plane: points drawn, code sets received, the mixture's ellipses and means in CSS pixels, the
  // plot area, the digits' colours, two codes far apart (CSS px), the drawn digit's marker.
  // scatterUpdatesTraining: the code sets that arrived while the phase was 'training'.
  scatterPoints: 0, scatterUpdates: 0, scatterUpdatesTraining: 0, ellipses: 0, ellipsePoints: [], meanPoints: [], area: null, colors: [],
  farCodes: [], drawnMarker: null,
  emIterations: 0, emIter: 0, probeSeq: 0, decodedSeq: 0, decodes: 0, decodedInk: 0, manifolds: 0, recons: 0, metrics: null,
  // Panels still to draw after the last animation frame (0: the page shows all it was told).
  panelsPending: 0,
  errors: [], workers: null, parallelism: null, notes: [], fieldErrors: {},
  // Hover latency: ms from the pointer event to the decoded digit on its canvas, one entry per decode.
  hoverMs: [],
  // performance.now() when the last run's training started and ended (for the long-task check).
  trainStartedAt: null, trainEndedAt: null,
  // Models from files: the loaded run ({ run, name, pretrained, at }), the view worker's run, the run of
  // the last decoded digit, when the first hover decoded a loaded model (ms since the page opened).
  loaded: null, viewRun: 0, decodedRun: 0, firstLoadedDecodeAt: null, loadErrors: [], downloads: 0,
  // The drawn digit: encodes answered, its code, its marker on the overlay (CSS px), responsibilities.
  drawn: null, drawSeq: 0,
  // The explorer (explore.js): the plane's tool, decoded strips and regions (how many, the last one, when
  // a region arrived and how many hover decodes had arrived by then), the test image picked, the marks on
  // the overlay (the drawn digit's ellipses, the anchors, the rectangle).
  tool: 'probe', strips: 0, strip: null, regions: 0, region: null, regionAt: null, decodesAtRegion: 0, decodedAt: null, picked: null,
  spread: null, pathMarks: null, regionMarks: null,
  // Users' data: what is selected (null: the built-in dataset chosen), the messages of refused files, and a
  // lower cap on any one array unpacked that a test may set (0: the C default, 512 MiB).
  data: null, dataErrors: [], dataMaxBytes: 0,
  // The built-in datasets: dataReady (the chosen one is fetched and unpacked), each one's download as the
  // page shows it ({ [dataset]: { loaded, total, ready, train, test } }) and every progress message.
  downloads: {}, dataProgress: [],
  // The classes on show: the plane's legend (names), whether the confusion matrix's cells show counts or
  // percentages; the run on show ({ dataset, classes, totalImages }); the pretrained models offered.
  legend: [], confusionCells: null, run: null, pretrained: [],
  // A worker whose wasm trapped: its message until restarted, and how many restarts there were.
  crashed: null, restarts: 0,
  // Requests the tests make of the workers (addTestRequests): debugTrap, memory, selftest, paramsHash.
};

// Sets some hooks: report({ phase: 'training', batches: 0 }).
export const report = (fields) => { Object.assign(lab, fields); };
// Sets a hook unless it is set already (the first loss, when a run's training ended, ...).
export const reportOnce = (key, value) => { lab[key] ??= value; };
// Adds n to a counter.
export const tally = (key, n = 1) => { lab[key] += n; };
// Appends to a list (errors, notes, hover latencies, ...).
export const record = (key, value) => { lab[key].push(value); };
// Reads one back: what the page reported, or what a test set (dataMaxBytes).
export const hook = (key) => lab[key];

// The tests' own requests to the workers.
export function addTestRequests(trainer, viewer) {
  // A trap in the trainer's wasm (resolves to its message), and both modules' memory in bytes.
  lab.debugTrap = () => trainer.request('debug-trap').catch((error) => error.message);
  lab.memory = () => Promise.all([trainer.request('memory'), viewer.request('memory')])
    .then(([t, v]) => ({ trainer: t.bytes, view: v.bytes }));
  // For the determinism test: a few batches of a run in the trainer worker, and the SHA-256 of the
  // parameters; options as for a run (workers included).
  lab.selftest = ({ batches = 4, ...options }) => trainer.request('selftest', { options: resolveOptions(options), batches });
  // For the save-and-load test: the SHA-256 of the current model's parameters, in the trainer.
  lab.paramsHash = () => trainer.request('params-hash').then((r) => r.hash);
  // The training snapshots the trainer sent to the view worker, and how many went in an array it had
  // sent back: { sent, inSpare }.
  lab.paramsSnapshots = () => trainer.request('params-snapshots');
  // For the explorer's tests: the view worker's decode of latent points, as hover gets it.
  lab.decode = (z) => viewer.request('decode', { z }).then((r) => Array.from(r.images));
}
