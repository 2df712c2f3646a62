// Models in and out: Save (safetensors, float32 or float16) and Save mixture, Load (a file input, or
// files dropped on the page), and the pretrained model shown on first open. The trainer worker reads,
// checks and writes the files; a refused file changes nothing.
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
import { readForm } from './settings.js';
import { clearRun, state } from './state.js';
import { record, report } from './test-hooks.js';
import { trainer } from './workers.js';

const PRETRAINED = 'pretrained-148';   // web/models/, made by `make pretrained`
const PRETRAINED_MIXTURE = `${PRETRAINED}.mixture.json`;
// Opened without settings in the link (a "build" choice aside): the pretrained model is shown.
const FIRST_OPEN = [...new URLSearchParams(location.search).keys()].every((key) => key === 'build');

// models/index.json (written by make) lists what the site has, so a missing model costs no failed request.
const pretrainedFiles = fetch(new URL('../models/index.json', import.meta.url))
  .then((r) => (r.ok ? r.json() : []))
  .then((files) => (Array.isArray(files) && files.includes(`${PRETRAINED}.safetensors`) ? files : null), () => null);

// On first open its files are fetched at once, while the workers start (a Blob crosses to the worker
// without a copy); the Load button has them fetched in the worker.
const fetchBlob = (name) => fetch(new URL(`../models/${name}`, import.meta.url)).then((r) => {
  if (!r.ok) throw new Error(`could not load models/${name}: HTTP ${r.status}`);
  return r.blob();
});
const pretrainedPrefetch = FIRST_OPEN ? pretrainedFiles.then((files) => files && Promise.all([fetchBlob(`${PRETRAINED}.safetensors`),
  files.includes(PRETRAINED_MIXTURE) ? fetchBlob(PRETRAINED_MIXTURE) : null])).catch(() => null) : Promise.resolve(null);

function showLoadError(message) {
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
    showLoadError(`Could not save: ${error.message}`);
  }
}

async function saveMixture() {
  try {
    const { mixture } = await trainer.request('save-mixture');
    download(new Blob([mixture], { type: 'application/json' }), `latent-lab-${modelTag()}.mixture.json`);
  } catch (error) {
    showLoadError(`Could not save the mixture: ${error.message}`);
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
  if (problem) return showLoadError(`Not loaded: ${problem}. Nothing was changed.`);
  return loadModel({ model: models[0], mixture: mixtures[0] ?? null, name: models[0].name, mixtureName: mixtures[0]?.name });
}

// The trainer worker reads and checks the files; a refused file changes nothing (the run, its
// mixture and the view worker's parameters stay), and says why here.
async function loadModel({ model, mixture = null, name, mixtureName, pretrained = false }) {
  if (['training', 'paused', 'waiting-for-data', 'fitting'].includes(state.phase)) {
    return showLoadError('A run is training: press Reset before loading a model. Nothing was changed.');
  }
  showLoadError(null);
  const before = state.run?.id;
  const status = $('model-status').textContent;
  $('model-status').textContent = `Loading ${pretrained ? 'the pretrained model' : name}…`;
  try {
    showFit(await trainer.request('load-model', { model, mixture, name, mixtureName, pretrained,
      digits: readForm().digits, mixtureVariant: $('mixture').value }));
  } catch (error) {
    if (state.loaded && state.run?.id !== before) return reportError(error.message);   // loaded, then failed measuring
    $('model-status').textContent = status;
    showLoadError(`Not loaded: ${error.message}. Nothing was changed: the model on the page is the one you had.`);
  }
}

async function loadPretrained(files, prefetched = null) {
  // Absolute URLs: the worker fetches them, wherever its own file is.
  const site = (name) => ({ url: new URL(`../models/${name}`, import.meta.url).href });
  const [model, mixture] = prefetched ?? [site(`${PRETRAINED}.safetensors`),
    files.includes(PRETRAINED_MIXTURE) ? site(PRETRAINED_MIXTURE) : null];
  return loadModel({ model, mixture, name: `${PRETRAINED}.safetensors`, mixtureName: PRETRAINED_MIXTURE, pretrained: true });
}

// A model from a file (or the pretrained one) replaced the run: its parameters are already on their
// way to the view worker, so hover decodes it now; the codes, the mixture and the metrics follow.
function showLoadedModel(m) {
  stopReplay();
  clearRun();
  resetEmControls({ measuring: true });
  state.run = { id: m.run, classes: m.digits, loaded: true, epochs: m.info.epochs ?? 0, deskew: m.deskew };
  state.loaded = { run: m.run, name: m.name, info: m.info, pretrained: m.pretrained, digits: m.digits };
  // The file's mixture answers at once (probe, drawing), on its last iteration; the codes come with the measurement.
  state.mixture = m.mixture;
  if (m.mixture) state.emIter = m.mixture.history.length - 1;
  state.losses = LossHistory.from({ epochs: m.lossHistory ?? [], curve: m.lossCurve ?? [] });
  report({ loaded: { run: m.run, name: m.name, pretrained: m.pretrained, at: performance.now() }, metrics: null });
  showMetrics(m.info.metrics?.test_bce !== undefined ? m.info.metrics : null, { recorded: true });
  const what = describeModel(m);
  // The variant in the words of the Mixture menu ("10 from k-means++, named by groups").
  const variant = [...$('mixture').options].find((o) => o.value === m.info.mixtureVariant)?.textContent ?? m.info.mixtureVariant;
  $('model-status').textContent = `On show: ${m.pretrained ? 'the pretrained model' : m.name}, ${what}` +
    (m.mixtureFrom === 'file' ? `; mixture (${variant}) from its .json file` : m.mixtureFrom === 'metadata'
      ? `; mixture (${variant}) from its metadata` : '; no mixture in it: fitting one') +
    (m.usedFallbackDigits ? '. The file does not say its digits: taken to be the ones chosen under Training.' : '.');
  if (m.pretrained) {
    $('banner-text').textContent = `This is the pretrained model (${what}), loaded for you: ${pointWord} the plane to decode, ` +
      'draw a digit, or press Train to make your own.';
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
  // Once the trainer is ready: on first open the pretrained model goes first (measuring it then loads
  // MNIST); else MNIST now.
  trainer.ready.then(() => pretrainedFiles.then(async (files) => {
    state.pretrainedOffered = !!files;
    renderControls();
    if (files && FIRST_OPEN) loadPretrained(files, await pretrainedPrefetch).finally(() => trainer.send('load'));
    else trainer.send('load');
  }), () => {});
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
  $('load-pretrained').addEventListener('click', () => pretrainedFiles.then((files) => files && loadPretrained(files)));
  $('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
  acceptDrops();
}
