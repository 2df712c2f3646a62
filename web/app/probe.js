// The probe: a point of the plane chosen by hover, touch, the arrow keys or a click on the manifold,
// decoded by the view worker (only the newest point) and drawn at once, with the mixture's answer there.
import { drawDigit, drawEmpty } from '../draw/digits.js';
import { EMPTY_VIEW } from '../draw/scatter.js';
import { answerInWords, classBars, mixtureAnswer, mutedItem, renderBars } from './bars.js';
import { $, pointWord, reportError } from './dom.js';
import { dirty, schedule } from './frames.js';
import { state } from './state.js';
import { hook, record, report, reportOnce, tally } from './test-hooks.js';
import { viewer, viewReady } from './workers.js';

function pointerToLatent(event) {
  const area = state.area;
  if (!area) return null;
  const rect = $('latent').getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  if (px < area.left || px > area.right || py < area.top || py > area.bottom) return null;
  return [area.invX(px), area.invY(py)];
}

// at: when the user asked (the pointer event's timeStamp), for the hover latency.
function setProbe(z, at = performance.now()) {
  state.probe = z;
  state.probeAt = at;
  tally('probeSeq');
  dirty.probe = true;
  schedule();
  if (!z) return;
  requestDecode();
  showResponsibilities();
}

// Only the newest pointer position is decoded; superseded requests resolve to null.
// The digit is drawn as soon as it arrives (a 196 x 196 putImageData), not at the next frame.
export function requestDecode() {
  if (!viewReady) return;
  const z = state.probe, seq = hook('probeSeq'), at = state.probeAt;
  viewer.requestLatest('decode', { z }).then((result) => {
    if (!result) return;
    state.decoded = result.images;
    drawDecoded();
    record('hoverMs', performance.now() - at);
    let ink = 0;
    for (const v of result.images) ink += v;
    tally('decodes');
    report({ decodedSeq: seq, decodedInk: ink / result.images.length / 255, decodedRun: result.run, decodedAt: performance.now() });
    if (hook('loaded') && result.run === hook('loaded').run) reportOnce('firstLoadedDecodeAt', performance.now());
  }, (error) => reportError(error.message));
}

export function drawDecoded() {
  const ctx = $('decoded').getContext('2d');
  if (state.decoded) drawDigit(ctx, { pixels: state.decoded });
  else drawEmpty(ctx, `${pointWord} the plane`);
}

// The probe's point and the mixture's answer there, in words (a polite live region says it to a screen
// reader), and as bars summed per digit: with several components per digit, what a user asks is
// "which digit is this?".
// With no mixture (none fitted yet, or a run reset) the bars say so instead of an old model's answer.
export function showResponsibilities() {
  const z = state.probe;
  if (!z) return;
  const where = `z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
  if (!state.mixture) {
    $('probe-z').textContent = `${where}: the mixture's answer comes once it is fitted`;
    $('resp').replaceChildren(mutedItem('after the mixture is fitted'));
    return;
  }
  const answer = mixtureAnswer(state.mixture, z);
  $('probe-z').textContent = `${where}: ${answerInWords(answer)}`;
  renderBars($('resp'), classBars(answer.byClass));
}

function onKey(event) {
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  const step = steps[event.key];
  if (!step) return;
  event.preventDefault();
  const view = state.view ?? EMPTY_VIEW;   // the plane as drawn before there are codes
  const sx = (view.x[1] - view.x[0]) * (event.shiftKey ? 0.1 : 0.02);
  const sy = (view.y[1] - view.y[0]) * (event.shiftKey ? 0.1 : 0.02);
  const z = state.probe ?? [(view.x[0] + view.x[1]) / 2, (view.y[0] + view.y[1]) / 2];
  const clamp = (v, [lo, hi]) => Math.max(lo, Math.min(hi, v));
  setProbe([clamp(z[0] + step[0] * sx, view.x), clamp(z[1] + step[1] * sy, view.y)]);
}

export function initProbe() {
  viewer.ready.then(() => { if (state.probe) requestDecode(); }, () => {});
  const latent = $('latent');
  latent.addEventListener('pointermove', (event) => { const z = pointerToLatent(event); if (z) setProbe(z, event.timeStamp); });
  latent.addEventListener('pointerdown', (event) => {
    const z = pointerToLatent(event);
    if (z) setProbe(z, event.timeStamp);
    if (event.pointerType !== 'mouse') latent.setPointerCapture(event.pointerId);
  });
  latent.addEventListener('keydown', onKey);
  // A digit of the manifold clicked: the probe goes to its point.
  $('manifold').addEventListener('click', (event) => {
    const m = state.manifold;
    if (!m) return;
    const rect = event.currentTarget.getBoundingClientRect();
    const c = Math.min(m.size - 1, Math.floor((event.clientX - rect.left) / rect.width * m.size));
    const r = Math.min(m.size - 1, Math.floor((event.clientY - rect.top) / rect.height * m.size));
    setProbe([m.xs[c], m.ys[m.size - 1 - r]]);
    latent.focus({ preventScroll: true });
  });
}
