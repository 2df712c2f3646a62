// Files the user keeps: a Blob started as a download, named after the model on show.
import { hasAllClasses } from '../lib/data/datasets.js';
import { state } from './state.js';
import { tally } from './test-hooks.js';

// Starts a download of a Blob under a file name.
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  tally('downloads');
}

// The model on show, for file names: "pretrained-148", "digits148-seed3-2ep", "fashion-seed3-1ep" (all
// ten classes of Fashion-MNIST), "fashion158-seed3-1ep", "untrained".
export function modelTag() {
  if (state.loaded) return state.loaded.name.replace(/\.safetensors$/i, '').replace(/[^\w.-]+/g, '_');
  if (!state.run || !state.trainedWith) return 'untrained';
  const { dataset, classes } = state.run;
  const what = !dataset || dataset === 'mnist' ? `digits${classes.join('')}`
    : `${dataset}${hasAllClasses(dataset, classes) ? '' : classes.join('')}`;
  return `${what}-seed${state.trainedWith.seed}-${state.losses?.epochs.length ?? 0}ep`;
}
