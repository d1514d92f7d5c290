// The idx file format (MNIST / Fashion-MNIST): magic 0x0000 <type> <ndim>, big-endian uint32 dims,
// then big-endian data. Reads plain or gzip-compressed files (node:zlib). Torch-free.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

const TYPES: Record<number, [IdxDtype, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

/** Parses idx bytes (gzip is detected by its magic and inflated first). */
export function parseIdx(bytes: Uint8Array, what = 'idx data'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${what}: corrupt gzip stream: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4) throw new Error(`${what}: too short for an idx header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new Error(`${what}: not an idx file (magic ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  const t = TYPES[bytes[2]];
  if (!t) throw new Error(`${what}: unknown idx element type 0x${bytes[2].toString(16)}`);
  const [dtype, width] = t;
  const ndim = bytes[3];
  const head = 4 + 4 * ndim;
  if (bytes.length < head) throw new Error(`${what}: truncated header (${ndim} dims, ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== head + n * width)
    throw new Error(`${what}: expected ${head + n * width} bytes for shape [${shape.join(', ')}] of ${dtype}, got ${bytes.length}`);
  let data: IdxData;
  switch (dtype) {
    // copies (a Buffer's slice() would be a view)
    case 'uint8':
      data = new Uint8Array(bytes.subarray(head, head + n));
      break;
    case 'int8':
      data = new Int8Array(new Uint8Array(bytes.subarray(head, head + n)).buffer);
      break;
    case 'int16':
      data = Int16Array.from({ length: n }, (_, i) => view.getInt16(head + 2 * i, false));
      break;
    case 'int32':
      data = Int32Array.from({ length: n }, (_, i) => view.getInt32(head + 4 * i, false));
      break;
    case 'float32':
      data = Float32Array.from({ length: n }, (_, i) => view.getFloat32(head + 4 * i, false));
      break;
    case 'float64':
      data = Float64Array.from({ length: n }, (_, i) => view.getFloat64(head + 8 * i, false));
      break;
  }
  return { dtype, shape, data };
}

/** Reads and parses an idx file (.gz or plain). */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read idx file ${path}: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}

/** Encodes an array as idx bytes (for tests and tools). */
export function encodeIdx(a: IdxArray): Uint8Array {
  const code = Number(Object.entries(TYPES).find(([, [d]]) => d === a.dtype)![0]);
  const width = TYPES[code][1];
  const head = 4 + 4 * a.shape.length;
  const out = new Uint8Array(head + a.data.length * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = a.shape.length;
  a.shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  for (let i = 0; i < a.data.length; i++) {
    const o = head + i * width,
      v = a.data[i];
    switch (a.dtype) {
      case 'uint8':
        view.setUint8(o, v);
        break;
      case 'int8':
        view.setInt8(o, v);
        break;
      case 'int16':
        view.setInt16(o, v, false);
        break;
      case 'int32':
        view.setInt32(o, v, false);
        break;
      case 'float32':
        view.setFloat32(o, v, false);
        break;
      case 'float64':
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}
