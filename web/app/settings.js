// The settings: the form, the link (?preset=authors&digits=1,4,8&...), and their checks, each bad
// value shown beside its control; resolveOptions (lib/run/options.js) is the one judge.
import { PRESETS, resolveOptions } from '../lib/run/options.js';
import { digitColor } from '../draw/common.js';
import { renderControls } from './controls.js';
import { $, showError } from './dom.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

// The settings, all in the form and the URL. A recipe (preset) sets RECIPE; the rest are the user's.
const NUMBERS = ['epochs', 'batch', 'lr', 'beta', 'warmup', 'lrWarmup', 'seed', 'limit', 'workers'];
const CHOICES = ['kl', 'deskew', 'mixture'];
const RECIPE = ['epochs', 'batch', 'lr', 'beta', 'kl', 'warmup', 'lrWarmup', 'deskew', 'mixture'];
// A select's text as the option's value: deskew is true, false or 'auto', the other choices are names.
const choiceValue = (f, text) => (f === 'deskew' && text !== 'auto' ? text === 'true' : text);
const DEFAULT_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));

// Problems with the link's own values ({ key: message }), until the user changes that field.
let urlErrors = {};

function buildDigitBoxes() {
  const box = $('digit-boxes');
  for (let d = 0; d <= 9; d++) {
    const label = document.createElement('label');
    label.className = 'digit-box';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = String(d);
    input.name = 'digit';
    input.setAttribute('aria-label', `digit ${d}`);
    const span = document.createElement('span');
    span.textContent = String(d);
    label.style.setProperty('--swatch', digitColor(d));
    label.append(input, span);
    box.append(label);
  }
}

function writeForm(o) {
  const digits = new Set(o.digits.map(Number));
  for (const input of document.querySelectorAll('input[name="digit"]')) input.checked = digits.has(Number(input.value));
  $('preset').value = o.preset;
  for (const f of [...NUMBERS, ...CHOICES]) if (o[f] !== undefined) $(f).value = String(o[f]);
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
  if (q.has('digits')) o.digits = q.get('digits').split(',').filter(Boolean).map(Number);
  for (const f of NUMBERS) if (q.has(f) && q.get(f).trim() !== '') o[f] = Number(q.get(f));
  for (const f of CHOICES) {
    if (!q.has(f)) continue;
    if ([...$(f).options].some((opt) => opt.value === q.get(f))) o[f] = choiceValue(f, q.get(f));
    else errors[f] = `unknown ${f} "${q.get(f)}" in the link`;
  }
  return { options: o, urlErrors: errors };
}

function settingsQuery(o) {
  const q = new URLSearchParams();
  const base = PRESETS[o.preset];
  if (o.preset !== 'default') q.set('preset', o.preset);
  if (o.digits.join(',') !== base.digits.join(',')) q.set('digits', o.digits.join(','));
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

// What each recipe is, under its menu (the menu's words stay short enough to read whole on a phone).
const RECIPE_NOTES = {
  authors: 'The report\'s code: beta weighs twice the usual KL; one Gaussian per digit.',
  default: 'Usual KL, deskewed digits, a 2-epoch learning-rate warm-up, 10 k-means++ components named by groups.',
  'usual-kl': 'The authors\' network with the usual KL; 10 k-means++ components.',
  'usual-kl-warmup': 'Usual KL, its weight ramped up over 2 epochs; 10 k-means++ components.',
  'usual-kl-deskew': 'Usual KL, deskewed digits; 10 k-means++ components.',
};
const MIXTURE_NOTES = {
  authors: 'Gaussian components, one per digit, started from the labelled codes (the report\'s EM).',
  semi: 'One Gaussian per digit; the labelled codes stay with their digit through EM.',
  'per-class-2': 'Two Gaussians per digit; the labelled codes stay with their digit.',
  'per-class-3': 'Three Gaussians per digit; the labelled codes stay with their digit.',
  'kmeans-6': '6 Gaussians started by k-means++, each named by the labelled codes it claims.',
  'kmeans-10': '10 Gaussians started by k-means++, each named by the labelled codes it claims.',
  'kmeans-16': '16 Gaussians started by k-means++, each named by the labelled codes it claims.',
  'kmeans-6-groups': '6 Gaussians started by k-means++, named together, so that every digit gets some.',
  'kmeans-10-groups': '10 Gaussians started by k-means++, named together, so that every digit gets some.',
  'kmeans-16-groups': '16 Gaussians started by k-means++, named together, so that every digit gets some.',
  'kmeans-groups': 'Three Gaussians per class (10 to 40) started by k-means++, named together, so that every class gets some.',
};
const describeRecipe = () => {
  $('preset-about').textContent = RECIPE_NOTES[$('preset').value] ?? '';
  $('mixture-about').textContent = MIXTURE_NOTES[$('mixture').value] ?? '';
};

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

// The form filled from the link and checked, then checked again at every change.
export function initSettings() {
  buildDigitBoxes();
  const fromUrl = readUrl();
  urlErrors = fromUrl.urlErrors;
  writeForm(fromUrl.options);
  describeRecipe();
  validate();
  $('settings').addEventListener('input', (event) => {
    if (event.target.id === 'preset') return applyPreset(event.target.value);
    if (event.target.id === 'mixture') describeRecipe();
    delete urlErrors[event.target.name];
    validate();
  });
  $('settings').addEventListener('submit', (event) => event.preventDefault());
  $('restore').addEventListener('click', () => applyPreset($('preset').value));
}
