// SSIM (structural similarity) with torchmetrics' StructuralSimilarityIndexMeasure semantics, for
// (B, C, H, W) images: ssimMap (the per-pixel index), ssimPerImage, ssim (reduced over the batch)
// and SsimMeter, the streaming form.
//
// torchmetrics (≥ 1.4.2; `legacyCrop` gives ≤ 1.4.1), step by step:
// - The Gaussian window ignores kernelSize: its size is int(3.5σ + 0.5)·2 + 1 (11 for σ = 1.5), its
//   taps exp(−(d/σ)²/2) at d = −(k−1)/2 … (k−1)/2, normalised to sum 1 in 1-D, and the 2-D window is
//   their outer product, built in the input dtype. The uniform window (gaussian: false) is
//   kernelSize[0]·kernelSize[1] taps of 1/(kh·kw).
// - Both images are reflect-padded by (k−1)/2 per side and the five maps x, y, x², y², x·y go
//   through one grouped (per-channel) valid convolution, so every statistic keeps the H×W size.
// - σx² and σy² are clamped at 0; with C1 = (k1·range)², C2 = (k2·range)²:
//   SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)).
// - Each image's SSIM is the mean of its map over C×H×W (≤ 1.4.1 first cropped (k−1)/2 per side,
//   with k from the Gaussian size even for a uniform window); the batch value is their mean.
// - Everything runs in preds' dtype (target is cast to it; nothing is upcast). Integer inputs,
//   which torchmetrics cannot handle, are computed in float32 here.
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { arange, ones } from '../core/creation.js';
import { cat } from '../core/functions.js';
import { conv2d, pad } from '../nn/functional.js';
import type { DType } from '../core/dtype.js';
import type { MetricReduction } from './psnr.js';

export interface SsimOptions {
  /**
   * Range of the data. A [min, max] pair clamps both inputs to it first; null takes the larger of
   * the two images' max − min (torchmetrics' default). Default here: 1.
   */
  dataRange?: number | [number, number] | null;
  /** Window size of the uniform window; the Gaussian window's size comes from sigma. */
  kernelSize?: number | [number, number];
  sigma?: number | [number, number];
  k1?: number;
  k2?: number;
  /** Gaussian window (default) or uniform window. */
  gaussian?: boolean;
  reduction?: MetricReduction;
  /** torchmetrics ≤ 1.4.1: crop (k−1)/2 from each side of the map before the per-image mean. */
  legacyCrop?: boolean;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** The Gaussian window's size for a given sigma, as torchmetrics computes it. */
export const gaussianSize = (sigma: number): number => Math.trunc(3.5 * sigma + 0.5) * 2 + 1;

/** torchmetrics' _gaussian: the (1, size) normalised 1-D Gaussian in dtype. */
export function gaussian1d(size: number, sigma: number, dtype: DType = 'float32', device = 'cpu'): Tensor {
  return scope(() => {
    const d = arange((1 - size) / 2, (1 + size) / 2, 1, { dtype, device });
    const g = d.div(sigma).pow(2).neg().div(2).exp();
    return g.div(g.sum()).unsqueeze(0);
  });
}

/** torchmetrics' _gaussian_kernel_2d: the (channels, 1, kh, kw) window for a grouped convolution. */
export function gaussianKernel2d(channels: number, size: [number, number], sigma: [number, number], dtype: DType = 'float32', device = 'cpu'): Tensor {
  return scope(() => {
    const gx = gaussian1d(size[0], sigma[0], dtype, device);
    const gy = gaussian1d(size[1], sigma[1], dtype, device);
    return gx.t().matmul(gy).expand(channels, 1, size[0], size[1]);
  });
}

interface Prepared {
  p: Tensor;
  t: Tensor;
  range: number;
}

function prepare(preds: Tensor, target: Tensor, dataRange: number | [number, number] | null): Prepared {
  if (preds.ndim !== 4 || target.ndim !== 4) {
    throw new TypeError(`ssim: expected (B, C, H, W) preds and target, got [${preds.shape}] and [${target.shape}]`);
  }
  if (preds.shape.join() !== target.shape.join()) {
    throw new TypeError(`ssim: preds and target must have the same shape, got [${preds.shape}] and [${target.shape}]`);
  }
  let p = preds.isFloatingPoint() ? preds : preds.float();
  let t = target.dtype === p.dtype ? target : target.to(p.dtype);
  let range: number;
  if (dataRange === null) {
    range = Math.max(p.max().sub(p.min()).item(), t.max().sub(t.min()).item());
  } else if (Array.isArray(dataRange)) {
    p = p.clamp(dataRange[0], dataRange[1]);
    t = t.clamp(dataRange[0], dataRange[1]);
    range = dataRange[1] - dataRange[0];
  } else {
    range = dataRange;
  }
  return { p, t, range };
}

/**
 * The per-pixel SSIM map (B, C, H, W) (torchmetrics' return_full_image; never cropped), and
 * the per-image SSIMs (B,) that ssim() reduces.
 */
export function ssimFull(preds: Tensor, target: Tensor, opts: SsimOptions = {}): { map: Tensor; perImage: Tensor } {
  const { dataRange = 1, kernelSize = 11, sigma = 1.5, k1 = 0.01, k2 = 0.03, gaussian = true, legacyCrop = false } = opts;
  const ks = pair(kernelSize),
    sg = pair(sigma);
  if (ks.some((k) => !Number.isInteger(k) || k <= 0 || k % 2 === 0)) throw new RangeError(`ssim: kernelSize must be odd positive integers, got ${ks}`);
  if (sg.some((s) => !(s > 0))) throw new RangeError(`ssim: sigma must be positive, got ${sg}`);
  return scope(() => {
    const { p, t, range } = prepare(preds, target, dataRange);
    const c1 = (k1 * range) ** 2;
    const c2 = (k2 * range) ** 2;
    const [B, C] = p.shape;
    const gks: [number, number] = [gaussianSize(sg[0]), gaussianSize(sg[1])];
    const win = gaussian || legacyCrop ? gks : ks;
    const [ph, pw] = [(win[0] - 1) >> 1, (win[1] - 1) >> 1];
    const pp = pad(p, [pw, pw, ph, ph], 'reflect');
    const tp = pad(t, [pw, pw, ph, ph], 'reflect');
    const kernel = gaussian
      ? gaussianKernel2d(C, gks, sg, p.dtype, p.device)
      : ones([C, 1, ks[0], ks[1]], { dtype: p.dtype, device: p.device }).div(ks[0] * ks[1]);
    const stats = conv2d(cat([pp, tp, pp.mul(pp), tp.mul(tp), pp.mul(tp)]), kernel, null, { groups: C }).split(B);
    const [mx, my, mxx, myy, mxy] = stats;
    const muX2 = mx.pow(2),
      muY2 = my.pow(2),
      muXY = mx.mul(my);
    const sX2 = mxx.sub(muX2).clamp(0),
      sY2 = myy.sub(muY2).clamp(0),
      sXY = mxy.sub(muXY);
    const upper = sXY.mul(2).add(c2);
    const lower = sX2.add(sY2).add(c2);
    const map = muXY.mul(2).add(c1).mul(upper).div(muX2.add(muY2).add(c1).mul(lower));
    // Python's x[..., pad:-pad] is empty when pad is 0, and so is this.
    const kept = legacyCrop ? map.slice(2, ph, -ph).slice(3, pw, -pw) : map;
    return { map, perImage: kept.reshape(B, -1).mean(-1) };
  });
}

/** Each image's SSIM, shape (B,). */
export function ssimPerImage(preds: Tensor, target: Tensor, opts: SsimOptions = {}): Tensor {
  return scope(() => ssimFull(preds, target, opts).perImage);
}

/** SSIM of a batch: the mean over images by default (torchmetrics' structural_similarity_index_measure). */
export function ssim(preds: Tensor, target: Tensor, opts: SsimOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'elementwise_mean';
  return scope(() => {
    const s = ssimPerImage(preds, target, opts);
    if (reduction === 'elementwise_mean') return s.mean();
    if (reduction === 'sum') return s.sum();
    if (reduction === 'none') return s;
    throw new TypeError(`reduction must be 'elementwise_mean', 'sum' or 'none', got '${reduction}'`);
  });
}

export interface SsimMeterOptions extends Omit<SsimOptions, 'reduction'> {
  /**
   * What compute() returns: 'pooled' (torchmetrics' stateful metric: the sum of per-image SSIMs
   * over their count) or 'batchMean' (the mean of per-batch SSIMs, as Semanticist's evaluate()
   * reports it; equal when all batches have the same size). Both are always tracked.
   */
  mode?: 'pooled' | 'batchMean';
}

/**
 * Streaming SSIM. update() adds one batch and returns its mean SSIM. The pooled state mirrors
 * torchmetrics': float32 sums of the per-image SSIMs and of the image count.
 */
export class SsimMeter {
  readonly opts: Omit<SsimOptions, 'reduction'>;
  readonly mode: 'pooled' | 'batchMean';
  /** Sum of per-image SSIMs, a float32 value. */
  sum = 0;
  /** Images seen. */
  count = 0;
  /** Each update's batch-mean SSIM. */
  readonly batchValues: number[] = [];

  constructor(opts: SsimMeterOptions = {}) {
    const { mode = 'pooled', ...rest } = opts;
    if (mode !== 'pooled' && mode !== 'batchMean') throw new TypeError(`SsimMeter: unknown mode '${mode}'`);
    this.mode = mode;
    this.opts = rest;
  }

  update(preds: Tensor, target: Tensor): number {
    const { sum, mean } = noGrad(() =>
      scope(() => {
        const s = ssimPerImage(preds, target, this.opts);
        return { sum: s.sum().item(), mean: s.mean().item() };
      }),
    );
    this.sum = Math.fround(this.sum + sum);
    this.count += preds.size(0);
    this.batchValues.push(mean);
    return mean;
  }

  /** Sum of per-image SSIMs over their count (torchmetrics' compute(), in float32). */
  pooled(): number {
    return this.count === 0 ? NaN : Math.fround(this.sum / this.count);
  }

  /** Mean of the per-batch SSIMs (Semanticist's reporting). */
  batchMean(): number {
    const n = this.batchValues.length;
    return n === 0 ? NaN : this.batchValues.reduce((a, b) => a + b, 0) / n;
  }

  compute(): number {
    return this.mode === 'pooled' ? this.pooled() : this.batchMean();
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
    this.batchValues.length = 0;
  }
}
