// Digit images: one enlarged digit, and grids of digits (the manifold, reconstructions beside their
// originals). Pixels are probabilities or intensities as bytes 0..255 (n * 784); ink is drawn dark
// on white, as on paper.
import { drawNote } from './common.js';

const SIDE = 28;

// Writes image i of images into rgba at (x, y) of a w-wide RGBA buffer, each pixel scale x scale.
function blit(rgba, w, images, i, x0, y0, scale) {
  for (let py = 0; py < SIDE; py++) {
    for (let px = 0; px < SIDE; px++) {
      const v = 255 - images[i * SIDE * SIDE + py * SIDE + px];
      for (let sy = 0; sy < scale; sy++) {
        let o = ((y0 + py * scale + sy) * w + x0 + px * scale) * 4;
        for (let sx = 0; sx < scale; sx++, o += 4) {
          rgba[o] = v; rgba[o + 1] = v; rgba[o + 2] = v; rgba[o + 3] = 255;
        }
      }
    }
  }
}

// One digit filling the canvas (its backing store should be a multiple of 28 pixels wide).
export function drawDigit(ctx, { pixels }) {
  const { width, height } = ctx.canvas;
  const scale = Math.max(1, Math.floor(Math.min(width, height) / SIDE));
  const img = ctx.createImageData(width, height);
  img.data.fill(255);
  blit(img.data, width, pixels, 0, Math.floor((width - SIDE * scale) / 2), Math.floor((height - SIDE * scale) / 2), scale);
  ctx.putImageData(img, 0, 0);
}

// The pixels of a rows x cols grid of digits, image r * cols + c in cell (r, c), gap pixels between
// cells: { data (RGBA), width, height, cell, gap }. No canvas needed: the view worker builds the
// manifold's pixels with it, so the page only puts them on its canvas.
export function digitGridPixels({ images, rows, cols, scale = 1, gap = 0, background = 255 }) {
  const cell = SIDE * scale;
  const width = cols * cell + (cols - 1) * gap, height = rows * cell + (rows - 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4).fill(background);
  const count = images ? images.length / (SIDE * SIDE) : 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (i < count) blit(data, width, images, i, c * (cell + gap), r * (cell + gap), scale);
    }
  }
  return { data, width, height, cell, gap };
}

// The same grid drawn on a canvas (backing-store pixels); cells with no image stay blank.
export function drawDigitGrid(ctx, options) {
  const grid = digitGridPixels(options);
  ctx.putImageData(new ImageData(grid.data, grid.width, grid.height), 0, 0);
  return grid;
}

// Puts pixels built elsewhere (digitGridPixels in a worker) on a canvas.
export function drawPixels(ctx, { rgba, width, height }) {
  ctx.putImageData(new ImageData(rgba, width, height), 0, 0);
}

// A placeholder message in an empty digit canvas.
export function drawEmpty(ctx, message) {
  const { width, height } = ctx.canvas;
  ctx.fillStyle = '#f5f7fa';
  ctx.fillRect(0, 0, width, height);
  drawNote(ctx, message, width / 2, height / 2);
}
