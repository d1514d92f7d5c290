// Decoding image files with sharp into RawImages: RGB uint8, as PIL's Image.open(p).convert('RGB')
// (alpha dropped, grey replicated, no EXIF rotation). Truncated or corrupt files throw (sharp's
// failOn 'warning', like PIL without LOAD_TRUNCATED_IMAGES). Torch-free (used in worker threads).
import sharp from 'sharp';
import { toChannels, type RawImage } from './raw-image.js';

/** Image file extensions torchvision's ImageFolder accepts (lower case, with the dot). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'] as const;

export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** Decodes a file (or encoded bytes) to an RGB RawImage; the error names the file. */
export async function decodeImage(src: string | Uint8Array): Promise<RawImage> {
  const what = typeof src === 'string' ? src : `<${src.length} encoded bytes>`;
  try {
    const { data, info } = await sharp(src, { failOn: 'warning', sequentialRead: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const img: RawImage = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
    return toChannels(img, 3);
  } catch (e) {
    throw new Error(`cannot decode image ${what}: ${(e as Error).message}`);
  }
}
