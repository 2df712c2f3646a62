// Every layer's backward pass against central finite differences (each parameter tensor and the
// input), the blocked GEMM against the reference loops, and SIMD and scalar builds against each
// other. The layers are linear in their parameters and inputs, so for L = sum(out * r) the central
// difference is exact up to float rounding: the tolerances only absorb rounding.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { assertClose, BUILDS, lab, randomArray } from './helpers.js';

// Runs a layer through its exported forward/backward on buffers this test owns.
// reference = true runs the layers' plain path (im2col + GEMM + col2im) on this harness's workspace.
function layerHarness(L, spec, { reference = false } = {}) {
  const { kind, batch, cin, cout, hin, win, k, stride, pad } = spec;
  const transposed = kind === 'convT';
  const hout = kind === 'linear' ? 1 : transposed ? (hin - 1) * stride - 2 * pad + k : Math.floor((hin + 2 * pad - k) / stride) + 1;
  const wout = kind === 'linear' ? 1 : transposed ? (win - 1) * stride - 2 * pad + k : Math.floor((win + 2 * pad - k) / stride) + 1;
  const inSize = kind === 'linear' ? batch * cin : batch * cin * hin * win;
  const outSize = kind === 'linear' ? batch * cout : batch * cout * hout * wout;
  const wSize = kind === 'linear' ? cout * cin : cin * cout * k * k;
  const ws = L.x.ll_workspace_create();
  L.x.ll_workspace_set_reference(ws, reference ? 1 : 0);
  const shapeArgs = kind === 'linear' ? [batch, cin, cout] : [batch, cin, cout, hin, win, k, stride, pad];
  const fwd = { conv: 'll_conv2d_forward', convT: 'll_conv_transpose2d_forward', linear: 'll_linear_forward' }[kind];
  const bwd = { conv: 'll_conv2d_backward', convT: 'll_conv_transpose2d_backward', linear: 'll_linear_backward' }[kind];
  const forward = (inp, w, b) => L.scoped(({ alloc, input }) => {
    const out = alloc(outSize * 4);
    L.check(L.x[fwd](ws, out, input(inp), input(w), input(b), ...shapeArgs));
    return L.read(Float32Array, out, outSize);
  });
  const backward = (inp, w, dout) => L.scoped(({ input }) => {
    const dinp = input(new Float32Array(inSize)), dw = input(new Float32Array(wSize)), db = input(new Float32Array(cout));
    L.check(L.x[bwd](ws, dinp, dw, db, input(dout), input(inp), input(w), ...shapeArgs));
    return { dinp: L.read(Float32Array, dinp, inSize), dw: L.read(Float32Array, dw, wSize), db: L.read(Float32Array, db, cout) };
  });
  // The input-gradient pass alone (what the benchmark times), through its own export.
  const backwardInput = (w, dout) => L.scoped(({ input }) => {
    const dinp = input(new Float32Array(inSize));
    L.check(L.x[`${bwd}_input`](ws, dinp, input(dout), input(w), ...shapeArgs));
    return L.read(Float32Array, dinp, inSize);
  });
  return { forward, backward, backwardInput, inSize, outSize, wSize, free: () => L.x.ll_workspace_free(ws) };
}

const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);

// Central difference of L = sum(forward(...) * r) with respect to a few entries of one argument.
function checkGradient(h, args, which, analytic, r, count, seed) {
  const eps = 1e-2;
  const picks = randomArray(count, seed, { lo: 0, hi: 1 });
  const target = args[which];
  const numeric = [], expected = [];
  for (const u of picks) {
    const i = Math.floor(u * target.length);
    const saved = target[i];
    target[i] = saved + eps;
    const plus = dot(h.forward(...args), r);
    target[i] = saved - eps;
    const minus = dot(h.forward(...args), r);
    target[i] = saved;
    numeric.push((plus - minus) / (2 * eps));
    expected.push(analytic[i]);
  }
  return { numeric, expected };
}

const LAYERS = [
  { name: 'conv1 (1->32, k4 s2 p1)', kind: 'conv', batch: 3, cin: 1, cout: 32, hin: 28, win: 28, k: 4, stride: 2, pad: 1 },
  { name: 'conv2 (32->64, k4 s2 p1)', kind: 'conv', batch: 2, cin: 32, cout: 64, hin: 14, win: 14, k: 4, stride: 2, pad: 1 },
  { name: 'conv3 (64->64, k3 s1 p1)', kind: 'conv', batch: 2, cin: 64, cout: 64, hin: 7, win: 7, k: 3, stride: 1, pad: 1 },
  { name: 'an odd conv (3->5, k3 s2 p0, 9x7)', kind: 'conv', batch: 1, cin: 3, cout: 5, hin: 9, win: 7, k: 3, stride: 2, pad: 0 },
  { name: 'deconv1 (64->64, k4 s2 p1)', kind: 'convT', batch: 2, cin: 64, cout: 64, hin: 7, win: 7, k: 4, stride: 2, pad: 1 },
  { name: 'deconv2 (64->32, k4 s2 p1)', kind: 'convT', batch: 2, cin: 64, cout: 32, hin: 14, win: 14, k: 4, stride: 2, pad: 1 },
  { name: 'deconv3 (32->1, k3 s1 p1)', kind: 'convT', batch: 3, cin: 32, cout: 1, hin: 28, win: 28, k: 3, stride: 1, pad: 1 },
  { name: 'an odd transposed conv (3->5, k3 s2 p0)', kind: 'convT', batch: 1, cin: 3, cout: 5, hin: 5, win: 6, k: 3, stride: 2, pad: 0 },
  // Rows long enough for the f32x4 stride-1/2 gather and scatter paths plus their scalar tails.
  { name: 'a wide stride-2 conv (2->3, k4 s2 p1, 23x21, batch 33)', kind: 'conv', batch: 33, cin: 2, cout: 3, hin: 23, win: 21, k: 4, stride: 2, pad: 1 },
  { name: 'a wide stride-1 conv (3->2, k3 s1 p1, 19x17, batch 1)', kind: 'conv', batch: 1, cin: 3, cout: 2, hin: 19, win: 17, k: 3, stride: 1, pad: 1 },
  { name: 'a wide stride-2 transposed conv (3->2, k4 s2 p1, 11x13, batch 3)', kind: 'convT', batch: 3, cin: 3, cout: 2, hin: 11, win: 13, k: 4, stride: 2, pad: 1 },
  { name: 'deconv2 at batch 1 (64->32, k4 s2 p1)', kind: 'convT', batch: 1, cin: 64, cout: 32, hin: 14, win: 14, k: 4, stride: 2, pad: 1 },
  { name: 'fc 3136->256', kind: 'linear', batch: 3, cin: 3136, cout: 256 },
  { name: 'fc 2->128', kind: 'linear', batch: 33, cin: 2, cout: 128 },
  { name: 'fc 128->2', kind: 'linear', batch: 1, cin: 128, cout: 2 },
  // Batch 1 and 2 take dot products (decoding one point), 3 and up the GEMM.
  { name: 'fc 3136->256 at batch 1', kind: 'linear', batch: 1, cin: 3136, cout: 256 },
  { name: 'fc 256->3136 at batch 2', kind: 'linear', batch: 2, cin: 256, cout: 3136 },
  { name: 'an odd fc (37->13) at batch 33', kind: 'linear', batch: 33, cin: 37, cout: 13 },
];

// Shapes for the fast convolution paths (implicit im2col from a padded copy; Winograd on the four
// phases of kernel 4 stride 2, `winograd` where a pass takes it) against the plain reference path: odd
// channel counts and grids, batch 1, 3, 33.
const FAST_VS_PLAIN = [
  { name: 'k4 s2 p1 conv (3->5, 10x12, batch 33)', kind: 'conv', batch: 33, cin: 3, cout: 5, hin: 10, win: 12, k: 4, stride: 2, pad: 1 },
  { name: 'k4 s2 p1 conv on an odd grid (5->6, 9x11, batch 3)', kind: 'conv', batch: 3, cin: 5, cout: 6, hin: 9, win: 11, k: 4, stride: 2, pad: 1 },
  { name: 'k3 s1 p1 conv by F(2x2, 3x3) (5->7, 9x11, batch 1)', kind: 'conv', batch: 1, cin: 5, cout: 7, hin: 9, win: 11, k: 3, stride: 1, pad: 1, winograd: true },
  { name: 'conv3 (64->64, k3 s1 p1, batch 3)', kind: 'conv', batch: 3, cin: 64, cout: 64, hin: 7, win: 7, k: 3, stride: 1, pad: 1, winograd: true },
  { name: 'k3 s1 p1 conv by F(2x2, 3x3) on a grid two vectors of tiles wide (4->6, 5x17, batch 33)', kind: 'conv', batch: 33, cin: 4, cout: 6, hin: 5, win: 17, k: 3, stride: 1, pad: 1, winograd: true },
  { name: 'k3 s2 p0 conv (3->5, 9x7, batch 3)', kind: 'conv', batch: 3, cin: 3, cout: 5, hin: 9, win: 7, k: 3, stride: 2, pad: 0 },
  { name: 'k4 s2 p1 conv by Winograd on odd tile rows (6->5, 10x6, batch 33)', kind: 'conv', batch: 33, cin: 6, cout: 5, hin: 10, win: 6, k: 4, stride: 2, pad: 1, winograd: true },
  { name: 'conv2 (32->64, k4 s2 p1, batch 3)', kind: 'conv', batch: 3, cin: 32, cout: 64, hin: 14, win: 14, k: 4, stride: 2, pad: 1, winograd: true },
  { name: 'k4 s2 p1 transposed conv (5->3, 6x7, batch 1)', kind: 'convT', batch: 1, cin: 5, cout: 3, hin: 6, win: 7, k: 4, stride: 2, pad: 1 },
  { name: 'k4 s2 p1 transposed conv (7->9, 5x3, batch 33)', kind: 'convT', batch: 33, cin: 7, cout: 9, hin: 5, win: 3, k: 4, stride: 2, pad: 1, winograd: true },
  { name: 'k4 s2 p1 transposed conv from an odd grid two vectors wide (5->4, 9x11, batch 3)', kind: 'convT', batch: 3, cin: 5, cout: 4, hin: 9, win: 11, k: 4, stride: 2, pad: 1, winograd: true },
  { name: 'deconv1 (64->64, k4 s2 p1, batch 3)', kind: 'convT', batch: 3, cin: 64, cout: 64, hin: 7, win: 7, k: 4, stride: 2, pad: 1, winograd: true },
  { name: 'k3 s1 p1 transposed conv (6->1, 13x11, batch 3)', kind: 'convT', batch: 3, cin: 6, cout: 1, hin: 13, win: 11, k: 3, stride: 1, pad: 1 },
  { name: 'k3 s2 p0 transposed conv (3->5, 5x6, batch 1)', kind: 'convT', batch: 1, cin: 3, cout: 5, hin: 5, win: 6, k: 3, stride: 2, pad: 0 },
  // The thin layers: one input channel at stride 2 (conv1), and one output channel at stride 1
  // (deconv3: direct kernels, here on rows longer than one 32-pixel segment, with vector tails, and
  // other kernel sizes).
  { name: 'conv1 (1->32, k4 s2 p1, batch 3)', kind: 'conv', batch: 3, cin: 1, cout: 32, hin: 28, win: 28, k: 4, stride: 2, pad: 1 },
  { name: 'k2 s2 p0 conv from one channel (1->5, 9x13, batch 33)', kind: 'conv', batch: 33, cin: 1, cout: 5, hin: 9, win: 13, k: 2, stride: 2, pad: 0 },
  { name: 'k6 s2 p2 conv from one channel (1->3, 80x71, batch 1)', kind: 'conv', batch: 1, cin: 1, cout: 3, hin: 80, win: 71, k: 6, stride: 2, pad: 2 },
  { name: 'deconv3 (32->1, k3 s1 p1, batch 3)', kind: 'convT', batch: 3, cin: 32, cout: 1, hin: 28, win: 28, k: 3, stride: 1, pad: 1 },
  { name: 'k3 s1 p0 transposed conv to one channel (4->1, 37x9, batch 33)', kind: 'convT', batch: 33, cin: 4, cout: 1, hin: 37, win: 9, k: 3, stride: 1, pad: 0 },
  { name: 'k2 s1 p1 transposed conv to one channel (3->1, 5x70, batch 1)', kind: 'convT', batch: 1, cin: 3, cout: 1, hin: 5, win: 70, k: 2, stride: 1, pad: 1 },
];

for (const build of BUILDS) {
  describe(`layers, ${build} build`, () => {
    for (const spec of LAYERS) {
      it(`${spec.name}: backward matches central differences for input, weight and bias`, async () => {
        const L = await lab(build);
        const h = layerHarness(L, spec);
        try {
          const inp = randomArray(h.inSize, 1), w = randomArray(h.wSize, 2, { lo: -0.3, hi: 0.3 });
          const b = randomArray(spec.cout, 3), r = randomArray(h.outSize, 4);
          const grads = h.backward(inp, w, r);
          const args = [inp, w, b];
          for (const [which, analytic, name] of [[0, grads.dinp, 'input'], [1, grads.dw, 'weight'], [2, grads.db, 'bias']]) {
            const { numeric, expected } = checkGradient(h, args, which, analytic, r, 6, 10 + which);
            assertClose(numeric, expected, 2e-2, `${spec.name} d${name}`);
          }
        } finally {
          h.free();
        }
      });
    }
  });
}

for (const build of BUILDS) {
  describe(`fast convolution paths against the plain reference path, ${build} build`, () => {
    for (const spec of FAST_VS_PLAIN) {
      it(`${spec.name}: forward, input, weight and bias gradients agree`, async () => {
        const L = await lab(build);
        const fast = layerHarness(L, spec), plain = layerHarness(L, spec, { reference: true });
        try {
          const inp = randomArray(fast.inSize, 21), w = randomArray(fast.wSize, 22, { lo: -0.3, hi: 0.3 });
          const b = randomArray(spec.cout, 23), dout = randomArray(fast.outSize, 24);
          // Sums of up to a thousand terms in another order: float rounding only. Winograd's
          // transforms add and subtract before they multiply: on deconv1's input gradient here 1.3e-5
          // from a float64 sum (2.6 float epsilons of the largest sum of absolute terms, 84), the
          // plain path 4.5e-6.
          const tol = spec.winograd ? 3e-5 : 1e-5;
          assertClose(fast.forward(inp, w, b), plain.forward(inp, w, b), tol, `${spec.name} forward`);
          const gf = fast.backward(inp, w, dout), gp = plain.backward(inp, w, dout);
          assertClose(gf.dinp, gp.dinp, tol, `${spec.name} input gradient`);
          assertClose(fast.backwardInput(w, dout), gf.dinp, 0, `${spec.name} input gradient alone`);
          assertClose(gf.dw, gp.dw, 1e-4, `${spec.name} weight gradient`);
          assertClose(gf.db, gp.db, 1e-4, `${spec.name} bias gradient`);
        } finally {
          fast.free();
          plain.free();
        }
      });
    }
  });
}

describe('the blocked GEMM', () => {
  for (const build of BUILDS) {
    it(`agrees with the reference loops for every transpose and odd sizes (${build})`, async () => {
      const L = await lab(build);
      const ws = L.x.ll_workspace_create();
      try {
        for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [4, 8, 256], [33, 17, 300], [65, 1030, 9], [131, 530, 32], [5, 3, 1000]]) {
          for (const [ta, tb, acc] of [[0, 0, 0], [1, 0, 1], [0, 1, 0], [1, 1, 1]]) {
            const a = randomArray(m * k, m + k), b = randomArray(k * n, n + k), c0 = randomArray(m * n, 99);
            const run = (naive) => L.scoped(({ input }) => {
              const c = input(c0);
              L.check(L.x.ll_gemm(ws, c, input(a), input(b), m, n, k, ta, tb, acc, naive));
              return L.read(Float32Array, c, m * n);
            });
            assertClose(run(0), run(1), 1e-5 * Math.sqrt(k), `gemm ${m}x${n}x${k} ta=${ta} tb=${tb} acc=${acc}`);
          }
        }
      } finally {
        L.x.ll_workspace_free(ws);
      }
    });
  }
});

describe('SIMD and scalar builds', () => {
  it('give the same layer outputs within 1e-5 relative', async () => {
    const [S, P] = await Promise.all(BUILDS.map(lab));
    for (const spec of LAYERS) {
      const hs = layerHarness(S, spec), hp = layerHarness(P, spec);
      const inp = randomArray(hs.inSize, 5), w = randomArray(hs.wSize, 6, { lo: -0.3, hi: 0.3 }), b = randomArray(spec.cout, 7);
      const simd = hs.forward(inp, w, b), scalar = hp.forward(inp, w, b);
      hs.free(); hp.free();
      // Relative to the output's scale: sums of many terms of both signs are compared against their size.
      const scale = Math.max(...scalar.map(Math.abs));
      const rel = simd.map((v, i) => (v - scalar[i]) / scale);
      assertClose(rel, new Float32Array(rel.length), 1e-5, `${spec.name} SIMD vs scalar`);
    }
  });

  it('rejects a layer whose sizes make no sense', async () => {
    const L = await lab('simd');
    const ws = L.x.ll_workspace_create();
    const status = L.x.ll_conv2d_forward(ws, 0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 2, 5);
    L.x.ll_workspace_free(ws);
    assert.ok(status < 0);
    assert.match(L.lastError(), /pad < k/);
  });
});
