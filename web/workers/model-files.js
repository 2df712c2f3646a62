// The trainer worker's models from files: the bytes of what the page passed, a model file and its
// mixture checked whole (into new objects, so a bad file replaces nothing), and a run's mixture as
// its JSON document. Reading and writing the formats themselves is web/lib/model-io.js's.
import { asBytes, LabError, LATENT } from '../lib/latent-lab.js';
import { allClasses, checkDataset } from '../lib/data/datasets.js';
import { parseDigits } from '../lib/data/split.js';
import { mixtureFromJSON, mixtureToJSON, modelFromFile, parseModelMetadata, readSafetensorsMetadata } from '../lib/model-io.js';
import { MIXTURES } from '../lib/run/mixture.js';
import { metadataVariant, optionsFromMetadata } from '../lib/run/options.js';

// The site's root: a { url } from the page names a file of the site.
export const SITE = new URL('../', import.meta.url);

// The bytes of a File or Blob the page passed (read here, off the page's thread), or of a URL of the site.
export async function bytesOf(source, name) {
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  if (typeof source?.url === 'string') {
    const response = await fetch(new URL(source.url, SITE));
    if (!response.ok) throw new LabError(`could not load ${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  return asBytes(source, name);
}

// Reads the file's metadata (strictly), makes a model with the file's seed (the seed picks the noise of
// the test loss, so a reloaded model measures as it did) and reads the tensors into it (all or
// nothing, in C), then the mixture (its own file first, else the metadata's), and checks they fit
// together. Returns what it made, or throws a LabError naming the file and what is wrong, having
// freed whatever it made.
export function checkModelFile(lab, bytes, mixtureText, { name, mixtureName, fallbackDigits, fallbackDataset = 'mnist', mixtureVariant }) {
  const named = (what, fn) => {
    try { return fn(); } catch (error) { throw new LabError(`${what}: ${error.message}`); }
  };
  const metadata = named(name, () => readSafetensorsMetadata(lab, bytes));
  const info = named(name, () => parseModelMetadata(metadata));
  // A file without digits (one saved from PyTorch, say) is taken to be for the page's dataset and digits;
  // one that names its dataset but not its classes, for all of that dataset's classes.
  const dataset = info.digits || info.dataset ? undefined : named('the dataset chosen on the page', () => checkDataset(fallbackDataset) && fallbackDataset);
  const digits = info.digits ?? (info.dataset ? allClasses(info.dataset)
    : named('the digits chosen on the page', () => parseDigits(fallbackDigits)));
  // The recipe the file records (as make train --load reads it), for its digits and its image limit.
  // For a refit: the variant the file names (if this lab knows it), else the page's choice.
  const pageVariant = metadataVariant(metadata) || !Object.hasOwn(MIXTURES, mixtureVariant ?? '') ? undefined : mixtureVariant;
  const options = named(name, () => optionsFromMetadata(metadata, { dataset, digits, limit: info.limit ?? undefined, mixture: pageVariant }));
  const { model } = named(name, () => modelFromFile(lab, bytes, options));   // the test loss in the file's KL convention
  let mixture = null;
  try {
    const text = mixtureText ?? info.mixture;
    if (!text) return { model, metadata, info, digits, options, mixture: null, loglik: null, history: null, mixtureFrom: null };
    const where = mixtureText ? mixtureName : `${name} (its mixture)`;
    const parsed = named(where, () => mixtureFromJSON(lab, text));
    mixture = parsed.mixture;
    const { loglik, classLabels, history } = parsed;
    if (classLabels && classLabels.join(',') !== digits.join(',')) {
      throw new LabError(`${where}: it is for classes ${classLabels.join(', ')}, the model for ${digits.join(', ')}`);
    }
    const top = Math.max(...mixture.componentClasses);
    if (top >= digits.length) throw new LabError(`${where}: a component predicts class ${top}, the model has ${digits.length} classes`);
    if (mixture.d !== LATENT) throw new LabError(`${where}: it is ${mixture.d}-dimensional, the latent space ${LATENT}`);
    return { model, metadata, info, digits, options, mixture, loglik, history, mixtureFrom: mixtureText ? 'file' : 'metadata' };
  } catch (error) {
    model.free();
    mixture?.free();
    throw error;
  }
}

// The EM history and log-likelihood trace a mixture loaded from a file came with, while it is the
// session's mixture (never refitted); null where the file had none.
export function loadedMixtureHistory(session) {
  const loaded = session.loaded && session.mixture?.historyLength === 1;
  return { history: loaded ? session.loaded.history : null, loglik: loaded ? session.loaded.loglik : null };
}

// A session's mixture as its JSON document (null when none is fitted). A mixture loaded from a file,
// never refitted, keeps the EM history and log-likelihood trace it came with.
export function mixtureDocument(session) {
  if (!session.mixture) return null;
  const { history, loglik } = loadedMixtureHistory(session);
  const classLabels = session.split?.labelled === false ? undefined : session.split?.classes ?? session.options.digits;
  return mixtureToJSON(session.mixture, { classLabels, loglik: loglik ?? undefined, history: history ?? undefined });
}
