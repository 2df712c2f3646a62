// The model's layers as the benchmarks time them (tools/bench.js, tools/bench-pair.js): each layer's
// shapes, and the buffer sizes, FLOPs and call arguments of one pass at a given batch.
// FLOPs count multiply and add separately: 2 * (output elements) * (terms per output), for batch B.
export const LAYERS = [
  { name: 'conv1', kind: 'conv', cin: 1, cout: 32, hin: 28, k: 4, s: 2, p: 1, dinp: false },
  { name: 'conv2', kind: 'conv', cin: 32, cout: 64, hin: 14, k: 4, s: 2, p: 1, dinp: true },
  { name: 'conv3', kind: 'conv', cin: 64, cout: 64, hin: 7, k: 3, s: 1, p: 1, dinp: true },
  { name: 'fc 3136->256 (x2)', kind: 'linear', cin: 3136, cout: 256, times: 2, dinp: true },
  { name: 'fc 256->128 (x2)', kind: 'linear', cin: 256, cout: 128, times: 2, dinp: true },
  { name: 'fc 128->2 (x2)', kind: 'linear', cin: 128, cout: 2, times: 2, dinp: true },
  { name: 'fc 2->128', kind: 'linear', cin: 2, cout: 128, dinp: true },
  { name: 'fc 128->256', kind: 'linear', cin: 128, cout: 256, dinp: true },
  { name: 'fc 256->3136', kind: 'linear', cin: 256, cout: 3136, dinp: true },
  { name: 'deconv1', kind: 'convT', cin: 64, cout: 64, hin: 7, k: 4, s: 2, p: 1, dinp: true },
  { name: 'deconv2', kind: 'convT', cin: 64, cout: 32, hin: 14, k: 4, s: 2, p: 1, dinp: true },
  { name: 'deconv3', kind: 'convT', cin: 32, cout: 1, hin: 28, k: 3, s: 1, p: 1, dinp: true },
];

export function layerGeometry(l, batch) {
  if (l.kind === 'linear') {
    return { inN: batch * l.cin, outN: batch * l.cout, wN: l.cin * l.cout, flops: 2 * batch * l.cin * l.cout,
      args: [batch, l.cin, l.cout] };
  }
  const hout = l.kind === 'convT' ? (l.hin - 1) * l.s - 2 * l.p + l.k : Math.floor((l.hin + 2 * l.p - l.k) / l.s) + 1;
  const small = l.kind === 'convT' ? l.hin : hout; // the grid the GEMM runs over
  return { inN: batch * l.cin * l.hin ** 2, outN: batch * l.cout * hout ** 2, wN: l.cin * l.cout * l.k ** 2,
    flops: 2 * batch * l.cin * l.cout * l.k ** 2 * small ** 2, args: [batch, l.cin, l.cout, l.hin, l.hin, l.k, l.s, l.p] };
}

// Every pass of every layer at batch `batch` on the workspace ws, as closures over buffers filled with
// a fixed pattern: passes [{ layer, name ('forward', 'dweight', 'dinput'), flops, fn }]; buffers()
// views every buffer as it now is (Float32Arrays); free() releases them. The weight gradient is the
// backward export with no input gradient (weight and bias); the input gradient the *_backward_input
// export, that pass alone. `layers` defaults to the model's.
export function layerPasses(lab, ws, batch, layers = LAYERS) {
  const buffers = [];
  const fill = (n) => {
    const p = lab.x.malloc(n * 4), f = new Float32Array(lab.memory.buffer, p, n);
    for (let i = 0; i < n; i++) f[i] = Math.sin(i * 12.9898) * 0.5;
    buffers.push({ p, n });
    return p;
  };
  const passes = [];
  for (const l of layers) {
    const g = layerGeometry(l, batch);
    const pre = { conv: 'll_conv2d', convT: 'll_conv_transpose2d', linear: 'll_linear' }[l.kind];
    const inp = fill(g.inN), out = fill(g.outN), w = fill(g.wN), b = fill(l.cout);
    const dinp = fill(g.inN), dw = fill(g.wN), db = fill(l.cout), dout = fill(g.outN);
    const pass = (name, fn) => passes.push({ layer: l, name, flops: g.flops, fn });
    pass('forward', () => lab.check(lab.x[`${pre}_forward`](ws, out, inp, w, b, ...g.args)));
    pass('dweight', () => lab.check(lab.x[`${pre}_backward`](ws, 0, dw, db, dout, inp, w, ...g.args)));
    if (l.dinp) pass('dinput', () => lab.check(lab.x[`${pre}_backward_input`](ws, dinp, dout, w, ...g.args)));
  }
  return { passes, buffers: () => buffers.map(({ p, n }) => new Float32Array(lab.memory.buffer, p, n)),
    free: () => buffers.forEach(({ p }) => lab.x.free(p)) };
}
