// EM replayed: the iteration on show (slider, Replay, a snapshot clicked) drives the plane, the
// log-likelihood marker and the responsibilities.
import { shownWords } from './classes.js';
import { $ } from './dom.js';
import { dirty, schedule } from './frames.js';
import { highlightSnap } from './panels.js';
import { showResponsibilities } from './probe.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

let replayTimer = null;

function setEmIter(t) {
  if (!state.fit) return;
  state.emIter = Math.max(0, Math.min(state.fit.history.length - 1, t));
  report({ emIter: state.emIter });
  $('em-iter').value = String(state.emIter);
  dirty.scatter = dirty.em = true;
  highlightSnap();
  if (state.probe) showResponsibilities();
  schedule();
}

// The button's text is its accessible name: it says what pressing it does now.
function playLabel(playing) {
  const glyph = document.createElement('span');
  glyph.setAttribute('aria-hidden', 'true');
  glyph.textContent = playing ? '■' : '▶';
  $('play').replaceChildren(glyph, playing ? ' Stop replay' : ' Replay EM');
}

export function stopReplay() {
  clearInterval(replayTimer);
  replayTimer = null;
  playLabel(false);
}

function replay() {
  if (replayTimer) return stopReplay();
  if (!state.fit) return;
  playLabel(true);
  setEmIter(0);
  // About four seconds whatever the number of iterations, at least 120 ms per step.
  const steps = state.fit.history.length - 1;
  replayTimer = setInterval(() => {
    if (state.emIter >= steps) return stopReplay();
    setEmIter(state.emIter + 1);
  }, Math.max(120, 4000 / Math.max(steps, 1)));
}

// The EM controls: enabled only with a history to replay, and a sentence saying why not otherwise.
function enableReplay(enabled, why) {
  $('em-iter').disabled = !enabled;
  $('play').disabled = !enabled;
  $('em-controls').classList.toggle('off', !enabled);
  $('em-status').textContent = why;
}

// No mixture to replay (a run starts, a model is loaded, Reset). measuring: a loaded model whose
// mixture comes with the measurement.
export function resetEmControls({ measuring = false } = {}) {
  enableReplay(false, measuring ? 'Replay comes once the loaded model is measured (see the progress under Train).'
    : 'EM is replayed here once a mixture is fitted: after training, or with “Fit mixture”.');
  $('em-iter-out').textContent = '–';
  $('latent-sub').textContent = `held-out test images, coloured by ${shownWords().noun}`;
}

// A fitted mixture's history: the slider spans it, on its last iteration; Replay when there is one to
// replay (a mixture file saved without its history has only its parameters and log-likelihood trace).
export function showEmHistory(history) {
  state.emIter = history.length - 1;
  report({ emIter: state.emIter, emIterations: history.length - 1 });
  const slider = $('em-iter');
  slider.max = String(history.length - 1);
  slider.value = String(state.emIter);
  enableReplay(history.length >= 2, history.length >= 2
    ? `EM ran ${history.length - 1} iteration${history.length === 2 ? '' : 's'}: press Replay EM, or drag the slider, to watch the ellipses move.`
    : 'This mixture was saved without its EM history: “Refit mixture” runs EM again, and then it can be replayed.');
}

export function initEmReplay() {
  $('play').addEventListener('click', replay);
  $('em-iter').addEventListener('input', (event) => { stopReplay(); setEmIter(Number(event.target.value)); });
  for (const canvas of document.querySelectorAll('.snap-canvas')) {
    const pick = () => { if (state.fit) { stopReplay(); setEmIter(Number(canvas.dataset.iter)); } };
    canvas.addEventListener('click', pick);
    canvas.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); pick(); } });
  }
}
