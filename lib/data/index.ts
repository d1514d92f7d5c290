// The data pipeline's public surface: datasets (ImageNet/ImageFolder, a glob folder, Fashion-MNIST),
// the augmentations (docs/upstream/configs.md#augmentation-modes), the epoch sampler, the
// validation split and the DataLoader.
export type { Dataset, Sample } from './dataset.js';
export { Subset, labelHistogram } from './dataset.js';
export { ImageFolder, imageNet, type ImageFolderOptions } from './image-folder.js';
export { GlobImageFolder, type GlobFolderOptions } from './glob-folder.js';
export { FashionMnist, FASHION_MNIST_CLASSES, DEBIAN_FASHION_MNIST_DIR, locateFashionMnist, type FashionMnistOptions } from './fashion-mnist.js';
export { parseIdx, readIdx, encodeIdx, type IdxArray } from './idx.js';
export { rawImage, crop, hflip, pad, toChannels, type RawImage } from './raw-image.js';
export { pilResize, admCenterCrop, resizeShort, resizeShortSide, type PilFilter } from './pil-resample.js';
export { decodeImage, IMAGE_EXTENSIONS } from './decode.js';
export { Rng, augmentationRng } from './rng.js';
export { applyTransform, numViews, fiveCrop, tenCrop, AUGMENTATIONS, type Augmentation, type TransformSpec } from './transforms.js';
export { DistributedSampler, type SamplerOptions, type SamplerPosition, type SamplerState } from './sampler.js';
export { randomSplit, holdOutValidation } from './split.js';
export { DataLoader, UnreadableDataError, type Batch, type DataLoaderOptions, type UnreadableFile } from './loader.js';
export { readImage, rawToTensor, tensorToRaw, centerCropArr, toUnitFloat, writePng } from './image.js';
