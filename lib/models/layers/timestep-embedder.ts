// Timestep embedding (DiT/MAR): sinusoidal frequencies of t, then Linear → SiLU → Linear (`mlp`).
import type { Tensor } from '../../core/tensor.js';
import { arange } from '../../core/creation.js';
import { cat } from '../../core/functions.js';
import { scope } from '../../core/scope.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/containers.js';
import { Linear } from '../../nn/layers/linear.js';
import { SiLU } from '../../nn/layers/activation.js';

/** [cos(t·f), sin(t·f)] with f = exp(-ln(maxPeriod)·i/half), as DiT's timestep_embedding. */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  return scope(() => {
    const half = Math.floor(dim / 2);
    const freqs = arange(0, half, { dtype: 'float32', device: t.device })
      .mul(-Math.log(maxPeriod) / half)
      .exp();
    const args = t.float().unsqueeze(1).mul(freqs.unsqueeze(0));
    const emb = cat([args.cos(), args.sin()], -1);
    return dim % 2 ? cat([emb, emb.narrow(1, 0, 1).zero_()], -1) : emb;
  });
}

export class TimestepEmbedder extends Module {
  mlp: Sequential;
  readonly frequencyEmbeddingSize: number;

  constructor(hiddenSize: number, frequencyEmbeddingSize = 256) {
    super();
    this.mlp = new Sequential(new Linear(frequencyEmbeddingSize, hiddenSize), new SiLU(), new Linear(hiddenSize, hiddenSize));
    this.frequencyEmbeddingSize = frequencyEmbeddingSize;
  }

  /** The frequencies are cast to the MLP's weight dtype (as upstream), so a bf16 model works. */
  override forward(t: Tensor): Tensor {
    const dtype = (this.mlp.at(0) as Linear).weight.dtype;
    return scope(() => this.mlp.forward(timestepEmbedding(t, this.frequencyEmbeddingSize).to(dtype)));
  }
}
