// Image folders for FID/IS: reconstructions and samples are written as upstream writes them
// (save_img_batch: clip(x·255, 0, 255) then a cast to uint8, which truncates; PNG), one file per
// image named by its global index, zero-padded so that torch-fidelity's code-point file order is
// the index order (and the Inception Score's fixed shuffle sees the same sequence).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { writePng } from '../data/image.js';

/** Upstream's conversion of images in [0, 1] to uint8: clip(x·255, 0, 255), truncated (not rounded). */
export function toUint8Truncated(images: Tensor): Tensor {
  return scope(() => images.float().mul(255).clamp(0, 255).floor().to('uint8'));
}

/** The file of image `index` in a folder of `total` images: 00042.png (at least 5 digits). */
export function sampleFileName(index: number, total: number): string {
  return `${String(index).padStart(Math.max(5, String(Math.max(0, total - 1)).length), '0')}.png`;
}

/** Writes the first indices.length images of (B, C, H, W) in [0, 1] as PNGs `dir/<index>.png`, image i as indices[i]. */
export async function writeSamples(dir: string, images: Tensor, indices: number[], total: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const u8 = toUint8Truncated(images);
  try {
    await Promise.all(indices.map((index, i) => scope(() => writePng(join(dir, sampleFileName(index, total)), u8.select(0, i)))));
  } finally {
    u8.dispose();
  }
}
