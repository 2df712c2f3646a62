// The mixture's answer at a point of the plane (responsibilities per component and per class), the
// rows of bars that show such answers beside the probe and the drawing pad, and the answer in words.
import { digitColor } from '../draw/common.js';
import { nearestMahalanobis2, responsibilitiesByClass, UNLIKE_MAHALANOBIS2 } from '../lib/mixture-math.js';
import { nameOf } from './classes.js';
import { state } from './state.js';

// The mixture's responsibilities at z, at the iteration on show: per component (k, summing to 1) and
// summed per class ([{ p, label, named }] for every class of the model, in class order; named: some
// component predicts it, else its share is always 0); unlike: z lies outside the 99% ellipse of every
// component (mixture-math.js), so the model has seen nothing like it.
export function mixtureAnswer(mixture, z) {
  const snapshot = mixture.history[Math.min(state.emIter, mixture.history.length - 1)];
  const { perComponent, byClass: sums, classOf } = responsibilitiesByClass(snapshot, mixture.componentClass, z, mixture.classes.length);
  const predicted = new Set(classOf);
  const byClass = Array.from(sums, (p, c) => ({ p, label: mixture.classes[c] ?? c, named: predicted.has(c) }));
  const unlike = nearestMahalanobis2(snapshot, z) > UNLIKE_MAHALANOBIS2;
  return { perComponent, byClass, unlike };
}

const percent = (p) => `${(100 * p).toFixed(p > 0.995 || p < 0.005 ? 0 : 1)}%`;

// One bar per class, named in text ("8" or "Ankle boot", then its share): colour is never the only cue.
export const classBars = (byClass) => byClass.map(({ p, label, named }) => ({ p, color: digitColor(label), name: nameOf(label),
  title: named ? '' : `no component of the mixture predicts ${nameOf(label)}: it is never the answer` }));

// The answer in a few words, for the eye and for a screen reader: "most likely 8 (91.6%)".
export function answerInWords({ byClass, unlike }) {
  const best = byClass.reduce((a, b) => (b.p > a.p ? b : a));
  return unlike ? `unlike anything it was trained on (nearest: ${nameOf(best.label)}, ${percent(best.p)})`
    : `most likely ${nameOf(best.label)} (${percent(best.p)})`;
}

// Rows of [swatch] [name] [bar] [percentage] in a list, reusing its rows when their number is unchanged.
// A row reads "8 · 91.6%" (or "Ankle boot · 3.2%") as text; the swatch and the bar are decoration.
export function renderBars(list, items) {
  if (list.children.length !== items.length || list.firstElementChild?.classList.contains('muted')) {
    list.replaceChildren(...items.map(() => {
      const li = document.createElement('li');
      const dot = document.createElement('span'), name = document.createElement('span'), bar = document.createElement('span');
      const pct = document.createElement('span');
      dot.className = 'dot'; name.className = 'name'; bar.className = 'bar'; pct.className = 'pct';
      dot.setAttribute('aria-hidden', 'true');
      bar.setAttribute('aria-hidden', 'true');
      bar.append(document.createElement('span'));
      const dotSep = document.createElement('span');
      dotSep.className = 'sep';
      dotSep.textContent = ' · ';
      li.append(dot, name, dotSep, bar, pct);
      return li;
    }));
  }
  items.forEach(({ p, color, name, title = '' }, j) => {
    const li = list.children[j];
    li.style.setProperty('--swatch', color);
    li.title = title;
    li.querySelector('.name').textContent = name;
    li.querySelector('.bar').firstElementChild.style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector('.pct').textContent = percent(p);
  });
}

// A list's one grey line in place of bars ("draw a digit above").
export function mutedItem(text) {
  const li = document.createElement('li');
  li.className = 'muted';
  li.textContent = text;
  return li;
}
