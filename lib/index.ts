// Package entry: `import { torch } from 'semanticist-ts'` or `import * as torch from 'semanticist-ts/torch'`,
// and the models: `import { Tokenizer, ImageGenerator } from 'semanticist-ts'`.
export * as torch from './torch.js';
export { Tensor, TorchError } from './torch.js';
export { safetensors } from './serialization/index.js';
export * as serialization from './serialization/index.js';
export { Tokenizer, type TokenizerOptions, type FromPretrainedOptions, type SampleOptions } from './models/tokenizer/tokenizer.js';
export { GPT, createGPT, GPT_SIZES, type GptName, type GptOptions } from './models/gpt/gpt.js';
export { DiffLoss, type DiffLossOptions } from './models/gpt/diffloss.js';
export { generate, type GenerateOptions } from './models/gpt/generate.js';
export { ImageGenerator, type GenerateImagesOptions } from './models/gpt/image-generator.js';
export { loadImageGenerator, type LoadImageGeneratorOptions } from './train/load-image-generator.js';
export { buildGptFromConfig } from './models/gpt/gpt-model-config.js';
export { loadArConfig } from './train/ar-trainer-config.js';
export { AutoencoderKL } from './models/vae/autoencoder-kl.js';
export { trainTokenizer } from './train/train-tokenizer.js';
export { trainGpt } from './train/train-gpt.js';
export { loadTrainerConfig } from './train/tokenizer-trainer-config.js';
