// Evaluation metrics: PSNR and SSIM with torchmetrics semantics, their streaming meters, and the
// per-batch reconstruction metrics of the tokenizer evaluation.
export { psnr, psnrUpdate, psnrFromSse, PsnrMeter, type PsnrOptions, type PsnrMeterOptions, type MetricReduction } from './psnr.js';
export { ssim, ssimPerImage, ssimFull, gaussian1d, gaussianKernel2d, gaussianSize, SsimMeter, type SsimOptions, type SsimMeterOptions } from './ssim.js';
export { reconstructionMetrics, type ReconstructionMetrics } from './reconstruction.js';
