// Deskewing by image moments (a classic MNIST preprocessing): each image is sheared so that its
// principal axis stands upright and shifted so that its centre of mass sits at the centre. Slant is
// the largest variation in handwritten digits that says nothing about which digit it is; with a
// two-dimensional code, every bit of it the code spends on slant is lost to the digit.
const SIDE = 28, PIXELS = SIDE * SIDE, CENTRE = SIDE / 2;

// One 28x28 image (values 0..255 or 0..1, any typed array) -> a new one of the same type.
export function deskewImage(src, out = new src.constructor(PIXELS)) {
  let total = 0, mr = 0, mc = 0;
  for (let r = 0; r < SIDE; r++) for (let c = 0; c < SIDE; c++) {
    const v = src[r * SIDE + c]; total += v; mr += r * v; mc += c * v;
  }
  if (!(total > 0)) { out.set(src); return out; }
  mr /= total; mc /= total;
  let vrr = 0, vrc = 0;
  for (let r = 0; r < SIDE; r++) for (let c = 0; c < SIDE; c++) {
    const v = src[r * SIDE + c]; vrr += (r - mr) * (r - mr) * v; vrc += (r - mr) * (c - mc) * v;
  }
  // A nearly flat image (one row) has no slant to speak of; the cap keeps a stray shear bounded.
  const alpha = vrr > 1e-6 * total ? Math.max(-1, Math.min(1, vrc / vrr)) : 0;
  const round = out instanceof Float32Array || out instanceof Float64Array ? (x) => x : (x) => Math.round(x);
  for (let r = 0; r < SIDE; r++) {
    const sr = r + mr - CENTRE;                         // source row
    for (let c = 0; c < SIDE; c++) {
      const sc = c + alpha * (r - CENTRE) + mc - CENTRE; // source column
      out[r * SIDE + c] = round(bilinear(src, sr, sc));
    }
  }
  return out;
}

function bilinear(src, r, c) {
  const r0 = Math.floor(r), c0 = Math.floor(c), fr = r - r0, fc = c - c0;
  const at = (rr, cc) => (rr >= 0 && rr < SIDE && cc >= 0 && cc < SIDE ? src[rr * SIDE + cc] : 0);
  return (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1));
}

// A dataset ({ images: Uint8Array, labels, n }) -> a new one with every image deskewed.
export function deskewSet(set) {
  const images = new Uint8Array(set.images.length);
  for (let i = 0; i < set.n; i++) deskewImage(set.images.subarray(i * PIXELS, (i + 1) * PIXELS), images.subarray(i * PIXELS, (i + 1) * PIXELS));
  return { ...set, images };
}
