// EM replayed: the iteration on show (slider, Replay, a snapshot clicked) drives the plane, the
// log-likelihood marker and the responsibilities.
import { $ } from './dom.js';
import { dirty, schedule } from './frames.js';
import { highlightSnap } from './panels.js';
import { showResponsibilities } from './probe.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

let replayTimer = null;

export function setEmIter(t) {
  if (!state.fit) return;
  state.emIter = Math.max(0, Math.min(state.fit.history.length - 1, t));
  report({ emIter: state.emIter });
  $('em-iter').value = String(state.emIter);
  dirty.scatter = dirty.em = true;
  highlightSnap();
  if (state.probe) showResponsibilities();
  schedule();
}

export function stopReplay() {
  clearInterval(replayTimer);
  replayTimer = null;
  $('play').textContent = '▶ Replay';
}

function replay() {
  if (replayTimer) return stopReplay();
  if (!state.fit) return;
  $('play').textContent = '■ Stop';
  setEmIter(0);
  // About four seconds whatever the number of iterations, at least 120 ms per step.
  const steps = state.fit.history.length - 1;
  replayTimer = setInterval(() => {
    if (state.emIter >= steps) return stopReplay();
    setEmIter(state.emIter + 1);
  }, Math.max(120, 4000 / Math.max(steps, 1)));
}

// No mixture to replay (a run starts, a model is loaded, Reset).
export function resetEmControls() {
  $('em-iter').disabled = true;
  $('play').disabled = true;
  $('em-iter-out').textContent = '–';
  $('latent-sub').textContent = 'held-out test images, coloured by digit';
}

// A fitted mixture's history: the slider spans it, on its last iteration; Replay when there is one to replay.
export function showEmHistory(history) {
  state.emIter = history.length - 1;
  report({ emIter: state.emIter, emIterations: history.length - 1 });
  const slider = $('em-iter');
  slider.max = String(history.length - 1);
  slider.value = String(state.emIter);
  // A loaded mixture has no EM history to replay: only its parameters (and its log-likelihood trace).
  slider.disabled = history.length < 2;
  $('play').disabled = history.length < 2;
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
