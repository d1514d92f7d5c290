// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, torch.optim.AdamW's math, one
// group per handful of _foreach_* calls whatever the number of parameters:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)
import type { Tensor } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { zerosLike } from '../core/creation.js';
import { opIndexOrMissing } from '../core/ops.js';
import { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

const hasForeachLerp = opIndexOrMissing('_foreach_lerp_', 'Scalar') >= 0;

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsInput<AdamWOptions>, o: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...o });
  }

  protected override validate(g: ParamGroup<AdamWOptions>): void {
    if (!(g.lr >= 0)) throw new RangeError(`Invalid learning rate: ${g.lr}`);
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    if (!(g.betas[0] >= 0 && g.betas[0] < 1)) throw new RangeError(`Invalid beta parameter at index 0: ${g.betas[0]}`);
    if (!(g.betas[1] >= 0 && g.betas[1] < 1)) throw new RangeError(`Invalid beta parameter at index 1: ${g.betas[1]}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
  }

  protected override stepGroup(g: ParamGroup<AdamWOptions>): void {
    const { params, grads: rawGrads } = this.withGrads(g);
    if (params.length === 0) return;
    const expAvgs: Tensor[] = [],
      expAvgSqs: Tensor[] = [],
      maxExpAvgSqs: Tensor[] = [],
      steps: number[] = [];
    for (const p of params) {
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, exp_avg: keep(zerosLike(p)), exp_avg_sq: keep(zerosLike(p)) };
        if (g.amsgrad) s.max_exp_avg_sq = keep(zerosLike(p));
        this.state.set(p, s);
      }
      s.step = (s.step as number) + 1;
      steps.push(s.step);
      expAvgs.push(s.exp_avg as Tensor);
      expAvgSqs.push(s.exp_avg_sq as Tensor);
      if (g.amsgrad) maxExpAvgSqs.push(s.max_exp_avg_sq as Tensor);
    }
    const { lr, eps, weightDecay } = g;
    const [beta1, beta2] = g.betas;
    noGrad(() => {
      const grads: Tensor[] = g.maximize ? aten._foreach_neg(rawGrads) : rawGrads;
      if (weightDecay !== 0) aten._foreach_mul_.Scalar(params, 1 - lr * weightDecay);
      if (hasForeachLerp) (aten as any)._foreach_lerp_.Scalar(expAvgs, grads, 1 - beta1);
      else {
        aten._foreach_mul_.Scalar(expAvgs, beta1);
        aten._foreach_add_.List(expAvgs, grads, { alpha: 1 - beta1 });
      }
      aten._foreach_mul_.Scalar(expAvgSqs, beta2);
      aten._foreach_addcmul_.Scalar(expAvgSqs, grads, grads, 1 - beta2);
      const stepSize = steps.map((t) => -(lr / (1 - beta1 ** t)));
      const bc2Sqrt = steps.map((t) => Math.sqrt(1 - beta2 ** t));
      if (g.amsgrad) aten._foreach_maximum_.List(maxExpAvgSqs, expAvgSqs);
      const denom: Tensor[] = aten._foreach_sqrt(g.amsgrad ? maxExpAvgSqs : expAvgSqs);
      aten._foreach_div_.ScalarList(denom, bc2Sqrt);
      aten._foreach_add_.Scalar(denom, eps);
      aten._foreach_addcdiv_.ScalarList(params, expAvgs, denom, stepSize);
    });
  }
}
