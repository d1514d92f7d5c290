// Image to patch tokens: a strided Conv2d (`proj`), flattened to (B, N, C).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';

export class PatchEmbed extends Module {
  proj: Conv2d;
  readonly patchSize: number;

  constructor(patchSize: number, inChans: number, embedDim: number, bias = true) {
    super();
    this.patchSize = patchSize;
    this.proj = new Conv2d(inChans, embedDim, patchSize, { stride: patchSize, bias });
  }

  /** (B, C, H, W) → (B, (H/p)·(W/p), embedDim), patches in row-major order. */
  override forward(x: Tensor): Tensor {
    const [, , H, W] = x.shape;
    if (H % this.patchSize || W % this.patchSize) throw new Error(`PatchEmbed: image ${H}×${W} is not divisible by patch size ${this.patchSize}`);
    return scope(() => this.proj.forward(x).flatten(2).transpose(1, 2));
  }
}
