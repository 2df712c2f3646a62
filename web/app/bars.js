// The mixture's answer at a point of the plane (responsibilities per component and per digit), and the
// rows of bars that show such answers beside the probe and the drawing pad.
import { responsibilities } from '../lib/mixture-math.js';
import { state } from './state.js';

// The mixture's responsibilities at z, at the iteration on show: per component (k, summing to 1) and
// summed per digit ([{ p, digit }] in the order of the classes).
export function mixtureAnswer(fitted, z) {
  const perComponent = responsibilities(fitted.history[state.emIter], z);
  const sums = new Map();
  perComponent.forEach((p, j) => {
    const c = fitted.componentClass[j] ?? j;
    sums.set(c, (sums.get(c) ?? 0) + p);
  });
  const byClass = [...sums].sort((a, b) => a[0] - b[0]).map(([c, p]) => ({ p, digit: fitted.classes[c] ?? c }));
  return { perComponent, byClass };
}

// Rows of [swatch or tag] [bar] [percentage] in a list, reusing its rows when their number is unchanged.
export function renderBars(list, items) {
  if (list.children.length !== items.length || list.firstElementChild?.classList.contains('muted')) {
    list.replaceChildren(...items.map(() => {
      const li = document.createElement('li');
      const dot = document.createElement('span'), bar = document.createElement('span'), pct = document.createElement('span');
      dot.className = 'dot'; bar.className = 'bar'; pct.className = 'pct';
      bar.append(document.createElement('span'));
      li.append(dot, bar, pct);
      return li;
    }));
  }
  items.forEach(({ p, color, label, tag = '' }, j) => {
    const li = list.children[j];
    li.style.setProperty('--swatch', color);
    li.title = label;
    li.children[1].firstElementChild.style.width = `${(100 * p).toFixed(1)}%`;
    li.children[2].textContent = `${(100 * p).toFixed(p > 0.995 || p < 0.005 ? 0 : 1)}%`;
    li.children[0].textContent = tag;
    li.firstElementChild.setAttribute('aria-label', label);
  });
}

// A list's one grey line in place of bars ("draw a digit above").
export function mutedItem(text) {
  const li = document.createElement('li');
  li.className = 'muted';
  li.textContent = text;
  return li;
}
