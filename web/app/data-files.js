// Training data on the page: the built-in datasets (the Data panel's menu: MNIST's digits or
// Fashion-MNIST), each fetched by the trainer worker with its own progress chip; the user's own files
// (Load data…, a drop) read and checked by the trainer worker; and the button back to the built-in set.
import { DATASETS } from '../lib/data/datasets.js';
import { chosenDataset } from './classes.js';
import { renderControls } from './controls.js';
import { $ } from './dom.js';
import { count } from './format.js';
import { dirty, schedule } from './frames.js';
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
  const title = DATASETS[chosenDataset()].title;
  $('data-status').textContent = !d ? `Training data: ${title} (bundled).`
    : `Training data: ${d.name}, ${count(d.n)} images, ${d.labelled ? `labelled, classes ${d.classes.join(', ')}` : 'unlabelled (the mixture\'s clusters are its classes)'}; ` +
      `a seeded 10% is held out for testing. The ${title} classes above do not apply.`;
  $('use-builtin').textContent = `Use ${title}`;
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
      `${state.data ? state.data.name : DATASETS[chosenDataset()].title}, and the model on the page is the one you had.`);
  }
  showDataStatus();
  renderControls();
}

// Back from the user's files to the built-in dataset chosen in the menu.
async function useBuiltin() {
  try {
    await trainer.request('use-builtin');
    state.data = state.dataFiles = null;
    report({ data: null });
    showDataError(null);
  } catch (error) {
    showDataError(error.message);
  }
  showDataStatus();
  renderControls();
}

// The chosen built-in dataset, fetched ahead of Train (the trainer keeps each set it fetched).
export function loadChosenData() {
  trainer.send('load', { dataset: chosenDataset() });
  showDownloads();
}

// One chip per built-in dataset the page fetched or is fetching, in the header: its name, its
// megabytes so far (the gzipped files, as they arrive) and a bar, then its image counts when ready. The
// chosen one has a chip from the start ("waiting").
function showDownloads() {
  const chosen = chosenDataset();
  const shown = Object.keys(DATASETS).filter((d) => d === chosen || state.downloads[d]);
  for (const dataset of shown) {
    const { title } = DATASETS[dataset];
    const d = state.downloads[dataset];
    let chip = $(`data-chip-${dataset}`);
    if (!chip) {
      chip = document.createElement('span');
      chip.id = `data-chip-${dataset}`;
      chip.className = 'chip chip-data';
      chip.innerHTML = '<span class="chip-text"></span><span class="meter" aria-hidden="true"><span class="meter-fill"></span></span>';
      $('chips').append(chip);
    }
    const mb = (b) => (b / 1048576).toFixed(1);
    chip.querySelector('.chip-text').textContent = !d ? `${title}: waiting`
      : d.ready ? `${title} ready: ${count(d.train)} + ${count(d.test)} images`
        : d.unpacking ? `${title}: unpacking…` : `${title} ${mb(d.loaded)} / ${mb(d.total)} MB`;
    const fill = chip.querySelector('.meter-fill');
    fill.style.transform = `scaleX(${d?.ready ? 1 : d?.total ? d.loaded / d.total : 0})`;
    fill.classList.toggle('done', !!d?.ready);
    chip.classList.toggle('good', !!d?.ready);
  }
  report({ dataReady: !!state.downloads[chosen]?.ready, downloads: structuredClone(state.downloads) });
}

// The menu changed (settings.js renames the class boxes): the user's files give way to that set,
// which is fetched now if it was not.
function chooseDataset() {
  if (state.data) useBuiltin();
  loadChosenData();
  showDataStatus();
}

export function initDataFiles() {
  trainer.on('data-progress', ({ dataset, loaded, total, unpacking = false }) => {
    state.downloads[dataset] = { ...state.downloads[dataset], loaded, total, unpacking };
    record('dataProgress', { dataset, loaded, total, unpacking });
    showDownloads();
    if (state.phase === 'waiting-for-data' || state.phase === 'evaluating') { dirty.progress = true; schedule(); }
  });
  trainer.on('data-ready', ({ dataset, train, test }) => {
    state.downloads[dataset] = { ...state.downloads[dataset], ready: true, unpacking: false, train, test };
    showDownloads();
  });
  $('data-file').addEventListener('change', (event) => {
    const files = [...event.target.files];
    event.target.value = '';   // the same file chosen again is a new change
    loadData(files);
  });
  $('use-builtin').addEventListener('click', useBuiltin);
  $('dataset').addEventListener('change', chooseDataset);
  showDataStatus();
  showDownloads();
}
