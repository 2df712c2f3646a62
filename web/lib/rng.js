// A small seeded PRNG for the JavaScript side (data split, epoch shuffles): integer arithmetic only,
// so a seed gives the same sequence in every engine. Not for noise: that comes from the C side.

// mulberry32 over a seed mixed with a stream number.
export function makeRng(seed, stream = 0) {
  let state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b) ^ ((seed / 4294967296) >>> 0)) >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A uniformly random permutation of 0..n-1 (Fisher-Yates).
export function permutation(n, rng) {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}
