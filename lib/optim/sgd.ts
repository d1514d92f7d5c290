// SGD with momentum, Nesterov momentum and (coupled) weight decay: torch.optim.SGD's math with
// _foreach_* calls per group:  g ← g + wd·p;  b ← μ·b + (1−dampening)·g (b = g at first);
// g ← g + μ·b (Nesterov) or g ← b;  p ← p − lr·g
import type { Tensor } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, o: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...o });
  }

  protected override validate(g: ParamGroup<SGDOptions>): void {
    if (!(g.lr >= 0)) throw new RangeError(`Invalid learning rate: ${g.lr}`);
    if (!(g.momentum >= 0)) throw new RangeError(`Invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new RangeError('Nesterov momentum requires a momentum and zero dampening');
  }

  protected override stepGroup(g: ParamGroup<SGDOptions>): void {
    const { params, grads: rawGrads } = this.withGrads(g);
    if (params.length === 0) return;
    const { lr, momentum, dampening, weightDecay, nesterov } = g;
    noGrad(() => {
      let grads: Tensor[] = g.maximize ? aten._foreach_neg(rawGrads) : rawGrads;
      if (weightDecay !== 0) grads = aten._foreach_add.List(grads, params, { alpha: weightDecay });
      if (momentum !== 0) {
        const states = params.map((p) => this.state.get(p));
        let bufs: Tensor[];
        if (states.every((s) => s?.momentum_buffer)) {
          bufs = states.map((s) => s!.momentum_buffer as Tensor);
          aten._foreach_mul_.Scalar(bufs, momentum);
          aten._foreach_add_.List(bufs, grads, { alpha: 1 - dampening });
        } else {
          // First step (for some parameters): the buffer starts as a copy of the gradient.
          bufs = params.map((p, i) => {
            const s = states[i];
            if (s?.momentum_buffer) {
              const b = s.momentum_buffer as Tensor;
              return b.mul_(momentum).add_(grads[i], 1 - dampening);
            }
            const b = keep(grads[i].detach().clone());
            this.state.set(p, { momentum_buffer: b });
            return b;
          });
        }
        grads = nesterov ? aten._foreach_add.List(grads, bufs, { alpha: momentum }) : bufs;
      }
      aten._foreach_add_.List(params, grads, { alpha: -lr });
    });
  }
}
