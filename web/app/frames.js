// The frame scheduler: panels marked dirty are redrawn in animation frames, a few milliseconds of drawing
// per frame at most (the rest waits for the next frame), so no task on this thread comes near 50 ms;
// and canvases sized to their CSS boxes. The panels themselves are in panels.js.
import { state } from './state.js';
import { report } from './test-hooks.js';

const FRAME_BUDGET_MS = 6;        // drawing per animation frame; what is left waits for the next frame
const THROTTLE_MS = { loss: 500, progress: 250 };   // redrawn at most this often while training

let panels = [];                  // [key, draw function], in order of urgency (panels.js)
export const dirty = {};
const redrawAllHooks = [];
let frame = 0;
const drawnAt = {};
let throttleTimer = 0;

export function setPanels(list) {
  panels = list;
}

// fn runs whenever every panel is marked dirty (a panel drawn in pieces starts over).
export function onRedrawAll(fn) {
  redrawAllHooks.push(fn);
}

export function markAllDirty() {
  for (const fn of redrawAllHooks) fn();
  for (const [key] of panels) dirty[key] = true;
  schedule();
}

export function schedule() {
  if (!frame) frame = requestAnimationFrame(draw);
}

// The pointer's panels first; the loss and the progress at most every THROTTLE_MS while training;
// each panel is one bounded piece of drawing, and the frame stops after FRAME_BUDGET_MS.
function draw() {
  frame = 0;
  const start = performance.now();
  let wait = Infinity;
  for (const [key, fn] of panels) {
    if (!dirty[key]) continue;
    const since = start - (drawnAt[key] ?? -Infinity);
    if (state.phase === 'training' && THROTTLE_MS[key] && since < THROTTLE_MS[key]) {
      wait = Math.min(wait, THROTTLE_MS[key] - since);
      continue;
    }
    if (performance.now() - start > FRAME_BUDGET_MS) break;
    dirty[key] = false;
    drawnAt[key] = performance.now();
    fn();
  }
  if (panels.some(([key]) => dirty[key] && !(THROTTLE_MS[key] && state.phase === 'training' &&
      start - (drawnAt[key] ?? -Infinity) < THROTTLE_MS[key]))) schedule();
  report({ panelsPending: panels.filter(([key]) => dirty[key]).length });
  if (wait < Infinity && !throttleTimer) throttleTimer = setTimeout(() => { throttleTimer = 0; schedule(); }, wait);
}

// CSS sizes of the canvases, kept by a ResizeObserver: reading them never forces a layout.
const canvasSizes = new WeakMap();
const sizeObserver = new ResizeObserver((entries) => {
  for (const e of entries) canvasSizes.set(e.target, { width: e.contentRect.width, height: e.contentRect.height });
  markAllDirty();
});

// Sizes a canvas's backing store to its CSS box at the device's pixel ratio; returns a context
// drawing in CSS pixels and that size.
export function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  if (!canvasSizes.has(canvas)) {
    const rect = canvas.getBoundingClientRect();
    canvasSizes.set(canvas, { width: rect.width, height: rect.height });
    sizeObserver.observe(canvas);
  }
  const rect = canvasSizes.get(canvas);
  const w = Math.max(1, Math.round(rect.width)), h = Math.max(1, Math.round(rect.height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width: w, height: h };
}

// Every panel redrawn when the layout changes size; the sized canvases measured once now.
export function watchLayout() {
  new ResizeObserver(() => markAllDirty()).observe(document.querySelector('.layout'));
  for (const canvas of document.querySelectorAll('canvas.chart, #probe')) prepare(canvas);
}
