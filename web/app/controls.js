// The buttons and fields the run's phase enables, and the phase itself as the trainer worker reports it
// ('phase' messages): the worker owns the phase, the page only shows it.
import { $ } from './dom.js';
import { dirty, schedule } from './frames.js';
import { state } from './state.js';
import { report, reportOnce } from './test-hooks.js';

const ENDED = ['trained', 'fitted', 'idle'];   // a run's training is over

export function followPhase(trainer) {
  trainer.on('phase', ({ phase }) => {
    const was = state.phase;
    state.phase = phase;
    state.trainAsked = false;
    report({ phase });
    if (ENDED.includes(phase)) reportOnce('trainEndedAt', performance.now());
    if ((was === 'idle') !== (phase === 'idle')) dirty.scatter = true;   // the empty plane's words depend on it
    renderControls();
  });
}

// Enables what the phase allows (and what the settings' checks and the run on show allow).
export function renderControls() {
  const { phase, settingsValid } = state;
  // Train pressed and not yet answered counts as running: no double click, no Load in between.
  const running = phase === 'training' || phase === 'paused' || phase === 'waiting-for-data' || state.trainAsked;
  const busy = running || phase === 'fitting';
  // Without the trainer's WebAssembly nothing trains or loads: the build chip and Train's title say why.
  const broken = !!state.wasmFailed;
  $('train').disabled = busy || !settingsValid || broken;
  $('train').title = broken ? `WebAssembly failed: ${state.wasmFailed}` : settingsValid ? '' : 'fix the settings marked in red first';
  $('pause').disabled = !(phase === 'training' || phase === 'paused');
  $('pause').textContent = phase === 'paused' ? 'Resume' : 'Pause';
  $('reset').disabled = phase === 'idle';
  $('fit').disabled = !state.run || phase === 'fitting' || phase === 'waiting-for-data' || phase === 'evaluating';
  // A model saves once it has trained a batch or was loaded; loading waits while a run trains.
  $('save').disabled = !state.run || !(state.loaded || state.progress) || phase === 'fitting' || phase === 'waiting-for-data';
  $('save-mixture').disabled = !state.fit;
  $('load-file').disabled = busy || broken;
  $('load-button').classList.toggle('disabled', $('load-file').disabled);
  // Each pretrained model the site has is offered while it is not the one on show.
  for (const button of document.querySelectorAll('button.load-pretrained')) {
    button.disabled = busy || broken;
    button.hidden = !!state.loaded?.pretrained && state.loaded.name === `${button.dataset.model}.safetensors`;
  }
  $('data-file').disabled = busy || broken;
  $('data-button').classList.toggle('disabled', $('data-file').disabled);
  $('use-builtin').disabled = busy || !state.data;
  $('fit').textContent = phase === 'fitting' ? 'Fitting…' : state.fit ? 'Refit mixture' : 'Fit mixture';
  for (const el of document.querySelectorAll('#settings input, #settings select, #dataset')) el.disabled = busy;
  dirty.progress = true;
  schedule();
}
