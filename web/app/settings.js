// The settings: the form, the link (?preset=authors&dataset=fashion&digits=1,4,8&...), and their checks,
// each bad value shown beside its control; resolveOptions (lib/run/options.js) is the one judge. The
// built-in dataset's menu sits in the Data panel but is one of these settings.
import { className, DATASETS } from '../lib/data/datasets.js';
import { parseDigits } from '../lib/data/split.js';
import { PRESETS, resolveOptions } from '../lib/run/options.js';
import { digitColor } from '../draw/common.js';
import { chosenDataset, chosenWords, sayClassWords } from './classes.js';
import { renderControls } from './controls.js';
import { $, showError } from './dom.js';
import { addMissingMixtures, describeRecipe as describeNotes } from './recipe-words.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

// The settings, all in the form and the URL. A recipe (preset) sets RECIPE; the rest are the user's.
const NUMBERS = ['epochs', 'batch', 'lr', 'beta', 'warmup', 'lrWarmup', 'seed', 'limit', 'workers'];
const CHOICES = ['kl', 'deskew', 'mixture', 'dataset'];
const RECIPE = ['epochs', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lrWarmup', 'deskew', 'mixture'];
// A select's text as the option's value: deskew is true, false or 'auto', the other choices are names.
const choiceValue = (f, text) => (f === 'deskew' && text !== 'auto' ? text === 'true' : text);
const DEFAULT_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));

// Problems with the link's own values ({ key: message }), until the user changes that field.
let urlErrors = {};

// One check box per class of the ten (labels 0-9), named by the dataset chosen (labelDigitBoxes).
function buildDigitBoxes() {
  const box = $('digit-boxes');
  for (let d = 0; d <= 9; d++) {
    const label = document.createElement('label');
    label.className = 'digit-box';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = String(d);
    input.name = 'digit';
    const span = document.createElement('span');
    label.style.setProperty('--swatch', digitColor(d));
    label.append(input, span);
    box.append(label);
  }
}

// The boxes named for a dataset: "3" (and "digit 3" to a screen reader) for MNIST, "Dress" for
// Fashion-MNIST, two columns wide for such names.
function labelDigitBoxes(dataset) {
  const named = dataset !== 'mnist';
  $('digit-boxes').classList.toggle('named', named);
  for (const input of document.querySelectorAll('input[name="digit"]')) {
    const name = className(dataset, Number(input.value));
    input.nextElementSibling.textContent = name;
    if (named) input.removeAttribute('aria-label');
    else input.setAttribute('aria-label', `digit ${name}`);
  }
}

// The classes a recipe trains on a dataset when the link names none: the recipe's digits for MNIST,
// every class of another dataset (resolveOptions decides).
function defaultDigits(preset, dataset) {
  try {
    return resolveOptions({ preset, dataset }).digits;
  } catch {
    return PRESETS.default.digits;
  }
}

function writeForm(o) {
  $('preset').value = o.preset;
  for (const f of [...NUMBERS, ...CHOICES]) if (o[f] !== undefined) $(f).value = String(o[f]);
  checkDigits(o.digits);
}

function checkDigits(digits) {
  const chosen = new Set(digits.map(Number));
  for (const input of document.querySelectorAll('input[name="digit"]')) input.checked = chosen.has(Number(input.value));
}

// The form as typed: numbers that are not numbers stay NaN, so the check names them.
export function readForm() {
  const digits = [...document.querySelectorAll('input[name="digit"]:checked')].map((i) => Number(i.value));
  const o = { preset: $('preset').value, digits };
  for (const f of NUMBERS) {
    const input = $(f);
    o[f] = input.validity.badInput ? NaN : input.value.trim() === '' ? undefined : Number(input.value);
  }
  for (const f of CHOICES) o[f] = $(f).value ? choiceValue(f, $(f).value) : undefined;
  return o;
}

// ?preset=authors&digits=1,4,8&epochs=1&limit=1500&seed=3&workers=2: a recipe, then the keys given.
// A value the checks refuse is still shown, with its message, so a bad link explains itself.
function readUrl() {
  const q = new URLSearchParams(location.search);
  const errors = {};
  let preset = q.get('preset') ?? 'default';
  if (!Object.hasOwn(PRESETS, preset)) {
    errors.preset = `unknown preset "${preset}" in the link (known: ${Object.keys(PRESETS).join(', ')})`;
    preset = 'default';
  }
  const o = { ...PRESETS[preset], preset, workers: DEFAULT_WORKERS };
  // A value the form cannot hold (not a number; digits outside 0..9 or repeated) is named beside its
  // control, with the recipe's value in it, and Train waits: never dropped in silence.
  for (const f of NUMBERS) {
    if (!q.has(f) || q.get(f).trim() === '') continue;
    const value = Number(q.get(f));
    if (Number.isFinite(value)) o[f] = value;
    else errors[f] = `"${q.get(f)}" in the link is not a number`;
  }
  for (const f of CHOICES) {
    if (!q.has(f)) continue;
    if ([...$(f).options].some((opt) => opt.value === q.get(f))) o[f] = choiceValue(f, q.get(f));
    else errors[f] = `unknown ${f} "${q.get(f)}" in the link` + (f === 'dataset' ? ` (known: ${Object.keys(DATASETS).join(', ')})` : '');
  }
  o.digits = defaultDigits(preset, o.dataset);
  if (q.has('digits')) {
    try {
      o.digits = parseDigits(q.get('digits'));
    } catch (error) {
      errors.digits = `${error.message} in the link`;
    }
  }
  return { options: o, urlErrors: errors };
}

function settingsQuery(o) {
  const q = new URLSearchParams();
  const base = PRESETS[o.preset];
  if (o.preset !== 'default') q.set('preset', o.preset);
  if (o.digits.join(',') !== defaultDigits(o.preset, o.dataset).join(',')) q.set('digits', o.digits.join(','));
  for (const f of [...NUMBERS, ...CHOICES]) {
    const reference = f === 'workers' ? DEFAULT_WORKERS : base[f];
    if (o[f] !== undefined && o[f] !== reference) q.set(f, String(o[f]));
  }
  const build = new URLSearchParams(location.search).get('build');
  if (build) q.set('build', build);
  return q.toString();
}

// Each setting checked on its own against its recipe, so every bad one shows its own message beside
// it: { key: message }.
function fieldErrors(form) {
  const errors = {};
  let preset = form.preset;
  try {
    resolveOptions({ preset });
  } catch (error) {
    errors.preset = error.message;
    preset = 'default';
  }
  for (const [key, value] of Object.entries(form)) {
    if (key === 'preset' || value === undefined) continue;
    try {
      resolveOptions({ preset, [key]: value });
    } catch (error) {
      errors[key] = error.message;
    }
  }
  return errors;
}

// Checks the form and shows each problem next to its control; returns the options, or null. While
// something is wrong Train waits, and the URL and the link keep the last good settings.
export function validate() {
  const form = readForm();
  showBlankValues(form.preset);
  const errors = { ...fieldErrors(form), ...urlErrors };
  let options = null;
  if (Object.keys(errors).length === 0) {
    try {
      options = resolveOptions(form);
    } catch (error) {
      errors.form = error.message;   // a combination no single field explains
    }
  }
  showFieldErrors(errors);
  report({ fieldErrors: errors });
  if (options) {
    const query = settingsQuery(options);
    $('share').href = query ? `?${query}` : '?';
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
  }
  state.settingsValid = !!options;
  renderControls();
  return options;
}

// A number field left blank trains with the recipe's value (one worker for Workers): its placeholder
// says which, so a blank field never hides what a run will use.
function showBlankValues(preset) {
  const base = resolveOptions({ preset: Object.hasOwn(PRESETS, preset) ? preset : 'default' });
  for (const f of NUMBERS) $(f).placeholder = String(f === 'workers' ? 1 : base[f]);
}

function showFieldErrors(errors) {
  for (const key of ['preset', 'digits', ...NUMBERS, ...CHOICES]) {
    const message = errors[key];
    const slot = $(`${key}-error`);
    slot.hidden = !message;
    slot.textContent = message ?? '';
    const control = key === 'digits' ? $('digit-boxes') : $(key);
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
  if (errors.form) showError(errors.form);
  else if ($('error').dataset.source === 'form') showError(null);
  if (errors.form) $('error').dataset.source = 'form';
}

const describeRecipe = () => describeNotes({ ...chosenWords(), classes: readForm().digits.length });

// A recipe fills in its values; digits, seed, limit and workers stay as they are.
function applyPreset(name) {
  describeRecipe();
  delete urlErrors.preset;
  if (!Object.hasOwn(PRESETS, name)) return validate();
  const recipe = PRESETS[name];
  for (const f of RECIPE) {
    $(f).value = String(recipe[f]);
    delete urlErrors[f];
  }
  return validate();
}

// Another built-in dataset chosen: its classes are named on the boxes, which take its default (all ten
// of Fashion-MNIST's, the recipe's digits of MNIST), and the page's words follow.
function chooseDataset() {
  delete urlErrors.dataset;
  delete urlErrors.digits;
  const dataset = chosenDataset();
  labelDigitBoxes(dataset);
  checkDigits(defaultDigits($('preset').value, dataset));
  describeDataset();
  describeRecipe();
  sayClassWords();
  validate();
}

// What the chosen set is, under its menu.
function describeDataset() {
  const about = { mnist: '70,000 handwritten digits, 0 to 9.', fashion: '70,000 pictures of clothes, shoes and bags from Zalando, in ten classes.' };
  $('dataset-about').textContent = about[$('dataset').value] ?? '';
}

// The form filled from the link and checked, then checked again at every change.
export function initSettings() {
  buildDigitBoxes();
  addMissingMixtures();
  const fromUrl = readUrl();
  urlErrors = fromUrl.urlErrors;
  writeForm(fromUrl.options);
  labelDigitBoxes(chosenDataset());
  describeRecipe();
  describeDataset();
  sayClassWords();
  validate();
  $('dataset').addEventListener('change', chooseDataset);
  $('settings').addEventListener('input', (event) => {
    if (event.target.id === 'preset') return applyPreset(event.target.value);
    if (event.target.id === 'mixture' || event.target.name === 'digit') describeRecipe();
    delete urlErrors[event.target.name === 'digit' ? 'digits' : event.target.name];
    validate();
  });
  $('settings').addEventListener('submit', (event) => event.preventDefault());
  $('restore').addEventListener('click', () => applyPreset($('preset').value));
}
