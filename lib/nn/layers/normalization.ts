// LayerNorm, GroupNorm and RMSNorm: weights start at ones, biases at zeros, as PyTorch's.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { layerNorm, groupNorm, rmsNorm } from '../functional.js';
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

export interface LayerNormOptions extends FactoryOptions { eps?: number; elementwiseAffine?: boolean; bias?: boolean }

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

  override forward(x: Tensor): Tensor { return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps); }
  override extraRepr(): string {
    return `${reprShape(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

export interface GroupNormOptions extends FactoryOptions { eps?: number; affine?: boolean }

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

  override forward(x: Tensor): Tensor { return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps); }
  override extraRepr(): string { return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${this.affine ? 'True' : 'False'}`; }
}

export interface RMSNormOptions extends FactoryOptions { eps?: number | null; elementwiseAffine?: boolean }

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

  resetParameters(): void { scope(() => { if (this.weight) init.ones_(this.weight); }); }

  override forward(x: Tensor): Tensor { return rmsNorm(x, this.normalizedShape, this.weight, this.eps); }
  override extraRepr(): string {
    return `${reprShape(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}
