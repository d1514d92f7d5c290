// BasicConv2d of the TF-compatible Inception-v3: conv (no bias) → BatchNorm (eps 0.001, as the TF
// graph's) → ReLU. Field names `conv` and `bn` give torch-fidelity's state-dict keys
// (<block>.conv.weight, <block>.bn.weight/bias/running_mean/running_var/num_batches_tracked).
import type { Tensor } from '../../core/tensor.js';
import { scope } from '../../core/scope.js';
import { aten } from '../../core/aten.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/normalization.js';

type Pair = number | [number, number];

export interface BasicConvOptions {
  stride?: Pair;
  padding?: Pair;
}

export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, o: BasicConvOptions = {}) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { stride: o.stride, padding: o.padding, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      const c = this.conv.forward(x);
      const y = this.bn.forward(c);
      c.dispose(); // at 299 px a batch of 50 makes 276 MB activations: free each as soon as it is used
      return aten.relu_(y) as Tensor; // in place, as upstream's F.relu(inplace=True); same values
    });
  }
}
