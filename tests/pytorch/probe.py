#!/usr/bin/python3
"""What the PyTorch trainer (tools/pytorch/) makes of our recipe, as one JSON object for
tests/pytorch-train.test.js to hold against web/lib: the split's images, a limited run's epoch orders,
deskewed real digits and a loss history. Runs no training.

    /usr/bin/python3 tests/pytorch/probe.py --digits 3,5,8 --seed 7 --limit 500 --deskew-images 300
"""
import hashlib
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools', 'pytorch'))

from data import deskew, epoch_order, load_mnist, split_dataset, training_indices  # noqa: E402
from history import LossHistory  # noqa: E402
from recipe import parse_digits, parse_flags  # noqa: E402


def described(part):
    return {'n': part['n'], 'labels': hashlib.sha256(part['labels'].tobytes()).hexdigest(),
            'images': hashlib.sha256(part['images'].tobytes()).hexdigest()}


def synthetic_history():
    """Two epochs of 7 batches (the last one short), one batch refused (NaN), as the Trainer reports them."""
    history = LossHistory()
    for epoch in range(2):
        for b in range(7):
            k = epoch * 7 + b
            loss = math.nan if k == 4 else 500 / (k + 1) + 100
            history.add(epoch, b, 7, 5 if b == 6 else 32, loss, loss - 3.25, 3.25 + 0.1 * k, b == 6)
    return {'epochs': history.epochs, 'curve': history.curve(), 'curve5': history.curve(5)}


def main():
    flags = parse_flags(sys.argv[1:], {'digits': 'string', 'seed': 'number', 'limit': 'number', 'deskew-images': 'number'})
    mnist = load_mnist()
    split = split_dataset(mnist['train'], mnist['test'], parse_digits(flags['digits']), 5, flags['seed'], noun='digit')
    indices = training_indices(split['train']['n'], flags['seed'], flags['limit'])
    count = flags['deskew-images']
    print(json.dumps({
        'split': {part: described(split[part]) for part in ('train', 'val', 'test')},
        'orders': [epoch_order(indices, flags['seed'], epoch).tolist() for epoch in (0, 3)],
        'deskewed': deskew(mnist['train']['images'][:count]).reshape(-1).tolist(),
        'history': synthetic_history(),
    }))


if __name__ == '__main__':
    main()
