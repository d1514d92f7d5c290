// Activation modules: GELU (exact or tanh approximation) and SiLU.
import type { Tensor } from '../../core/tensor.js';
import { gelu, silu } from '../functional.js';
import { Module } from '../module.js';

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') throw new TypeError(`GELU: approximate must be 'none' or 'tanh', got '${approximate}'`);
  }
  override forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}
