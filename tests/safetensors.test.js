// Models in and out as safetensors: a saved F32 model loads back bit for bit, an F16 one within float16
// precision, metadata survives, the file has the authors' state_dict names, shapes and order; and a
// corpus of broken files (truncated, absurd header length, bad JSON, a missing, extra, misshapen or
// non-finite tensor, a wrong dtype, offsets out of range or overlapping, a duplicate name) is refused,
// each with its message, leaving the loaded model exactly as it was and still usable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { readFileSync } from 'node:fs';

import { LAB_VERSION, loadSafetensors, modelMetadata, parseModelMetadata, readSafetensorsMetadata,
  saveSafetensors } from '../web/lib/model-io.js';
import { LossHistory } from '../web/lib/run/loss-history.js';
import { resolveOptions } from '../web/lib/run/options.js';
import { BUILDS, lab, sameBits } from './helpers.js';

// --- a test-only view of the container, to take files apart and build broken ones ---------------------
function split(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const data = bytes.subarray(8 + n);
  const metadata = header.__metadata__;
  delete header.__metadata__;
  const tensors = Object.entries(header).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape,
    data: data.slice(t.data_offsets[0], t.data_offsets[1]) }));
  return { metadata, tensors };
}

// Tensors laid out contiguously in order; offsets overrides one tensor's data_offsets.
function build({ metadata, tensors }, { offsets = {}, headerText } = {}) {
  const header = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: offsets[t.name] ?? [at, at + t.data.length] };
    at += t.data.length;
  }
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let p = 8 + text.length;
  for (const t of tensors) { out.set(t.data, p); p += t.data.length; }
  return out;
}

const f32Bytes = (values) => new Uint8Array(Float32Array.from(values).buffer);

for (const build_ of BUILDS) {
  describe(`safetensors models (${build_})`, () => {
    it('saves F32 in the authors\' state_dict order and shapes, and loads back bit for bit', async () => {
      const L = await lab(build_);
      const a = L.createModel({ seed: 3 }), b = L.createModel({ seed: 4 });
      const bytes = saveSafetensors(a);
      const { tensors } = split(bytes);
      assert.deepEqual(tensors.map((t) => [t.name, t.shape]), L.tensors.map((t) => [t.name, t.shape]));
      assert.ok(tensors.every((t) => t.dtype === 'F32'));
      const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      assert.equal((8 + headerLength) % 8, 0, 'the data starts 8-byte aligned');
      assert.equal(bytes.length, 8 + headerLength + 4 * L.numParams);
      b.trainBatch(new Float32Array(784).fill(0.25));
      loadSafetensors(b, bytes);
      assert.ok(sameBits(b.getParams(), a.getParams()), 'parameters differ after the round trip');
      assert.equal(b.stepCount, 0, 'loading resets the optimizer');
      a.free(); b.free();
    });

    it('saves F16 (rounded to nearest even) and loads back within float16 precision; F16 -> F16 is exact', async () => {
      const L = await lab(build_);
      const a = L.createModel({ seed: 5 }), b = L.createModel({ seed: 6 });
      const bytes = saveSafetensors(a, { dtype: 'f16' });
      assert.ok(split(bytes).tensors.every((t) => t.dtype === 'F16'));
      assert.ok(bytes.length < 8 + 4096 + 2 * L.numParams);
      loadSafetensors(b, bytes);
      const x = a.getParams(), y = b.getParams();
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(x[i]), 2 ** -14));
      assert.ok(worst <= 2 ** -11, `relative error ${worst} exceeds half a float16 ulp`);
      assert.deepEqual(saveSafetensors(b, { dtype: 'f16' }), bytes, 'widening then rounding again changes nothing');
      a.free(); b.free();
    });

    it('keeps the metadata: strings as given, numbers and objects as text, Unicode and quotes intact', async () => {
      const L = await lab(build_);
      const model = L.createModel({ seed: 7 });
      const metrics = { accuracy: 0.95, f1: [0.9, 0.8] };
      const metadata = { digits: '1,4,8', beta: 0.55, kl: 'authors', epochs: 8, seed: 42, metrics, version: 'latent-lab 0.1.0',
        note: 'chiffres « 1, 4, 8 » — "quoted" \\ back\nslash ✓' };
      const bytes = saveSafetensors(model, { metadata });
      const want = { ...metadata, beta: '0.55', epochs: '8', seed: '42', metrics: JSON.stringify(metrics) };
      assert.deepEqual(loadSafetensors(model, bytes), want);
      assert.deepEqual(readSafetensorsMetadata(L, bytes), want);
      assert.deepEqual(split(bytes).metadata, want, 'the header is plain JSON any reader parses');
      assert.throws(() => saveSafetensors(model, { metadata: { bad: 'a\0b' } }), /contains a NUL character/);
      assert.throws(() => saveSafetensors(model, { metadata: { __metadata__: 'x' } }), /metadata key "__metadata__" is not allowed/);
      assert.throws(() => saveSafetensors(model, { dtype: 'bf16' }), /dtype must be 'f32' or 'f16'/);
      model.free();
    });

    it('refuses every broken file with its message and leaves the model unchanged and usable', async () => {
      const L = await lab(build_);
      const source = L.createModel({ seed: 8 });
      const good = saveSafetensors(source, { metadata: { digits: '1,4,8' } });
      const goodF16 = saveSafetensors(source, { dtype: 'f16' });
      source.free();
      const parts = () => split(good);
      const replace = (p, name, change) => ({ ...p, tensors: p.tensors.map((t) => (t.name === name ? { ...t, ...change } : t)) });

      const bigLength = good.slice();
      new DataView(bigLength.buffer).setBigUint64(0, 1n << 40n, true);
      const overLength = good.slice();
      new DataView(overLength.buffer).setBigUint64(0, BigInt(good.length - 7), true);
      const badJson = build(parts(), { headerText: '{"conv1.weight": {"dtype": "F32", "shape": [32, 1, 4, 4], ' });
      const nan = (() => {
        const p = parts();
        const t = p.tensors.find((x) => x.name === 'deconv2.bias');
        new DataView(t.data.buffer).setFloat32(4 * 5, NaN, true);
        return build(p);
      })();
      const infF16 = (() => {
        const p = split(goodF16);
        const t = p.tensors.find((x) => x.name === 'fc_mu.4.weight');
        new DataView(t.data.buffer).setUint16(2 * 7, 0x7c00, true);
        return build(p);
      })();
      const conv1 = parts().tensors[0];
      const dupText = new TextDecoder().decode(good.subarray(8, 8 + Number(new DataView(good.buffer).getBigUint64(0, true))))
        .replace('"conv1.bias"', '"conv1.weight"');

      const corpus = [
        ['an empty file', new Uint8Array(0), /0 bytes, too short for the 8-byte header length/],
        ['a truncated header', good.slice(0, 100), /header claims \d+ bytes but only 92 follow/],
        ['a file cut off in the data', good.slice(0, good.length - 1000), /data_offsets \[\d+, \d+\] lie outside the \d+ bytes of data/],
        ['a header length of 1 TiB', bigLength, /the header claims 1099511627776 bytes, more than the 16 MiB limit/],
        ['a header length beyond the file', overLength, /^truncated safetensors file: the header claims (\d+) bytes but only \d+ follow$/],
        ['bad JSON', badJson, /safetensors header, byte \d+: the header ends where a string was expected/],
        ['not JSON at all', build(parts(), { headerText: 'PK\u0003\u0004 zip?' }), /the header must start with '\{'/],
        ['a missing tensor', build({ ...parts(), tensors: parts().tensors.filter((t) => t.name !== 'fc_mu.0.weight') }),
          /^missing tensor fc_mu\.0\.weight$/],
        ['an extra tensor', build({ ...parts(), tensors: [...parts().tensors, { name: 'fc_mu.6.weight', dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) }] }),
          /^unexpected tensor fc_mu\.6\.weight \(the model has no such parameter\)$/],
        ['a misshapen tensor', build(replace(parts(), 'conv1.weight', { shape: [32, 1, 3, 3], data: conv1.data.slice(0, 32 * 9 * 4) })),
          /^tensor conv1\.weight has shape \(32,1,3,3\), expected \(32,1,4,4\)$/],
        ['a transposed Linear weight', build(replace(parts(), 'fc_dec.0.weight', { shape: [2, 128] })),
          /^tensor fc_dec\.0\.weight has shape \(2,128\), expected \(128,2\)$/],
        ['a NaN', nan, /^tensor deconv2\.bias contains NaN \(element 5\)$/],
        ['an infinity in F16', infF16, /^tensor fc_mu\.4\.weight contains infinity \(element 7\)$/],
        ['a wrong dtype', build(replace(parts(), 'conv1.bias', { dtype: 'I32' })), /^tensor conv1\.bias has dtype I32, expected F32 or F16$/],
        ['an unknown dtype', build(replace(parts(), 'conv1.bias', { dtype: 'F128' })), /tensor conv1\.bias: unknown dtype "F128"/],
        ['a size that disagrees with dtype and shape', build(replace(parts(), 'conv1.bias', { dtype: 'F16' })),
          /tensor conv1\.bias: data_offsets \[\d+, \d+\] hold 128 bytes, but F16 \(32\) needs 64/],
        ['offsets out of range', build(parts(), { offsets: { 'deconv3.bias': [2 ** 40, 2 ** 40 + 4] } }),
          /tensor deconv3\.bias: data_offsets \[1099511627776, 1099511627780\] lie outside/],
        ['overlapping offsets', build(parts(), { offsets: { 'conv1.bias': [0, 128] } }), /tensors conv1\.(weight|bias) and conv1\.(weight|bias) overlap/],
        ['a duplicate name', build(parts(), { headerText: dupText }), /the name "conv1\.weight" appears twice/],
        ['metadata that is not a string', build({ ...parts(), metadata: { epochs: 8 } }), /__metadata__: the value of "epochs" is not a string/],
      ];

      const model = L.createModel({ seed: 9 });
      model.trainBatch(new Float32Array(784).fill(0.5));
      const before = model.getParams(), steps = model.stepCount, z = Float32Array.from([0.3, -0.2]);
      const decodedBefore = model.decode(z);
      for (const [what, bytes, message] of corpus) {
        assert.throws(() => loadSafetensors(model, bytes), (error) => {
          assert.equal(error.name, 'LabError', `${what}: ${error}`);
          assert.match(error.message, message, `${what}`);
          return true;
        }, what);
        assert.ok(sameBits(model.getParams(), before), `${what}: the model changed`);
        assert.equal(model.stepCount, steps, `${what}: the optimizer was reset`);
      }
      assert.ok(sameBits(model.decode(z), decodedBefore), 'the model still decodes as before');
      loadSafetensors(model, good);  // and a good file still loads after all that
      model.free();
    });
  });
}

describe('what a saved model says about itself (metadata)', () => {
  it('names this version of the lab, as package.json does', () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(LAB_VERSION, `latent-lab ${version}`);
  });

  it('reads back the settings, metrics, loss history and mixture it was saved with', async () => {
    const L = await lab('simd');
    const history = new LossHistory();
    for (let b = 0; b < 6; b++) history.add({ epoch: b >> 1, batchInEpoch: b & 1, batchesPerEpoch: 2, count: 32, loss: 200 - b, bce: 190 - b, kl: 5, epochDone: (b & 1) === 1 });
    const options = resolveOptions({ preset: 'authors', seed: 7, limit: 3000 });
    const metadata = modelMetadata({ options, epochs: 3, history, metrics: { test_accuracy: 0.9 }, mixture: { format: 'x' },
      extra: { limit: options.limit } });
    const model = L.createModel({ seed: 1 });
    const info = parseModelMetadata(readSafetensorsMetadata(L, saveSafetensors(model, { metadata })));
    model.free();
    assert.deepEqual(info.digits, [1, 4, 8]);
    assert.deepEqual([info.seed, info.beta, info.kl, info.epochs, info.limit, info.preset, info.mixtureVariant],
      [7, 0.55, 'authors', 3, 3000, 'authors', 'authors']);
    assert.deepEqual(info.metrics, { test_accuracy: 0.9 });
    assert.deepEqual(info.lossHistory.map((e) => [e.epoch, e.loss]), [[1, 199.5], [2, 197.5], [3, 195.5]]);
    assert.equal(info.lossCurve.length, 6);
    assert.equal(info.lossCurve.at(-1).x, 3);
    assert.deepEqual(JSON.parse(info.mixture), { format: 'x' });
  });

  it('takes a file without metadata (saved from PyTorch) as saying nothing, and refuses malformed values by name', () => {
    assert.deepEqual(Object.values(parseModelMetadata({})).filter((v) => v !== null), []);
    const cases = [
      [{ digits: '1,4,11' }, /metadata "digits": digit 11 is outside 0\.\.9/],
      [{ digits: '' }, /metadata "digits": choose at least one digit/],
      [{ seed: '-1' }, /metadata "seed": expected an integer >= 0, got "-1"/],
      [{ beta: 'lots' }, /metadata "beta": expected a number >= 0/],
      [{ lr_warmup: '-1' }, /metadata "lr_warmup": expected a number >= 0, got "-1"/],
      [{ lr_warmup: 'abc' }, /metadata "lr_warmup": expected a number >= 0/],
      [{ kl: 'other' }, /metadata "kl": expected "authors" or "usual"/],
      [{ metrics: '[1]' }, /metadata "metrics": expected an object/],
      [{ loss_history: '{' }, /metadata "loss_history": not JSON/],
      [{ loss_history: '[{"epoch": 1, "loss": 2}]' }, /metadata "loss_history": entry 0 has no finite "bce"/],
    ];
    for (const [metadata, message] of cases) assert.throws(() => parseModelMetadata(metadata), message, JSON.stringify(metadata));
  });
});
