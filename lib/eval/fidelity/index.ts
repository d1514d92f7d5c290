// torch-fidelity's Inception-v3 feature extractor (FID / IS features) and its image-folder input.
export { resizeBilinearTf1, tf1Axis, type Tf1Axis } from './tf-resize.js';
export { BasicConv2d, type BasicConvOptions } from './basic-conv.js';
export { InceptionA, InceptionB, InceptionC, InceptionD, InceptionE } from './inception-blocks.js';
export { InceptionV3Features, loadInceptionStateDict, INCEPTION_FEATURES, INCEPTION_INPUT_SIZE, type InceptionFeature } from './inception.js';
export { findInceptionWeights, inceptionWeightsCandidates, INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, type WeightsLookup } from './weights-path.js';
export {
  listFidelityImages,
  fidelityImageBatches,
  pythonExtension,
  FIDELITY_EXTENSIONS,
  FIDELITY_BATCH_SIZE,
  type FidelityBatch,
  type FidelityFolderOptions,
} from './image-folder.js';
export { decodeRgbLikePil } from './pil-rgb.js';
export { compareCodePoints, sortedByCodePoints } from './code-point-order.js';
