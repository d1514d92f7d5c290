// LDM/MAR AttnBlock: single-head self-attention over the H·W positions of a feature map, with
// q/k/v/proj_out as 1×1 convs (checkpoint shapes [C, C, 1, 1]), a GroupNorm before, and a residual.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import type { GroupNorm } from '../../nn/layers/normalization.js';
import { vaeGroupNorm } from './resnet-block.js';

export class AttnBlock extends Module {
  norm: GroupNorm;
  q: Conv2d;
  k: Conv2d;
  v: Conv2d;
  proj_out: Conv2d;
  readonly channels: number;

  constructor(channels: number) {
    super();
    this.channels = channels;
    this.norm = vaeGroupNorm(channels);
    this.q = new Conv2d(channels, channels, 1);
    this.k = new Conv2d(channels, channels, 1);
    this.v = new Conv2d(channels, channels, 1);
    this.proj_out = new Conv2d(channels, channels, 1);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const h = this.norm.forward(x);
      const [b, c, hh, ww] = x.shape;
      const n = hh * ww;
      // Same order of operations as upstream: w[b,i,j] = softmax_j(q_i·k_j / √c), out[b,c,i] = Σ_j v[b,c,j] w[b,i,j].
      const q = this.q.forward(h).reshape(b, c, n).permute(0, 2, 1);
      const k = this.k.forward(h).reshape(b, c, n);
      const w = q
        .bmm(k)
        .mul(c ** -0.5)
        .softmax(2);
      const v = this.v.forward(h).reshape(b, c, n);
      const out = v.bmm(w.permute(0, 2, 1)).reshape(b, c, hh, ww);
      return x.add(this.proj_out.forward(out));
    });
  }
}
