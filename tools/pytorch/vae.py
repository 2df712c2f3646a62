"""The report authors' VAE as a PyTorch module, and safetensors read and written by hand; shared by
make_fixture.py and train.py. Not a trainer, and no data: the module, its loss and its file format only.

Debian has no python3-safetensors, so the format (8-byte little-endian header length, JSON header, raw
little-endian data) is read and written here, exactly as safetensors.torch.save_file/load_file would.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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

    def decode_logits(self, z):
        h = self.fc_dec(z).view(-1, 64, 7, 7)
        h = F.relu(self.deconv1(h))
        h = F.relu(self.deconv2(h))
        return self.deconv3(h)

    def decode(self, z):
        return torch.sigmoid(self.decode_logits(z))

    def loss(self, x, eps):
        """BCE summed over pixels and images + beta * sum(mu^2 + e^logvar - 1 - logvar), z = mu + e^(lv/2) eps."""
        mu, logvar = self.encode(x)
        recon = self.decode(mu + torch.exp(0.5 * logvar) * eps)
        bce = F.binary_cross_entropy(recon, x, reduction='sum')
        kl_raw = torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)
        return bce, kl_raw

    def training_sums(self, x, eps):
        """(BCE, sum(mu^2 + e^lv - 1 - lv)) summed over the images, BCE from the logits as latent-lab's C
        computes it (max(l,0) - l x + log(1 + e^-|l|): never log(0), where sigmoid-then-BCE clamps)."""
        mu, logvar = self.encode(x)
        logits = self.decode_logits(mu + torch.exp(0.5 * logvar) * eps)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction='sum')
        kl_raw = torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)
        return bce, kl_raw

    def forward(self, x, eps):
        """The training sums: what DistributedDataParallel calls (its forward readies the gradient all-reduce)."""
        return self.training_sums(x, eps)


# --- safetensors by hand -------------------------------------------------------------------------------
DTYPES = {'F32': np.dtype('<f4'), 'F16': np.dtype('<f2')}


def safetensors_bytes(tensors, metadata):
    """tensors: name -> (dtype name, numpy array), laid out contiguously in the given order."""
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, (dtype, array) in tensors.items():
        blob = np.ascontiguousarray(array, dtype=DTYPES[dtype]).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-(8 + len(text)) % 8)  # the data starts 8-byte aligned, as safetensors pads it
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def save_safetensors(path, tensors, metadata):
    with open(path, 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))


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
