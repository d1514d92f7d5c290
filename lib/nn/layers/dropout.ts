// Dropout (per element) and DropPath (stochastic depth, per sample, timm's drop_path): both are
// the identity in eval mode or with p = 0.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { aten } from '../../core/aten.js';
import { empty } from '../../core/creation.js';
import { dropout } from '../functional.js';
import { Module } from '../module.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/**
 * Drops whole samples of a residual branch with probability dropProb, scaling the kept ones by
 * 1/keepProb (timm's drop_path with scale_by_keep); x itself is returned when not training or p = 0.
 */
export function dropPath(x: Tensor, dropProb = 0, training = false, scaleByKeep = true): Tensor {
  if (dropProb === 0 || !training) return x;
  const keepProb = 1 - dropProb;
  return scope(() => {
    const mask = empty([x.size(0), ...Array(x.ndim - 1).fill(1)], { dtype: x.dtype, device: x.device });
    aten.bernoulli_.float(mask, keepProb);
    if (keepProb > 0 && scaleByKeep) mask.div_(keepProb);
    return x.mul(mask);
  });
}

export class DropPath extends Module {
  constructor(
    readonly dropProb = 0,
    readonly scaleByKeep = true,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return dropPath(x, this.dropProb, this.training, this.scaleByKeep);
  }
  override extraRepr(): string {
    return `drop_prob=${Math.round(this.dropProb * 1000) / 1000}`;
  }
}
