// Images as the model takes them and gives them back: bytes 0..255 (how every set is kept, n * 784)
// to floats in [0, 1], one batch or chunk at a time, and pixel probabilities back to bytes. The one
// place this conversion is written.
import { PIXELS } from '../latent-lab.js';

// Floats in [0, 1] of bytes (any length), into out if given.
export function toFloats(bytes, out = new Float32Array(bytes.length)) {
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

// Floats in [0, 1] of the images at the given indices of a set of bytes (n * 784), into out.
export function gatherFloats(images, indices, out = new Float32Array(indices.length * PIXELS)) {
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * PIXELS;
    for (let p = 0; p < PIXELS; p++) out[i * PIXELS + p] = images[from + p] / 255;
  }
  return out;
}

// Bytes 0..255 of pixel probabilities (rounded), into out if given.
export function toBytes(probabilities, out = new Uint8Array(probabilities.length)) {
  for (let i = 0; i < out.length; i++) out[i] = Math.round(probabilities[i] * 255);
  return out;
}
