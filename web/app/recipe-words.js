// The recipes and mixture variants in words: the notes under the Recipe and Mixture menus, in the words
// of the dataset chosen ("per digit", "per class"), and a Mixture option for every variant the lab knows
// (web/lib/run/mixture.js) that index.html does not list, worded from what the variant is, so a link or a
// recipe naming a new one still works.
import { MIXTURES } from '../lib/run/mixture.js';
import { MANY_CLASSES, PRESETS } from '../lib/run/options.js';
import { capitalised } from './classes.js';
import { $ } from './dom.js';

const NUMBER = ['', 'One', 'Two', 'Three', 'Four', 'Five', 'Six'];

// "10 k-means++ components named by groups", "three Gaussians per digit", from a variant's recipe.
function components(key, words) {
  const m = MIXTURES[key];
  if (!m) return key;
  if (m.perClass) return `${(NUMBER[m.perClass] ?? String(m.perClass)).toLowerCase()} Gaussian${m.perClass > 1 ? 's' : ''} per ${words.noun}`;
  if (m.perClassComponents) return `${perClassWords(m, words.noun)} named by groups`;
  return `${m.components} k-means++ components${m.naming === 'groups' ? ' named by groups' : ''}`;
}

// What the long recipe gains, measured on each built-in dataset (docs/mixture-quality.md, "What moves
// the representation"); a dataset not measured gets the digits' figure, which says what it is of.
const LONG_GAIN = {
  mnist: { of: 'all ten digits', accuracy: '0.833 to 0.874' },
  fashion: { of: 'Fashion-MNIST\u2019s ten classes', accuracy: '0.635 to 0.670' },
};
function longGain(w) {
  const gain = LONG_GAIN[w.dataset] ?? LONG_GAIN.mnist;
  return `on ${gain.of} it lifts the mixture\u2019s accuracy from ${gain.accuracy} (three seeds), in twice the time`;
}

// What the default recipe is, in the chosen dataset's words.
const defaultWords = (w) => `Usual KL, ${w.dataset === 'mnist' ? 'deskewed digits' : 'no deskewing (auto deskews MNIST\u2019s digits only)'}, a 2-epoch ` +
  `learning-rate warm-up, ${components(PRESETS.default.mixture, w)}`;

// What each recipe is, under its menu (the menu's words stay short enough to read whole on a phone).
// w.classes: how many classes are ticked; from MANY_CLASSES on, the default offers the long recipe.
const RECIPE_NOTES = {
  authors: (w) => `The report's code: beta weighs twice the usual KL; one Gaussian per ${w.noun}.`,
  default: (w) => `${defaultWords(w)}.` + (w.classes >= MANY_CLASSES ? ` With ${w.classes} ${w.nouns}, try \u201cLab default, ` +
    `${PRESETS.long.epochs} epochs\u201d: ${longGain(w)}.` : ''),
  long: (w) => `The lab default trained for ${PRESETS.long.epochs} epochs: ${defaultWords(w)}. ${capitalised(longGain(w))}.`,
  'usual-kl': (w) => `The authors' network with the usual KL; ${components(PRESETS['usual-kl'].mixture, w)}.`,
  'usual-kl-warmup': (w) => `Usual KL, its weight ramped up over 2 epochs; ${components(PRESETS['usual-kl-warmup'].mixture, w)}.`,
  'usual-kl-deskew': (w) => `Usual KL, deskewed ${w.nouns}; ${components(PRESETS['usual-kl-deskew'].mixture, w)}.`,
};

// "three k-means++ components per class (10 to 40)": a variant that follows the number of classes.
const perClassWords = (m, noun) => `${(NUMBER[m.perClassComponents] ?? String(m.perClassComponents)).toLowerCase()} ` +
  `k-means++ components per ${noun} (${m.minComponents} to ${m.maxComponents})`;

// What each mixture variant does; a variant without a note of its own gets one from its recipe.
function mixtureNote(key, w) {
  const m = MIXTURES[key];
  if (!m) return '';
  if (key === 'authors') return `Gaussian components, one per ${w.noun}, started from the labelled codes (the report's EM).`;
  if (m.perClass) {
    return `${NUMBER[m.perClass] ?? m.perClass} Gaussian${m.perClass > 1 ? 's' : ''} per ${w.noun}; the labelled codes stay with their ` +
      `${w.noun}${m.semi ? ' through EM' : ''}.`;
  }
  if (m.perClassComponents) return `${perClassWords(m, w.noun)}, named together, so that every ${w.noun} gets some.`;
  return m.naming === 'groups' ? `${m.components} Gaussians started by k-means++, named together, so that every ${w.noun} gets some.`
    : `${m.components} Gaussians started by k-means++, each named by the labelled codes it claims.`;
}

// The menu's words for a variant it does not list: "4 per {noun}, labels held", "40 by k-means++, in groups".
function optionWords(key) {
  const m = MIXTURES[key];
  if (m.perClass) return `${NUMBER[m.perClass] ?? m.perClass} per {noun}${m.semi ? ', labels held' : ''}`;
  if (m.perClassComponents) return `${m.perClassComponents} per {noun} by k-means++, in groups`;
  return `${m.components} by k-means++${m.naming === 'groups' ? ', in groups' : ''}`;
}

// Adds an option for each variant the menu lacks (before the form is filled from the link).
export function addMissingMixtures() {
  const menu = $('mixture');
  for (const key of Object.keys(MIXTURES)) {
    if ([...menu.options].some((o) => o.value === key)) continue;
    const option = document.createElement('option');
    option.value = key;
    option.dataset.words = optionWords(key);
    option.textContent = option.dataset.words.replace('{noun}', 'digit');
    menu.append(option);
  }
}

// The notes under the two menus, in the words w ({ noun, nouns, dataset }) of the dataset chosen.
export function describeRecipe(w) {
  $('preset-about').textContent = RECIPE_NOTES[$('preset').value]?.(w) ?? '';
  $('mixture-about').textContent = mixtureNote($('mixture').value, w);
}
