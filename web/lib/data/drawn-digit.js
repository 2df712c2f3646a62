// A hand-drawn digit made to look like an MNIST image, as MNIST's own images were made: the ink's
// bounding box scaled (aspect ratio kept, antialiased) to fit a 20 x 20 box, then placed in 28 x 28 so
// that its centre of mass sits at the centre. Pure arithmetic on arrays: no canvas, no DOM, so Node
// tests it; the page brings the pixels (a canvas's alpha channel) and takes the 784 values.

export const SIDE = 28;     // MNIST's image side
export const BOX = 20;      // the side of the box the ink is scaled to fit

// pixels: width * height ink values, row by row, any non-negative scale (0 = paper); typically a
// canvas's alpha channel as bytes 0..255. Returns a Float32Array(784) of ink in [0, 1], or null when
// nothing is drawn (no pixel above 0): there is no digit to centre, and no NaN to pass on.
// Coordinates: the image spans [0, 28] x [0, 28] and pixel (i, j) covers [i, i + 1) x [j, j + 1), so
// its centre is (i + 0.5, j + 0.5) and the image's centre is (14, 14). The centre of mass lands
// within half a pixel of it: MNIST shifted by whole pixels, and so does this (no extra blur).
export function mnistCentre(pixels, width, height) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`width and height must be positive integers, got ${width} x ${height}`);
  }
  if (!pixels || pixels.length !== width * height) {
    throw new RangeError(`expected ${width * height} pixels for ${width} x ${height}, got ${pixels?.length}`);
  }
  // The ink's bounding box, and its largest value (the scale of the input).
  let x0 = width, y0 = height, x1 = -1, y1 = -1, peak = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x];
      if (!(v > 0)) continue;       // also skips NaN
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (v > peak) peak = v;
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  // The longer side becomes exactly BOX pixels; the shorter keeps the aspect ratio (at least 1).
  const scale = BOX / Math.max(w, h);
  const tw = w >= h ? BOX : Math.max(1, Math.round(w * scale));
  const th = h >= w ? BOX : Math.max(1, Math.round(h * scale));
  const sx = w / tw, sy = h / th;           // source pixels per target pixel, per axis
  const patch = resampleArea(pixels, width, x0, y0, sx, sy, tw, th, 1 / peak);

  // Centre of mass of the patch, in its own pixel-centre coordinates.
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = patch[y * tw + x];
      mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
    }
  }
  // Whole-pixel shift putting it nearest to (14, 14). mass > 0: the box holds ink by construction.
  const ox = Math.round(SIDE / 2 - mx / mass), oy = Math.round(SIDE / 2 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < th; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= SIDE) continue;     // a very lopsided digit may lose an edge, as in MNIST
    for (let x = 0; x < tw; x++) {
      const tx = x + ox;
      if (tx >= 0 && tx < SIDE) out[ty * SIDE + tx] = patch[y * tw + x];
    }
  }
  return out;
}

// Area-averaging resample (a box filter: each target pixel is the mean of the source area it covers,
// partial pixels weighted by their overlap): antialiased when shrinking, blocky-but-exact when
// enlarging. Target pixel (x, y) covers source [x0 + x * sx, x0 + (x + 1) * sx) and likewise in y.
function resampleArea(pixels, width, x0, y0, sx, sy, tw, th, gain) {
  const out = new Float32Array(tw * th);
  const norm = gain / (sx * sy);
  for (let ty = 0; ty < th; ty++) {
    const a0 = ty * sy, a1 = a0 + sy;
    for (let tx = 0; tx < tw; tx++) {
      const b0 = tx * sx, b1 = b0 + sx;
      let sum = 0;
      for (let y = Math.floor(a0); y < a1; y++) {
        const wy = Math.min(y + 1, a1) - Math.max(y, a0);
        if (wy <= 0) continue;
        const row = (y0 + y) * width + x0;
        for (let x = Math.floor(b0); x < b1; x++) {
          const wx = Math.min(x + 1, b1) - Math.max(x, b0);
          if (wx > 0) sum += wx * wy * (pixels[row + x] > 0 ? pixels[row + x] : 0);
        }
      }
      out[ty * tw + tx] = Math.min(1, sum * norm);
    }
  }
  return out;
}
