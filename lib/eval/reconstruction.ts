// Reconstruction metrics of one batch, as Semanticist's tokenizer evaluation computes them
// (docs/upstream/evaluation.md#tokenizer-metrics): torchmetrics PSNR with the squared error pooled
// over the whole batch, and the batch-mean SSIM, both with data range 1 on the un-clamped
// reconstructions.
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { psnr } from './psnr.js';
import { ssim } from './ssim.js';

export interface ReconstructionMetrics {
  psnr: number;
  ssim: number;
}

/**
 * PSNR (dB) and SSIM of reconstructions (B, C, H, W) against their targets, pixels in [0, 1].
 * The reconstructions are not clamped. Average the returned values over batches to get
 * Semanticist's reported numbers (or use PsnrMeter / SsimMeter with mode 'batchMean').
 */
export function reconstructionMetrics(recon: Tensor, target: Tensor, opts: { dataRange?: number } = {}): ReconstructionMetrics {
  const dataRange = opts.dataRange ?? 1;
  return noGrad(() =>
    scope(() => ({
      psnr: psnr(recon, target, { dataRange }).item(),
      ssim: ssim(recon, target, { dataRange }).item(),
    })),
  );
}
