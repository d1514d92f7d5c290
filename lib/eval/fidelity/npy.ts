// numpy's .npy format (one array), the members of an .npz archive.
//
// Layout: the magic "\x93NUMPY", a major and a minor version byte, the header length (uint16 LE in
// v1.0, uint32 LE in v2.0 and v3.0), then the header: a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2048,), } padded with spaces and ended by
// '\n' so that the data starts on a 64-byte boundary, then the raw elements.
//
// Reading accepts v1.0, v2.0 and v3.0 headers, little- and big-endian descrs (big-endian data is
// byte-swapped) and Fortran order (transposed into C order). Writing produces exactly the bytes
// numpy.save writes for a C-order little-endian array: v1.0 header (v2.0 only if the header
// outgrows 65535 bytes), the keys sorted, numpy's spare spaces for growing the first axis, 64-byte
// alignment. Object arrays (pickles) are refused, as numpy.load does without allow_pickle.
import { endianness } from 'node:os';
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import { CheckpointError } from '../../serialization/errors.js';
import { tensorBytes, tensorFromBytes } from '../../serialization/tensor-bytes.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ARRAY_ALIGN = 64;
/** numpy leaves room for the first axis to grow to this many digits without rewriting the file. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** numpy type code (kind + item size, no byte order) → DType. */
const codeToDType: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  b1: 'bool',
};
const dtypeToCode: Partial<Record<DType, string>> = Object.fromEntries(Object.entries(codeToDType).map(([k, v]) => [v, k]));

export interface NpyHeader {
  version: [number, number];
  /** The descr as written, e.g. '<f4'. */
  descr: string;
  dtype: DType;
  bigEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first element. */
  dataOffset: number;
}

/** Parses the magic, version and header of .npy bytes; `name` names the file (and member) in errors. */
export function parseNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  const fail = (msg: string): never => {
    throw new CheckpointError(name, msg);
  };
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) fail('not a .npy array: the magic "\\x93NUMPY" is missing');
  const major = b[6],
    minor = b[7];
  let len: number, start: number;
  if (major === 1) {
    len = b.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) fail('truncated .npy header');
    len = b.readUInt32LE(8);
    start = 12;
  } else return fail(`.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  if (start + len > b.length) fail(`.npy header of ${len} bytes runs past the end (${b.length} bytes): truncated`);
  // v1/v2 headers are latin-1, v3 UTF-8; the fields we accept are ASCII either way.
  const text = b.toString(major === 3 ? 'utf8' : 'latin1', start, start + len);
  let dict: Map<string, PyValue>;
  try {
    dict = parsePyDict(text);
  } catch (e) {
    return fail(`cannot parse the .npy header ${JSON.stringify(text.trim())}: ${(e as Error).message}`);
  }
  const descr = dict.get('descr'),
    fortran = dict.get('fortran_order'),
    shape = dict.get('shape');
  if (typeof descr !== 'string') fail(`the .npy header's descr is ${describe(descr)}, not a simple type string (structured arrays are not supported)`);
  if (typeof fortran !== 'boolean') fail(`the .npy header's fortran_order is ${describe(fortran)}, not True/False`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
    fail(`the .npy header's shape is ${describe(shape)}, not a tuple of non-negative integers`);
  const m = /^([<>|=])?([a-zA-Z])(\d+)$/.exec(descr as string);
  if ((descr as string).startsWith('|O') || descr === 'O') fail('object arrays (pickled Python objects) are not supported');
  const dtype = m ? codeToDType[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype) fail(`numpy dtype ${JSON.stringify(descr)} is not supported (supported: float16/32/64, int8/16/32/64, uint8, bool)`);
  const order = m![1] ?? '=';
  const itemsize = Number(m![3]);
  const bigEndian = itemsize > 1 && (order === '>' || (order === '=' && endianness() === 'BE'));
  return {
    version: [major, minor],
    descr: descr as string,
    dtype: dtype!,
    bigEndian,
    fortranOrder: fortran as boolean,
    shape: shape as number[],
    dataOffset: start + len,
  };
}

/** Reads one .npy array (bytes of a file or of an .npz member) into a C-order CPU tensor. */
export function decodeNpy(bytes: Uint8Array, name: string): Tensor {
  const h = parseNpyHeader(bytes, name);
  const itemsize = Number(/\d+$/.exec(h.descr)![0]);
  const numel = h.shape.reduce((a, d) => a * d, 1);
  const need = numel * itemsize;
  const have = bytes.byteLength - h.dataOffset;
  if (have < need) throw new CheckpointError(name, `${h.descr} array of shape [${h.shape}] needs ${need} bytes of data but the .npy holds ${have}: truncated`);
  if (have > need)
    throw new CheckpointError(name, `${h.descr} array of shape [${h.shape}] needs ${need} bytes of data but the .npy holds ${have}: trailing bytes`);
  let data = Buffer.from(bytes.buffer, bytes.byteOffset + h.dataOffset, need);
  if (h.bigEndian) {
    data = Buffer.from(data); // a copy: swap in place on it
    if (itemsize === 2) data.swap16();
    else if (itemsize === 4) data.swap32();
    else data.swap64();
  }
  if (!h.fortranOrder || h.shape.length < 2) return tensorFromBytes(data, h.shape, h.dtype);
  // Fortran order is C order of the reversed shape; transpose back and make it contiguous.
  const rev = tensorFromBytes(data, [...h.shape].reverse(), h.dtype);
  try {
    return rev.permute(...h.shape.map((_, i) => h.shape.length - 1 - i)).contiguous();
  } finally {
    rev.dispose();
  }
}

/** The .npy bytes numpy.save writes for this tensor (C order, little-endian). */
export function encodeNpy(t: Tensor, name = '<array>'): Buffer {
  const code = dtypeToCode[t.dtype];
  if (!code) throw new CheckpointError(name, `dtype ${t.dtype} has no numpy equivalent (float16/32/64, int8/16/32/64, uint8, bool can be saved)`);
  if (endianness() !== 'LE') throw new CheckpointError(name, 'writing .npy on a big-endian machine is not supported');
  const descr = `${code.endsWith('1') ? '|' : '<'}${code}`;
  const shape = t.shape;
  const shapeRepr = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  return Buffer.concat([wrapHeader(header), tensorBytes(t)]);
}

/** Magic, version, length and the header padded with spaces and '\n' to a 64-byte boundary. */
function wrapHeader(header: string): Buffer {
  for (const [major, lenBytes] of [
    [1, 2],
    [2, 4],
  ] as const) {
    const hlen = header.length + 1;
    const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ARRAY_ALIGN);
    const total = hlen + padlen;
    if (lenBytes === 2 && total > 0xffff) continue;
    const pre = Buffer.alloc(MAGIC.length + 2 + lenBytes);
    MAGIC.copy(pre);
    pre[6] = major;
    pre[7] = 0;
    if (lenBytes === 2) pre.writeUInt16LE(total, 8);
    else pre.writeUInt32LE(total, 8);
    return Buffer.concat([pre, Buffer.from(header + ' '.repeat(padlen) + '\n', 'latin1')]);
  }
  throw new Error('unreachable');
}

// ---- the header's Python literal -------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v instanceof Map) return 'a dict';
  return JSON.stringify(v);
}

/**
 * Parses the subset of Python literals numpy writes in headers: a dict of string keys whose
 * values are strings, ints, True/False/None, tuples or lists (nested), with optional trailing commas.
 */
function parsePyDict(text: string): Map<string, PyValue> {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) throw new Error(`expected '${c}' at ${i}`);
    i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated string at ${i}`);
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) throw new Error('escapes in strings are not supported');
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw new Error(`expected ',' or '${close}' at ${i}`);
      }
    }
    if (c === '{') return dict();
    const m = /^(-?\d+|True|False|None)/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at ${i}`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0]);
  };
  const dict = (): Map<string, PyValue> => {
    expect('{');
    const out = new Map<string, PyValue>();
    for (;;) {
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      const k = value();
      if (typeof k !== 'string') throw new Error('dict keys must be strings');
      expect(':');
      out.set(k, value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') throw new Error(`expected ',' or '}' at ${i}`);
    }
  };
  const d = dict();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return d;
}
