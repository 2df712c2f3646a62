// The trainer worker's built-in datasets (datasets.js: MNIST's digits, Fashion-MNIST): a set's four
// gzipped IDX files under its folder of the site (data/, data/fashion/), fetched with progress reported
// to the page, then read by the C parsers in the worker's wasm module, as a user's files are read.
// -> { train, test }, each { images, labels, n }. Caching each set is the caller's (trainer.js).
import { parseDataFiles } from '../lib/data/data-files.js';
import { checkDataset, DATASET_FILES } from '../lib/data/datasets.js';
import { SITE } from './model-files.js';

// Reads a response's body, counting bytes as they arrive.
async function readCounting(response, name, onBytes) {
  if (!response.ok) throw new Error(`could not load ${name}: HTTP ${response.status}`);
  const chunks = [];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.length);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

// post: the worker's message to the page ('data-progress' while loading, 'data-ready' at the end),
// each naming the dataset, so the page can show two downloads at once. total: the files' sizes as the
// server gives them (the bytes fetched, gzipped, not the images unpacked).
export async function downloadBuiltin(lab, dataset, post) {
  const { dir } = checkDataset(dataset);
  const names = [...DATASET_FILES.train, ...DATASET_FILES.test];
  const responses = await Promise.all(names.map((name) => fetch(new URL(`${dir}/${name}`, SITE))));
  const total = responses.reduce((sum, r) => sum + Number(r.headers.get('content-length') || 0), 0);
  let loaded = 0, lastPost = 0;
  const onBytes = (n) => {
    loaded += n;
    const now = performance.now();
    if (now - lastPost > 100) { lastPost = now; post({ type: 'data-progress', dataset, loaded, total }); }
  };
  const bytes = await Promise.all(responses.map((r, i) => readCounting(r, `${dir}/${names[i]}`, onBytes)));
  post({ type: 'data-progress', dataset, loaded, total: Math.max(total, loaded), unpacking: true });
  const set = async (i, j) => {
    const { images, labels, n } = await parseDataFiles(lab, [{ name: names[i], bytes: bytes[i] }, { name: names[j], bytes: bytes[j] }]);
    return { images, labels, n };
  };
  const data = { train: await set(0, 1), test: await set(2, 3) };
  post({ type: 'data-ready', dataset, train: data.train.n, test: data.test.n });
  return data;
}
