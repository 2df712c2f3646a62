"""make bench's PyTorch side (tools/bench.js starts it): the same model (vae.py, the authors' module)
trained at batch 32 on the first MNIST training images with Adam, in timed windows the bench asks
for one at a time, so they alternate with windows of ours. Run as
    OPENBLAS_NUM_THREADS=B /usr/bin/python3 tools/pytorch/bench_window.py THREADS
it prints "ready" once warmed up, then answers each line "SECONDS" on stdin with the images per
second of a window that long. THREADS is torch.set_num_threads; OpenBLAS's threads come from the
environment (they must be set before the library loads).
"""
import sys
import time

import numpy as np
import torch

from data import load_mnist
from vae import VAE

BATCH = 32


def main():
    torch.set_num_threads(int(sys.argv[1]))
    torch.manual_seed(42)
    images = load_mnist()['train']['images'][:8 * BATCH]
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    batches = list(x.split(BATCH))
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8)
    step = [0]

    def train_step():
        batch = batches[step[0] % len(batches)]
        step[0] += 1
        bce, kl_raw = model.training_sums(batch, torch.randn(batch.shape[0], 2))
        optimizer.zero_grad(set_to_none=True)
        ((bce + 0.55 * kl_raw) / batch.shape[0]).backward()
        optimizer.step()

    def window(seconds):
        n, t0 = 0, time.perf_counter()
        while True:
            train_step()
            n += BATCH
            if time.perf_counter() - t0 >= seconds:
                return n / (time.perf_counter() - t0)

    window(2.0)  # warm-up: allocator, OpenBLAS's threads
    print('ready', flush=True)
    for line in sys.stdin:
        print(f'{window(float(line)):.2f}', flush=True)


if __name__ == '__main__':
    main()
