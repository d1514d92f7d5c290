// A minimal PNG writer for tests that need exact control of a file's layout (colour type, bit
// depth, palette, tRNS, extra chunks such as iCCP), so the pixels PIL would read are known from the
// PNG specification alone, without trusting the decoder under test to have written them.
import { deflateSync } from 'node:zlib';
import { crc32 } from '../lib/serialization/zip.js';

/** PNG colour types: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
export type PngColorType = 0 | 2 | 3 | 4 | 6;
const SAMPLES: Record<PngColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngSpec {
  width: number;
  height: number;
  colorType: PngColorType;
  /** 8 (default) or 16; samples are given as numbers in [0, 2^bitDepth). */
  bitDepth?: 8 | 16;
  /** Samples, row-major, interleaved (palette images: indices). */
  samples: ArrayLike<number>;
  /** Palette entries [r, g, b] (colour type 3). */
  palette?: [number, number, number][];
  /** tRNS chunk payload (palette alphas, or the transparent grey/RGB value as 16-bit numbers). */
  trns?: number[];
  /** Raw chunks [type, payload] placed after IHDR (e.g. an iCCP chunk taken from another file). */
  extraChunks?: [string, Uint8Array][];
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function encodePng(s: PngSpec): Buffer {
  const depth = s.bitDepth ?? 8;
  const spp = SAMPLES[s.colorType];
  const bps = depth / 8;
  const rowBytes = s.width * spp * bps;
  if (s.samples.length !== s.width * s.height * spp) throw new RangeError(`encodePng: ${s.samples.length} samples for ${s.width}×${s.height}×${spp}`);
  const raw = Buffer.alloc(s.height * (rowBytes + 1));
  for (let y = 0; y < s.height; y++) {
    const row = y * (rowBytes + 1); // filter byte 0 (None), then the samples big-endian
    for (let i = 0; i < s.width * spp; i++) {
      const v = s.samples[y * s.width * spp + i];
      if (depth === 8) raw[row + 1 + i] = v;
      else raw.writeUInt16BE(v, row + 1 + 2 * i);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.width, 0);
  ihdr.writeUInt32BE(s.height, 4);
  ihdr[8] = depth;
  ihdr[9] = s.colorType;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  for (const [t, d] of s.extraChunks ?? []) parts.push(chunk(t, d));
  if (s.palette) parts.push(chunk('PLTE', Uint8Array.from(s.palette.flat())));
  if (s.trns) {
    const t =
      s.colorType === 3
        ? Uint8Array.from(s.trns)
        : (() => {
            const b = Buffer.alloc(2 * s.trns!.length);
            s.trns!.forEach((v, i) => b.writeUInt16BE(v, 2 * i));
            return b;
          })();
    parts.push(chunk('tRNS', t));
  }
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** The chunks of a PNG file as [type, payload] (to lift e.g. an iCCP chunk out of another writer's file). */
export function pngChunks(png: Uint8Array): [string, Uint8Array][] {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const out: [string, Uint8Array][] = [];
  for (let p = 8; p + 12 <= b.length; ) {
    const n = b.readUInt32BE(p);
    out.push([b.toString('latin1', p + 4, p + 8), b.subarray(p + 8, p + 8 + n)]);
    p += 12 + n;
  }
  return out;
}
