// Image files ↔ tensors: decode with sharp into uint8 (3, H, W), ADM's centre crop, PNG writing.
import sharp from 'sharp';
import { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { interpolate, avgPool2d } from '../nn/functional.js';
import type { RawImage } from './raw-image.js';

/** Decodes an image file (JPEG, PNG, WebP, ...) to a uint8 tensor (3, H, W), RGB. */
export async function readImage(path: string): Promise<Tensor> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`cannot read image ${path}: ${(e as Error).message}`);
  }
  const { width, height, channels } = raw.info;
  return scope(() => {
    const hwc = tensor(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), { shape: [height, width, channels] });
    const rgb = channels === 1 ? hwc.expand(height, width, 3) : hwc;
    return rgb.permute(2, 0, 1).contiguous();
  });
}

/** uint8 (…, H, W) → float32 in [0, 1] (torchvision's ToTensor scaling). */
export function toUnitFloat(img: Tensor): Tensor { return scope(() => img.float().div(255)); }

/** float in [0, 1] → uint8, rounding as PIL/torchvision do (clamped). */
export function toUint8(img: Tensor): Tensor { return scope(() => img.mul(255).add(0.5).clamp(0, 255).floor().to('uint8')); }

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

const roundU8 = (x: Tensor) => x.add(0.5).floor().clamp(0, 255);

/**
 * Resizes like PIL on a uint8 image: one pass per axis, width first, each rounded back to uint8.
 * (PIL's two rounded passes bias the result by up to +0.4 on average versus one float pass.)
 */
function resizeLikePil(x: Tensor, outH: number, outW: number, mode: 'box2' | 'bicubic'): Tensor {
  const [, , H, W] = x.shape;
  if (mode === 'box2') {
    // exact 2× box: average pixel pairs along width, round; then along height, round
    const w2 = Math.floor(W / 2) * 2, h2 = Math.floor(H / 2) * 2;
    const xw = roundU8(avgPool2d(x.narrow(3, 0, w2), [1, 2]));
    return roundU8(avgPool2d(xw.narrow(2, 0, h2), [2, 1]));
  }
  if (outW !== W) x = roundU8(interpolate(x, { size: [H, outW], mode: 'bicubic', antialias: true, alignCorners: false }));
  if (outH !== H) x = roundU8(interpolate(x, { size: [outH, outW], mode: 'bicubic', antialias: true, alignCorners: false }));
  return x;
}

/**
 * ADM's center_crop_arr on a uint8 (3, H, W) image: halve with a box filter while the short side is
 * ≥ 2·size, resize bicubically (antialiased, as PIL) so the short side is `size`, then centre-crop.
 * Resizes round to uint8 after each axis, as PIL does, so results match PIL to ±1 on most pixels.
 * (For an odd size the box step drops the last row/column, where PIL spreads it: sub-pixel.)
 */
export function centerCropArr(img: Tensor, size: number): Tensor {
  return noGrad(() => scope(() => {
    let x = img.float().unsqueeze(0);
    while (Math.min(x.size(2), x.size(3)) >= 2 * size) x = resizeLikePil(x, 0, 0, 'box2');
    const scale = size / Math.min(x.size(2), x.size(3));
    const outH = roundHalfEven(x.size(2) * scale), outW = roundHalfEven(x.size(3) * scale);
    x = resizeLikePil(x, outH, outW, 'bicubic');
    const top = Math.floor((outH - size) / 2), left = Math.floor((outW - size) / 2);
    return x.squeeze(0).narrow(1, top, size).narrow(2, left, size).to('uint8').contiguous();
  }));
}

/** Writes a (3, H, W) float image in [0, 1] (or uint8) as PNG. */
export async function writePng(path: string, img: Tensor): Promise<void> {
  const u8 = scope(() => (img.dtype === 'uint8' ? img : toUint8(img)).permute(1, 2, 0).contiguous());
  const [h, w, c] = u8.shape;
  const data = Buffer.from((u8.toTypedArray() as Uint8Array).buffer);
  u8.dispose();
  await sharp(data, { raw: { width: w, height: h, channels: c as 3 } }).png().toFile(path);
}

/** A RawImage (H, W, C bytes, as sharp/PIL hold them) as a uint8 tensor (C, H, W). */
export function rawToTensor(img: RawImage): Tensor {
  return scope(() => tensor(img.data, { shape: [img.height, img.width, img.channels] }).permute(2, 0, 1).contiguous());
}

/** A uint8 (C, H, W) tensor as a RawImage. */
export function tensorToRaw(img: Tensor): RawImage {
  if (img.dtype !== 'uint8' || img.ndim !== 3) throw new TypeError(`tensorToRaw: expected a uint8 (C, H, W) tensor, got ${img.dtype} [${img.shape.join(', ')}]`);
  const [c, h, w] = img.shape;
  const hwc = scope(() => img.permute(1, 2, 0).contiguous());
  const data = hwc.toTypedArray() as Uint8Array;
  hwc.dispose();
  return { data, width: w, height: h, channels: c };
}
