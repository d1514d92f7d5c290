// A minimal protocol-buffers encoder (wire types varint, fixed64, length-delimited, fixed32), for event files.

const WIRE_VARINT = 0,
  WIRE_FIXED64 = 1,
  WIRE_LEN = 2,
  WIRE_FIXED32 = 5;

/** Appends fields to a growing byte buffer; `finish()` returns the message bytes. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private cur: number[] = [];

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** Raw unsigned varint of a non-negative integer (Number up to 2^53, or a bigint < 2^64). */
  varint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new RangeError(`varint needs an integer, got ${v}`);
      if (v < 0) {
        this.varint(BigInt.asUintN(64, BigInt(v)));
        return;
      }
      while (v >= 0x80) {
        this.cur.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.cur.push(v);
      return;
    }
    let b = BigInt.asUintN(64, v);
    while (b >= 0x80n) {
      this.cur.push(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.cur.push(Number(b));
  }

  private raw(bytes: Uint8Array): void {
    if (bytes.length < 64) {
      for (const x of bytes) this.cur.push(x);
      return;
    }
    this.chunks.push(Uint8Array.from(this.cur), bytes);
    this.cur = [];
  }

  /** int64 / int32 / enum field (negative values take 10 bytes, two's complement, as protobuf does). */
  int64(field: number, v: number | bigint): void {
    this.key(field, WIRE_VARINT);
    this.varint(v);
  }
  /** double field (fixed64, little-endian). */
  double(field: number, v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.key(field, WIRE_FIXED64);
    this.raw(b);
  }
  /** float field (fixed32, little-endian; the value is rounded to float32). */
  float(field: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.key(field, WIRE_FIXED32);
    this.raw(b);
  }
  /** bytes or embedded-message field. */
  bytes(field: number, v: Uint8Array): void {
    this.key(field, WIRE_LEN);
    this.varint(v.length);
    this.raw(v);
  }
  /** string field (UTF-8). */
  string(field: number, v: string): void {
    this.bytes(field, Buffer.from(v, 'utf8'));
  }

  finish(): Buffer {
    if (this.cur.length) {
      this.chunks.push(Uint8Array.from(this.cur));
      this.cur = [];
    }
    return Buffer.concat(this.chunks);
  }
}
