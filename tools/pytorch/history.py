"""The loss as training goes, kept as web/lib/run/loss-history.js keeps it, so a PyTorch run's file
carries the same loss_history (per epoch, image-weighted means) and loss_curve (per batch, an exponential
moving average, bias-corrected, at most 400 points rounded to 4 decimals) as ours. Nothing else.
"""
import math


def _round4(v):
    return math.floor(v * 1e4 + 0.5) / 1e4   # Math.round(v * 1e4) / 1e4: half up, not Python's half-even


class LossHistory:
    def __init__(self, smooth=0.9):
        self.smooth = smooth
        self.batches = []   # {x: epochs done (fractional), loss, bce, kl}, smoothed, one per batch
        self.epochs = []    # {epoch: 1, 2, ..., loss, bce, kl}, means over each epoch's images
        self.ema = [0.0, 0.0, 0.0]
        self.steps = 0
        self.sums = [0.0, 0.0, 0.0, 0]

    def add(self, epoch, batch_in_epoch, batches_per_epoch, count, loss, bce, kl, epoch_done):
        """One batch's per-image means; a batch whose loss is not finite is left out of both."""
        values = [loss, bce, kl]
        if all(math.isfinite(v) for v in values):
            self.steps += 1
            self.ema = [self.smooth * e + (1 - self.smooth) * v for e, v in zip(self.ema, values)]
            correction = 1 - self.smooth ** self.steps
            s_loss, s_bce, s_kl = (e / correction for e in self.ema)
            self.batches.append({'x': epoch + (batch_in_epoch + 1) / batches_per_epoch, 'loss': s_loss, 'bce': s_bce, 'kl': s_kl})
            for i, v in enumerate(values):
                self.sums[i] += v * count
            self.sums[3] += count
        if epoch_done:
            loss_sum, bce_sum, kl_sum, n = self.sums
            if n > 0:
                self.epochs.append({'epoch': epoch + 1, 'loss': loss_sum / n, 'bce': bce_sum / n, 'kl': kl_sum / n})
            self.sums = [0.0, 0.0, 0.0, 0]

    def epoch_loss(self):
        return self.sums[0] / self.sums[3] if self.sums[3] else math.nan

    def curve(self, n=400):
        """At most n points of the smoothed curve, evenly spaced, the last one always kept."""
        stride = max(1, math.ceil(len(self.batches) / n))
        last = len(self.batches) - 1
        return [{k: _round4(p[k]) for k in ('x', 'loss', 'bce', 'kl')} for i, p in enumerate(self.batches) if (last - i) % stride == 0]
