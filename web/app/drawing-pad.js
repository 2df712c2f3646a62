// The drawing pad: a digit drawn with a mouse, pen or finger, centred as MNIST's digits were, encoded by
// the view worker as it is drawn (its code marked on the plane, its reconstruction shown), and the
// mixture's answer for it.
import { mnistCentre } from '../lib/data/drawn-digit.js';
import { digitColor } from '../draw/common.js';
import { drawDigit, drawDigitGrid, drawEmpty } from '../draw/digits.js';
import { answerInWords, classBars, mixtureAnswer, mutedItem, renderBars } from './bars.js';
import { listed, nameOf, nounOf, plural, shortNameOf, shownDataset, shownWords } from './classes.js';
import { $, reportError } from './dom.js';
import { dirty, schedule } from './frames.js';
import { state } from './state.js';
import { report, tally } from './test-hooks.js';
import { viewer, viewReady } from './workers.js';

const DRAW_EVERY_MS = 60;         // a drawn digit is encoded at most this often while the pen moves

// The pen's state. generation counts clears, so an answer for a cleared drawing is dropped. picked: the
// test image put on the pad ({ index, run }) until the pen touches it.
const drawing = { active: false, last: null, inked: false, timer: 0, sentAt: -Infinity, generation: 0, picked: null };
let drawCanvas = null;
let drawContext = null;

// Something is drawn (to encode again when the model changes).
export const drawingInked = () => drawing.inked;

function penPosition(event) {
  const rect = drawCanvas.getBoundingClientRect();
  return { x: (event.clientX - rect.left) * drawCanvas.width / rect.width, y: (event.clientY - rect.top) * drawCanvas.height / rect.height };
}

// A stroke about 2 MNIST pixels wide once a digit-sized drawing is scaled into its 20-pixel box.
function penTo(points) {
  const ctx = drawContext;
  ctx.lineWidth = 16;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#111';
  ctx.beginPath();
  ctx.moveTo(drawing.last.x, drawing.last.y);
  for (const p of points) ctx.lineTo(p.x, p.y);
  if (points.length === 0) ctx.lineTo(drawing.last.x + 0.01, drawing.last.y);   // a dot
  ctx.stroke();
  if (points.length) drawing.last = points.at(-1);
  drawing.inked = true;
  drawing.picked = null;   // the pen drew on it: from now on it is a drawing
  scheduleDrawEncode();
}

function scheduleDrawEncode() {
  if (drawing.timer) return;
  const wait = Math.max(0, DRAW_EVERY_MS - (performance.now() - drawing.sentAt));
  drawing.timer = setTimeout(() => { drawing.timer = 0; encodeDrawing(); }, wait);
}

// Centres the drawing as MNIST's digits were and asks the view worker for its code and
// reconstruction; only the newest drawing is encoded (requestLatest drops the ones it replaces).
export function encodeDrawing() {
  if (!viewReady) return;
  if (drawing.picked) return encodePicked();
  drawing.sentAt = performance.now();
  const { width, height } = drawCanvas;
  const { data } = drawContext.getImageData(0, 0, width, height);
  const alpha = new Uint8ClampedArray(width * height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = data[4 * i + 3];
  const image = mnistCentre(alpha, width, height);
  if (!image) return clearDrawn();
  const generation = drawing.generation;
  viewer.requestLatest('encode-drawing', { image }).then((result) => {
    if (!result || generation !== drawing.generation) return;
    showEncoded(result, { source: 'drawing' });
  }, (error) => reportError(error.message));
}

// An encoded image on show: its distribution (mean, sigma), what the model saw (deskewed by the view
// worker if the model was trained so), its reconstruction and samples.
function showEncoded(result, { source, testIndex = null }) {
  state.drawn = { z: [result.mu[0], result.mu[1]], sigma: [Math.exp(0.5 * result.logvar[0]), Math.exp(0.5 * result.logvar[1])],
    input: result.input, recon: result.recon, samples: result.samples, sampleZ: result.sampleZ, source, testIndex };
  tally('drawSeq');
  dirty.probe = dirty.drawn = true;
  schedule();
  showDrawnResponsibilities();
}

// Test image `index` of the run on show, put on the pad (faint, so a pen can write over it) and
// encoded as the model saw it.
export async function pickTestImage(index) {
  clearDrawing();
  drawing.picked = { index, run: state.run?.id };
  await encodePicked();
}

async function encodePicked() {
  const { index, run } = drawing.picked, generation = drawing.generation;
  if (run !== state.run?.id) return clearDrawing();   // a test image of a run no longer on show
  let result;
  try {
    result = await viewer.requestLatest('encode-test', { index, run });
  } catch {
    // The view worker no longer holds this run's test images (a restarted trainer does not send them).
    clearDrawing();
    $('draw-source').textContent = 'That test image is no longer at hand: pick it again once the codes are back.';
    return;
  }
  if (!result || generation !== drawing.generation) return;
  paintOnPad(result.input);
  showEncoded(result, { source: 'test', testIndex: index });
}

// 28 x 28 bytes drawn on the pad as ink (its alpha), each pixel a block.
function paintOnPad(pixels) {
  const { width, height } = drawCanvas;
  const image = drawContext.createImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixels[Math.floor(y * 28 / height) * 28 + Math.floor(x * 28 / width)];
      const o = 4 * (y * width + x);
      image.data[o] = image.data[o + 1] = image.data[o + 2] = 17;
      image.data[o + 3] = v;
    }
  }
  drawContext.putImageData(image, 0, 0);
  drawing.inked = true;
}

function clearDrawn() {
  state.drawn = null;
  dirty.probe = dirty.drawn = true;
  schedule();
  showDrawnResponsibilities();
}

function clearDrawing() {
  drawContext.clearRect(0, 0, drawCanvas.width, drawCanvas.height);
  drawing.inked = false;
  drawing.picked = null;
  drawing.generation++;
  clearTimeout(drawing.timer);
  drawing.timer = 0;
  clearDrawn();
}

// The 'drawn' panel: the drawing as the model saw it, its reconstruction, samples of its code, and
// where it came from.
export function drawDrawnPanels() {
  const drawn = state.drawn;
  for (const [id, pixels] of [['draw-input', drawn?.input], ['draw-recon', drawn?.recon]]) {
    const ctx = $(id).getContext('2d');
    if (pixels) drawDigit(ctx, { pixels });
    else drawEmpty(ctx, '');
  }
  const samples = $('draw-samples').getContext('2d');
  if (drawn?.samples) drawDigitGrid(samples, { images: drawn.samples, rows: 2, cols: 3, scale: 2, gap: 14 });
  else drawEmpty(samples, '');
  $('draw-anchor').disabled = !drawn;
  $('draw-source').textContent = drawn?.source === 'test'
    ? `Test image ${drawn.testIndex}, as the model saw it; draw on it to change it. Marked ◆ on the plane.`
    : `Centred as MNIST\u2019s digits were${shownDataset() === 'fashion' ? ' (Fashion-MNIST\u2019s pictures fill more of the frame)' : ''}, ` +
      'encoded as you draw, marked ◆ on the plane.';
}

// What the model on show knows, said above the pad in its dataset's words ("digits", "classes"):
// whatever is drawn, the mixture answers with one of these classes, so a drawing of anything else is
// forced into one of them.
function showKnownClasses() {
  const classes = state.mixture?.classes ?? state.run?.classes;
  const unlabelled = state.run?.unlabelled;
  const nouns = plural(nounOf(shownDataset()));
  $('draw-knows').textContent = !classes?.length ? 'Train or load a model: then it says what it makes of your drawing.'
    : unlabelled ? `This model's mixture has ${classes.length} clusters and no labels: a drawing is put in one of them.`
    : `This model knows ${listed(classes.map((c) => nameOf(c)))}: other ${nouns} are forced into one of them.`;
}

// The drawn digit's code, and the mixture's answer there: in words (a polite live region), per digit,
// and per component (the largest few, the rest summed). A drawing outside every component's 99%
// ellipse is said to be unlike anything the model was trained on.
export function showDrawnResponsibilities() {
  const z = state.drawn?.z, mixture = state.mixture;
  showKnownClasses();
  const where = z ? `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})` : '';
  if (!z || !mixture) {
    $('draw-z').textContent = z ? `${where}: the mixture's answer comes once it is fitted` : 'nothing drawn yet';
    $('draw-resp').replaceChildren(mutedItem(z ? 'after the mixture is fitted' : `draw ${shownWords().thing} above`));
    $('draw-comp').replaceChildren();
    $('draw-col').classList.remove('unlike');
    report({ drawn: z ? { z, respSum: null, classSum: null } : null });
    return;
  }
  const answer = mixtureAnswer(mixture, z);
  const { perComponent, byClass, unlike } = answer;
  $('draw-z').textContent = `${where}: ${answerInWords(answer)}`;
  $('draw-col').classList.toggle('unlike', unlike);
  renderBars($('draw-resp'), classBars(byClass));
  const order = [...perComponent.keys()].sort((a, b) => perComponent[b] - perComponent[a]);
  const shown = order.slice(0, 4);
  const rest = order.slice(4).reduce((sum, j) => sum + perComponent[j], 0);
  const labelOf = (j) => mixture.classes[mixture.componentClass[j] ?? j];
  renderBars($('draw-comp'), [
    ...shown.map((j) => ({ p: perComponent[j], color: digitColor(labelOf(j)), name: `#${j + 1} → ${shortNameOf(labelOf(j))}`,
      title: `component ${j + 1}, which predicts ${nameOf(labelOf(j))}` })),
    ...(order.length > 4 ? [{ p: rest, color: '#9aa5b1', name: 'the rest', title: `the other ${order.length - 4} components` }] : []),
  ]);
  report({ drawn: { z, k: perComponent.length, respSum: perComponent.reduce((a, b) => a + b, 0), unlike,
    classSum: byClass.reduce((a, b) => a + b.p, 0), byClass: byClass.map((c) => c.p) } });
}

// Mouse, pen or finger (the canvas takes no touch scrolling: touch-action none).
export function initDrawingPad() {
  drawCanvas = $('draw');
  drawContext = drawCanvas.getContext('2d', { willReadFrequently: true });
  viewer.ready.then(() => { if (drawing.inked) encodeDrawing(); }, () => {});
  drawCanvas.addEventListener('pointerdown', (event) => {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    event.preventDefault();
    drawCanvas.setPointerCapture(event.pointerId);
    drawing.active = true;
    drawing.last = penPosition(event);
    penTo([]);
  });
  drawCanvas.addEventListener('pointermove', (event) => {
    if (!drawing.active) return;
    const events = event.getCoalescedEvents?.() ?? [];
    penTo((events.length ? events : [event]).map(penPosition));
  });
  for (const type of ['pointerup', 'pointercancel']) {
    drawCanvas.addEventListener(type, () => {
      if (!drawing.active) return;
      drawing.active = false;
      clearTimeout(drawing.timer);
      drawing.timer = 0;
      encodeDrawing();   // the finished stroke, at once
    });
  }
  $('draw-clear').addEventListener('click', clearDrawing);
}
