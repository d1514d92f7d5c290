// TFRecord framing: uint64 length, masked CRC32C of the length, data, masked CRC32C of the data (all little-endian).
import { maskedCrc32c } from './crc32c.js';

/** Frames one record. */
export function tfrecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
