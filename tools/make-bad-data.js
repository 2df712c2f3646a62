// node tools/make-bad-data.js: writes the data-file fixtures, reproducibly (no randomness, no clock):
//   tests/fixtures/bad-data/    broken files + manifest.json: [{ files, message, maxBytes? }], the message
//                               substring parseDataFiles must throw for those files
//   tests/fixtures/good-data/   valid files + manifest.json: [{ files, format, n, labels, sha256 }] (sha256
//                               of the n * 784 image bytes the parser must return)
//   tests/fuzz/corpus/<target>/ seed-* inputs for the libFuzzer targets (small valid and broken files)
// The zip archives are written here byte by byte (stored entries, or deflated with node:zlib's
// deflateRawSync), as numpy's savez / savez_compressed lay them out. Run it again after changing it and
// commit the outputs; tests/data-files.test.js checks the committed files.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';

import { idxFile as idx, ROOT } from './common.js';

const BAD = path.join(ROOT, 'tests/fixtures/bad-data');
const GOOD = path.join(ROOT, 'tests/fixtures/good-data');
const CORPUS = path.join(ROOT, 'tests/fuzz/corpus');

// --- writers -----------------------------------------------------------------------------------------

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

// Little-endian fields: [[value, bytes], ...].
function le(...fields) {
  const out = new Uint8Array(fields.reduce((n, [, size]) => n + size, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [value, size] of fields) {
    if (size === 1) view.setUint8(at, value);
    else if (size === 2) view.setUint16(at, value, true);
    else if (size === 4) view.setUint32(at, value, true);
    else view.setBigUint64(at, BigInt(value), true);
    at += size;
  }
  return out;
}

const ascii = (s) => new TextEncoder().encode(s);

// An NPY v1 file as numpy writes it: the dict padded with spaces to a 64-byte boundary, then '\n'.
function npy(descr, shape, data, { fortran = false } = {}) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return concat(new Uint8Array([0x93]), ascii('NUMPY'), le([1, 1], [0, 1], [dict.length, 2]), ascii(dict), bytes);
}

// A zip archive of { name, data, method (0 stored | 8 deflated) } entries, DOS time 1980-01-01.
function zip(entries) {
  const locals = [], central = [];
  let offset = 0;
  for (const { name, data, method = 0 } of entries) {
    const packed = method === 8 ? new Uint8Array(deflateRawSync(data, { level: 9 })) : data;
    const nameBytes = ascii(name), crc = crc32(data);
    const common = [[20, 2], [0, 2], [method, 2], [0, 2], [0x21, 2], [crc, 4], [packed.length, 4], [data.length, 4],
      [nameBytes.length, 2]];
    const local = concat(le([0x04034b50, 4], ...common, [0, 2]), nameBytes, packed);
    central.push(concat(le([0x02014b50, 4], [20, 2], ...common, [0, 2], [0, 2], [0, 2], [0, 2], [0, 4], [offset, 4]), nameBytes));
    locals.push(local);
    offset += local.length;
  }
  const cd = concat(...central);
  return concat(...locals, cd, le([0x06054b50, 4], [0, 2], [0, 2], [entries.length, 2], [entries.length, 2], [cd.length, 4],
    [offset, 4], [0, 2]));
}

function npz(arrays, method = 0) {
  return zip(Object.entries(arrays).map(([name, data]) => ({ name: `${name}.npy`, data, method })));
}

// gzip with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC), as some tools write it.
function gzipWithFields(data) {
  let header = concat(new Uint8Array([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 2, 3]), le([6, 2]), ascii('LL\x02\x00ok'),
    ascii('images.idx\0'), ascii('made by tools/make-bad-data.js\0'));
  header = concat(header, le([crc32(header) & 0xffff, 2]));
  return concat(header, new Uint8Array(deflateRawSync(data, { level: 9 })), le([crc32(data), 4], [data.length, 4]));
}

function gzip(data) {
  return new Uint8Array(gzipSync(data, { level: 9 }));
}

// A safetensors file: 8-byte header length, the JSON header, the data.
function safetensors(header, data = new Uint8Array(0)) {
  const json = ascii(typeof header === 'string' ? header : JSON.stringify(header));
  return concat(le([json.length, 8]), json, data);
}

// --- data ------------------------------------------------------------------------------------------------

// n images of a simple class-dependent pattern: class c is a bar at row 3 + 2c, brighter with the index.
function images(n, classOf = (i) => i % 10) {
  const out = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) {
    const c = classOf(i), row = 3 + 2 * c;
    for (let x = 4; x < 24; x++) out[i * 784 + row * 28 + x] = 128 + ((i * 37 + x) % 128);
  }
  return out;
}
const labelsOf = (n) => Uint8Array.from({ length: n }, (_, i) => i % 10);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// --- the fixtures ------------------------------------------------------------------------------------------

function writeSet(dir, files) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
}

const img6 = images(6), lab6 = labelsOf(6);
const floats4 = Float32Array.from({ length: 4 * 784 }, (_, i) => ((i * 7) % 256) / 255);
const floatBytes4 = Uint8Array.from(floats4, (v) => Math.round(v * 255));
const doubles5 = Float64Array.from({ length: 5 * 784 }, (_, i) => ((i * 11) % 101) / 100);
const doubleBytes5 = Uint8Array.from(doubles5, (v) => Math.round(v * 255));

const good = {
  'npz-u8-labels.npz': npz({ data: npy('|u1', [6, 28, 28], img6), labels: npy('|u1', [6], lab6) }),
  'npz-float-nolabels.npz': npz({ data: npy('<f4', [4, 784], floats4) }),
  'npz-deflated.npz': npz({ data: npy('<f8', [5, 28, 28], doubles5), labels: npy('<i8', [5], BigInt64Array.from([9, 0, 3, 3, 7], BigInt)) }, 8),
  'images.idx': idx([6, 28, 28], img6),
  'labels.idx': idx([6], lab6),
  'images.idx.gz': gzip(idx([6, 28, 28], img6)),
  'labels.idx.gz': gzip(idx([6], lab6)),
  'images-fields.idx.gz': gzipWithFields(idx([6, 28, 28], img6)),
};
const goodManifest = [
  { files: ['npz-u8-labels.npz'], format: 'npz', n: 6, labels: Array.from(lab6), sha256: sha256(img6) },
  { files: ['npz-float-nolabels.npz'], format: 'npz', n: 4, labels: null, sha256: sha256(floatBytes4) },
  { files: ['npz-deflated.npz'], format: 'npz', n: 5, labels: [9, 0, 3, 3, 7], sha256: sha256(doubleBytes5) },
  { files: ['images.idx', 'labels.idx'], format: 'idx', n: 6, labels: Array.from(lab6), sha256: sha256(img6) },
  { files: ['labels.idx.gz', 'images.idx.gz'], format: 'idx', n: 6, labels: Array.from(lab6), sha256: sha256(img6) },
  { files: ['images-fields.idx.gz', 'labels.idx'], format: 'idx', n: 6, labels: Array.from(lab6), sha256: sha256(img6) },
  { files: ['images.idx.gz'], format: 'idx', n: 6, labels: null, sha256: sha256(img6) },
];

const img3 = images(3);
const withNaN = floats4.slice(); withNaN[784 + 100] = NaN;
const tooBright = floats4.slice(); tooBright[2 * 784 + 7] = 1.5;
const zeros8M = new Uint8Array(8 << 20);
const honestBomb = gzip(zeros8M);                               // 8 MiB of zeros in about 8 KB
const lyingBomb = honestBomb.slice();                           // the same, its trailer claiming 1000 bytes
new DataView(lyingBomb.buffer).setUint32(lyingBomb.length - 4, 1000, true);
const hugeIsize = gzip(new Uint8Array(1024));                   // 1 KiB of zeros claiming 4,026,531,840 bytes
new DataView(hugeIsize.buffer).setUint32(hugeIsize.length - 4, 0xf0000000, true);
const claims400M = gzip(new Uint8Array(1024));                 // under the limit, but 1,032 x more than ~20 bytes can hold
new DataView(claims400M.buffer).setUint32(claims400M.length - 4, 400 << 20, true);
// An npz whose deflated data.npy claims 400 MiB in its directory and local header.
const npzClaim = npz({ data: npy('|u1', [1, 784], images(1)) }, 8);
{
  const view = new DataView(npzClaim.buffer), cd = npzClaim.length - 22 - 46 - 'data.npy'.length;
  view.setUint32(22, 400 << 20, true);
  view.setUint32(cd + 24, 400 << 20, true);
}
const badCrcGz = gzip(idx([3, 28, 28], img3));
badCrcGz[badCrcGz.length - 8] ^= 0xff;
const goodNpz = good['npz-u8-labels.npz'];
const badCrcNpz = goodNpz.slice();
badCrcNpz[100] ^= 0xff;                                         // a byte of data.npy's stored data

const bad = {
  'truncated.idx': idx([10, 28, 28], images(5)),
  'wrong-magic.bin': concat(new Uint8Array([1, 2, 8, 3]), idx([1, 28, 28], images(1)).subarray(4)),
  'wrong-type.idx': idx([1, 28, 28], new Uint8Array(4 * 784), 0x0d),
  'huge-header.idx': idx([60000, 60000, 60000]),
  'zero-images.idx': idx([0, 28, 28]),
  'wrong-shape.idx': idx([2, 32, 32], new Uint8Array(2 * 1024)),
  'images3.idx': idx([3, 28, 28], img3),
  'labels2.idx': idx([2], new Uint8Array([1, 2])),
  'labels-12.idx': idx([3], new Uint8Array([1, 12, 0])),
  'labels3.idx': idx([3], new Uint8Array([1, 2, 3])),
  'not-npz.zip': zip([{ name: 'readme.txt', data: ascii('not an array\n') }]),
  'npz-wrong-shape.npz': npz({ data: npy('|u1', [2, 27, 28], new Uint8Array(2 * 27 * 28)) }),
  'npz-int-images.npz': npz({ data: npy('<i8', [1, 784], new BigInt64Array(784)) }),
  'npz-bigendian.npz': npz({ data: npy('>f4', [1, 784], new Float32Array(784)) }),
  'npz-fortran.npz': npz({ data: npy('<f4', [1, 784], new Float32Array(784), { fortran: true }) }),
  'npz-nan.npz': npz({ data: npy('<f4', [4, 784], withNaN) }, 8),
  'npz-out-of-range.npz': npz({ data: npy('<f4', [4, 784], tooBright) }),
  'npz-label-10.npz': npz({ data: npy('|u1', [3, 784], img3), labels: npy('<i8', [3], BigInt64Array.from([0, 10, 1], BigInt)) }),
  'npz-float-labels.npz': npz({ data: npy('|u1', [3, 784], img3), labels: npy('<f4', [3], new Float32Array([0, 1, 2])) }),
  'npz-count-mismatch.npz': npz({ data: npy('|u1', [3, 784], img3), labels: npy('|u1', [2], new Uint8Array([0, 1])) }),
  'npz-bad-crc.npz': badCrcNpz,
  'npz-truncated.npz': goodNpz.subarray(0, goodNpz.length - 30),
  'npz-good.npz': goodNpz,                                       // good alone; refused beside an IDX file
  'bomb-huge-isize.idx.gz': hugeIsize,
  'bomb-8MiB.idx.gz': honestBomb,
  'bomb-lying-isize.idx.gz': lyingBomb,
  'bomb-claims-400MiB.idx.gz': claims400M,
  'npz-claims-400MiB.npz': npzClaim,
  'truncated.idx.gz': good['images.idx.gz'].subarray(0, 200),
  'bad-crc.idx.gz': badCrcGz,
  'empty.idx': new Uint8Array(0),
  'text.txt': ascii('label,pixel0,pixel1\n'),
};
const badManifest = [
  { files: ['truncated.idx'], message: 'truncated.idx: header says 10x28x28 = 7840 bytes of data, file has 3920' },
  { files: ['wrong-magic.bin'], message: 'wrong-magic.bin: not a recognised data file (it starts 01 02 08 03)' },
  { files: ['wrong-type.idx'], message: 'wrong-type.idx: IDX type 0xd is not unsigned bytes (0x08)' },
  { files: ['huge-header.idx'], message: 'huge-header.idx: header claims 216000000000000 bytes of data, over the 536870912-byte limit' },
  { files: ['zero-images.idx'], message: 'zero-images.idx: no images' },
  { files: ['wrong-shape.idx'], message: 'wrong-shape.idx: expected n x 28 x 28 (or n x 784) images, got 2 x 32 x 32' },
  { files: ['images3.idx', 'labels2.idx'], message: 'images3.idx: 3 images but 2 labels in labels2.idx' },
  { files: ['labels-12.idx', 'images3.idx'], message: 'labels-12.idx: label 12 at 1 is outside 0..9' },
  { files: ['labels3.idx'], message: 'labels3.idx: this looks like a label file (one dimension): the images are needed too' },
  { files: ['labels3.idx', 'labels2.idx'], message: 'both label files' },
  { files: ['not-npz.zip'], message: 'not-npz.zip: no data.npy in the archive (it holds readme.txt)' },
  { files: ['npz-wrong-shape.npz'], message: 'npz-wrong-shape.npz: data.npy: expected n x 28 x 28 (or n x 784) images, got 2 x 27 x 28' },
  { files: ['npz-int-images.npz'], message: 'npz-int-images.npz: data.npy: images must be uint8 (|u1) or floats in [0, 1] (<f4, <f8), got <i8' },
  { files: ['npz-bigendian.npz'], message: "dtype '>f4' is big-endian" },
  { files: ['npz-fortran.npz'], message: 'fortran_order True is not supported' },
  { files: ['npz-nan.npz'], message: 'npz-nan.npz: data.npy: value 884 (image 1, pixel 100) is NaN' },
  { files: ['npz-out-of-range.npz'], message: 'npz-out-of-range.npz: data.npy: value 1575 (image 2, pixel 7) is 1.5, outside [0, 1]' },
  { files: ['npz-label-10.npz'], message: 'npz-label-10.npz: labels.npy: label 10 at 1 is outside 0..9' },
  { files: ['npz-float-labels.npz'], message: 'labels must be integers (|u1, <i4 or <i8), got <f4' },
  { files: ['npz-count-mismatch.npz'], message: 'npz-count-mismatch.npz: data.npy: 3 images but 2 labels in npz-count-mismatch.npz: labels.npy' },
  { files: ['npz-bad-crc.npz'], message: 'npz-bad-crc.npz: entry data.npy: CRC32 mismatch' },
  { files: ['npz-truncated.npz'], message: 'npz-truncated.npz: no end-of-central-directory record' },
  { files: ['npz-good.npz', 'labels2.idx'], message: 'npz-good.npz: an npz file holds the images and the labels: give it alone' },
  { files: ['bomb-huge-isize.idx.gz'], message: 'bomb-huge-isize.idx.gz: the gzip trailer says 4026531840 bytes, over the 536870912-byte limit, but the data inflates to 1024' },
  { files: ['bomb-8MiB.idx.gz'], maxBytes: 1 << 20, message: 'bomb-8MiB.idx.gz: the data expands past the 1048576-byte limit (the gzip trailer says 8388608 bytes)' },
  { files: ['bomb-lying-isize.idx.gz'], message: 'bomb-lying-isize.idx.gz: the deflate data expands past the 1000 bytes the gzip trailer states' },
  { files: ['bomb-claims-400MiB.idx.gz'], message: 'bomb-claims-400MiB.idx.gz: the gzip trailer says 419430400 bytes, more than its deflate data can hold, but the data inflates to 1024' },
  { files: ['npz-claims-400MiB.npz'], message: 'npz-claims-400MiB.npz: entry data.npy claims 419430400 bytes from' },
  { files: ['truncated.idx.gz'], message: 'truncated.idx.gz: corrupt or truncated gzip file: deflate data, input byte' },
  { files: ['bad-crc.idx.gz'], message: 'bad-crc.idx.gz: gzip CRC32 mismatch' },
  { files: ['empty.idx'], message: 'empty.idx: the file is empty' },
  { files: ['text.txt'], message: 'text.txt: not a recognised data file (it starts 6c 61 62 65)' },
  { files: ['images3.idx', 'labels3.idx', 'labels2.idx'], message: 'give one file (an npz, or IDX images) or two (IDX images and labels), got 3' },
];

writeSet(GOOD, good);
writeFileSync(path.join(GOOD, 'manifest.json'), JSON.stringify(goodManifest, null, 1) + '\n');
writeSet(BAD, bad);
writeFileSync(path.join(BAD, 'manifest.json'), JSON.stringify(badManifest, null, 1) + '\n');

// --- fuzz seeds: small inputs of each target's format, valid and broken ----------------------------------------

const small = images(2), smallLabels = labelsOf(2);
const stTensor = new Float32Array([1, 2, 3, 4, 5, 6]);
const seeds = {
  idx: {
    'images.idx': idx([2, 28, 28], small), 'labels.idx': idx([2], smallLabels), 'flat.idx': idx([2, 784], small),
    'truncated.idx': bad['truncated.idx'].subarray(0, 900), 'wrong-type.idx': idx([1, 4], new Uint8Array(16), 0x0d),
    'huge-header.idx': bad['huge-header.idx'], 'zero-images.idx': bad['zero-images.idx'], 'four-dims.idx': idx([1, 1, 28, 28], small.subarray(0, 784)),
  },
  gzip: {
    'images.idx.gz': gzip(idx([2, 28, 28], small)), 'fields.idx.gz': gzipWithFields(idx([2], smallLabels)),
    'stored.gz': new Uint8Array(gzipSync(small, { level: 0 })), 'dynamic.gz': gzip(ascii('the quick brown fox jumps over the lazy dog; '.repeat(20))),
    'bomb-huge-isize.gz': hugeIsize, 'bad-crc.gz': gzip(ascii('abc')).map((b, i, a) => (i === a.length - 8 ? b ^ 1 : b)),
    'truncated.gz': good['images.idx.gz'].subarray(0, 120), 'lying-isize.gz': (() => {
      const g = gzip(new Uint8Array(4096)); new DataView(g.buffer).setUint32(g.length - 4, 100, true); return g;
    })(),
  },
  npz: {
    'stored.npz': npz({ data: npy('|u1', [2, 28, 28], small), labels: npy('|u1', [2], smallLabels) }),
    'deflated.npz': npz({ data: npy('<f4', [1, 784], floats4.subarray(0, 784)), labels: npy('<i4', [1], new Int32Array([3])) }, 8),
    'float64.npz': npz({ data: npy('<f8', [1, 784], doubles5.subarray(0, 784)) }, 8),
    'labels.npy': npy('<i8', [3], BigInt64Array.from([1, 2, 3], BigInt)),
    'not-npz.zip': bad['not-npz.zip'], 'npz-fortran.npz': bad['npz-fortran.npz'], 'npz-label-10.npz': bad['npz-label-10.npz'],
    'npz-truncated.npz': npz({ data: npy('|u1', [1, 784], small.subarray(0, 784)) }).subarray(0, 500),
  },
  safetensors: {
    'two-tensors.safetensors': safetensors({ __metadata__: { epochs: '2' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] } }, new Uint8Array(stTensor.buffer)),
    'f16.safetensors': safetensors({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, new Uint8Array(6)),
    'empty.safetensors': safetensors({}),
    'overlap.safetensors': safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
    'bad-json.safetensors': safetensors('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]'),
    'huge-header.safetensors': concat(le([0xffffffff, 8]), ascii('{}')),
    'escapes.safetensors': safetensors('{"\\u00e9t\\u00e9": {"dtype": "U8", "shape": [], "data_offsets": [0, 1]}}', new Uint8Array(1)),
  },
};
for (const [target, files] of Object.entries(seeds)) {
  const dir = path.join(CORPUS, target);
  mkdirSync(dir, { recursive: true });
  // Seeds are rewritten; regression inputs (crash-*, kept by hand) stay.
  for (const name of readdirSync(dir)) if (name.startsWith('seed-')) rmSync(path.join(dir, name));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, `seed-${name}`), bytes);
}
// A real numpy file among the npz seeds, if the fixture made by numpy is there.
try { copyFileSync(path.join(ROOT, 'tests/fixtures/data/numpy-compressed.npz'), path.join(CORPUS, 'npz/seed-numpy-compressed.npz')); } catch {}

const count = (dir) => readdirSync(dir).filter((f) => f !== 'manifest.json').length;
process.stderr.write(`wrote ${count(GOOD)} good files (${goodManifest.length} cases), ${count(BAD)} bad files ` +
  `(${badManifest.length} cases), fuzz seeds: ${Object.entries(seeds).map(([t, f]) => `${t} ${Object.keys(f).length}`).join(', ')}\n`);
