// The benchmark's TensorFlow.js rival: the very same VAE (layer sizes, ReLUs, two towers, the
// reparameterisation, BCE-with-logits + beta * sum(mu^2 + e^lv - 1 - lv), Adam) written with tfjs ops,
// NHWC as tfjs wants. Not a port of our C: it is what a tfjs user would write, so its speed is
// tfjs's. Everything it loads comes from node_modules; nothing is downloaded at run time.
//
// Stock tfjs autodiff fails on the wasm backend for this model: that backend has no
// Conv2DBackpropFilter kernel, which the gradient of conv2d and conv2dTranspose needs. So the conv
// layers are wrapped in tf.customGrad, with the input gradient from conv2dTranspose / conv2d (which
// the wasm backend has) and the filter gradient computed by a conv2d: the filter gradient of a
// stride-s convolution is the convolution of the input (batch and channels swapped) with the output
// gradient dilated by s. The cpu backend runs the same code, so both measure the same graph.
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { median } from './common.js';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const wasm = require('@tensorflow/tfjs-backend-wasm');

// tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does that).
// Its ES-module files can, but they import without file extensions: a two-line resolve hook adds
// them (and index.js to directory imports). The registries live on globalThis, so the Node bundle above sees the gradients too.
register('data:text/javascript,' + encodeURIComponent(`export async function resolve(s, c, next) {
  try { return await next(s, c); } catch (e) {
    if (!/^ERR_(MODULE_NOT_FOUND|UNSUPPORTED_DIR_IMPORT)$/.test(e.code) || s.endsWith('.js')) throw e;
    try { return await next(s + '.js', c); } catch { return next(s + '/index.js', c); } } }`));
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');

const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));

// 'wasm' (its SIMD build, one thread: the comparison is per core) or 'cpu'.
async function useBackend(name) {
  if (name === 'wasm') {
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': path.join(WASM_DIR, 'tfjs-backend-wasm.wasm'),
      'tfjs-backend-wasm-simd.wasm': path.join(WASM_DIR, 'tfjs-backend-wasm-simd.wasm'),
      'tfjs-backend-wasm-threaded-simd.wasm': path.join(WASM_DIR, 'tfjs-backend-wasm-threaded-simd.wasm'),
    });
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not initialise`);
  await tf.ready();
}

// dW (k, k, c_in, c_out) of y = conv2d(x, W, stride, pad) from x (B, H, W, c_in) and dy (B, Ho, Wo, c_out).
function filterGrad(x, dy, k, stride, pad) {
  const xt = tf.transpose(x, [3, 1, 2, 0]);       // (c_in, H, W, B): channels as the batch
  const dyt = tf.transpose(dy, [1, 2, 0, 3]);     // (Ho, Wo, B, c_out): the gradient as a filter
  let r = tf.conv2d(xt, dyt, 1, pad, 'NHWC', stride); // (c_in, k', k', c_out), k' >= k
  if (r.shape[1] !== k) r = tf.slice(r, [0, 0, 0, 0], [-1, k, k, -1]);
  return tf.transpose(r, [1, 2, 0, 3]);
}

// Conv2d, PyTorch padding `pad` (square); w (k, k, c_in, c_out).
function makeConv(k, stride, pad) {
  return tf.customGrad((x, w, save) => {
    save([x, w]);
    return {
      value: tf.conv2d(x, w, stride, pad),
      gradFunc: (dy, [xs, ws]) => [tf.conv2dTranspose(dy, ws, xs.shape, stride, 'same'), filterGrad(xs, dy, k, stride, pad)],
    };
  });
}

// ConvTranspose2d with PyTorch's (k, s, p) = (4, 2, 1) or (3, 1, 1): 'same' in tfjs terms; w (k, k, c_out, c_in).
function makeConvT(k, stride, pad) {
  return tf.customGrad((x, w, save) => {
    save([x, w]);
    const [b, h, wd] = x.shape;
    return {
      value: tf.conv2dTranspose(x, w, [b, h * stride, wd * stride, w.shape[2]], stride, 'same'),
      gradFunc: (dy, [xs, ws]) => [tf.conv2d(dy, ws, stride, pad), filterGrad(dy, xs, k, stride, pad)],
    };
  });
}

function buildModel(seed) {
  let s = seed >>> 0;
  const uniform = (shape, fanIn) => {
    const n = shape.reduce((a, b) => a * b, 1), bound = 1 / Math.sqrt(fanIn), v = new Float32Array(n);
    for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; v[i] = (s / 2 ** 32 * 2 - 1) * bound; }
    return tf.variable(tf.tensor(v, shape));
  };
  const conv = (cin, cout, k) => ({ w: uniform([k, k, cin, cout], cin * k * k), b: uniform([cout], cin * k * k) });
  const convT = (cin, cout, k) => ({ w: uniform([k, k, cout, cin], cout * k * k), b: uniform([cout], cout * k * k) });
  const fc = (nin, nout) => ({ w: uniform([nout, nin], nin), b: uniform([nout], nin) });
  return {
    conv1: conv(1, 32, 4), conv2: conv(32, 64, 4), conv3: conv(64, 64, 3),
    mu: [fc(3136, 256), fc(256, 128), fc(128, 2)], lv: [fc(3136, 256), fc(256, 128), fc(128, 2)],
    dec: [fc(2, 128), fc(128, 256), fc(256, 3136)],
    deconv1: convT(64, 64, 4), deconv2: convT(64, 32, 4), deconv3: convT(32, 1, 3),
  };
}

function lossOf(p, ops, x, beta) {
  const linear = (h, l) => tf.add(tf.matMul(h, l.w, false, true), l.b);
  const tower = (h, ls) => linear(tf.relu(linear(tf.relu(linear(h, ls[0])), ls[1])), ls[2]);
  const n = x.shape[0];
  let h = tf.relu(tf.add(ops.c42(x, p.conv1.w), p.conv1.b));
  h = tf.relu(tf.add(ops.c42(h, p.conv2.w), p.conv2.b));
  h = tf.reshape(tf.relu(tf.add(ops.c31(h, p.conv3.w), p.conv3.b)), [n, 3136]);
  const mu = tower(h, p.mu), lv = tower(h, p.lv);
  const z = tf.add(mu, tf.mul(tf.exp(tf.mul(lv, 0.5)), tf.randomNormal([n, 2])));
  let d = tf.reshape(tf.relu(tower(z, p.dec)), [n, 7, 7, 64]);
  d = tf.relu(tf.add(ops.t42(d, p.deconv1.w), p.deconv1.b));
  d = tf.relu(tf.add(ops.t42(d, p.deconv2.w), p.deconv2.b));
  const logits = tf.add(ops.t31(d, p.deconv3.w), p.deconv3.b);
  // BCE with logits, summed: softplus(l) - l*t.
  const bce = tf.sum(tf.sub(tf.softplus(logits), tf.mul(logits, x)));
  const kl = tf.sum(tf.sub(tf.sub(tf.add(tf.square(mu), tf.exp(lv)), 1), lv));
  return tf.div(tf.add(bce, tf.mul(kl, beta)), n);
}

// Trains on batches (Float32Array(n*784) each, cycled); median images/s over `windows` timed windows
// of `stepsPerWindow` steps each, after `warmup` steps. before() runs before each window and
// onWindow(rate) after it: the bench pairs each window with one of its own training.
export async function tfjsImagesPerSecond(backend, batches,
  { warmup = 2, windows = 3, stepsPerWindow = 3, before = () => {}, onWindow = () => {} } = {}) {
  await useBackend(backend);
  const ops = { c42: makeConv(4, 2, 1), c31: makeConv(3, 1, 1), t42: makeConvT(4, 2, 1), t31: makeConvT(3, 1, 1) };
  const params = buildModel(42);
  const vars = Object.values(params).flatMap((v) => (Array.isArray(v) ? v : [v])).flatMap((l) => [l.w, l.b]);
  const optimizer = tf.train.adam(3e-4, 0.9, 0.999, 1e-8);
  const inputs = batches.map((b) => tf.tensor4d(b, [b.length / 784, 28, 28, 1]));
  let i = 0;
  const step = () => {
    const x = inputs[i++ % inputs.length];
    const cost = optimizer.minimize(() => lossOf(params, ops, x, 0.55), true, vars);
    cost.dataSync(); // wait for the step to finish
    cost.dispose();
  };
  for (let k = 0; k < warmup; k++) step();
  const rates = [];
  for (let w = 0; w < windows; w++) {
    before();
    const t0 = performance.now();
    for (let k = 0; k < stepsPerWindow; k++) step();
    rates.push(stepsPerWindow * inputs[0].shape[0] / ((performance.now() - t0) / 1000));
    onWindow(rates[rates.length - 1]);
  }
  inputs.forEach((t) => t.dispose());
  vars.forEach((v) => v.dispose());
  optimizer.dispose();
  return median(rates);
}
