// Decoding an image file to 8-bit RGB as PIL's Image.open(path).convert('RGB') does, which is how
// torch-fidelity reads a folder: greyscale (also with alpha) is replicated to three channels,
// palette images are expanded, an alpha channel is dropped without compositing on a background,
// and the stored values are taken as they are. Where sharp's defaults differ from PIL, they are
// switched off or refused:
//   - an embedded ICC profile: sharp converts the pixels to sRGB with it, PIL ignores it, so the
//     profile is kept (keepIccProfile), which leaves the stored values untouched;
//   - alpha: removeAlpha() drops the channel; flatten() (compositing) is deliberately not used;
//   - 16-bit samples and CMYK: PIL's own 8-bit / RGB conversions of those are not reproduced, so
//     they are an error naming the file rather than pixels that silently differ;
//   - EXIF orientation: neither rotates.
// Truncated or corrupt files are errors, as in PIL by default (sharp's failOn 'error'; not
// 'warning', which would also refuse files PIL reads, e.g. PNGs with a slightly wrong sRGB chunk).
import sharp from 'sharp';
import { toChannels, type RawImage } from '../../data/raw-image.js';

/** The file's pixels as (H, W, 3) uint8 bytes, as PIL's convert('RGB') gives them. */
export async function decodeRgbLikePil(path: string): Promise<RawImage> {
  try {
    const meta = await sharp(path, { failOn: 'error' }).metadata();
    if (meta.depth && meta.depth !== 'uchar' && meta.depth !== 'char')
      throw new Error(
        `${meta.depth === 'ushort' ? '16-bit' : meta.depth} samples are not read (PIL's conversion of them to 8-bit RGB is not reproduced); save the image with 8 bits per channel`,
      );
    if (meta.space === 'cmyk') throw new Error("CMYK images are not read (PIL's CMYK → RGB conversion is not reproduced); convert it to RGB");
    const { data, info } = await sharp(path, { failOn: 'error' })
      .keepIccProfile()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (data.byteLength !== info.width * info.height * info.channels)
      throw new Error(`decoded to ${data.byteLength} bytes for ${info.width}×${info.height}×${info.channels}: not 8-bit samples`);
    const img: RawImage = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
    return toChannels(img, 3);
  } catch (e) {
    throw new Error(`cannot read image ${path}: ${(e as Error).message}`);
  }
}
