// GradScaler: dynamic loss scaling for float16 training (torch.cuda.amp.GradScaler): the loss
// is multiplied by `scale` before backward; step() unscales the gradients, skips the optimizer
// step when any is inf/NaN, and update() halves the scale after such a step or doubles it after
// growthInterval good ones. bfloat16 training needs none of this.
import type { Tensor } from '../core/tensor.js';
import { scope } from '../core/scope.js';
import { noGrad } from '../core/modes.js';
import { aten } from '../core/aten.js';
import { stack } from '../core/functions.js';
import { zeros, full } from '../core/creation.js';
import type { Optimizer } from './optimizer.js';

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  enabled?: boolean;
}

export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/** Device types on which the fused check-and-unscale kernel turned out to be missing (CPU in 1.13). */
const noFusedUnscale = new Set<string>();

export class GradScaler {
  #scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  readonly enabled: boolean;
  #growthTracker = 0;
  /** Optimizers unscaled since the last update(), with whether inf/NaN was found. */
  readonly #unscaled = new Map<Optimizer<any>, boolean>();

  constructor(o: GradScalerOptions = {}) {
    this.#scale = o.initScale ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    this.enabled = o.enabled ?? true;
    if (!(this.growthFactor > 1)) throw new RangeError('The growth factor must be > 1.0.');
    if (!(this.backoffFactor < 1)) throw new RangeError('The backoff factor must be < 1.0.');
  }

  getScale(): number {
    return this.enabled ? this.#scale : 1;
  }

  /** loss · scale, a new tensor, in float32 for a half-precision loss (as PyTorch's float32 scale promotes it). */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    if (loss.dtype === 'float16' || loss.dtype === 'bfloat16') return scope(() => loss.float().mul(this.#scale));
    return loss.mul(this.#scale);
  }

  /** Divides the optimizer's gradients by the scale in place and records whether any is inf/NaN. */
  unscale_(optimizer: Optimizer<any>): void {
    if (!this.enabled) return;
    if (this.#unscaled.has(optimizer)) throw new Error('unscale_() has already been called on this optimizer since the last update().');
    const inv = 1 / this.#scale;
    const found = scope(() =>
      noGrad(() => {
        const grads: Tensor[] = [];
        for (const g of optimizer.paramGroups)
          for (const p of g.params) {
            const gr = p.grad;
            if (gr) grads.push(gr);
          }
        if (grads.length === 0) return false;
        const device = grads[0].device.split(':')[0];
        if (!noFusedUnscale.has(device)) {
          const foundInf = zeros([1], { dtype: 'float32', device: grads[0].device });
          try {
            aten._amp_foreach_non_finite_check_and_unscale_(grads, foundInf, full([1], inv, { dtype: 'float32', device: grads[0].device }));
            return foundInf.item() !== 0;
          } catch {
            noFusedUnscale.add(device);
          }
        }
        aten._foreach_mul_.Scalar(grads, inv);
        // g·0 is 0 for finite g and NaN for ±inf/NaN; the sum of their 1-norms is NaN iff one was.
        const zeroed: Tensor[] = aten._foreach_mul.Scalar(grads, 0);
        return Number.isNaN(stack(aten._foreach_norm(zeroed, 1)).sum().item());
      }),
    );
    this.#unscaled.set(optimizer, found);
  }

  /** Unscales (unless done) and steps the optimizer unless inf/NaN was found; returns whether it stepped. */
  step(optimizer: Optimizer<any>): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    if (!this.#unscaled.has(optimizer)) this.unscale_(optimizer);
    if (this.#unscaled.get(optimizer)) return false;
    optimizer.step();
    return true;
  }

  /** Adjusts the scale after an iteration (or sets it to newScale) and forgets the unscale records. */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this.#scale = newScale;
    } else {
      const foundInf = [...this.#unscaled.values()].some(Boolean);
      if (foundInf) {
        this.#scale *= this.backoffFactor;
        this.#growthTracker = 0;
      } else if (++this.#growthTracker === this.growthInterval) {
        this.#scale *= this.growthFactor;
        this.#growthTracker = 0;
      }
    }
    this.#unscaled.clear();
  }

  stateDict(): GradScalerStateDict {
    return {
      scale: this.#scale,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.#growthTracker,
    };
  }
  loadStateDict(sd: GradScalerStateDict): void {
    this.#scale = sd.scale;
    this.growthFactor = sd.growth_factor;
    this.backoffFactor = sd.backoff_factor;
    this.growthInterval = sd.growth_interval;
    this.#growthTracker = sd._growth_tracker;
  }
}
