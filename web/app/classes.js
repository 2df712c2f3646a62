// The classes on the page, in words: which dataset they come from (MNIST's digits, Fashion-MNIST, a
// user's files), each class's name and colour, the noun for one of them ("digit", "class") in the
// page's sentences, and the legends, HTML lists of a swatch and a name each (colour is never the only
// cue). The panels show the model on show's classes; the settings, those of the next run.
import { className, DATASETS, shortClassName } from '../lib/data/datasets.js';
import { legendEntries as drawnLegendEntries } from '../draw/scatter.js';
import { $ } from './dom.js';
import { state } from './state.js';

// The built-in dataset chosen for the next run (the Data panel's menu; MNIST while it holds no valid one).
export const chosenDataset = () => (Object.hasOwn(DATASETS, $('dataset').value) ? $('dataset').value : 'mnist');

// The dataset of the classes the panels show: the run on show's ('mnist', 'fashion'; null for a
// user's files), else the next run's.
export const shownDataset = () => (state.run ? state.run.dataset ?? null : chosenDataset());

// Class `label`'s name ("Ankle boot", "8"; a user's labels have none but their number), and a short one.
export const nameOf = (label, dataset = shownDataset()) => className(dataset, label);
export const shortNameOf = (label, dataset = shownDataset()) => shortClassName(dataset, label);

// "digit", "class": one of the dataset's classes; a user's files have classes, unlabelled ones clusters.
export function nounOf(dataset, { unlabelled = false } = {}) {
  if (unlabelled) return 'cluster';
  return DATASETS[dataset]?.noun ?? 'class';
}
export const plural = (noun) => (noun.endsWith('s') ? `${noun}es` : `${noun}s`);

// "1, 4 and 8", "T-shirt/top, Trouser and Bag".
export const listed = (names) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : String(names[0]));

// "Classes" from "classes".
export const capitalised = (text) => text[0].toUpperCase() + text.slice(1);

// The words the page's templates use (data-words="Which {noun}?"): the noun, its plural (also
// capitalised), and what a drawing is of ("a digit"; for other data, "a picture").
function wordsFor(dataset, options) {
  const noun = nounOf(dataset, options), nouns = plural(noun);
  return { noun, nouns, Nouns: capitalised(nouns), thing: dataset === 'mnist' ? 'a digit' : 'a picture' };
}
export const shownWords = () => wordsFor(shownDataset(), { unlabelled: !!state.run?.unlabelled });
export const chosenWords = () => ({ ...wordsFor(chosenDataset()), dataset: chosenDataset() });
// "Three per {noun}" in the words of a dataset: "Three per class".
export const fillWords = (template, words) => template.replace(/\{(\w+)\}/g, (m, key) => words[key] ?? m);

// Every element with a template, filled in: data-words (its text) and data-words-label (its
// aria-label, and title when it has one). Those inside #settings and the Data panel speak of the next
// run, the rest of the model on show.
let applied = null;
export function sayClassWords() {
  const shown = shownWords();
  const next = wordsFor(chosenDataset());
  const key = JSON.stringify([shown, next]);
  if (key === applied) return;
  applied = key;
  for (const el of document.querySelectorAll('[data-words], [data-words-label]')) {
    const words = el.closest('#settings, .data-panel') ? next : shown;
    if (el.dataset.words) el.textContent = fillWords(el.dataset.words, words);
    if (el.dataset.wordsLabel) {
      el.setAttribute('aria-label', fillWords(el.dataset.wordsLabel, words));
      if (el.title) el.title = fillWords(el.dataset.wordsLabel, words);
    }
  }
}

// One row of a legend per class: [{ label, name, color }].
export const legendEntries = (labels, dataset = shownDataset()) => drawnLegendEntries({ digits: labels,
  names: labels.map((label) => nameOf(label, dataset)) }).map((entry, i) => ({ label: labels[i], ...entry }));

// Fills a <ul> with the entries (a swatch, hidden from screen readers, and the name in text); left as
// it is when they have not changed.
export function renderLegend(list, entries) {
  const key = JSON.stringify(entries);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...entries.map(({ name, color }) => {
    const li = document.createElement('li');
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.setAttribute('aria-hidden', 'true');
    li.style.setProperty('--swatch', color);
    li.append(dot, name);
    return li;
  }));
  list.hidden = entries.length === 0;
}
