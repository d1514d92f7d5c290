// Multi-head self-attention as timm/DINO/DiT write it: one fused `qkv` Linear and an output `proj`,
// so checkpoints of all three load under the same names (attn.qkv.*, attn.proj.*).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers/linear.js';
import { scaledDotProductAttention } from '../../nn/functional.js';

export class Attention extends Module {
  qkv: Linear;
  proj: Linear;
  readonly numHeads: number;

  constructor(dim: number, numHeads: number, o: { qkvBias?: boolean; projBias?: boolean } = {}) {
    super();
    if (dim % numHeads !== 0) throw new Error(`Attention: dim ${dim} is not divisible by ${numHeads} heads`);
    this.numHeads = numHeads;
    this.qkv = new Linear(dim, 3 * dim, o.qkvBias ?? false);
    this.proj = new Linear(dim, dim, o.projBias ?? true);
  }

  /** x: (B, N, C). mask: boolean (N, N) or broadcastable, True = may attend; or an additive float mask. */
  override forward(x: Tensor, mask?: Tensor | null): Tensor {
    return scope(() => {
      const [B, N, C] = x.shape;
      const H = this.numHeads;
      const qkv = this.qkv
        .forward(x)
        .reshape(B, N, 3, H, C / H)
        .permute(2, 0, 3, 1, 4);
      const [q, k, v] = qkv.unbind(0);
      const y = scaledDotProductAttention(q, k, v, { attnMask: mask ?? null });
      return this.proj.forward(y.transpose(1, 2).reshape(B, N, C));
    });
  }
}
