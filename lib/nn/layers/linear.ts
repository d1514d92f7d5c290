// Linear (y = x·Wᵀ + b) and Identity, with PyTorch's parameter names, shapes and initialisation.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { linear } from '../functional.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import type { FactoryOptions } from './options.js';

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, bias = true, o: FactoryOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = Parameter.empty([outFeatures, inFeatures], o);
    this.bias = bias ? Parameter.empty([outFeatures], o) : null;
    this.resetParameters();
  }

  /** kaiming_uniform(a=√5) on the weight (bound 1/√in), bias uniform(±1/√in), as PyTorch. */
  resetParameters(): void {
    scope(() => {
      init.kaimingUniform_(this.weight, Math.sqrt(5));
      if (this.bias) {
        const [fanIn] = init.calculateFanInAndFanOut(this.weight);
        const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
        init.uniform_(this.bias, -bound, bound);
      }
    });
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

/** Returns its input unchanged (a placeholder where a layer is optional). */
export class Identity extends Module {
  override forward<T>(x: T): T {
    return x;
  }
}
