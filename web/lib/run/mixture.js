// The mixture on the latent codes: the ways to build it (MIXTURES), fitting one by EM in the C code,
// and naming each component's class from the few labelled codes. Not the EM itself (src/gmm.c).
import { LabError, LATENT } from '../latent-lab.js';

// Ways to build the mixture on the latent codes, all using only the few labelled validation images.
// perClass: components per class, started from that class's labelled codes (init 'labelled');
// components + init 'kmeans++': an unlabelled start (best likelihood of `starts` seeds);
// semi: the labelled codes keep their responsibilities fixed to their class during EM;
// naming 'init': a component predicts the class it was started from; 'labelled': see nameByLabelled;
// 'groups': see nameByGroups. perClassComponents: that many components per class, within
// [minComponents, maxComponents] (minComponents without labels): the lab's default, which follows the
// number of classes (docs/mixture-quality.md, "Ten classes").
export const MIXTURES = Object.freeze({
  authors: { perClass: 1, init: 'labelled', semi: false, naming: 'init', starts: 1 },
  semi: { perClass: 1, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'per-class-2': { perClass: 2, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'per-class-3': { perClass: 3, init: 'labelled', semi: true, naming: 'init', starts: 1 },
  'kmeans-6': { components: 6, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-10': { components: 10, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-16': { components: 16, init: 'kmeans++', semi: false, naming: 'labelled', starts: 5 },
  'kmeans-6-groups': { components: 6, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
  'kmeans-10-groups': { components: 10, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
  'kmeans-16-groups': { components: 16, init: 'kmeans++', semi: false, naming: 'groups', starts: 5 },
  'kmeans-groups': { perClassComponents: 3, minComponents: 10, maxComponents: 40, init: 'kmeans++', semi: false,
    naming: 'groups', starts: 5 },
});

// How many components a variant has for nClasses classes (0 or none: unlabelled data).
export function componentCount(variant, nClasses) {
  const v = typeof variant === 'string' ? MIXTURES[variant] : variant;
  if (v.components) return v.components;
  if (v.perClassComponents) {
    if (!(nClasses > 0)) return v.minComponents;
    // Never fewer components than classes, so that every class can have one (a user's 50 classes).
    return Math.max(nClasses, Math.min(v.maxComponents, Math.max(v.minComponents, v.perClassComponents * nClasses)));
  }
  return v.perClass * nClasses;
}

// Names each component by the labelled codes. A component most responsible for some labelled codes
// takes their class. Every other component takes the class it is most strongly connected to: the
// strength of a link between two components is how much they share the training codes
// (sum of r_a * r_b, normalised), and of a path its weakest link, so a chain of overlapping
// components along one digit's cluster carries that digit's name across it, while a low-density
// gap between clusters stops it.
function nameByLabelled(mixture, trainCodes, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const seedScore = labelledMass(mixture, valCodes, valClasses, nClasses);
  const link = componentLinks(mixture, trainCodes);
  // Widest-path strength from each class's seed components to every component.
  const strength = Array.from({ length: nClasses }, (_, c) => {
    const width = new Float64Array(k).fill(-1);
    for (let j = 0; j < k; j++) {
      const best = seedScore[j].indexOf(Math.max(...seedScore[j]));
      if (seedScore[j][best] >= 0.5 && best === c) width[j] = Infinity;
    }
    const done = new Uint8Array(k);
    for (;;) {
      let j = -1;
      for (let a = 0; a < k; a++) if (!done[a] && width[a] >= 0 && (j < 0 || width[a] > width[j])) j = a;
      if (j < 0) break;
      done[j] = 1;
      for (let b = 0; b < k; b++) if (!done[b]) width[b] = Math.max(width[b], Math.min(width[j], link[j][b]));
    }
    return width;
  });
  return Array.from({ length: k }, (_, j) => {
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (strength[c][j] > strength[best][j]) best = c;
    // No class reaches it at all: the nearest labelled code decides.
    if (strength[best][j] < 0) best = nearestLabelled(mixture, j, valCodes, valClasses);
    return best;
  });
}

// The class of the labelled code nearest to component j's mean.
function nearestLabelled(mixture, j, valCodes, valClasses) {
  const { means } = mixture.snapshot(mixture.historyLength - 1);
  let nearest = Infinity, best = 0;
  for (let i = 0; i < valClasses.length; i++) {
    const d = Math.hypot(valCodes[2 * i] - means[2 * j], valCodes[2 * i + 1] - means[2 * j + 1]);
    if (d < nearest) { nearest = d; best = valClasses[i]; }
  }
  return best;
}

// mass[j][c]: how much of the labelled codes of class c component j is responsible for.
function labelledMass(mixture, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const mass = Array.from({ length: k }, () => new Array(nClasses).fill(0));
  const valResp = mixture.predict(valCodes).resp;
  for (let i = 0; i < valClasses.length; i++) for (let j = 0; j < k; j++) mass[j][valClasses[i]] += valResp[i * k + j];
  return mass;
}

// Names components by groups: components are merged strongest allowed link first (componentLinks)
// until nothing may merge, and each component takes its group's class (the one with the
// most labelled mass in it). A class holds a group that carries at least half of its labelled codes,
// more of them than of any other. Two groups whose labelled codes say different classes merge only
// when the weaker one's class is held elsewhere: then its few labelled codes are odd ones (a 5 that
// looks like a 3, inside the 3s' cluster) and its group's majority outvotes them; where the
// component-by-component naming would give their whole component their class. Two held groups of
// different classes never merge.
const MIN_LABELLED_MASS = 0.1;

function nameByGroups(mixture, trainCodes, valCodes, valClasses, nClasses) {
  const k = mixture.k;
  const perClass = new Array(nClasses).fill(0);
  for (const c of valClasses) perClass[c]++;
  const link = componentLinks(mixture, trainCodes);
  const parent = Int32Array.from({ length: k }, (_, j) => j);
  const find = (j) => (parent[j] === j ? j : (parent[j] = find(parent[j])));
  const componentMass = labelledMass(mixture, valCodes, valClasses, nClasses);
  const mass = componentMass.map((row) => row.slice());   // by group root
  // Responsibilities are soft: every component has some 1e-20 of every labelled code. Under a tenth of
  // one code is no labelled evidence at all.
  const top = (g) => { const m = mass[g], c = m.indexOf(Math.max(...m)); return m[c] >= MIN_LABELLED_MASS ? c : -1; };
  const holds = (g) => { const c = top(g); return c >= 0 && mass[g][c] >= 0.5 * perClass[c] ? c : -1; };
  const heldElsewhere = (c, ...not) => {
    for (let g = 0; g < k; g++) if (find(g) === g && !not.includes(g) && holds(g) === c) return true;
    return false;
  };
  const mayMerge = (ga, gb) => {
    const ta = top(ga), tb = top(gb);
    if (ta < 0 || tb < 0 || ta === tb) return true;
    const ha = holds(ga), hb = holds(gb);
    if (ha >= 0 && hb >= 0) return false;
    // The side not held (both, if neither is) must be a class held by another group.
    return (ha >= 0 || heldElsewhere(ta, ga, gb)) && (hb >= 0 || heldElsewhere(tb, ga, gb));
  };
  const pairs = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) if (link[a][b] > 0) pairs.push([link[a][b], a, b]);
  pairs.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  // Each merge can allow others (a class comes to hold a group): always take the strongest link allowed now.
  for (;;) {
    const next = pairs.find(([, a, b]) => find(a) !== find(b) && mayMerge(find(a), find(b)));
    if (!next) break;
    const ga = find(next[1]), gb = find(next[2]);
    parent[gb] = ga;
    for (let c = 0; c < nClasses; c++) mass[ga][c] += mass[gb][c];
  }
  const named = Array.from({ length: k }, (_, j) => {
    const c = top(find(j));
    return c >= 0 ? c : nearestLabelled(mixture, j, valCodes, valClasses);
  });
  return everyClassNamed(named, componentMass, perClass);
}

// A class with labelled codes that no component predicts is given the component holding most of its
// labelled mass among those whose class keeps another component: every class is predicted somewhere,
// and no class loses its last component. (When each class has a single component, nothing moves.)
function everyClassNamed(named, mass, perClass) {
  const out = named.slice();
  const count = (c) => out.filter((x) => x === c).length;
  for (let c = 0; c < perClass.length; c++) {
    if (perClass[c] === 0 || count(c) > 0) continue;
    let best = -1;
    for (let j = 0; j < out.length; j++) {
      if (count(out[j]) > 1 && (best < 0 || mass[j][c] > mass[best][c])) best = j;
    }
    if (best >= 0) out[best] = c;
  }
  return out;
}

// link[a][b]: how much components a and b share the training codes (sum of r_a * r_b over the codes,
// normalised by sqrt(mass_a * mass_b)).
function componentLinks(mixture, trainCodes) {
  const k = mixture.k;
  const link = Array.from({ length: k }, () => new Float64Array(k));
  const mass = new Float64Array(k);
  const resp = mixture.predict(trainCodes).resp;
  for (let i = 0; i < resp.length / k; i++) {
    const r = resp.subarray(i * k, (i + 1) * k);
    for (let a = 0; a < k; a++) {
      if (r[a] < 1e-4) continue;
      mass[a] += r[a];
      for (let b = a + 1; b < k; b++) link[a][b] += r[a] * r[b];
    }
  }
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) link[b][a] = link[a][b] = link[a][b] / Math.sqrt(Math.max(mass[a] * mass[b], 1e-12));
  }
  return link;
}

// Fits one mixture variant (see MIXTURES) on the training codes. The caller frees result.mixture.
// Without labels (valCodes and valClasses null) only the k-means++ variants apply.
export function fitMixture(lab, { trainCodes, valCodes, valClasses, nClasses, maxIter, tol, variant = 'authors', seed = 0 }) {
  const v = typeof variant === 'string' ? MIXTURES[variant] : variant;
  if (!valClasses && (v.init === 'labelled' || v.semi)) {
    const unlabelled = Object.keys(MIXTURES).filter((name) => MIXTURES[name].init === 'kmeans++');
    throw new LabError(`mixture "${typeof variant === 'string' ? variant : 'custom'}" starts from labelled images; ` +
      `for unlabelled data choose ${unlabelled.join(', ')}`);
  }
  const k = componentCount(v, nClasses);
  let best = null;
  for (let start = 0; start < (v.starts ?? 1); start++) {
    const mixture = lab.createMixture({ k, d: LATENT, maxIter });
    try {
      if (v.init === 'labelled') mixture.initLabelled(valCodes, valClasses, nClasses);
      else mixture.initKmeansPlusPlus(trainCodes, seed * 1000 + start);
      if (v.semi) mixture.setLabelled(valCodes, valClasses, nClasses);
      const iterations = mixture.fit(trainCodes, { maxIter, tol });
      const { loglik } = mixture.snapshot(mixture.historyLength - 1);
      if (!best || loglik > best.loglik) {
        best?.mixture.free();
        best = { mixture, iterations, loglik };
      } else {
        mixture.free();
      }
    } catch (error) {
      mixture.free();
      best?.mixture.free();
      throw error;
    }
  }
  // Unlabelled data (no valClasses): the components stay unnamed, component j predicting j.
  const naming = { labelled: nameByLabelled, groups: nameByGroups }[v.naming];
  if (naming && valClasses) best.mixture.componentClasses = naming(best.mixture, trainCodes, valCodes, valClasses, nClasses);
  return { mixture: best.mixture, iterations: best.iterations };
}
