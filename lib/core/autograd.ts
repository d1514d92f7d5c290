// torch.autograd.grad: gradients of outputs with respect to inputs, without touching .grad.
import { native } from './native.js';
import { Tensor } from './tensor.js';

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const hs = native.autogradGrad(
    outs.map((t) => t._h),
    ins.map((t) => t._h),
    opts.gradOutputs ? opts.gradOutputs.map((t) => (t ? t._h : null)) : null,
    !!opts.retainGraph,
    !!opts.createGraph,
    !!opts.allowUnused,
  );
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}
