// make figures --interpolate "x1,y1:x2,y2" [--steps N]: the interpolation strip of the latent plane, in
// Node. Reads the flags (refusing bad ones before anything is written), decodes the path's points with
// the model's wasm, names each image by the mixture's most likely digit and measures the mixture's
// density along the path (web/lib/latent-path.js), then hands figures-page.js a spec for drawStrip.
// Not a drawing module: the strip is drawn by web/draw/strip.js, as on the page.
import { digitColor } from '../../web/draw/common.js';
import { stripLayout } from '../../web/draw/strip.js';
import { toBytes } from '../../web/lib/data/images.js';
import { densityAlong, gapSpans, pathPoints } from '../../web/lib/latent-path.js';
import { responsibilitiesByClass } from '../../web/lib/mixture-math.js';

export const INTERPOLATION_FILE = 'interpolation.png';
export const STEPS = { default: 10, min: 2, max: 40 };
const GAP = 6;                   // CSS pixels between two images (stripLayout's own gap)
const TARGET_WIDTH = 900;        // the strip fills about this many CSS pixels...
const MIN_WIDTH = 560;           // ...and never fewer: the chart's caption needs the room
const CHART_HEIGHT = 120;        // the density chart under the images and their names
const LABEL_BAND = 30, CAPTION_BAND = 18;   // stripLayout's rows above and below the chart

// A mistake in what the user typed: one line, exit code 2, nothing written (tools/figures.js).
export class UsageError extends Error {}

// A plain decimal number (signs, decimals and exponents; no hex, no blanks, no words).
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function coordinate(text, what) {
  const s = text.trim();
  if (/^[+-]?(nan|inf(inity)?)$/i.test(s)) throw new UsageError(`--interpolate: ${what} is "${text}": a point needs finite numbers`);
  if (!NUMBER.test(s)) throw new UsageError(`--interpolate: ${what} "${text}" is not a number (expected x1,y1:x2,y2, e.g. -0.05,-1.43:-0.13,-0.15)`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new UsageError(`--interpolate: ${what} "${text}" is not a finite number`);
  return v;
}

// "x1,y1:x2,y2" -> { a: [x1, y1], b: [x2, y2] }; throws UsageError on anything else.
export function parseAnchors(value) {
  const ends = String(value).split(':');
  if (ends.length !== 2) {
    throw new UsageError(`--interpolate: expected two points x1,y1:x2,y2 with one ":" between them, got "${value}"`);
  }
  const [a, b] = ends.map((end, i) => {
    const xy = end.split(',');
    if (xy.length !== 2) throw new UsageError(`--interpolate: point ${'AB'[i]} "${end}" needs two numbers x,y with one "," between them, got ${xy.length}`);
    return xy.map((s, j) => coordinate(s, `${'xy'[j]} of point ${'AB'[i]}`));
  });
  if (a[0] === b[0] && a[1] === b[1]) {
    throw new UsageError(`--interpolate: both ends are the point (${a.join(', ')}): a path needs two different points`);
  }
  return { a, b };
}

// --steps: a whole number of images in STEPS.min..STEPS.max, both ends included.
export function parseSteps(value) {
  if (value === undefined) return STEPS.default;
  const s = String(value).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= STEPS.min && n <= STEPS.max)) {
    throw new UsageError(`--steps must be a whole number from ${STEPS.min} to ${STEPS.max} (images along the path, both ends included), got "${value}"`);
  }
  return n;
}

// The flags, checked: null without --interpolate (and --steps alone is refused).
export function interpolationRequest(flags) {
  if (flags.interpolate === undefined) {
    if (flags.steps !== undefined) throw new UsageError('--steps needs --interpolate "x1,y1:x2,y2"');
    return null;
  }
  return { ...parseAnchors(flags.interpolate), steps: parseSteps(flags.steps) };
}

// The strip's size in CSS pixels for n images: the images at the largest whole scale (at most 4)
// that keeps the strip near TARGET_WIDTH, a little margin either side (stripLayout then picks that
// scale back from the width), the chart under them.
export function stripSize(n) {
  const scale = Math.min(4, Math.max(1, Math.floor((TARGET_WIDTH - (n - 1) * GAP) / (28 * n))));
  const width = Math.max(MIN_WIDTH, n * 28 * scale + (n - 1) * GAP + 24);
  const { size } = stripLayout(width, 0, n);
  return { width, height: size + LABEL_BAND + CHART_HEIGHT + CAPTION_BAND };
}

// The digit the mixture finds most likely at z: responsibilities summed over the components of each
// class (as the page's bars do), the largest sum's class, named by its digit.
// A class the digits do not name keeps its index as its name, as the page's bars do.
function likeliestDigit(snapshot, componentClass, digits, z) {
  const sums = responsibilitiesByClass(snapshot, componentClass, z, digits.length).byClass;
  let best = 0;
  for (let c = 1; c < sums.length; c++) if (sums[c] > sums[best]) best = c;
  return digits[best] ?? best;
}

const point = ([x, y]) => `(${x}, ${y})`;

// The gaps in words: "crosses a gap at 38-61% of the path", or that it never leaves the mixture.
export function gapsInWords(gaps) {
  if (!gaps.length) return 'stays inside some component\'s 99% ellipse all the way (no gap)';
  return `crosses ${gaps.length === 1 ? 'a gap' : `${gaps.length} gaps`} (outside every component's 99% ellipse) at ${gapSpans(gaps, '-')} of the path`;
}

// The strip for request {a, b, steps}: model (a VaeModel), snapshot ({weights, means, covs}: the
// mixture's final parameters), componentClass (class index per component), digits (class -> digit).
// Returns { spec (for figures-page.js's 'strip' kind), caption, line (report.md), summary (metrics.json) }.
// names, shortNames (optional): each class's name and a short one for narrow room (Fashion-MNIST's
// "Ankle boot", "Boot"); noun: what one class is ("digit").
export function interpolationFigure({ model, snapshot, componentClass, digits, names = null, shortNames = null, noun = 'digit' },
  { a, b, steps }) {
  const z = pathPoints(a, b, steps);
  const images = toBytes(model.decode(z));
  const nameOf = (d) => (names && digits.includes(d) ? names[digits.indexOf(d)] : String(d));
  const shortOf = (d) => (shortNames && digits.includes(d) ? shortNames[digits.indexOf(d)] : nameOf(d));
  const named = Array.from({ length: steps }, (_, i) => likeliestDigit(snapshot, componentClass, digits, [z[2 * i], z[2 * i + 1]]));
  const density = densityAlong(snapshot, a, b);
  const { width, height } = stripSize(steps);
  const spec = { kind: 'strip', title: `From A ${point(a)} to B ${point(b)}`, width, height,
    subtitle: `${steps} images decoded evenly along the straight path, each named by the mixture's most likely ${noun} there`,
    data: { images, labels: named.map((d) => ({ name: nameOf(d), short: shortOf(d), color: digitColor(d) })), density, ends: ['A', 'B'] } };
  const line = `From A ${point(a)} to B ${point(b)} in ${steps} images, the mixture's most likely class at each: ` +
    `${named.map(nameOf).join(', ')}; the path ${gapsInWords(density.gaps)}.`;
  return { spec, line, caption: 'Interpolation: decoded images along a straight path of the latent plane, over the mixture\'s log density along it.',
    summary: { from: a, to: b, steps, digits: named, gaps: density.gaps.map(({ from, to }) => [from, to]) } };
}
