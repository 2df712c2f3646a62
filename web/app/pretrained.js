// The pretrained models the site offers: every X.safetensors that models/index.json (written by make)
// lists, with X.mixture.json when it lists that too. Each is named by its own metadata (its dataset and
// classes, read from the file's header only) on a "Load the pretrained … model" button, hidden while that
// model is on show. A page opened without settings in its link shows the digits one (FIRST_OPEN_MODEL).
import { DATASETS, hasAllClasses } from '../lib/data/datasets.js';
import { nameOf } from './classes.js';
import { renderControls } from './controls.js';
import { $ } from './dom.js';
import { loadChosenData } from './data-files.js';
import { loadModel } from './model-files.js';
import { state } from './state.js';
import { report } from './test-hooks.js';
import { trainer } from './workers.js';

const FIRST_OPEN_MODEL = 'pretrained-148';   // web/models/, made by `make pretrained`
// Opened without settings in the link (a "build" choice aside): a pretrained model is shown.
const FIRST_OPEN = [...new URLSearchParams(location.search).keys()].every((key) => key === 'build');
const HEADER_LIMIT = 16 * 2 ** 20;           // a safetensors header longer than this is not read for a name

const modelUrl = (file) => new URL(`../models/${file}`, import.meta.url);

// models/index.json's models, so a missing one costs no failed request: [{ name, model, mixture }].
const listing = fetch(modelUrl('index.json'))
  .then((r) => (r.ok ? r.json() : []))
  .then((files) => (Array.isArray(files) ? files : []), () => [])
  .then((files) => files.filter((f) => /\.safetensors$/.test(f)).map((model) => {
    const name = model.replace(/\.safetensors$/, '');
    return { name, model, mixture: files.includes(`${name}.mixture.json`) ? `${name}.mixture.json` : null };
  }));

// The first-open model is first in line.
const firstOpen = (models) => models.find((m) => m.name === FIRST_OPEN_MODEL) ?? models[0] ?? null;

// On first open its files are fetched at once, while the workers start (a Blob crosses to the worker
// without a copy); a button has them fetched in the worker.
const fetchBlob = (file) => fetch(modelUrl(file)).then((r) => {
  if (!r.ok) throw new Error(`could not load models/${file}: HTTP ${r.status}`);
  return r.blob();
});
const prefetch = FIRST_OPEN ? listing.then((models) => {
  const m = firstOpen(models);
  return m && Promise.all([fetchBlob(m.model), m.mixture ? fetchBlob(m.mixture) : null]);
}).catch(() => null) : Promise.resolve(null);

// A safetensors file's metadata from its first bytes (an 8-byte little-endian length, then that much
// JSON), the rest of the file left unread. Leniently: only a button's words depend on it (the trainer
// checks the whole file when it is loaded).
async function headerMetadata(file) {
  const response = await fetch(modelUrl(file));
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let have = 0, need = 8;
  while (have < need) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    have += value.length;
    if (need === 8 && have >= 8) {
      const head = new Uint8Array(await new Blob(chunks).arrayBuffer());
      need = 8 + Number(new DataView(head.buffer).getBigUint64(0, true));
      if (need > HEADER_LIMIT) break;
    }
  }
  reader.cancel().catch(() => {});
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  if (need > HEADER_LIMIT || bytes.length < need) throw new Error('no readable header');
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, need))).__metadata__ ?? {};
}

// "the pretrained digits model (1, 4, 8)", "the pretrained Fashion-MNIST model": its dataset (a file
// that names none is MNIST's), and its classes unless it knows them all.
function titleOf(metadata) {
  const dataset = Object.hasOwn(DATASETS, metadata.dataset ?? '') ? metadata.dataset : 'mnist';
  const classes = String(metadata.digits ?? '').split(',').filter((c) => /^\d$/.test(c)).map(Number);
  const all = classes.length === 0 || hasAllClasses(dataset, classes);
  const what = dataset === 'mnist' ? 'digits' : DATASETS[dataset].title;
  return { dataset, title: `the pretrained ${what} model${all ? '' : ` (${classes.map((c) => nameOf(c, dataset)).join(', ')})`}` };
}

// The buttons, one per model, in the model panel (renderControls hides the one on show).
function renderButtons() {
  const row = $('load-file').closest('.model-buttons');
  for (const m of state.pretrained) {
    let button = $(`load-${m.name}`);
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.id = `load-${m.name}`;
      button.className = 'wide load-pretrained';
      button.dataset.model = m.name;
      button.addEventListener('click', () => loadPretrained(m));
      row.append(button);
    }
    button.textContent = `Load ${m.title}`;
  }
  report({ pretrained: state.pretrained.map(({ name, title, dataset }) => ({ name, title, dataset })) });
  renderControls();
}

// Loads a pretrained model: from the blobs fetched on first open, else its files' URLs (absolute: the
// worker fetches them, wherever its own file is).
function loadPretrained(m, prefetched = null) {
  const [model, mixture] = prefetched ?? [{ url: modelUrl(m.model).href }, m.mixture ? { url: modelUrl(m.mixture).href } : null];
  return loadModel({ model, mixture, name: m.model, mixtureName: m.mixture ?? undefined, pretrained: true });
}

export function initPretrained() {
  listing.then(async (models) => {
    state.pretrained = models.map((m) => ({ ...m, title: `the pretrained model ${m.name}`, dataset: null }));
    renderButtons();
    await Promise.all(state.pretrained.map(async (m) => {
      try {
        Object.assign(m, titleOf(await headerMetadata(m.model)));
      } catch {
        // Named by its file, as above.
      }
    }));
    renderButtons();
  });
  // Once the trainer is ready: on first open the pretrained model goes first (measuring it loads its
  // dataset); then the dataset chosen for the next run.
  trainer.ready.then(() => listing.then(async (models) => {
    const first = FIRST_OPEN && firstOpen(models);
    if (first) loadPretrained(first, await prefetch).finally(loadChosenData);
    else loadChosenData();
  }), () => {});
}
