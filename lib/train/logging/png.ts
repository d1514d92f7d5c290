// Image tensor → PNG bytes (via sharp) for TensorBoard image summaries and the images/ folder.
import sharp from 'sharp';
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { aten } from '../../core/aten.js';

export interface EncodedPng {
  png: Buffer;
  height: number;
  width: number;
  channels: 1 | 3 | 4;
}

/**
 * Encodes a (C, H, W) image (C = 1, 3 or 4; or (H, W) greyscale) as PNG. Float images are taken to be
 * in [0, 1] (clamped, NaN → 0, rounded as toUint8 in lib/data/image.ts); uint8 images are used as they are.
 * Works on any device and dtype; the input is not modified or freed.
 */
export async function encodePng(img: Tensor): Promise<EncodedPng> {
  const shape = img.shape;
  if (shape.length !== 2 && shape.length !== 3) throw new TypeError(`addImage: expected an image (C, H, W) or (H, W), got shape [${shape}]`);
  const [c, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new TypeError(`addImage: expected 1, 3 or 4 channels, got ${c} (shape [${shape}])`);
  if (h === 0 || w === 0) throw new TypeError(`addImage: empty image (shape [${shape}])`);
  const hwc = noGrad(() =>
    scope(() => {
      let x = img.detach().to('cpu');
      if (shape.length === 2) x = x.unsqueeze(0);
      if (x.dtype !== 'uint8') {
        x = aten.nan_to_num(x.to('float32'), 0).mul(255).add(0.5).clamp(0, 255).floor().to('uint8');
      }
      return x.permute(1, 2, 0).contiguous();
    }),
  );
  const data = Buffer.from((hwc.toTypedArray() as Uint8Array).buffer);
  hwc.dispose();
  const png = await sharp(data, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
    .png()
    .toBuffer();
  return { png, height: h, width: w, channels: c as 1 | 3 | 4 };
}
