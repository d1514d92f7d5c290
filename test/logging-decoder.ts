// An events-file reader for the logging tests, written from the TFRecord / protobuf / Event specs and
// sharing no code with lib/train/logging: bit-at-a-time CRC32C, BigInt masking, a generic protobuf parser.
import { readFileSync } from 'node:fs';

/** CRC32C one bit at a time (reflected Castagnoli polynomial 0x82F63B78, init and final xor all ones). */
export function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask with BigInt arithmetic: ((crc >> 15) | (crc << 17)) + 0xa282ead8, mod 2^32. */
export function maskBig(crc: number): number {
  const c = BigInt(crc);
  const rot = (c >> 15n) | ((c << 17n) & 0xffffffffn);
  return Number((rot + 0xa282ead8n) & 0xffffffffn);
}

/** Splits a TFRecord file into its payloads, checking both masked CRCs of every record; throws on any flaw. */
export function readRecords(buf: Uint8Array): Uint8Array[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < buf.length) {
    if (p + 12 > buf.length) throw new Error(`truncated record header at ${p}`);
    const lenBytes = buf.subarray(p, p + 8);
    const len = dv.getBigUint64(p, true);
    const lenCrc = dv.getUint32(p + 8, true);
    if (lenCrc !== maskBig(crc32cBitwise(lenBytes))) throw new Error(`bad length CRC at ${p}`);
    const n = Number(len);
    if (p + 12 + n + 4 > buf.length) throw new Error(`truncated record at ${p}`);
    const data = buf.subarray(p + 12, p + 12 + n);
    const dataCrc = dv.getUint32(p + 12 + n, true);
    if (dataCrc !== maskBig(crc32cBitwise(data))) throw new Error(`bad data CRC at ${p}`);
    out.push(data);
    p += 12 + n + 4;
  }
  return out;
}

export interface Field {
  no: number;
  wire: number;
  value: bigint | Uint8Array;
}

/** Parses any protobuf message into its fields in order (wire types 0, 1, 2, 5; groups are errors). */
export function parseFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let p = 0;
  const varint = (): bigint => {
    let r = 0n,
      shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const no = key >>> 3,
      wire = key & 7;
    if (no === 0) throw new Error('field number 0');
    let value: bigint | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      if (p + 8 > buf.length) throw new Error('truncated fixed64');
      value = buf.subarray(p, p + 8);
      p += 8;
    } else if (wire === 5) {
      if (p + 4 > buf.length) throw new Error('truncated fixed32');
      value = buf.subarray(p, p + 4);
      p += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      if (p + n > buf.length) throw new Error('truncated bytes');
      value = buf.subarray(p, p + n);
      p += n;
    } else throw new Error(`unsupported wire type ${wire}`);
    fields.push({ no, wire, value });
  }
  return fields;
}

export interface DecodedImage {
  height: number;
  width: number;
  colorspace: number;
  encoded: Buffer;
}
export interface DecodedValue {
  tag: string;
  simpleValue?: number;
  image?: DecodedImage;
}
export interface DecodedEvent {
  wallTime: number;
  step: bigint;
  fileVersion?: string;
  summary?: DecodedValue[];
  sessionLogStatus?: number;
}

function expectWire(f: Field, wire: number, what: string): void {
  if (f.wire !== wire) throw new Error(`${what}: field ${f.no} has wire type ${f.wire}, expected ${wire}`);
}
const bytesOf = (f: Field) => f.value as Uint8Array;
const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function decodeImage(buf: Uint8Array): DecodedImage {
  const img: DecodedImage = { height: 0, width: 0, colorspace: 0, encoded: Buffer.alloc(0) };
  for (const f of parseFields(buf)) {
    if (f.no === 1) {
      expectWire(f, 0, 'Image.height');
      img.height = Number(BigInt.asIntN(32, f.value as bigint));
    } else if (f.no === 2) {
      expectWire(f, 0, 'Image.width');
      img.width = Number(BigInt.asIntN(32, f.value as bigint));
    } else if (f.no === 3) {
      expectWire(f, 0, 'Image.colorspace');
      img.colorspace = Number(BigInt.asIntN(32, f.value as bigint));
    } else if (f.no === 4) {
      expectWire(f, 2, 'Image.encoded_image_string');
      img.encoded = Buffer.from(bytesOf(f));
    } else throw new Error(`unexpected Summary.Image field ${f.no}`);
  }
  return img;
}

function decodeValue(buf: Uint8Array): DecodedValue {
  const v: DecodedValue = { tag: '' };
  for (const f of parseFields(buf)) {
    if (f.no === 1) {
      expectWire(f, 2, 'Value.tag');
      v.tag = new TextDecoder('utf-8', { fatal: true }).decode(bytesOf(f));
    } else if (f.no === 2) {
      expectWire(f, 5, 'Value.simple_value');
      v.simpleValue = le(bytesOf(f)).getFloat32(0, true);
    } else if (f.no === 4) {
      expectWire(f, 2, 'Value.image');
      v.image = decodeImage(bytesOf(f));
    } else throw new Error(`unexpected Summary.Value field ${f.no}`);
  }
  return v;
}

/** Decodes an Event (fields 1 wall_time, 2 step, 3 file_version, 5 summary, 7 session_log); rejects anything else. */
export function decodeEvent(buf: Uint8Array): DecodedEvent {
  const e: DecodedEvent = { wallTime: 0, step: 0n };
  let what = 0;
  for (const f of parseFields(buf)) {
    if (f.no === 1) {
      expectWire(f, 1, 'Event.wall_time');
      e.wallTime = le(bytesOf(f)).getFloat64(0, true);
    } else if (f.no === 2) {
      expectWire(f, 0, 'Event.step');
      e.step = BigInt.asIntN(64, f.value as bigint);
    } else if (f.no === 3) {
      expectWire(f, 2, 'Event.file_version');
      e.fileVersion = new TextDecoder().decode(bytesOf(f));
      what++;
    } else if (f.no === 5) {
      expectWire(f, 2, 'Event.summary');
      what++;
      e.summary = parseFields(bytesOf(f)).map((vf) => {
        if (vf.no !== 1) throw new Error(`unexpected Summary field ${vf.no}`);
        expectWire(vf, 2, 'Summary.value');
        return decodeValue(bytesOf(vf));
      });
    } else if (f.no === 7) {
      expectWire(f, 2, 'Event.session_log');
      what++;
      e.sessionLogStatus = 0;
      for (const sf of parseFields(bytesOf(f))) if (sf.no === 1) e.sessionLogStatus = Number(sf.value as bigint);
    } else throw new Error(`unexpected Event field ${f.no}`);
  }
  if (what !== 1) throw new Error(`an Event must hold exactly one of its 'what' fields, found ${what}`);
  return e;
}

/** All events of an events file, CRC-checked. */
export function readEventFile(path: string): DecodedEvent[] {
  return readRecords(readFileSync(path)).map(decodeEvent);
}

/** Every scalar as {tag, value, step} (step as a Number), in file order. */
export function scalarsOf(events: DecodedEvent[]): { tag: string; value: number; step: number }[] {
  return events.flatMap((e) =>
    (e.summary ?? []).filter((v) => v.simpleValue !== undefined).map((v) => ({ tag: v.tag, value: v.simpleValue!, step: Number(e.step) })),
  );
}
