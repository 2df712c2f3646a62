// Numbers and models in words, as the page writes them: 12,345 images, 2 min 05 s, "digits 1, 4, 8, seed 42".

// 12,345: by hand, since the first toLocaleString() loads the locale data (30+ ms on this thread).
export const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return '…';
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

const RECIPES = { authors: 'the authors\' recipe', default: 'the lab default recipe' };

// "digits 1, 4, 8, the authors' recipe, 8 epochs, seed 42", from what a file says about itself.
export function describeModel({ digits, info }) {
  const parts = [`digits ${digits.join(', ')}`];
  if (info.preset) parts.push(RECIPES[info.preset] ?? `the ${info.preset} recipe`);
  if (info.epochs !== null && info.epochs !== undefined) parts.push(`${info.epochs} epoch${info.epochs === 1 ? '' : 's'}`);
  if (info.seed !== null && info.seed !== undefined) parts.push(`seed ${info.seed}`);
  return parts.join(', ');
}
