// The resolution changes of the LDM/MAR autoencoder: Downsample pads (0, 1, 0, 1) — right and
// bottom only — then applies a stride-2 3×3 conv without padding; Upsample repeats each pixel
// (nearest ×2) and applies a 3×3 conv. The conv is the checkpoint's `downsample.conv` / `upsample.conv`.
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { interpolate, pad } from '../../nn/functional.js';

export class Downsample extends Module {
  conv: Conv2d;
  constructor(channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { stride: 2, padding: 0 });
  }
  override forward(x: Tensor): Tensor {
    return scope(() => this.conv.forward(pad(x, [0, 1, 0, 1], 'constant', 0)));
  }
}

export class Upsample extends Module {
  conv: Conv2d;
  constructor(channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { padding: 1 });
  }
  override forward(x: Tensor): Tensor {
    return scope(() => this.conv.forward(interpolate(x, { scaleFactor: 2, mode: 'nearest' })));
  }
}
