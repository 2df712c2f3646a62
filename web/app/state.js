// The run as the page knows it: the phase the trainer worker last reported, and what the workers sent
// of the run (codes, mixture, views) for drawing. The workers own the run; nothing here decides it.
import { report } from './test-hooks.js';

export const state = {
  phase: 'idle',        // as the trainer worker said ('phase' messages): idle | waiting-for-data | training | paused |
                        // trained | fitting | fitted | evaluating (a loaded model)
  trainAsked: false,    // Train was pressed and the trainer has not yet said a phase since
  settingsValid: true,  // the settings form passes its checks (settings.js)
  wasmFailed: null,     // why the trainer's WebAssembly did not start (a bad ?build=, no WebAssembly): nothing trains
  run: null,            // { classes, trainImages, totalImages, epochs, scatterClasses, valLabels, valPerClass }
  losses: null,         // a LossHistory (lib/run/loss-history.js): smoothed per batch, and per epoch
  progress: null,
  rates: [],            // the last minute of training: [{ seconds, imagesSeen }], for images per second
  measuring: null,      // a loaded model being measured: { done, total, encoding, seconds } (images)
  codes: null,          // the live scatter: codes of the test sample
  fit: null,            // { history, componentClass, metrics, testCodes, testClasses, classes }
  mixture: null,        // the mixture that answers at a point: { history, componentClass, classes } (the fit's,
                        // or a loaded file's from the moment it is read, before the model is measured)
  emIter: 0,
  view: null,           // the scatter's box { x, y }
  area: null,           // the scatter's pixel mapping (from drawScatter)
  probe: null,          // [z1, z2]
  probeAt: 0,           // when the user asked for the probe (a pointer event's timeStamp)
  manifold: null,
  recons: null,
  decoded: null,
  loaded: null,         // the model came from a file: { run, name, info, pretrained, digits, dataset }
  pretrained: [],       // the pretrained models the site offers (models/index.json): [{ name, files, title, dataset }]
  drawn: null,          // the drawn digit: { z, input (784 bytes), recon (784 bytes) }
  trainedWith: null,    // the options of the run trained on this page (for file names)
  data: null,           // the user's dataset the next Train uses ({ name, n, labelled, classes, format }); null: the
                        // built-in dataset chosen in the Data panel
  downloads: {},        // each built-in dataset fetched: { [dataset]: { loaded, total, unpacking, ready, train, test } }
  dataFiles: null,      // its files ([{ name, file }]), sent again to a restarted trainer
};

// Forgets everything a run produced: losses, progress, codes, mixture, manifold, reconstructions.
export function clearRun() {
  Object.assign(state, { run: null, losses: null, progress: null, rates: [], measuring: null, codes: null, fit: null, mixture: null, manifold: null,
    recons: null, loaded: null, view: null });
  report({ loaded: null });
}

// The view worker's answers carry the run their parameters came from; older runs' are dropped.
export const current = (m) => !!state.run && m.run === state.run.id;
