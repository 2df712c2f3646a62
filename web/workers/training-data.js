// The trainer worker's data: the built-in datasets (each fetched once, with progress), a user's own
// files read by the C parsers, the split a run trains on, and the sample of test images the live
// scatter shows. Not the runs themselves (trainer.js).
import { LabError } from '../lib/latent-lab.js';
import { parseDataFiles } from '../lib/data/data-files.js';
import { checkDataset } from '../lib/data/datasets.js';
import { subset } from '../lib/data/split.js';
import { resolveOptions } from '../lib/run/options.js';
import { makeSplit } from '../lib/run/pipeline.js';
import { downloadBuiltin } from './builtin-download.js';
import { worker } from './common.js';
import { bytesOf } from './model-files.js';

const SCATTER_IMAGES = 600;      // held-out images in the live scatter (their codes are recomputed often)

const post = (message, transfer) => worker.post(message, transfer);

// builtins: each built-in dataset asked for (a promise each); user: a dataset the page loaded ({ set,
// name, format, labelled, classes }), trained on instead of a built-in one until the page says otherwise.
export const data = { builtins: new Map(), user: null };

// A built-in dataset's sets, fetched once per dataset; a failed download is forgotten, so the next
// Train (or Load) tries again.
export function loadBuiltin(dataset = 'mnist') {
  const { title } = checkDataset(dataset);
  if (!data.builtins.has(dataset)) {
    const loading = downloadBuiltin(worker.lab, dataset, post);
    data.builtins.set(dataset, loading);
    loading.catch((error) => {
      data.builtins.delete(dataset);
      post({ type: 'error', message: `loading ${title}: ${error.message}` });
    });
  }
  return data.builtins.get(dataset);
}

// The split a run trains on and its options as they apply (makeSplit): the user's dataset, or the
// classes of the built-in dataset the options name.
export async function splitFor(options) {
  if (data.user) return makeSplit(options, { data: { train: data.user.set } });
  return makeSplit(options, { builtin: await loadBuiltin(options.dataset) });
}

// An even share of each class's test images, in test-set order (unlabelled: the first ones, all class 0).
// index: each one's place in the test set (a code picked on the live scatter is that test image).
export function scatterSample(test, classes) {
  if (!test.labels) {
    const index = Int32Array.from({ length: Math.min(test.n, SCATTER_IMAGES) }, (_, i) => i);
    return { ...subset(test, index), labels: new Uint8Array(index.length), index };
  }
  const per = Math.ceil(SCATTER_IMAGES / classes.length);
  const counts = new Map(classes.map((c) => [c, 0]));
  const chosen = [];
  for (let i = 0; i < test.n; i++) {
    const label = test.labels[i];
    if (counts.get(label) < per) { counts.set(label, counts.get(label) + 1); chosen.push(i); }
  }
  return { ...subset(test, chosen), index: Int32Array.from(chosen) };
}

// What the page shows of the user's dataset (null: a built-in one is used).
export const userSummary = () => {
  const d = data.user;
  return d && { name: d.name, n: d.set.n, format: d.format, gzipped: d.gzipped, labelled: d.labelled, classes: d.classes };
};

// A user's data files ([{ name, file: File | Blob | bytes }]), parsed by the C readers with every
// check, and split as a run would split them (so a set too small for the few-shot split is refused
// now, not at Train). On success the next Train uses them; a refused file throws a LabError naming
// it, and the data already chosen stays. maxBytes: a lower cap on any one array unpacked (0: C's default).
export async function loadUserData({ files, maxBytes = 0, options = {} }) {
  if (!Array.isArray(files) || files.length === 0) throw new LabError('no file was given');
  const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await bytesOf(f.file, f.name) })));
  const set = await parseDataFiles(worker.lab, named, { maxBytes });
  // The seed picks the held-out images; one the settings do not give yet is the default's.
  const o = resolveOptions({ seed: Number.isSafeInteger(options.seed) && options.seed >= 0 ? options.seed : undefined });
  try {
    makeSplit(o, { data: { train: set } });
  } catch (error) {
    throw new LabError(`${set.name}: ${error.message}`);
  }
  const classes = set.labels ? [...new Set(set.labels)].sort((a, b) => a - b) : null;
  data.user = { set: { images: set.images, labels: set.labels, n: set.n }, name: set.name, format: set.format,
    gzipped: set.gzipped, labelled: !!set.labels, classes };
  return userSummary();
}
