// Shared by the tests: both wasm builds, a seeded source of test data, and assertClose.
import assert from 'node:assert/strict';

import { makeRng } from '../web/lib/rng.js';
import { loadNodeLab } from '../tools/common.js';

export const BUILDS = ['simd', 'scalar'];

const labs = new Map();
export function lab(build) {
  if (!labs.has(build)) labs.set(build, loadNodeLab(build));
  return labs.get(build);
}

export function randomArray(n, seed, { lo = -1, hi = 1 } = {}) {
  const rng = makeRng(seed, 7);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

// The same bytes, typed arrays of any kind (a bit-for-bit check without a diff of millions of values).
export function sameBits(a, b) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

// |actual - expected| <= tol * max(1, |expected|) everywhere; on failure reports the worst index.
export function assertClose(actual, expected, tol, what = 'values') {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  let worst = -1, worstExcess = 0, largest = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    largest = Math.max(largest, diff);
    const excess = diff - tol * Math.max(1, Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: index ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(tolerance ${tol}, largest difference ${largest})`);
  }
  return largest;
}
