// The loss as training goes (per epoch and per batch, smoothed), kept from a Trainer's batch reports
// and carried in a saved model's metadata. Nothing else.

// The loss as training goes, from the Trainer's batch reports: per epoch (the mean over its images)
// and per batch smoothed by an exponential moving average, bias-corrected so the first batches are
// not pulled toward zero. The page draws it live; a saved model carries it (metadata loss_history
// and loss_curve), so a loaded model shows its curve and a figure can be drawn from the file.
// A refused step (loss not finite) is left out of both.
export class LossHistory {
  constructor({ smooth = 0.9 } = {}) {
    this.smooth = smooth;
    this.batches = [];   // [{ x: epochs done (fractional), loss, bce, kl }], smoothed, one per batch
    this.epochs = [];    // [{ epoch: 1, 2, ..., loss, bce, kl }], means over each epoch's images
    this.ema = [0, 0, 0];
    this.steps = 0;
    this.sums = [0, 0, 0, 0];   // loss, bce, kl (image-weighted), images: of the epoch so far
  }

  // A saved history (parseModelMetadata's lossHistory and lossCurve) to draw.
  static from({ epochs = [], curve = [] } = {}) {
    const h = new LossHistory();
    h.epochs = epochs.map((e) => ({ ...e }));
    h.batches = curve.map((c) => ({ ...c }));
    return h;
  }

  // r: one report of Trainer.next().
  add(r) {
    const values = [r.loss, r.bce, r.kl];
    if (values.every(Number.isFinite)) {
      this.steps++;
      this.ema = this.ema.map((v, i) => this.smooth * v + (1 - this.smooth) * values[i]);
      const correction = 1 - this.smooth ** this.steps;
      const [loss, bce, kl] = this.ema.map((v) => v / correction);
      this.batches.push({ x: r.epoch + (r.batchInEpoch + 1) / r.batchesPerEpoch, loss, bce, kl });
      values.forEach((v, i) => { this.sums[i] += v * r.count; });
      this.sums[3] += r.count;
    }
    if (r.epochDone) {
      const [loss, bce, kl, n] = this.sums;
      if (n > 0) this.epochs.push({ epoch: r.epoch + 1, loss: loss / n, bce: bce / n, kl: kl / n });
      this.sums = [0, 0, 0, 0];
    }
  }

  // The mean loss of the epoch so far (NaN before its first good batch).
  epochLoss() {
    return this.sums[0] / this.sums[3];
  }

  // At most n points of the smoothed curve, evenly spaced, the last one always kept; values rounded
  // to 4 decimals (the curve is for drawing, and a 10 MB model should not carry a 1 MB header).
  curve(n = 400) {
    const stride = Math.max(1, Math.ceil(this.batches.length / n));
    const round = (v) => Math.round(v * 1e4) / 1e4;
    return this.batches.filter((_, i) => (this.batches.length - 1 - i) % stride === 0)
      .map(({ x, loss, bce, kl }) => ({ x: round(x), loss: round(loss), bce: round(bce), kl: round(kl) }));
  }
}
