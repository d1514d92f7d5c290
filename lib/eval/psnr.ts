// PSNR (peak signal-to-noise ratio) with torchmetrics' PeakSignalNoiseRatio semantics: the
// functional form psnr(), and PsnrMeter, the streaming form that pools squared errors over batches
// (torchmetrics' stateful metric) or averages per-batch PSNRs (how Semanticist's evaluate() reports
// it, docs/upstream/evaluation.md#tokenizer-metrics).
//
// torchmetrics' computation, which this follows op for op so float32 results round the same way:
//   sse = Σ (preds − target)²        in the promoted input dtype (integer inputs become float32)
//   psnr = (2·ln(range) − ln(sse / n)) · (10 / ln(base))
// where range and base are float32 scalars. Identical inputs give sse = 0 and PSNR = +∞.
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { scalarTensor } from '../core/creation.js';

/** torchmetrics' reductions: 'elementwise_mean' (default), 'sum', or 'none' (keep every value). */
export type MetricReduction = 'elementwise_mean' | 'sum' | 'none';

export interface PsnrOptions {
  /** Range of the data (max − min). A [min, max] pair clamps both inputs to it first. Default 1. */
  dataRange?: number | [number, number];
  /** Base of the logarithm; 10 gives decibels. */
  base?: number;
  /** Only used with dim: how the per-slice PSNRs are combined. */
  reduction?: MetricReduction;
  /**
   * Dimensions the squared error is pooled over; the others keep one PSNR each (e.g. [1, 2, 3]
   * for one PSNR per image). Default: all dimensions, a single pooled PSNR.
   */
  dim?: number | number[];
}

function reduce(x: Tensor, reduction: MetricReduction): Tensor {
  if (reduction === 'elementwise_mean') return x.mean();
  if (reduction === 'sum') return x.sum();
  if (reduction === 'none') return x;
  throw new TypeError(`reduction must be 'elementwise_mean', 'sum' or 'none', got '${reduction}'`);
}

function rangeOf(dataRange: number | [number, number]): number {
  const r = Array.isArray(dataRange) ? dataRange[1] - dataRange[0] : dataRange;
  if (!(r > 0)) throw new RangeError(`dataRange must be positive, got ${JSON.stringify(dataRange)}`);
  return r;
}

function asFloat(x: Tensor): Tensor {
  return x.isFloatingPoint() ? x : x.float();
}

/**
 * The squared-error state of one batch (torchmetrics' _psnr_update): sse summed over dim (all
 * dimensions by default) and the number of elements each sum covers.
 */
export function psnrUpdate(preds: Tensor, target: Tensor, dim?: number | number[]): { sse: Tensor; count: number } {
  if (preds.shape.join() !== target.shape.join()) {
    throw new TypeError(`psnr: preds and target must have the same shape, got [${preds.shape}] and [${target.shape}]`);
  }
  return scope(() => {
    const diff = asFloat(preds).sub(asFloat(target));
    if (dim === undefined) return { sse: diff.pow(2).sum(), count: target.numel() };
    const dims = typeof dim === 'number' ? [dim] : dim;
    const sse = diff.mul(diff).sum(dims);
    const nd = target.ndim;
    const count = dims.length === 0 ? target.numel() : dims.reduce((n, d) => n * target.size(d < 0 ? d + nd : d), 1);
    return { sse, count };
  });
}

/** torchmetrics' _psnr_compute: PSNR from a sum of squared errors over `count` elements. */
export function psnrFromSse(sse: Tensor, count: number, dataRange: number, base = 10, reduction: MetricReduction = 'elementwise_mean'): Tensor {
  return scope(() => {
    const range = scalarTensor(dataRange, 'float32').to(sse.device);
    const psnrE = range.log().mul(2).sub(sse.div(count).log());
    // `10 / torch.log(tensor(base))` in Python is reciprocal(ln base) · 10, in float32.
    const scale = scalarTensor(base, 'float32').to(sse.device).log().reciprocal().mul(10);
    return reduce(psnrE.mul(scale), reduction);
  });
}

/**
 * Peak signal-to-noise ratio (torchmetrics.functional.peak_signal_noise_ratio). With no dim, the
 * squared error is pooled over every element of the batch and one PSNR comes back (a 0-d tensor).
 */
export function psnr(preds: Tensor, target: Tensor, opts: PsnrOptions = {}): Tensor {
  const { dataRange = 1, base = 10, reduction = 'elementwise_mean', dim } = opts;
  const range = rangeOf(dataRange);
  return scope(() => {
    let p = preds,
      t = target;
    if (Array.isArray(dataRange)) {
      p = p.clamp(dataRange[0], dataRange[1]);
      t = t.clamp(dataRange[0], dataRange[1]);
    }
    const { sse, count } = psnrUpdate(p, t, dim);
    return psnrFromSse(sse, count, range, base, dim === undefined ? 'elementwise_mean' : reduction);
  });
}

export interface PsnrMeterOptions {
  dataRange?: number | [number, number];
  base?: number;
  /**
   * What compute() returns: 'pooled' (torchmetrics' stateful PeakSignalNoiseRatio: PSNR of the
   * squared error pooled over every batch seen) or 'batchMean' (the mean of the per-batch PSNRs,
   * as Semanticist's evaluate() reports it). Both are always tracked.
   */
  mode?: 'pooled' | 'batchMean';
}

/**
 * Streaming PSNR. update() adds one batch and returns that batch's own PSNR. The pooled state
 * mirrors torchmetrics': a float32 sum of squared errors (each add rounded to float32, as its
 * `tensor(0.0)` state does) and an integer element count.
 */
export class PsnrMeter {
  readonly dataRange: number | [number, number];
  readonly base: number;
  readonly mode: 'pooled' | 'batchMean';
  /** Pooled sum of squared errors, a float32 value. */
  sse = 0;
  /** Elements pooled. */
  count = 0;
  /** Each update's PSNR. */
  readonly batchValues: number[] = [];

  constructor(opts: PsnrMeterOptions = {}) {
    this.dataRange = opts.dataRange ?? 1;
    this.base = opts.base ?? 10;
    this.mode = opts.mode ?? 'pooled';
    rangeOf(this.dataRange);
    if (this.mode !== 'pooled' && this.mode !== 'batchMean') throw new TypeError(`PsnrMeter: unknown mode '${this.mode}'`);
  }

  update(preds: Tensor, target: Tensor): number {
    const { sse, value } = noGrad(() =>
      scope(() => {
        let p = preds,
          t = target;
        const dr = this.dataRange;
        if (Array.isArray(dr)) {
          p = p.clamp(dr[0], dr[1]);
          t = t.clamp(dr[0], dr[1]);
        }
        const u = psnrUpdate(p, t);
        return { sse: u.sse.item(), value: psnrFromSse(u.sse, u.count, rangeOf(dr), this.base).item() };
      }),
    );
    this.sse = Math.fround(this.sse + sse);
    this.count += target.numel();
    this.batchValues.push(value);
    return value;
  }

  /** PSNR of the squared error pooled over all batches (torchmetrics' compute()). */
  pooled(): number {
    if (this.count === 0) return NaN;
    return scope(() => psnrFromSse(scalarTensor(this.sse, 'float32'), this.count, rangeOf(this.dataRange), this.base).item());
  }

  /** Mean of the per-batch PSNRs (Semanticist's reporting). */
  batchMean(): number {
    const n = this.batchValues.length;
    return n === 0 ? NaN : this.batchValues.reduce((a, b) => a + b, 0) / n;
  }

  compute(): number {
    return this.mode === 'pooled' ? this.pooled() : this.batchMean();
  }

  reset(): void {
    this.sse = 0;
    this.count = 0;
    this.batchValues.length = 0;
  }
}
