// The transformer MLP (timm's Mlp): fc1 → activation → fc2, names fc1/fc2 as in the checkpoints.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers/linear.js';
import { gelu } from '../../nn/functional.js';

export class Mlp extends Module {
  fc1: Linear;
  fc2: Linear;
  readonly approximate: 'none' | 'tanh';

  /** GELU exact by default; DiT uses the tanh approximation. */
  constructor(inFeatures: number, hiddenFeatures: number, o: { outFeatures?: number; approximate?: 'none' | 'tanh'; bias?: boolean } = {}) {
    super();
    this.fc1 = new Linear(inFeatures, hiddenFeatures, o.bias ?? true);
    this.fc2 = new Linear(hiddenFeatures, o.outFeatures ?? inFeatures, o.bias ?? true);
    this.approximate = o.approximate ?? 'none';
  }

  override forward(x: Tensor): Tensor {
    return scope(() => this.fc2.forward(gelu(this.fc1.forward(x), this.approximate)));
  }
}
