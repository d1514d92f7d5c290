// torch.nn: Module and Parameter, containers, layers, init (as `init`) and functional.
export * as functional from './functional.js';
export * as init from './init.js';
export { Parameter, isParameter } from './parameter.js';
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export type { FactoryOptions } from './layers/options.js';
export { Linear, Identity } from './layers/linear.js';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './layers/conv.js';
export {
  LayerNorm,
  GroupNorm,
  RMSNorm,
  BatchNorm2d,
  type LayerNormOptions,
  type GroupNormOptions,
  type RMSNormOptions,
  type BatchNorm2dOptions,
} from './layers/normalization.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { Dropout, DropPath, dropPath } from './layers/dropout.js';
export { GELU, SiLU } from './layers/activation.js';
export { Upsample } from './layers/upsample.js';
