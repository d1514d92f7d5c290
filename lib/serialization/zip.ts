// A minimal zip reader and writer, enough for PyTorch checkpoints.
//
// Reader: the central directory (zip64 end records and zip64 extra fields included), stored and
// deflate entries (node:zlib), CRC-32 checks. Sizes come from the central directory, so local
// headers with a data descriptor (what PyTorch writes) are fine. Corrupt or truncated archives
// give a CheckpointError naming the archive and the entry.
// Writer: stored entries (deflate on request) whose data starts on a 64-byte boundary (padding in
// an extra field, as PyTorch's writer does), zip64 records when sizes or offsets need them.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { CheckpointError } from './errors.js';
import type { ByteSource } from './source.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50,
  SIG_CENTRAL = 0x02014b50,
  SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50,
  SIG_LOCATOR64 = 0x07064b50;
const U32_MAX = 0xffffffff,
  U16_MAX = 0xffff;

// ---- CRC-32 ----------------------------------------------------------------------------

let table: Uint32Array | null = null;
function crc32Js(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** zlib.crc32 (Node ≥ 20.15) when present. */
export const crc32: (data: Uint8Array) => number = typeof (zlib as any).crc32 === 'function' ? (d) => (zlib as any).crc32(d) >>> 0 : crc32Js;

// ---- reading ---------------------------------------------------------------------------

export class ZipReader {
  readonly entries: ZipEntry[] = [];
  private readonly byName = new Map<string, ZipEntry>();
  /** Where the central directory starts: entry data must end before it. */
  private readonly cdOffset: number;

  constructor(
    readonly src: ByteSource,
    readonly opts: { checkCrc?: boolean } = {},
  ) {
    const { count, cdOffset, cdSize } = this.findEnd();
    this.cdOffset = cdOffset;
    const cd = src.read(cdOffset, cdSize, 'the central directory');
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) this.fail(`central directory entry ${i} of ${count} is missing or corrupt`);
      const flags = cd.readUInt16LE(p + 8),
        method = cd.readUInt16LE(p + 10),
        crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20),
        size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28),
        extraLen = cd.readUInt16LE(p + 30),
        commentLen = cd.readUInt16LE(p + 32);
      const disk = cd.readUInt16LE(p + 34);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) this.fail(`central directory entry ${i} runs past the directory`);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // zip64 extra field: the 8-byte values present are those whose 32-bit field is 0xffffffff.
      const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
      for (let q = 0; q + 4 <= extra.length; ) {
        const id = extra.readUInt16LE(q),
          len = extra.readUInt16LE(q + 2);
        if (q + 4 + len > extra.length) this.fail('extra field runs past its entry', name);
        if (id === 0x0001) {
          let r = q + 4;
          const next = (what: string): number => {
            if (r + 8 > q + 4 + len) this.fail(`zip64 extra field lacks the ${what}`, name);
            const v = extra.readBigUInt64LE(r);
            r += 8;
            if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`zip64 ${what} ${v} is too large`, name);
            return Number(v);
          };
          if (size === U32_MAX) size = next('size');
          if (compressedSize === U32_MAX) compressedSize = next('compressed size');
          if (localHeaderOffset === U32_MAX) localHeaderOffset = next('local header offset');
        }
        q += 4 + len;
      }
      if (disk !== 0 && disk !== U16_MAX) this.fail('multi-disk archives are not supported', name);
      const e: ZipEntry = { name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset };
      this.entries.push(e);
      this.byName.set(name, e);
      p = end;
    }
  }

  private fail(msg: string, entry?: string): never {
    throw new CheckpointError(this.src.name, entry === undefined ? msg : `zip entry ${JSON.stringify(entry)}: ${msg}`);
  }

  /** Locates the end of central directory record (and its zip64 version). */
  private findEnd(): { count: number; cdOffset: number; cdSize: number } {
    const { src } = this;
    if (src.size < 22) this.fail(`not a zip archive: ${src.size} bytes is too short (truncated?)`);
    const tailLen = Math.min(src.size, 22 + 0xffff);
    const tailStart = src.size - tailLen;
    const tail = src.read(tailStart, tailLen, 'the end of the archive');
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        at = i;
        break;
      }
    }
    if (at < 0) this.fail('no end of central directory record: truncated or not a zip archive');
    const disk = tail.readUInt16LE(at + 4);
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    let endOfCd = tailStart + at;
    const locAt = tailStart + at - 20;
    if (locAt >= 0 && src.read(locAt, 4, 'the zip64 locator').readUInt32LE(0) === SIG_LOCATOR64) {
      const loc = src.read(locAt, 20, 'the zip64 locator');
      const off64 = loc.readBigUInt64LE(8);
      if (off64 > BigInt(locAt - 56)) this.fail(`zip64 end record offset ${off64} is out of range (truncated or corrupt)`);
      const rec = src.read(Number(off64), 56, 'the zip64 end record');
      if (rec.readUInt32LE(0) !== SIG_EOCD64) this.fail('zip64 end record signature is wrong (corrupt archive)');
      const big = (o: number, what: string) => {
        const v = rec.readBigUInt64LE(o);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`zip64 ${what} ${v} is too large`);
        return Number(v);
      };
      count = big(32, 'entry count');
      cdSize = big(40, 'directory size');
      cdOffset = big(48, 'directory offset');
      endOfCd = Number(off64);
    } else if (disk !== 0) {
      this.fail('multi-disk archives are not supported');
    }
    if (cdOffset + cdSize > endOfCd)
      this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) overlaps the end records at ${endOfCd} (truncated or corrupt)`);
    if (count * 46 > cdSize) this.fail(`central directory of ${cdSize} bytes cannot hold ${count} entries (corrupt)`);
    return { count, cdOffset, cdSize };
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Absolute offset of an entry's (compressed) data, from its local header. */
  dataOffset(e: ZipEntry): number {
    const h = this.src.read(e.localHeaderOffset, 30, `the local header of ${JSON.stringify(e.name)}`);
    if (h.readUInt32LE(0) !== SIG_LOCAL) this.fail(`local header signature is wrong at offset ${e.localHeaderOffset}`, e.name);
    const start = e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    if (start + e.compressedSize > this.cdOffset)
      this.fail(`data [${start}, ${start + e.compressedSize}) runs into the central directory (truncated or corrupt)`, e.name);
    return start;
  }

  /** The entry's uncompressed bytes, CRC-checked unless checkCrc is false. */
  read(name: string): Buffer {
    const e = this.byName.get(name);
    if (!e) this.fail(`no entry ${JSON.stringify(name)} in the archive`);
    if (e.flags & 1) this.fail('encrypted entries are not supported', name);
    const raw = this.src.read(this.dataOffset(e), e.compressedSize, `the data of ${JSON.stringify(name)}`);
    let data: Buffer;
    if (e.method === 0) {
      if (e.compressedSize !== e.size) this.fail(`stored entry has compressed size ${e.compressedSize} but size ${e.size}`, name);
      data = raw;
    } else if (e.method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        this.fail(`corrupt deflate data (${(err as Error).message})`, name);
      }
      if (data.length !== e.size) this.fail(`inflated to ${data.length} bytes, the directory says ${e.size}`, name);
    } else {
      this.fail(`compression method ${e.method} is not supported (only stored and deflate)`, name);
    }
    if (this.opts.checkCrc !== false && crc32(data) !== e.crc32) this.fail('CRC-32 mismatch: the data is corrupt', name);
    return data;
  }
}

// ---- writing ---------------------------------------------------------------------------

export interface ZipWriteEntry {
  name: string;
  /** The bytes, or a function producing them when the entry is written (keeps memory low). */
  data: Uint8Array | (() => Uint8Array);
  deflate?: boolean;
}
export interface ZipWriteOptions {
  /** Data alignment of stored entries (PyTorch: 64). */
  align?: number;
  /** Write zip64 fields and end records even when not needed (testing). */
  forceZip64?: boolean;
}

// 1980-01-01 00:00, a fixed timestamp keeps output deterministic.
const DOS_TIME = 0,
  DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** The archive as a sequence of chunks (header, data, header, data, ..., directory). */
export function* zipChunks(entries: Iterable<ZipWriteEntry>, opts: ZipWriteOptions = {}): Generator<Uint8Array> {
  const align = opts.align ?? 64;
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  for (const ent of entries) {
    const raw = typeof ent.data === 'function' ? ent.data() : ent.data;
    const crc = crc32(raw);
    const data = ent.deflate ? deflateRawSync(raw) : raw;
    const method = ent.deflate ? 8 : 0;
    const name = Buffer.from(ent.name, 'utf8');
    const zip64 = !!opts.forceZip64 || raw.length >= U32_MAX || data.length >= U32_MAX || offset >= U32_MAX;
    const local64 = zip64 ? zip64Extra([raw.length, data.length]) : Buffer.alloc(0);
    let pad = 0;
    if (align > 1 && !ent.deflate) {
      pad = (align - ((offset + 30 + name.length + local64.length + 4) % align)) % align;
    }
    const padExtra = align > 1 && !ent.deflate ? Buffer.alloc(4 + pad, 'Z') : Buffer.alloc(0);
    if (padExtra.length) {
      padExtra.write('FB', 0, 'latin1');
      padExtra.writeUInt16LE(pad, 2);
    }
    const h = Buffer.alloc(30);
    h.writeUInt32LE(SIG_LOCAL, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(method, 8);
    h.writeUInt16LE(DOS_TIME, 10);
    h.writeUInt16LE(DOS_DATE, 12);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(zip64 ? U32_MAX : data.length, 18);
    h.writeUInt32LE(zip64 ? U32_MAX : raw.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(local64.length + padExtra.length, 28);
    yield h;
    yield name;
    yield local64;
    yield padExtra;
    yield data;

    const cdZip64 = zip64 ? zip64Extra([raw.length, data.length, offset]) : Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(SIG_CENTRAL, 0);
    c.writeUInt16LE(zip64 ? 45 : 20, 4);
    c.writeUInt16LE(zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(DOS_TIME, 12);
    c.writeUInt16LE(DOS_DATE, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(zip64 ? U32_MAX : data.length, 20);
    c.writeUInt32LE(zip64 ? U32_MAX : raw.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(cdZip64.length, 30);
    c.writeUInt32LE(zip64 ? U32_MAX : offset, 42);
    central.push(c, name, cdZip64);
    offset += 30 + name.length + local64.length + padExtra.length + data.length;
    count++;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((s, b) => s + b.length, 0);
  yield* central;
  const need64 = !!opts.forceZip64 || count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  if (need64) {
    const r = Buffer.alloc(56 + 20);
    r.writeUInt32LE(SIG_EOCD64, 0);
    r.writeBigUInt64LE(44n, 4); // size of the rest of the record
    r.writeUInt16LE(45, 12);
    r.writeUInt16LE(45, 14);
    r.writeBigUInt64LE(BigInt(count), 24);
    r.writeBigUInt64LE(BigInt(count), 32);
    r.writeBigUInt64LE(BigInt(cdSize), 40);
    r.writeBigUInt64LE(BigInt(cdOffset), 48);
    r.writeUInt32LE(SIG_LOCATOR64, 56);
    r.writeBigUInt64LE(BigInt(cdOffset + cdSize), 64);
    r.writeUInt32LE(1, 72); // total disks
    yield r;
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(SIG_EOCD, 0);
  e.writeUInt16LE(need64 ? U16_MAX : count, 8);
  e.writeUInt16LE(need64 ? U16_MAX : count, 10);
  e.writeUInt32LE(need64 ? U32_MAX : cdSize, 12);
  e.writeUInt32LE(need64 ? U32_MAX : cdOffset, 16);
  yield e;
}

function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

/** The whole archive in one Buffer. */
export function zipToBuffer(entries: Iterable<ZipWriteEntry>, opts: ZipWriteOptions = {}): Buffer {
  return Buffer.concat([...zipChunks(entries, opts)]);
}
