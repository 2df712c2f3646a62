// Users' data files in: IDX (gzipped or not) and numpy's npz, parsed by the C readers in the wasm
// module (src/io/: one parser per format, bounded, fuzzed), so the page, the worker, the tools and the
// tests all read files with the same code. This module only copies bytes in and arrays out.
//   parseDataFiles(lab, [{ name, bytes }])  -> { images, labels, n, format, name, gzipped }
// One file (an npz, or IDX images: unlabelled) or two (IDX images and IDX labels, in either order,
// either gzipped). Images come back as bytes (n * 784, 0..255; float npz data as round(255 x)), labels
// as bytes 0..9 or null. Every refusal is a LabError naming the file and what is wrong with it.
import { asBytes, Lab, LabError, nulTerminated, PIXELS } from '../latent-lab.js';

const FORMATS = ['idx', 'npz', 'npy'];

function checkLab(lab, what) {
  if (!(lab instanceof Lab)) {
    throw new LabError(`${what} needs the Lab as its first argument (the parsers run in the wasm module)`);
  }
}

// The synchronous core of parseDataFiles (for a caller that cannot await).
export function parseDataFilesSync(lab, files, { maxBytes = 0 } = {}) {
  checkLab(lab, 'parseDataFiles');
  if (!Array.isArray(files) || files.length < 1 || files.length > 2) {
    throw new LabError(`give one file (an npz, or IDX images) or two (IDX images and labels), got ${Array.isArray(files) ? files.length : typeof files}`);
  }
  if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > 2 ** 31) throw new LabError(`maxBytes must be 0..2^31, got ${maxBytes}`);
  const named = files.map((f, i) => {
    const name = typeof f?.name === 'string' && f.name ? f.name : `file ${i + 1}`;
    return { name, bytes: asBytes(f?.bytes, name) };
  });
  const x = lab.x;
  return lab.scoped(({ input }) => {
    const handles = [];
    let dataset = 0;
    try {
      for (const f of named) {
        const h = x.ll_data_file_open(input(f.bytes), f.bytes.length, input(nulTerminated(f.name)), maxBytes);
        if (!h) throw new LabError(lab.lastError());
        handles.push(h);
      }
      dataset = x.ll_data_build(handles[0], handles[1] ?? 0);
      if (!dataset) throw new LabError(lab.lastError());
      const n = x.ll_data_count(dataset);
      const images = lab.read(Uint8Array, x.ll_data_images(dataset), n * PIXELS);
      const labels = x.ll_data_has_labels(dataset) ? lab.read(Uint8Array, x.ll_data_labels(dataset), n) : null;
      return { images, labels, n, format: FORMATS[x.ll_data_file_format(handles[0])],
        gzipped: handles.some((h) => x.ll_data_file_gzipped(h) === 1), name: named.map((f) => f.name).join(' + ') };
    } finally {
      if (dataset) x.ll_data_free(dataset);
      for (const h of handles) x.ll_data_file_free(h);
    }
  });
}

// files: [{ name, bytes: Uint8Array }]; maxBytes caps any one array unpacked (0: the C default, 512 MiB).
export async function parseDataFiles(lab, files, options) {
  return parseDataFilesSync(lab, files, options);
}

// IDX in place: { dims, data } with data a view of bytes after the header.
export function parseIdxBytes(lab, bytes, name = 'IDX file', { maxBytes = 0 } = {}) {
  checkLab(lab, 'parseIdxBytes');
  bytes = asBytes(bytes, name);
  return lab.scoped(({ alloc, input }) => {
    const dims = alloc(16), offset = alloc(4);
    const ndim = lab.check(lab.x.ll_data_idx_parse(input(bytes), bytes.length, input(nulTerminated(name)), maxBytes, dims, offset));
    return { dims: Array.from(lab.read(Uint32Array, dims, ndim)), data: bytes.subarray(lab.read(Uint32Array, offset, 1)[0]) };
  });
}

// gzip's contents, or the bytes themselves if they do not start with gzip's magic.
export function gunzipBytes(lab, bytes, name = 'gzip data', { maxBytes = 0 } = {}) {
  checkLab(lab, 'gunzipBytes');
  bytes = asBytes(bytes, name);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  return lab.scoped(({ alloc, input }) => {
    const out = alloc(4), len = alloc(4);
    lab.check(lab.x.ll_data_gunzip(input(bytes), bytes.length, input(nulTerminated(name)), maxBytes, out, len));
    const p = lab.read(Uint32Array, out, 1)[0], n = lab.read(Uint32Array, len, 1)[0];
    try {
      return lab.read(Uint8Array, p, n);
    } finally {
      lab.x.free(p);
    }
  });
}
