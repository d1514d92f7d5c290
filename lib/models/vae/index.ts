// The MAR KL-16 VAE (LDM AutoencoderKL layout) that Semanticist's tokenizer decodes in: the model,
// its posterior, its configs, checkpoint layouts (MAR/LDM and diffusers) and the frozen wrapper.
export { MAR_KL16, resolveVaeConfig, vaeConfigFromJson, vaeConfigFromDiffusers, encoderAttnLevels, decoderAttnLevels, type VaeConfig } from './config.js';
export { ResnetBlock, vaeGroupNorm } from './resnet-block.js';
export { AttnBlock } from './attn-block.js';
export { Downsample, Upsample } from './resample.js';
export { MidBlock } from './mid-block.js';
export { Encoder, EncoderLevel } from './encoder.js';
export { Decoder, DecoderLevel } from './decoder.js';
export { DiagonalGaussianDistribution } from './distribution.js';
export { AutoencoderKL } from './autoencoder-kl.js';
export { detectVaeLayout, inferNumLevels, convertVaeKey, diffusersToLdm, ldmToDiffusers, type VaeKeyLayout, type ConvertOptions } from './key-layout.js';
export { loadVaeStateDict, loadVaeCheckpoint, loadDiffusersVae, vaeStateDictOf, type LoadVaeOptions } from './load.js';
export { FrozenVAE } from './frozen-vae.js';
