// The augmentation modes of semanticist/utils/datasets.py on uint8 RawImages
// (docs/upstream/configs.md#augmentation-modes, docs/upstream/tokenizer.md#preprocessing):
// randcrop, centercrop (train: ADM crop + flip; test: ADM crop), centercrop_cached (2 views),
// tencrop_cached (20 views, torchvision TenCrop order), and `none` (small datasets: optional
// pad/resize, channel count). Pixels stay uint8; the loader scales to [0, 1] as ToTensor does.
// Torch-free (runs in the loader's worker threads).
import { crop, hflip, pad, toChannels, type RawImage } from './raw-image.js';
import { admCenterCrop, pilResize, resizeShort, roundHalfEven } from './pil-resample.js';
import type { Rng } from './rng.js';

export type Augmentation = 'randcrop' | 'centercrop' | 'centercrop_cached' | 'tencrop_cached' | 'none';
export const AUGMENTATIONS: readonly Augmentation[] = ['randcrop', 'centercrop', 'centercrop_cached', 'tencrop_cached', 'none'];

export interface TransformSpec {
  aug: Augmentation;
  /** Output side (required except for `none`, where it is optional). */
  size?: number;
  /** `randcrop` and `centercrop` augment for 'train' (default); 'test' is the ADM centre crop alone. */
  split?: 'train' | 'test';
  /** Output channels: 1 (PIL 'L') or 3 (grey replicated). Default: as decoded (RGB for files). */
  channels?: 1 | 3;
  /** `none` with a size: 'pad' centres the image on zeros, 'bicubic' (default) resizes with Pillow. */
  resize?: 'pad' | 'bicubic';
  /** `tencrop_cached`: the ADM crop sizes as multiples of size (default [1.05, 1.10]). */
  cropRanges?: number[];
}

/** Checks a spec and fills its defaults. */
export function normalizeSpec(spec: TransformSpec): Required<Omit<TransformSpec, 'size' | 'channels'>> & Pick<TransformSpec, 'size' | 'channels'> {
  if (!AUGMENTATIONS.includes(spec.aug)) throw new TypeError(`unknown augmentation '${spec.aug}' (one of ${AUGMENTATIONS.join(', ')})`);
  if (spec.size !== undefined && (!Number.isInteger(spec.size) || spec.size <= 0))
    throw new RangeError(`transform size must be a positive integer, got ${spec.size}`);
  if (spec.aug !== 'none' && spec.size === undefined) throw new TypeError(`augmentation '${spec.aug}' needs a size`);
  if (spec.channels !== undefined && spec.channels !== 1 && spec.channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${spec.channels}`);
  const split = spec.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new TypeError(`split must be 'train' or 'test', got '${split}'`);
  const resize = spec.resize ?? 'bicubic';
  if (resize !== 'pad' && resize !== 'bicubic') throw new TypeError(`resize must be 'pad' or 'bicubic', got '${resize}'`);
  return { aug: spec.aug, size: spec.size, split, channels: spec.channels, resize, cropRanges: spec.cropRanges ?? [1.05, 1.1] };
}

/** Views per image: 1, or 2 (centercrop_cached), or 10 per crop range (tencrop_cached: 20). */
export function numViews(spec: TransformSpec): number {
  if (spec.aug === 'centercrop_cached') return 2;
  if (spec.aug === 'tencrop_cached') return 10 * (spec.cropRanges ?? [1.05, 1.1]).length;
  return 1;
}

/** torchvision five_crop: top-left, top-right, bottom-left, bottom-right, centre. */
export function fiveCrop(img: RawImage, size: number): RawImage[] {
  const { width: w, height: h } = img;
  if (size > w || size > h) throw new RangeError(`five_crop: ${size} larger than a ${h}×${w} image`);
  const top = roundHalfEven((h - size) / 2),
    left = roundHalfEven((w - size) / 2);
  return [
    crop(img, 0, 0, size, size),
    crop(img, 0, w - size, size, size),
    crop(img, h - size, 0, size, size),
    crop(img, h - size, w - size, size, size),
    crop(img, top, left, size, size),
  ];
}

/** torchvision ten_crop (vertical_flip=False): five_crop(img) then five_crop(hflip(img)). */
export function tenCrop(img: RawImage, size: number): RawImage[] {
  return [...fiveCrop(img, size), ...fiveCrop(hflip(img), size)];
}

/** Resize(size, bicubic) → RandomCrop(size) → RandomHorizontalFlip(0.5). */
function randCrop(img: RawImage, size: number, rng: Rng): RawImage {
  const r = resizeShort(img, size, 'bicubic');
  const i = rng.int(r.height - size + 1),
    j = rng.int(r.width - size + 1);
  const c = crop(r, i, j, size, size);
  return rng.random() < 0.5 ? hflip(c) : c;
}

function noneTransform(img: RawImage, size: number | undefined, resize: 'pad' | 'bicubic'): RawImage {
  if (size === undefined || (img.width === size && img.height === size)) return img;
  if (resize === 'bicubic') return pilResize(img, size, size, 'bicubic');
  if (img.width > size || img.height > size) throw new RangeError(`resize 'pad': a ${img.height}×${img.width} image is larger than ${size}`);
  return pad(img, Math.floor((size - img.height) / 2), Math.floor((size - img.width) / 2), size, size);
}

/**
 * Applies the spec to one decoded image and returns its views (numViews(spec) of them, each
 * size × size except for `none` without a size). Random draws come only from `rng`.
 */
export function applyTransform(spec: TransformSpec, img: RawImage, rng: Rng): RawImage[] {
  const s = normalizeSpec(spec);
  if (s.channels !== undefined) img = toChannels(img, s.channels);
  const size = s.size!;
  switch (s.aug) {
    case 'randcrop':
      return [s.split === 'train' ? randCrop(img, size, rng) : admCenterCrop(img, size)];
    case 'centercrop': {
      const c = admCenterCrop(img, size);
      return [s.split === 'train' && rng.random() < 0.5 ? hflip(c) : c];
    }
    case 'centercrop_cached': {
      const c = admCenterCrop(img, size);
      return [c, hflip(c)];
    }
    case 'tencrop_cached':
      return s.cropRanges.flatMap((r) => tenCrop(admCenterCrop(img, Math.trunc(size * r)), size));
    case 'none':
      return [noneTransform(img, s.size, s.resize)];
  }
}
