// Small synthetic image data for the data-pipeline tests: deterministic pixel patterns written as
// JPEG/PNG files with sharp, and folder trees in the ImageFolder layout.
import sharp from 'sharp';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { RawImage } from '../lib/data/raw-image.js';

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** An RGB image whose pixel (x, y) is f(x, y) → [r, g, b]. */
export function patternImage(width: number, height: number, f: (x: number, y: number) => [number, number, number]): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  return { data, width, height, channels: 3 };
}

/** A pseudo-random but smooth-ish RGB image that differs per seed. */
export function noiseImage(width: number, height: number, seed: number): RawImage {
  return patternImage(width, height, (x, y) => [(x * 7 + y * 3 + seed * 31) & 255, (x * x + y * 5 + seed * 17) & 255, ((x ^ y) * 9 + seed * 53) & 255]);
}

export async function writeImage(path: string, img: RawImage, format: 'jpeg' | 'png' = 'jpeg'): Promise<void> {
  const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels as 3 },
  });
  await (format === 'jpeg' ? s.jpeg({ quality: 90 }) : s.png()).toFile(path);
}

/**
 * root/<class>/<name>.jpg for each class with `perClass` images of size w × h; returns the files in
 * torchvision's order (sorted classes, sorted names).
 */
export async function imageTree(root: string, classes: string[], perClass: number, w = 24, h = 20): Promise<string[]> {
  let seed = 0;
  for (const c of classes) {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeImage(join(root, c, `img${String(i).padStart(3, '0')}.jpg`), noiseImage(w, h, seed++));
  }
  return [...classes].sort().flatMap((c) => Array.from({ length: perClass }, (_, i) => join(root, c, `img${String(i).padStart(3, '0')}.jpg`)));
}

/** Overwrites a file with bytes no decoder accepts (a JPEG header cut short). */
export function corrupt(path: string): void {
  writeFileSync(path, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 1, 2, 3]));
}
