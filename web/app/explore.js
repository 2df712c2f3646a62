// Exploring between the points of the latent plane: the tool a click on the plane uses (decode a point,
// pick a test image, a path between two anchors, a region), the path's strip of decoded images with
// the mixture's answer and density along it, and a region's zoomed grid. The view worker decodes
// (only the newest request of each kind); the page draws. Every gesture has a key: on the focused
// plane, Enter acts at the probe as a click would, A and B put that anchor at the probe, Escape drops
// a half-made region.
import { digitColor } from '../draw/common.js';
import { digitGridPixels, drawEmpty } from '../draw/digits.js';
import { drawPath, drawRegion, drawSpread } from '../draw/plane-marks.js';
import { drawStrip } from '../draw/strip.js';
import { densityAlong, gapSpans, pathPoints, regionOf, regionPoints } from '../lib/latent-path.js';
import { mixtureAnswer } from './bars.js';
import { nameOf, shortNameOf, shownWords } from './classes.js';
import { $, HOVERS, reportError } from './dom.js';
import { pickTestImage } from './drawing-pad.js';
import { dirty, schedule } from './frames.js';
import { state } from './state.js';
import { hook, report, tally } from './test-hooks.js';
import { viewer, viewReady } from './workers.js';

export const PATH_STEPS = 10;     // decoded images along a path, both anchors included
export const REGION_CELLS = 12;   // a region's grid is REGION_CELLS x REGION_CELLS decodes
const GRAB_PX = 12;               // a press this close to an anchor drags it (twice that by touch)
const PICK_PX = 16;               // a click this close to a code picks its test image (twice that by touch)
const SNAP_PX = 6;                // an anchor placed this close to a code is that test image's code
const MIN_REGION_PX = 6;          // a drag shorter than this is a click, not a region

const explore = { tool: 'probe', anchors: [null, null], strip: null, region: null, regionCells: null, drag: null, corner: null };

const HOW = {
  probe: () => (HOVERS ? 'Hover, or focus the plane and use the arrow keys, to decode a point.'
    : 'Tap or drag on the plane to decode a point.'),
  pick: () => `${HOVERS ? 'Click' : 'Tap'} a code (or press Enter on the focused plane) to put its test image on the drawing pad.`,
  path: () => `${HOVERS ? 'Click' : 'Tap'} two points, then drag A or B; on the focused plane, Enter (or A, B) puts an end at the probe.`,
  region: () => 'Drag a rectangle; on the focused plane, press Enter at two corners (arrow keys between them).',
};

// --- the points shown on the plane, and the test image behind each -----------------------------------

// The code nearest to a pixel of the plane (within maxPx, or any distance): its test image's index.
function nearestCode(px, py, maxPx = Infinity) {
  const a = state.area;
  const points = state.fit?.testCodes ?? state.codes;
  if (!a || !points || !$('show-points').checked) return null;   // only the dots on show are picked
  let best = -1, bestD = maxPx * maxPx;
  for (let i = 0; i < points.length / 2; i++) {
    const d = (a.x(points[2 * i]) - px) ** 2 + (a.y(points[2 * i + 1]) - py) ** 2;
    if (d <= bestD) { bestD = d; best = i; }
  }
  if (best < 0) return null;
  const index = state.fit ? best : state.run?.scatterIndex?.[best];
  return index === undefined ? null : { index, z: [points[2 * best], points[2 * best + 1]] };
}

// --- the path --------------------------------------------------------------------------------------

// Anchor i (0: A, 1: B) at z, named for the strip's sentence ("a point", "test image 12", "your drawing").
function setAnchor(i, z, name = 'a point') {
  explore.anchors[i] = { z: [z[0], z[1]], name };
  $('path-clear').disabled = false;
  requestStrip();
}

// The next anchor a click places: A, then B, then a new path from A.
function placeAnchor(z, name) {
  const [a, b] = explore.anchors;
  if (a && b) explore.anchors = [null, null];
  setAnchor(explore.anchors[0] ? 1 : 0, z, name);
}

function clearPath() {
  explore.anchors = [null, null];
  explore.strip = null;
  $('path-clear').disabled = true;
  dirty.strip = dirty.probe = true;
  schedule();
}

// Decodes the path's points (the newest path only; a path that changed meanwhile is asked again).
function requestStrip() {
  dirty.strip = dirty.probe = true;
  schedule();
  const [a, b] = explore.anchors;
  if (!a || !b || !viewReady) return;
  viewer.requestLatest('decode-path', { z: pathPoints(a.z, b.z, PATH_STEPS) }).then((result) => {
    // Dropped: a path cleared meanwhile, or decoded by another run's model. A path dragged meanwhile is
    // shown (the strip follows the drag) until the newest one arrives.
    if (!result || !explore.anchors[0] || !explore.anchors[1] || result.run !== state.run?.id) return;
    explore.strip = { images: result.images, a: a.z, b: b.z };
    tally('strips');
    dirty.strip = true;
    schedule();
  }, (error) => reportError(error.message));
}


// The strip panel: the decoded images, each named by the mixture's most likely class there, and the
// mixture's density along the path; in words, which classes it passes and where it crosses a gap.
export function drawStripPanel() {
  const canvas = $('strip'), ctx = canvas.getContext('2d');
  const strip = explore.strip, [a, b] = explore.anchors;
  if (!strip || !a || !b) {
    drawEmpty(ctx, a ? 'Now choose B.' : 'Choose two points of the plane.');
    $('path-status').textContent = a ? `A is ${a.name} at ${fmt(a.z)}: now choose B.` : `Choose “Path between two points” and ${HOVERS ? 'click' : 'tap'} two points of the plane.`;
    report({ strip: null });
    return;
  }
  const mixture = state.mixture;
  const snapshot = mixture?.history[Math.min(state.emIter, mixture.history.length - 1)];
  const points = pathPoints(strip.a, strip.b, PATH_STEPS);
  const named = mixture ? Array.from({ length: PATH_STEPS }, (_, i) => {
    const { byClass, unlike } = mixtureAnswer(mixture, [points[2 * i], points[2 * i + 1]]);
    const best = byClass.reduce((p, q) => (q.p > p.p ? q : p));
    return { name: nameOf(best.label), short: shortNameOf(best.label), color: digitColor(best.label), p: best.p, unlike };
  }) : null;
  const density = snapshot ? densityAlong(snapshot, strip.a, strip.b) : null;
  // The canvas keeps its size and is scaled to its column: its text is drawn larger by as much as the
  // canvas is shown smaller (a wide screen's column: 13 px as shown), up to 1.3x, which the rows
  // between the images and the chart still hold (a phone's narrow column shows it smaller).
  const shown = canvas.getBoundingClientRect().width;
  const layout = drawStrip(ctx, { width: canvas.width, height: canvas.height, images: strip.images, labels: named, density,
    textScale: shown > 0 ? Math.min(1.3, canvas.width / shown) : 1 });
  const passes = named ? [...new Set(named.map((l) => l.name))] : [];
  const gaps = density?.gaps ?? [];
  const current = `${strip.a}|${strip.b}` === `${a.z}|${b.z}`;
  $('path-status').textContent = `From A (${a.name}, ${fmt(strip.a)}) to B (${b.name}, ${fmt(strip.b)}): ` + (!named
    ? `the ${shownWords().nouns} are named once the mixture is fitted.`
    : `${passes.join(' → ')}; ${gaps.length ? `crosses a gap at ${gapSpans(gaps)} of the way.`
      : 'no gap: every point lies inside some component\u2019s 99% ellipse.'}`);
  report({ strip: { images: strip.images, a: strip.a, b: strip.b, labels: named?.map((l) => l.name) ?? null, gaps,
    centres: Array.from({ length: PATH_STEPS }, (_, i) => layout.centre(i)), size: layout.size, current } });
}

const fmt = (z) => `(${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;

// --- the region --------------------------------------------------------------------------------------

function setRegion(box) {
  explore.region = box;
  explore.regionCells = null;
  dirty.region = dirty.probe = true;
  schedule();
  requestRegion();
}

function requestRegion() {
  const box = explore.region;
  if (!box || !viewReady) return;
  viewer.requestLatest('decode-region', { z: regionPoints(box, REGION_CELLS) }).then((result) => {
    if (!result || box !== explore.region || result.run !== state.run?.id) return;
    explore.regionCells = result.images;
    tally('regions');
    report({ regionAt: performance.now(), decodesAtRegion: hook('decodes') });
    dirty.region = true;
    schedule();
  }, (error) => reportError(error.message));
}

export function drawRegionPanel() {
  const canvas = $('region'), ctx = canvas.getContext('2d');
  const box = explore.region;
  if (!box || !explore.regionCells) {
    drawEmpty(ctx, box ? 'Decoding…' : 'Drag a rectangle on the plane.');
    $('region-status').textContent = box ? `Decoding ${REGION_CELLS} × ${REGION_CELLS} points…`
      : 'Choose “Zoom into a region” and drag a rectangle on the plane.';
    report({ region: null });
    return;
  }
  const grid = digitGridPixels({ images: explore.regionCells, rows: REGION_CELLS, cols: REGION_CELLS, gap: 1, background: 228 });
  ctx.putImageData(new ImageData(grid.data, grid.width, grid.height), 0, 0);
  const spacing = [(box.x[1] - box.x[0]) / REGION_CELLS, (box.y[1] - box.y[0]) / REGION_CELLS];
  const manifold = state.manifold ? [state.manifold.xs, state.manifold.ys].map((v) => (v.at(-1) - v[0]) / (v.length - 1)) : null;
  $('region-status').textContent = `z\u2081 ${box.x[0].toFixed(2)} to ${box.x[1].toFixed(2)}, z\u2082 ${box.y[0].toFixed(2)} to ` +
    `${box.y[1].toFixed(2)}: a decode every ${spacing.map((v) => v.toFixed(3)).join(' by ')}` +
    (manifold ? ` (the manifold's are ${manifold.map((v) => v.toFixed(2)).join(' by ')} apart).` : '.');
  report({ region: { box, cells: explore.regionCells, n: REGION_CELLS, width: grid.width } });
}

// --- the overlay -------------------------------------------------------------------------------------

// The explorer's marks on the plane's overlay, over the probe: the drawn digit's distribution, the
// path, the region (or the one being dragged).
export function drawExploreMarks(ctx) {
  const area = state.area;
  const spread = drawSpread(ctx, { area, mu: state.drawn?.z, sigma: state.drawn?.sigma });
  const path = drawPath(ctx, { area, anchors: explore.anchors, n: PATH_STEPS });
  const dragging = explore.drag?.kind === 'region' ? regionOf(explore.drag.from, explore.drag.to)
    : explore.corner ? regionOf(explore.corner, state.probe ?? explore.corner) : null;
  const region = drawRegion(ctx, { area, box: dragging ?? explore.region, dragging: !!dragging });
  report({ spread, pathMarks: path, regionMarks: region });
}

// --- gestures ----------------------------------------------------------------------------------------

function pixelOf(event) {
  const rect = $('latent').getBoundingClientRect();
  return { px: event.clientX - rect.left, py: event.clientY - rect.top };
}

function latentAt({ px, py }) {
  const a = state.area;
  if (!a || px < a.left || px > a.right || py < a.top || py > a.bottom) return null;
  return [a.invX(px), a.invY(py)];
}

function pick(found) {
  if (!found) {
    $('draw-source').textContent = 'No test image\u2019s code is near that point: choose one of the dots.';
    return;
  }
  report({ picked: found });
  pickTestImage(found.index).catch((error) => reportError(error.message));
}

function onPointerDown(event) {
  if (explore.tool === 'probe' || (event.pointerType === 'mouse' && event.button !== 0)) return;
  const at = pixelOf(event), z = latentAt(at);
  if (!z) return;
  event.preventDefault();
  $('latent').setPointerCapture(event.pointerId);
  if (explore.tool === 'pick') return pick(nearestCode(at.px, at.py, event.pointerType === 'mouse' ? PICK_PX : 2 * PICK_PX));
  if (explore.tool === 'path') {
    const grab = event.pointerType === 'mouse' ? GRAB_PX : 2 * GRAB_PX;   // a fingertip covers more
    const grabbed = explore.anchors.findIndex((p) => p && Math.hypot(state.area.x(p.z[0]) - at.px, state.area.y(p.z[1]) - at.py) <= grab);
    if (grabbed >= 0) { explore.drag = { kind: 'anchor', index: grabbed }; return; }
    const code = nearestCode(at.px, at.py, SNAP_PX);
    placeAnchor(code ? code.z : z, code ? `test image ${code.index}` : 'a point');
    return;
  }
  explore.drag = { kind: 'region', from: z, to: z, start: at };
}

function onPointerMove(event) {
  const drag = explore.drag;
  if (!drag) return;
  const at = pixelOf(event), a = state.area;
  const clamped = latentAt({ px: Math.min(Math.max(at.px, a.left), a.right), py: Math.min(Math.max(at.py, a.top), a.bottom) });
  if (drag.kind === 'anchor') setAnchor(drag.index, clamped, 'a point');
  else { drag.to = clamped; dirty.probe = true; schedule(); }
}

function onPointerUp(event) {
  const drag = explore.drag;
  explore.drag = null;
  if (drag?.kind !== 'region') return;
  if (event.type === 'pointercancel') {   // the gesture was taken away: no region
    dirty.probe = true;
    schedule();
    return;
  }
  const at = pixelOf(event);
  if (Math.abs(at.px - drag.start.px) < MIN_REGION_PX || Math.abs(at.py - drag.start.py) < MIN_REGION_PX) {
    dirty.probe = true;
    schedule();
    return;
  }
  setRegion(regionOf(drag.from, drag.to));
}

// Enter, A, B and Escape on the focused plane (the arrow keys move the probe: probe.js).
function onKey(event) {
  const z = state.probe;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (key === 'Escape' && explore.corner) {
    explore.corner = null;
    dirty.probe = true;
    schedule();
    return;
  }
  if (!z || explore.tool === 'probe' || event.ctrlKey || event.metaKey || event.altKey) return;
  if (explore.tool === 'path' && (key === 'a' || key === 'b')) {
    event.preventDefault();
    setAnchor(key === 'a' ? 0 : 1, z);
    return;
  }
  if (key !== 'Enter' && key !== ' ') return;
  event.preventDefault();
  if (explore.tool === 'pick') return pick(nearestCode(state.area.x(z[0]), state.area.y(z[1])));
  if (explore.tool === 'path') return placeAnchor(z, 'a point');
  if (!explore.corner) {
    explore.corner = z;
    $('region-status').textContent = `One corner at ${fmt(z)}: move with the arrow keys and press Enter at the other.`;
    dirty.probe = true;
    schedule();
    return;
  }
  const box = regionOf(explore.corner, z);
  explore.corner = null;
  if (box.x[1] > box.x[0] && box.y[1] > box.y[0]) setRegion(box);
}

function selectTool(tool) {
  document.querySelector(`input[name="plane-tool"][value="${tool}"]`).checked = true;
  setTool(tool);
}

function setTool(tool) {
  explore.tool = tool;
  explore.corner = null;
  explore.drag = null;
  $('latent').className = `chart square tool-${tool}`;
  $('latent-how').textContent = HOW[tool]();
  report({ tool });
}

// The view worker holds newer parameters: the strip and the region are decoded again. newRun: another
// model is on show, so an anchor is no longer any test image's code, only a point.
export function refreshExplore({ newRun = false } = {}) {
  if (newRun) for (const anchor of explore.anchors) if (anchor && anchor.name.startsWith('test image')) anchor.name = 'a point';
  requestStrip();
  requestRegion();
}

export function initExplore() {
  const latent = $('latent');
  latent.addEventListener('pointerdown', onPointerDown);
  latent.addEventListener('pointermove', onPointerMove);
  for (const type of ['pointerup', 'pointercancel']) latent.addEventListener(type, onPointerUp);
  latent.addEventListener('keydown', onKey);
  for (const radio of document.querySelectorAll('input[name="plane-tool"]')) {
    radio.addEventListener('change', () => { if (radio.checked) setTool(radio.value); });
  }
  $('path-clear').addEventListener('click', clearPath);
  $('draw-anchor').addEventListener('click', () => {
    const drawn = state.drawn;
    if (!drawn) return;
    if (explore.tool !== 'path') selectTool('path');
    placeAnchor(drawn.z, drawn.source === 'test' ? `test image ${drawn.testIndex}` : 'your drawing');
  });
  viewer.ready.then(refreshExplore, () => {});
  setTool(document.querySelector('input[name="plane-tool"]:checked')?.value ?? 'probe');
}
