// Numbers and models in words, as the page writes them: 12,345 images, 2 min 05 s, "digits 1, 4, 8, seed 42".
import { className, DATASETS, hasAllClasses } from '../lib/data/datasets.js';

// 12,345: by hand, since the first toLocaleString() loads the locale data (30+ ms on this thread).
export const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return '…';
  if (seconds >= 3600) {
    const h = Math.floor(seconds / 3600), m = Math.round((seconds % 3600) / 60);
    return m === 60 ? `${h + 1} h 00 min` : `${h} h ${String(m).padStart(2, '0')} min`;
  }
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (s === 60) return `${m + 1} min 00 s`;
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

const RECIPES = { authors: 'the authors\' recipe', default: 'the lab default recipe', long: 'the long recipe' };

// "digits 1, 4, 8, the authors' recipe, 8 epochs, seed 42" or "Fashion-MNIST, all 10 classes, ...", from
// what a file says about itself or what a run was started with. data: a user's files ({ name, unlabelled }).
export function describeModel({ digits, dataset = 'mnist', info, data = null }) {
  const all = !data && hasAllClasses(dataset, digits);
  const parts = data ? [data.unlabelled ? `${data.name} (unlabelled)` : `${data.name}, ${digits.length} classes`]
    : dataset === 'mnist' ? [`digits ${digits.join(', ')}`]
    : [DATASETS[dataset].title, all ? `all ${digits.length} classes` : `classes ${digits.map((c) => className(dataset, c)).join(', ')}`];
  if (info.preset) parts.push(RECIPES[info.preset] ?? `the ${info.preset} recipe`);
  if (info.epochs !== null && info.epochs !== undefined) parts.push(`${info.epochs} epoch${info.epochs === 1 ? '' : 's'}`);
  if (info.seed !== null && info.seed !== undefined) parts.push(`seed ${info.seed}`);
  return parts.join(', ');
}
