// Models in and out: Save (safetensors, float32 or float16) and Save mixture, Load (a file input, or
// files dropped on the page, or a pretrained model: pretrained.js), and the model on show in words. The
// trainer worker reads, checks and writes the files; a refused file changes nothing.
import { LossHistory } from '../lib/run/loss-history.js';
import { renderControls } from './controls.js';
import { $, pointWord, reportError } from './dom.js';
import { loadData } from './data-files.js';
import { download, modelTag } from './downloads.js';
import { showDrawnResponsibilities } from './drawing-pad.js';
import { resetEmControls, stopReplay } from './em-replay.js';
import { describeModel } from './format.js';
import { dirty, markAllDirty, schedule } from './frames.js';
import { showMetrics } from './panels.js';
import { requestDecode, showResponsibilities } from './probe.js';
import { showFit } from './run.js';
import { chosenDataset, fillWords, shownWords } from './classes.js';
import { readForm } from './settings.js';
import { clearRun, state } from './state.js';
import { record, report } from './test-hooks.js';
import { trainer } from './workers.js';

// The model files' one message slot (#load-error, under Load): a refused load or a failed save; null clears it.
function showModelFileError(message) {
  if (message) record('loadErrors', message);
  $('load-error').hidden = !message;
  $('load-error').textContent = message ?? '';
}

async function saveModel() {
  const dtype = $('save-dtype').value;
  try {
    const result = await trainer.request('save', { dtype });
    download(new Blob([result.bytes], { type: 'application/octet-stream' }),
      `latent-lab-${modelTag()}${dtype === 'f16' ? '-f16' : ''}.safetensors`);
    $('model-status').textContent = `Saved ${(result.bytes.length / 1048576).toFixed(1)} MB (${dtype === 'f16' ? 'float16' : 'float32'})` +
      (result.mixture ? ', its mixture in the metadata.' : '; no mixture fitted yet.');
  } catch (error) {
    showModelFileError(`Could not save: ${error.message}`);
  }
}

async function saveMixture() {
  try {
    const { mixture } = await trainer.request('save-mixture');
    download(new Blob([mixture], { type: 'application/json' }), `latent-lab-${modelTag()}.mixture.json`);
  } catch (error) {
    showModelFileError(`Could not save the mixture: ${error.message}`);
  }
}

// Files from the file input or a drop: one .safetensors model and, optionally, one .json mixture.
function loadFiles(files) {
  const models = files.filter((f) => /\.safetensors$/i.test(f.name));
  const mixtures = files.filter((f) => /\.json$/i.test(f.name));
  const other = files.find((f) => !models.includes(f) && !mixtures.includes(f));
  const problem = other ? `${other.name} is neither a .safetensors model nor a .json mixture`
    : models.length > 1 ? 'choose one .safetensors model at a time'
    : models.length === 0 && mixtures.length ? `${mixtures[0].name} is a mixture: choose its .safetensors model with it`
    : models.length === 0 ? 'no file was given'
    : mixtures.length > 1 ? 'choose at most one .json mixture with the model' : null;
  if (problem) return showModelFileError(`Not loaded: ${problem}. Nothing was changed.`);
  return loadModel({ model: models[0], mixture: mixtures[0] ?? null, name: models[0].name, mixtureName: mixtures[0]?.name });
}

// The trainer worker reads and checks the files; a refused file changes nothing (the run, its
// mixture and the view worker's parameters stay), and says why here. A file that does not say its
// dataset and classes is taken to be for those chosen for the next run.
export async function loadModel({ model, mixture = null, name, mixtureName, pretrained = false }) {
  if (['training', 'paused', 'waiting-for-data', 'fitting'].includes(state.phase)) {
    return showModelFileError('A run is training: press Reset before loading a model. Nothing was changed.');
  }
  showModelFileError(null);
  const before = state.run?.id;
  const status = $('model-status').textContent;
  $('model-status').textContent = `Loading ${pretrained ? 'the pretrained model' : name}…`;
  try {
    showFit(await trainer.request('load-model', { model, mixture, name, mixtureName, pretrained,
      digits: readForm().digits, dataset: chosenDataset(), mixtureVariant: $('mixture').value }));
  } catch (error) {
    if (state.loaded && state.run?.id !== before) return reportError(error.message);   // loaded, then failed measuring
    $('model-status').textContent = status;
    showModelFileError(`Not loaded: ${error.message}. Nothing was changed: the model on the page is the one you had.`);
  }
}

// A model from a file (or the pretrained one) replaced the run: its parameters are already on their
// way to the view worker, so hover decodes it now; the codes, the mixture and the metrics follow.
function showLoadedModel(m) {
  stopReplay();
  clearRun();
  resetEmControls({ measuring: true });
  state.run = { id: m.run, classes: m.digits, loaded: true, epochs: m.info.epochs ?? 0, deskew: m.deskew, dataset: m.dataset };
  state.loaded = { run: m.run, name: m.name, info: m.info, pretrained: m.pretrained, digits: m.digits, dataset: m.dataset };
  // The file's mixture answers at once (probe, drawing), on its last iteration; the codes come with the measurement.
  state.mixture = m.mixture;
  if (m.mixture) state.emIter = m.mixture.history.length - 1;
  state.losses = LossHistory.from({ epochs: m.lossHistory ?? [], curve: m.lossCurve ?? [] });
  report({ loaded: { run: m.run, name: m.name, pretrained: m.pretrained, dataset: m.dataset, at: performance.now() }, metrics: null });
  showMetrics(m.info.metrics?.test_bce !== undefined ? m.info.metrics : null, { recorded: true });
  const what = describeModel(m);
  // The variant in the words of the Mixture menu ("3 per class by k-means++, in groups"), in the model's
  // own words, not those of the dataset chosen for the next run.
  const option = [...$('mixture').options].find((o) => o.value === m.info.mixtureVariant);
  const variant = option ? fillWords(option.dataset.words ?? option.textContent, shownWords()) : m.info.mixtureVariant;
  $('model-status').textContent = `On show: ${m.pretrained ? 'the pretrained model' : m.name}, ${what}` +
    (m.mixtureFrom === 'file' ? `; mixture (${variant}) from its .json file` : m.mixtureFrom === 'metadata'
      ? `; mixture (${variant}) from its metadata` : '; no mixture in it: fitting one') +
    (m.usedFallbackDigits ? '. The file does not say its data: taken to be the dataset and classes chosen for your next run.' : '.');
  if (m.pretrained) {
    $('banner-text').textContent = `This is the pretrained model (${what}), loaded for you: ${pointWord} the plane to decode, ` +
      `draw ${shownWords().thing}, or press Train to make your own.`;
    $('banner').hidden = false;
  } else {
    $('banner').hidden = true;
  }
  markAllDirty();
  if (state.probe) { requestDecode(); showResponsibilities(); }
  showDrawnResponsibilities();
  renderControls();
}

// Files dropped on the page: a model (.safetensors, with or without its .json mixture), else data.
function dropFiles(files) {
  if (files.some((f) => /\.(safetensors|json)$/i.test(f.name))) return loadFiles(files);
  return loadData(files);
}

function acceptDrops() {
  const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', (event) => { if (!event.relatedTarget) document.body.classList.remove('dropping'); });
  document.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    document.body.classList.remove('dropping');
    dropFiles([...event.dataTransfer.files]);
  });
}

export function initModelFiles() {
  trainer.on('model-loaded', showLoadedModel);
  trainer.on('measuring', (m) => {
    if (!state.run || m.run !== state.run.id) return;
    state.measuring = m;
    dirty.progress = true;
    schedule();
  });
  $('save').addEventListener('click', saveModel);
  $('save-mixture').addEventListener('click', saveMixture);
  $('load-file').addEventListener('change', (event) => {
    const files = [...event.target.files];
    event.target.value = '';   // the same file chosen again is a new change
    loadFiles(files);
  });
  $('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
  acceptDrops();
}
