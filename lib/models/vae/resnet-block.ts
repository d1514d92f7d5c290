// LDM/MAR ResnetBlock without a timestep embedding: GroupNorm(32, eps 1e-6) → swish → 3×3 conv,
// twice (dropout before the second conv), plus the input — through a 1×1 `nin_shortcut` conv when
// the channel count changes. Field names are the checkpoint's (norm1, conv1, norm2, conv2, nin_shortcut).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { GroupNorm } from '../../nn/layers/normalization.js';
import { Dropout } from '../../nn/layers/dropout.js';
import { silu } from '../../nn/functional.js';

/** LDM's Normalize(): GroupNorm with 32 groups, eps 1e-6, affine. */
export function vaeGroupNorm(channels: number): GroupNorm {
  return new GroupNorm(32, channels, { eps: 1e-6 });
}

export class ResnetBlock extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  norm2: GroupNorm;
  dropout: Dropout;
  conv2: Conv2d;
  nin_shortcut: Conv2d | null;
  readonly inChannels: number;
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number = inChannels, dropout = 0) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.norm1 = vaeGroupNorm(inChannels);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { padding: 1 });
    this.norm2 = vaeGroupNorm(outChannels);
    this.dropout = new Dropout(dropout);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
    this.nin_shortcut = inChannels !== outChannels ? new Conv2d(inChannels, outChannels, 1) : null;
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      let h = this.conv1.forward(silu(this.norm1.forward(x)));
      h = this.conv2.forward(this.dropout.forward(silu(this.norm2.forward(h))));
      const skip = this.nin_shortcut ? this.nin_shortcut.forward(x) : x;
      return skip.add(h);
    });
  }
}
