// The built-in datasets: MNIST's digits and Fashion-MNIST (the set TensorFlow.js's VAE example uses).
// Both come as the same four gzipped IDX files (DATASET_FILES' names), under their own folder of the
// build and the site; here is where each lives, what its classes are called and whether the default
// recipe deskews it. A user's own files are read by data-files.js instead.
import { LabError } from '../latent-lab.js';

// Each built-in dataset's four files as the build keeps them (gzipped IDX, in its folder of build/ and the site).
export const DATASET_FILES = Object.freeze({
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
});

export const DATASETS = Object.freeze({
  mnist: Object.freeze({
    title: 'MNIST digits', dir: 'data', noun: 'digit',
    // Slant says nothing about a digit: 'auto' deskews them (docs/mixture-quality.md).
    deskew: true,
    classNames: Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
  }),
  fashion: Object.freeze({
    title: 'Fashion-MNIST', dir: 'data/fashion', noun: 'class',
    // A garment's shape is its class: a sandal sheared upright is no longer the same picture.
    deskew: false,
    classNames: Object.freeze(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
      'Ankle boot']),
    // For labels with little room (the confusion matrix's, the path strip's), the full name beside them.
    shortNames: Object.freeze(['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot']),
  }),
});

export function checkDataset(id) {
  if (!Object.hasOwn(DATASETS, id ?? '')) throw new LabError(`unknown dataset "${id}" (known: ${Object.keys(DATASETS).join(', ')})`);
  return DATASETS[id];
}

// Every class label of a built-in dataset: [0, 1, ..., 9].
export const allClasses = (id) => checkDataset(id).classNames.map((_, label) => label);

// Whether classes (labels) are all of a built-in dataset's (false for an unknown dataset).
export const hasAllClasses = (id, classes) => classes.length === DATASETS[id ?? '']?.classNames.length;

// A class's name in words: "T-shirt/top" for Fashion-MNIST's label 0, "8" for MNIST's 8 (and for a
// user's labels, which have no names).
export function className(dataset, label) {
  return (dataset && DATASETS[dataset]?.classNames[label]) ?? String(label);
}

// The same in at most 8 characters where the dataset has a short form ("Boot" for "Ankle boot").
export function shortClassName(dataset, label) {
  return (dataset && DATASETS[dataset]?.shortNames?.[label]) ?? className(dataset, label);
}
