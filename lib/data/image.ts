// Image files ↔ tensors: decode with sharp into uint8 (3, H, W), ADM's centre crop, PNG writing.
import sharp from 'sharp';
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { scope } from '../core/scope.js';
import type { RawImage } from './raw-image.js';
import { admCenterCrop } from './pil-resample.js';

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
export function toUnitFloat(img: Tensor): Tensor {
  return scope(() => img.float().div(255));
}

/** float in [0, 1] → uint8, rounding as PIL/torchvision do (clamped). */
export function toUint8(img: Tensor): Tensor {
  return scope(() => img.mul(255).add(0.5).clamp(0, 255).floor().to('uint8'));
}

/**
 * ADM's center_crop_arr on a uint8 (3, H, W) image (box halving, Pillow's bicubic, centre crop),
 * bit-exact with Pillow: the loader's `centercrop` transform on a tensor.
 */
export function centerCropArr(img: Tensor, size: number): Tensor {
  return rawToTensor(admCenterCrop(tensorToRaw(img), size));
}

/** Writes a (3, H, W) float image in [0, 1] (or uint8) as PNG. */
export async function writePng(path: string, img: Tensor): Promise<void> {
  const u8 = scope(() => (img.dtype === 'uint8' ? img : toUint8(img)).permute(1, 2, 0).contiguous());
  const [h, w, c] = u8.shape;
  const data = Buffer.from((u8.toTypedArray() as Uint8Array).buffer);
  u8.dispose();
  await sharp(data, { raw: { width: w, height: h, channels: c as 3 } })
    .png()
    .toFile(path);
}

/** A RawImage (H, W, C bytes, as sharp/PIL hold them) as a uint8 tensor (C, H, W). */
export function rawToTensor(img: RawImage): Tensor {
  return scope(() =>
    tensor(img.data, { shape: [img.height, img.width, img.channels] })
      .permute(2, 0, 1)
      .contiguous(),
  );
}

/** A uint8 (C, H, W) tensor as a RawImage. */
export function tensorToRaw(img: Tensor): RawImage {
  if (img.dtype !== 'uint8' || img.ndim !== 3)
    throw new TypeError(`tensorToRaw: expected a uint8 (C, H, W) tensor, got ${img.dtype} [${img.shape.join(', ')}]`);
  const [c, h, w] = img.shape;
  const hwc = scope(() => img.permute(1, 2, 0).contiguous());
  const data = hwc.toTypedArray() as Uint8Array;
  hwc.dispose();
  return { data, width: w, height: h, channels: c };
}
