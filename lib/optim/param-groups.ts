// Parameter groups for weight decay (Semanticist/nanoGPT recipe): tensors with ndim ≥ 2 (weight
// matrices, conv kernels, embeddings, positional embeddings) decay; biases and norm weights don't.
// Each group carries paramNames (PyTorch ≥ 2.6 keeps them in the state dict as param_names).
import type { Tensor } from '../core/tensor.js';
import type { Module } from '../nn/module.js';

export interface WeightDecayGroup {
  params: Tensor[];
  weightDecay: number;
  paramNames: string[];
}

/** [{decayed, weightDecay: wd}, {the rest, weightDecay: 0}] over the trainable parameters. */
export function paramGroupsWeightDecay(model: Module, weightDecay: number): [WeightDecayGroup, WeightDecayGroup] {
  const decay: WeightDecayGroup = { params: [], weightDecay, paramNames: [] };
  const noDecay: WeightDecayGroup = { params: [], weightDecay: 0, paramNames: [] };
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    const g = p.ndim >= 2 ? decay : noDecay;
    g.params.push(p);
    g.paramNames.push(name);
  }
  return [decay, noDecay];
}
