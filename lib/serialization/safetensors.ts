// safetensors files (https://github.com/huggingface/safetensors): read a file, a buffer or a
// sharded checkpoint (*.safetensors.index.json), and write files atomically.
//
// Layout: u64 little-endian header length N, N bytes of JSON header
// {"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}}, then the data;
// offsets are relative to the start of the data. The header is validated entry by entry.
//
// Tensors come back as a Map name → Tensor, in the order their data lies in the file. Our writer
// keeps the caller's order (stably grouped by element size, largest first, as the reference
// writer does for alignment), so a save → load round trip keeps the key order of a state dict.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { CheckpointError, wrapErrors } from './errors.js';
import { dtypeToSafetensors, itemSize, safetensorsToDType, safetensorsUnsupported } from './dtypes.js';
import { bufferSource, withSource, type ByteSource } from './source.js';
import { tensorBytes, tensorFromBytes, toDevice } from './tensor-bytes.js';
import { writeFileAtomic } from './atomic.js';

export type Metadata = Record<string, string>;
export type TensorMap = Map<string, Tensor>;
/** What the writers accept: a Map or a plain record of name → Tensor. */
export type TensorsLike = Map<string, Tensor> | Record<string, Tensor>;
export interface LoadOptions {
  device?: string;
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}
export interface Header {
  /** Entries in data order. */
  entries: TensorInfo[];
  metadata: Metadata | null;
  /** Absolute offset of the data section. */
  dataStart: number;
}

/** Largest header the reference implementation accepts. */
const MAX_HEADER = 100_000_000;

/** Reads and validates the header of a safetensors file or buffer. */
export function parseHeader(src: ByteSource): Header {
  const fail = (msg: string, key?: string): never => {
    throw new CheckpointError(src.name, msg, key);
  };
  if (src.size < 8) fail(`not a safetensors file: ${src.size} bytes, a header length needs 8`);
  const n64 = src.read(0, 8, 'the header length').readBigUInt64LE(0);
  if (n64 > BigInt(src.size - 8)) fail(`header length ${n64} runs past the end of the file (${src.size} bytes): truncated or not safetensors`);
  const n = Number(n64);
  if (n > MAX_HEADER) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (n < 2) fail(`header length ${n} is too short for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, n, 'the header'));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  let metadata: Metadata | null = null;
  const entries: TensorInfo[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(v, src.name);
      continue;
    }
    entries.push(checkEntry(name, v, dataLen, src.name));
  }
  // Data order; zero-size entries keep their header order among equals (sort is stable).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const p = entries[i - 1],
      e = entries[i];
    if (e.begin < p.end) fail(`data_offsets [${e.begin}, ${e.end}] overlap those of ${JSON.stringify(p.name)} [${p.begin}, ${p.end}]`, e.name);
  }
  return { entries, metadata, dataStart };
}

function checkMetadata(v: unknown, file: string): Metadata {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CheckpointError(file, '__metadata__ must be an object of strings', '__metadata__');
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw new CheckpointError(file, `__metadata__ value of ${JSON.stringify(k)} is ${typeof s}, not a string`, '__metadata__');
  }
  return v as Metadata;
}

function checkEntry(name: string, v: unknown, dataLen: number, file: string): TensorInfo {
  const fail = (msg: string): never => {
    throw new CheckpointError(file, msg, name);
  };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('entry is not an object {dtype, shape, data_offsets}');
  const { dtype: code, shape, data_offsets: off } = v as Record<string, unknown>;
  if (typeof code !== 'string') fail('dtype is missing or not a string');
  const dtype = safetensorsToDType[code as string];
  if (!dtype) {
    if (safetensorsUnsupported.has(code as string)) fail(`dtype ${code} is not supported (supported: ${Object.keys(safetensorsToDType).join(', ')})`);
    fail(`unknown dtype ${JSON.stringify(code)}`);
  }
  const isIndex = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) fail(`data_offsets ${JSON.stringify(off)} is not [begin, end]`);
  const [begin, end] = off as number[];
  if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLen) fail(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes): truncated file?`);
  const bytes = (shape as number[]).reduce((p, d) => p * BigInt(d), BigInt(itemSize[dtype]));
  if (bytes !== BigInt(end - begin)) fail(`shape [${shape}] of ${code} needs ${bytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  return { name, dtype, shape: shape as number[], begin, end };
}

function readTensors(src: ByteSource, header: Header, opts: LoadOptions, only?: Set<string>): TensorMap {
  const out: TensorMap = new Map();
  try {
    for (const e of header.entries) {
      if (only && !only.has(e.name)) continue;
      const bytes = src.read(header.dataStart + e.begin, e.end - e.begin, `tensor ${JSON.stringify(e.name)}`);
      const t = wrapErrors(src.name, 'cannot create tensor', () => tensorFromBytes(bytes, e.shape, e.dtype), e.name);
      out.set(
        e.name,
        wrapErrors(src.name, `cannot move to ${opts.device}`, () => toDevice(t, opts.device), e.name),
      );
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/** Reads a safetensors buffer. */
export function load(buffer: Uint8Array, opts: LoadOptions & { name?: string } = {}): TensorMap {
  return loadWithMetadata(buffer, opts).tensors;
}
export function loadWithMetadata(buffer: Uint8Array, opts: LoadOptions & { name?: string } = {}): { tensors: TensorMap; metadata: Metadata | null } {
  return loadFromSource(bufferSource(buffer, opts.name ?? '<safetensors buffer>'), opts);
}

/** Reads a .safetensors file, or a sharded checkpoint when the path ends in .index.json. */
export function loadFile(path: string, opts: LoadOptions = {}): TensorMap {
  return loadFileWithMetadata(path, opts).tensors;
}
export function loadFileWithMetadata(path: string, opts: LoadOptions = {}): { tensors: TensorMap; metadata: Metadata | null } {
  if (path.endsWith('.index.json')) return loadSharded(path, opts);
  return withSource(path, (src) => loadFromSource(src, opts));
}

/** Reads from an open source (see source.ts). */
export function loadFromSource(src: ByteSource, opts: LoadOptions = {}): { tensors: TensorMap; metadata: Metadata | null } {
  const header = parseHeader(src);
  return { tensors: readTensors(src, header, opts), metadata: header.metadata };
}

/** The header only (names, dtypes, shapes, metadata), without reading tensor data. */
export function readHeader(path: string): Header {
  return withSource(path, parseHeader);
}

/**
 * A sharded checkpoint: `{"metadata": {...}, "weight_map": {name: "model-00001-of-00002.safetensors"}}`.
 * Shard paths are relative to the index file. Tensors come back in weight_map order.
 */
export function loadSharded(indexPath: string, opts: LoadOptions = {}): { tensors: TensorMap; metadata: Metadata | null } {
  let index: any;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(indexPath, `cannot read the shard index: ${(e as Error).message}`);
  }
  const map = index?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(indexPath, 'shard index has no weight_map object');
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard === '' || shard.includes('\0'))
      throw new CheckpointError(indexPath, `weight_map entry is not a file name: ${JSON.stringify(shard)}`, name);
    (byShard.get(shard) ?? byShard.set(shard, new Set()).get(shard)!).add(name);
  }
  const found = new Map<string, Tensor>();
  try {
    for (const [shard, names] of byShard) {
      const path = join(dirname(indexPath), shard);
      withSource(path, (src) => {
        const header = parseHeader(src);
        const have = new Set(header.entries.map((e) => e.name));
        for (const n of names)
          if (!have.has(n)) throw new CheckpointError(path, `the index ${indexPath} places this tensor here but the shard has no such tensor`, n);
        for (const [k, t] of readTensors(src, header, opts, names)) found.set(k, t);
      });
    }
  } catch (e) {
    for (const t of found.values()) t.dispose();
    throw e;
  }
  const tensors: TensorMap = new Map(Object.keys(map).map((k) => [k, found.get(k)!]));
  const md = index.metadata;
  const metadata =
    md && typeof md === 'object' && !Array.isArray(md)
      ? Object.fromEntries(Object.entries(md).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
      : null;
  return { tensors, metadata };
}

// ---- writing ---------------------------------------------------------------------------

interface Planned {
  name: string;
  t: Tensor;
  bytes: number;
}

function plan(tensors: TensorsLike, metadata: Metadata | undefined, what: string): { header: Buffer; items: Planned[] } {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const items: Planned[] = [];
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (typeof name !== 'string' || name === '' || name === '__metadata__')
      throw new CheckpointError(what, 'tensor names must be non-empty strings other than __metadata__', String(name));
    if (seen.has(name)) throw new CheckpointError(what, 'duplicate tensor name', name);
    seen.add(name);
    if (!(t instanceof Tensor)) throw new CheckpointError(what, `value is not a Tensor (${typeof t})`, name);
    if (t.isDisposed) throw new CheckpointError(what, 'tensor was disposed', name);
    items.push({ name, t, bytes: t.numel() * itemSize[t.dtype] });
  }
  // Largest elements first keeps every tensor aligned to its element size; stable otherwise.
  items.sort((a, b) => itemSize[b.t.dtype] - itemSize[a.t.dtype]);
  const head: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new CheckpointError(what, `metadata value of ${JSON.stringify(k)} is not a string`, '__metadata__');
    head.__metadata__ = metadata;
  }
  let off = 0;
  for (const it of items) {
    Object.defineProperty(head, it.name, {
      value: { dtype: dtypeToSafetensors[it.t.dtype], shape: it.t.shape, data_offsets: [off, off + it.bytes] },
      enumerable: true,
    });
    off += it.bytes;
  }
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return { header, items };
}

function* chunks(header: Buffer, items: Planned[]): Generator<Uint8Array> {
  yield header;
  for (const it of items) yield tensorBytes(it.t);
}

/** Serializes to a Buffer. */
export function save(tensors: TensorsLike, metadata?: Metadata): Buffer {
  const { header, items } = plan(tensors, metadata, '<safetensors buffer>');
  return Buffer.concat([...chunks(header, items)]);
}

/** Writes a .safetensors file atomically (temp file in the same folder, fsync, rename). */
export function saveFile(tensors: TensorsLike, path: string, metadata?: Metadata): void {
  const { header, items } = plan(tensors, metadata, path);
  writeFileAtomic(path, chunks(header, items));
}
