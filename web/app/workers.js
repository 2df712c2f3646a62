// The page's two workers: the trainer (owns the run and its phase) and the view worker (decodes and
// encodes with a snapshot of the parameters), connected to each other; a crashed trainer restarted.
import { WorkerClient } from '../lib/worker-client.js';
import { chosenDataset } from './classes.js';
import { renderControls } from './controls.js';
import { $, reportError, showError } from './dom.js';
import { readForm } from './settings.js';
import { state } from './state.js';
import { hook, report, tally } from './test-hooks.js';

const build = new URLSearchParams(location.search).get('build') ?? 'auto';
export const trainer = new WorkerClient(new URL('../workers/trainer.js', import.meta.url), { role: 'trainer', build });
export const viewer = new WorkerClient(new URL('../workers/view.js', import.meta.url), { role: 'view', build });
// Hover (or a drawing) before the view worker is ready waits for it (probe.js, drawing-pad.js), then goes.
export let viewReady = false;

// The two workers talk directly: parameters and images never cross this thread.
function connectWorkers() {
  const channel = new MessageChannel();
  trainer.send('connect', { port: channel.port1 }, [channel.port1]);
  viewer.send('connect', { port: channel.port2 }, [channel.port2]);
}

export function startWorkers() {
  for (const client of [trainer, viewer]) client.on('error', (m) => reportError(m.message));
  trainer.ready.then((m) => {
    report({ build: m.kind, readyAt: performance.now() });
    const chip = $('build-chip');
    if (m.kind === 'simd') {
      chip.textContent = 'WebAssembly SIMD';
      chip.className = 'chip good';
    } else {
      chip.textContent = build === 'scalar' ? 'scalar WebAssembly (as asked)' : 'No WASM SIMD in this browser: scalar build (slower)';
      chip.className = 'chip warn';
    }
  }, (error) => {
    $('build-chip').textContent = `WebAssembly failed: ${error.message}`;
    $('build-chip').className = 'chip bad';
    state.wasmFailed = error.message;
    renderControls();
    reportError(error.message);
  });
  viewer.ready.then(() => { viewReady = true; }, () => {});
  Promise.all([trainer.ready, viewer.ready]).then(connectWorkers, () => {});

  // A trap or out-of-memory in the trainer's wasm: it refuses everything from then on. The page says so
  // and offers a restart, which brings back the model on show (the view worker's copy of it).
  trainer.on('crashed', (m) => {
    report({ crashed: m.message });
    showError(`The training worker failed (${m.message}, while handling "${m.during}"). Press Restart: the model ` +
      'shown comes back as it is; a run in progress is lost.');
    $('restart').hidden = false;
  });
  viewer.on('crashed', (m) => {
    report({ crashed: m.message });
    reportError(`The view worker failed (${m.message}): reload the page.`);
  });
  $('restart').addEventListener('click', restartTrainer);
}

// A fresh trainer with the data chosen before and the model on show: the trainer takes its parameters
// from the view worker over their port, and says its phase ('trained') itself.
async function restartTrainer() {
  $('restart').disabled = true;
  try {
    await trainer.restart();
    connectWorkers();
    if (state.dataFiles) await trainer.request('load-data', { files: state.dataFiles, options: { seed: Number($('seed').value) } });
    const name = state.loaded?.name ?? 'the model shown before the restart';
    // The options of the run on show, with the deskew its model was trained with and the dataset and
    // classes it knows (a loaded model's too).
    const known = state.run?.dataset && !state.run.unlabelled ? { dataset: state.run.dataset, digits: state.run.classes } : {};
    const options = { ...(state.trainedWith ?? readForm()), ...known, deskew: state.run?.deskew ?? false };
    const { run } = await trainer.request('restore', { options, afterRun: state.run?.id ?? 0, name, data: state.data });
    if (state.run) state.run.id = run;
    if (state.fit) state.fit.run = run;
    if (state.loaded) state.loaded.run = run;
    if (hook('loaded')) report({ loaded: { ...hook('loaded'), run } });
    tally('restarts');
    report({ crashed: null });
    showError(null);
    $('restart').hidden = true;
    $('model-status').textContent = 'The trainer restarted with the model shown before it failed.';
    if (!state.data) trainer.send('load', { dataset: chosenDataset() });
  } catch (error) {
    reportError(`Could not restart the trainer: ${error.message}`);
  } finally {
    $('restart').disabled = false;
  }
}
