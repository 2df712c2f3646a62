// Training data on the page: MNIST's download progress (the chip), the user's own files (Load data…,
// a drop) read and checked by the trainer worker, and Use MNIST to go back.
import { renderControls } from './controls.js';
import { $ } from './dom.js';
import { count } from './format.js';
import { state } from './state.js';
import { hook, record, report } from './test-hooks.js';
import { trainer } from './workers.js';

function showDataError(message) {
  if (message) record('dataErrors', message);
  $('data-error').hidden = !message;
  $('data-error').textContent = message ?? '';
}

function showDataStatus() {
  const d = state.data;
  $('data-status').textContent = !d ? 'Training data: MNIST digits (bundled).'
    : `Training data: ${d.name}, ${count(d.n)} images, ${d.labelled ? `labelled, classes ${d.classes.join(', ')}` : 'unlabelled (the mixture\'s clusters are its classes)'}; ` +
      'a seeded 10% is held out for testing. The digit choice above does not apply.';
}

// The trainer worker reads the files with the C parsers and checks them; on success the next Train uses
// them. A refused file changes nothing: the data chosen before, the model and its mixture stay.
export async function loadData(files) {
  if (['training', 'paused', 'waiting-for-data', 'fitting'].includes(state.phase)) {
    return showDataError('A run is training: press Reset before loading data. Nothing was changed.');
  }
  if (files.length === 0) return showDataError('Not loaded: no file was given. Nothing was changed.');
  showDataError(null);
  const names = files.map((f) => f.name).join(' + ');
  $('data-status').textContent = `Reading ${names}…`;
  const seed = Number($('seed').value);
  try {
    const sent = files.map((f) => ({ name: f.name, file: f }));
    state.data = await trainer.request('load-data', { files: sent, maxBytes: hook('dataMaxBytes'), options: { seed } });
    state.dataFiles = sent;
    report({ data: state.data });
  } catch (error) {
    showDataError(`Not loaded: ${error.message}. Nothing was changed: the training data is still ` +
      `${state.data ? state.data.name : 'MNIST'}, and the model on the page is the one you had.`);
  }
  showDataStatus();
  renderControls();
}

async function useMnist() {
  try {
    await trainer.request('use-mnist');
    state.data = state.dataFiles = null;
    report({ data: null });
    showDataError(null);
  } catch (error) {
    showDataError(error.message);
  }
  showDataStatus();
  renderControls();
}

export function initDataFiles() {
  trainer.on('data-progress', ({ loaded, total, unpacking }) => {
    const mb = (b) => (b / 1048576).toFixed(1);
    $('data-text').textContent = unpacking ? 'MNIST: unpacking…' : `MNIST ${mb(loaded)} / ${mb(total)} MB`;
    $('data-fill').style.transform = `scaleX(${total ? loaded / total : 0})`;
  });
  trainer.on('data-ready', ({ train, test }) => {
    report({ dataReady: true });
    $('data-text').textContent = `MNIST ready: ${count(train)} + ${count(test)} images`;
    $('data-fill').style.transform = 'scaleX(1)';
    $('data-fill').classList.add('done');
    $('data-chip').classList.add('good');
  });
  $('data-file').addEventListener('change', (event) => {
    const files = [...event.target.files];
    event.target.value = '';   // the same file chosen again is a new change
    loadData(files);
  });
  $('use-mnist').addEventListener('click', useMnist);
}
