// LayerNorm, GroupNorm, RMSNorm and BatchNorm2d: weights start at ones, biases at zeros, as PyTorch's.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { noGrad } from '../../core/modes.js';
import { zeros, ones } from '../../core/creation.js';
import { layerNorm, groupNorm, rmsNorm, batchNorm } from '../functional.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import type { FactoryOptions } from './options.js';

const shapeOf = (s: number | number[]) => (typeof s === 'number' ? [s] : [...s]);
const reprShape = (s: number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
/** A float as Python prints it (1e-05, 1e-06, 0.001, 1.0). */
const pyFloat = (x: number) => {
  if (Number.isInteger(x)) return `${x}.0`;
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential().replace(/e([+-])(\d)$/, (_, sign, d) => `e${sign}0${d}`);
  return String(x);
};

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
}

/** Normalises over the last dims; DiT's blocks use elementwiseAffine: false. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | number[], o: LayerNormOptions = {}) {
    super();
    this.normalizedShape = shapeOf(normalizedShape);
    this.eps = o.eps ?? 1e-5;
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? Parameter.empty(this.normalizedShape, o) : null;
    this.bias = this.elementwiseAffine && (o.bias ?? true) ? Parameter.empty(this.normalizedShape, o) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    scope(() => {
      if (this.weight) init.ones_(this.weight);
      if (this.bias) init.zeros_(this.bias);
    });
  }

  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${reprShape(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  affine?: boolean;
}

/** Normalises (N, C, ...) over groups of channels, with a per-channel affine. */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, o: GroupNormOptions = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new RangeError('num_channels must be divisible by num_groups');
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = o.eps ?? 1e-5;
    this.affine = o.affine ?? true;
    this.weight = this.affine ? Parameter.empty([numChannels], o) : null;
    this.bias = this.affine ? Parameter.empty([numChannels], o) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    scope(() => {
      if (this.weight) init.ones_(this.weight);
      if (this.bias) init.zeros_(this.bias);
    });
  }

  override forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${this.affine ? 'True' : 'False'}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  eps?: number | null;
  elementwiseAffine?: boolean;
}

/** x / √(mean(x²) + eps) · weight over the last dims; eps defaults to the dtype's epsilon, as PyTorch. */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;

  constructor(normalizedShape: number | number[], o: RMSNormOptions = {}) {
    super();
    this.normalizedShape = shapeOf(normalizedShape);
    this.eps = o.eps ?? null;
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? Parameter.empty(this.normalizedShape, o) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    scope(() => {
      if (this.weight) init.ones_(this.weight);
    });
  }

  override forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
  override extraRepr(): string {
    return `${reprShape(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

export interface BatchNorm2dOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the new batch statistics in the running ones; null: a cumulative average (1/num_batches_tracked). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Per-channel normalisation of (N, C, H, W) with PyTorch's state-dict keys: weight, bias (if
 * affine), running_mean, running_var, num_batches_tracked (int64 scalar; if trackRunningStats).
 * Eval mode uses the running statistics; training mode the batch's, and updates the running ones.
 */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare readonly running_mean: Tensor | null;
  declare readonly running_var: Tensor | null;
  declare readonly num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, o: BatchNorm2dOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum;
    this.affine = o.affine ?? true;
    this.trackRunningStats = o.trackRunningStats ?? true;
    this.weight = this.affine ? Parameter.empty([numFeatures], o) : null;
    this.bias = this.affine ? Parameter.empty([numFeatures], o) : null;
    const f = { dtype: o.dtype, device: o.device };
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], f) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], f) : null);
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? zeros([], { dtype: 'int64', device: o.device }) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    scope(() => {
      if (this.weight) init.ones_(this.weight);
      if (this.bias) init.zeros_(this.bias);
    });
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4D input (N, C, H, W), got ${x.ndim}D [${x.shape.join(', ')}]`);
    if (x.shape[1] !== this.numFeatures) throw new RangeError(`BatchNorm2d(${this.numFeatures}): input has ${x.shape[1]} channels`);
    // As PyTorch's _BatchNorm.forward: batch statistics in training or without running statistics.
    const useBatchStats = this.training || !this.running_mean || !this.running_var;
    let factor = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked) {
      const n = this.num_batches_tracked;
      noGrad(() => n.add_(1));
      if (this.momentum === null) factor = 1 / n.item();
    }
    // The buffers go in when they are read (eval) or updated (training with tracking), as PyTorch.
    const pass = !this.training || this.trackRunningStats;
    return batchNorm(x, pass ? this.running_mean : null, pass ? this.running_var : null, this.weight, this.bias, useBatchStats, factor, this.eps);
  }

  override extraRepr(): string {
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, ` +
      `affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`
    );
  }
}
